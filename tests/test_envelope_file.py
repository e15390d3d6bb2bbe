"""The ``lint --envelope FILE.json`` file: checked against its shipped JSON Schema, read as untrusted input.

Whatever the file holds, the answer is one line on stderr naming the file, the
JSON path and what is wrong, with the usage exit status, and nothing linted:
never a traceback, never a string read as a list of one-letter recipients.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from conformance.cli import main
from conformance.exitcodes import ExitCode
from conformance.ndr.envelope import MAX_ENVELOPE_SIZE, EnvelopeError, from_dict

GOOD_ENVELOPE = {
    "reverse_path": "sender@example.org", "envid": "Env+2BId", "ret": "HDRS", "dsn_advertised": True,
    "recipients": ["plain@example.com",
                   {"address": "Nobody@example.com", "orcpt": "rfc822;Nobody@example.com", "notify": "FAILURE"}],
}
MESSAGE = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: hello\r\n\r\nNot a bounce.\r\n"


def lint_with(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes) -> tuple[int, str, Path]:
    envelope = tmp_path / "env.json"
    envelope.write_bytes(content)
    message = tmp_path / "m.eml"
    message.write_bytes(MESSAGE)
    code = main(["lint", "--envelope", str(envelope), str(message)])
    captured = capsys.readouterr()
    return code, captured.err, envelope


def as_json(**changes: Any) -> bytes:
    return json.dumps({**GOOD_ENVELOPE, **changes}).encode()


def without(key: str) -> bytes:
    return json.dumps({k: v for k, v in GOOD_ENVELOPE.items() if k != key}).encode()


DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize(("content", "message"), [
    (b"{not json", ":1: not JSON: Expecting property name enclosed in double quotes"),
    (b'{"reverse_path": "\xff"}', ": not UTF-8 text (byte 0xff at offset 18): not an envelope file"),
    (b"[]", ": the envelope is a JSON object with reverse_path (required), recipients, envid, ret and "
     "dsn_advertised, not a list"),
    (b'"sender@example.org"', ": the envelope is a JSON object with reverse_path (required), recipients, envid, "
     "ret and dsn_advertised, not the string 'sender@example.org'"),
    (without("reverse_path"), ": 'reverse_path' (a string ('' for the null path)) is required"),
    (as_json(reverse_path=None), ": 'reverse_path' is a string ('' for the null path), not null"),
    (as_json(recipients="abc"), ": 'recipients' is a list of recipients (each an address string or an object "
     "with an 'address' string), not the string 'abc'"),
    (as_json(recipients={"address": "a@b"}), ": 'recipients' is a list of recipients (each an address string "
     "or an object with an 'address' string), not an object"),
    (as_json(recipients=["a@b", 7]), ": 'recipients[1]' is an address string or an object with an 'address' "
     "string (and orcpt, notify), not the number 7"),
    (as_json(recipients=[{"orcpt": "rfc822;a@b"}]), ": 'recipients[0].address' (a string (the address as sent "
     "in RCPT TO)) is required"),
    (as_json(recipients=[{"address": ["a@b"]}]), ": 'recipients[0].address' is a string (the address as sent in "
     "RCPT TO), not a list"),
    (as_json(recipients=[{"address": "a@b", "notify": 1}]), ": 'recipients[0].notify' is the NOTIFY as sent (a "
     "string such as 'SUCCESS,FAILURE' or 'NEVER'), not the number 1"),
    (as_json(recipients=[{"address": "a@b", "nofity": "NEVER"}]), ": unknown recipient key(s) in "
     "'recipients[0]': nofity (the keys are address, orcpt, notify)"),
    (as_json(colour="blue"), ": unknown envelope key(s): colour (the keys are reverse_path, recipients, envid, "
     "ret, dsn_advertised)"),
    (as_json(**{"x\r\ny": 1}), ": unknown envelope key(s): x\\r\\ny (the keys are reverse_path, recipients, "
     "envid, ret, dsn_advertised)"),
    (as_json(envid=12), ": 'envid' is the ENVID as sent (a string, in xtext), not the number 12"),
    (as_json(ret="ALL"), ": 'ret' is FULL or HDRS, not the string 'ALL'"),
    (as_json(ret=True), ": 'ret' is FULL or HDRS, not true"),
    (as_json(dsn_advertised="yes"), ": 'dsn_advertised' is true or false (did the target offer DSN in its EHLO "
     "reply?), not the string 'yes'"),
    (b'{"reverse_path": "\\ud800"}', ": a string holds a lone surrogate escape (such as \\ud800), which is no "
     "character"),
    (DEEP, ": nested too deeply to read: not an envelope file"),
    (b" " * MAX_ENVELOPE_SIZE + b"{}", f": larger than {MAX_ENVELOPE_SIZE} bytes (1 MiB): not an envelope file"),
], ids=["not-json", "not-utf8", "list", "string", "no-reverse-path", "null-reverse-path", "recipients-string",
        "recipients-object", "recipient-number", "recipient-without-address", "address-list", "notify-number",
        "recipient-unknown-key", "unknown-key", "unknown-key-with-crlf", "envid-number", "ret-other", "ret-bool",
        "dsn-advertised-string", "lone-surrogate", "too-deep", "too-large"])
def test_a_bad_envelope_file_is_one_line_and_the_usage_status(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str) -> None:
    code, err, envelope = lint_with(tmp_path, capsys, content)
    assert code == ExitCode.USAGE
    assert err == f"mta-conformance lint: {envelope}{message}\n"


def test_a_good_envelope_file_is_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err, _ = lint_with(tmp_path, capsys, as_json())
    assert code == ExitCode.CONFORMANT and err == ""
    envelope = from_dict(GOOD_ENVELOPE)
    assert [r.address for r in envelope.recipients] == ["plain@example.com", "Nobody@example.com"]
    assert envelope.recipient("nobody@EXAMPLE.com") is not None and envelope.recipient("nobody@example.com").notify \
        == "FAILURE"  # type: ignore[union-attr]
    assert (envelope.envid, envelope.ret, envelope.dsn_advertised) == ("Env+2BId", "HDRS", True)


@pytest.mark.parametrize("data", [
    {"reverse_path": ""},  # the null path, nothing else known
    {"reverse_path": "", "recipients": [], "envid": None, "ret": None, "dsn_advertised": None},
    {"reverse_path": "s@example.org", "ret": "full"},  # RET's keyword is case-insensitive (RFC 3461 §4.3)
    {"reverse_path": "s@example.org", "recipients": [{"address": '"a b"@example.com', "orcpt": None}]},
])
def test_what_the_format_allows_is_read(data: dict[str, Any]) -> None:
    assert from_dict(data).reverse_path == data["reverse_path"]


def test_recipients_as_a_string_are_not_read_letter_by_letter() -> None:
    with pytest.raises(EnvelopeError, match="'recipients' is a list"):
        from_dict({"reverse_path": "", "recipients": "abc"})


def test_the_schema_is_shipped_valid_and_documented() -> None:
    schema = json.loads(resources.files("conformance.ndr").joinpath("envelope.schema.json").read_text("utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["additionalProperties"] is False  # unknown keys are refused: a misspelt key is not ignored
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert "conformance/ndr/envelope.schema.json" in readme
    jsonschema.validate(GOOD_ENVELOPE, schema)  # the README's example format
