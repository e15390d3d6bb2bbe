"""An NDR's own transaction (envelope and Date), and linting a message already parsed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_ndr_cli import ENVELOPE, WITH_CONTEXT
from test_ndr_lint import GOOD

from conformance.cli import main
from conformance.findings import Location, Profile
from conformance.ndr.command import NO_ORIGINAL
from conformance.ndr.envelope import Envelope
from conformance.ndr.lint import lint_bytes, lint_message
from conformance.ndr.message import load
from conformance.ndr.transaction import (
    ReceivedEnvelope,
    ReceivedRecipient,
    transaction_findings,
)


def test_lint_message_is_lint_bytes_on_a_parsed_message() -> None:
    bad = GOOD.replace(b"Action: failed", b"Action: failure")
    assert lint_message(load(bad), source="x") == lint_bytes(bad, source="x")


def test_findings_lie_within_the_base_location() -> None:
    bad = GOOD.replace(b"Action: failed", b"Action: failure")
    result = lint_message(load(bad), profile=Profile.ANTI_BACKSCATTER, where=Location(ndr=2))
    action = next(f for f in result.findings if f.check_id == "DSN-FMT-016")
    assert str(action.where) == "NDR 2, line 24"


# --- the transaction checks over plain data -------------------------------------------------------------

#: GOOD's Date, Mon, 23 Nov 2026 06:00:00 +0000
DATE = 1795413600.0
ORIGINAL = Envelope("Sender@example.org", envid="Env+2BId")


def received(**changes: object) -> ReceivedEnvelope:
    fields: dict[str, object] = {"reverse_path": "", "arrived": DATE + 2,
                                 "recipients": (ReceivedRecipient("sender@example.org", ("NOTIFY=NEVER",)),)}
    return ReceivedEnvelope(**{**fields, **changes})  # type: ignore[arg-type]


def test_a_good_transaction_has_no_findings() -> None:
    assert transaction_findings(received(), load(GOOD), profile=Profile.ANTI_BACKSCATTER, original=ORIGINAL) == []


def test_findings_name_the_ndr_and_the_date_line() -> None:
    found = transaction_findings(received(reverse_path="mailer-daemon@mx.example.net", arrived=DATE + 3600),
                                 load(GOOD), profile=Profile.ANTI_BACKSCATTER, where=Location(ndr=1))
    assert [(f.check_id, str(f.where)) for f in found] == [("NDR-ENV-001", "NDR 1"), ("NDR-HDR-003", "NDR 1, line 1")]
    assert found[1].message == ("the NDR's Date is 3600 s before its arrival: it does not reflect when the NDR was "
                                "generated")


def test_without_the_original_the_comparisons_are_not_run() -> None:
    odd = received(mail_params=("ENVID=Env+2BId",), recipients=(ReceivedRecipient("other@example.org"),))
    with_original = transaction_findings(odd, None, profile=Profile.ANTI_BACKSCATTER, original=ORIGINAL)
    assert {f.check_id for f in with_original} == {"NDR-ENV-002", "NDR-ENV-005"}
    assert transaction_findings(odd, None, profile=Profile.ANTI_BACKSCATTER) == []


def test_notify_never_is_allowed_in_any_case() -> None:
    quiet = received(recipients=(ReceivedRecipient("sender@example.org", ("notify=never",)),))
    assert transaction_findings(quiet, None, profile=Profile.ANTI_BACKSCATTER, original=ORIGINAL) == []


# --- lint --transaction ----------------------------------------------------------------------------------

RECORD: dict[str, object] = {
    "id": "20261123T060001-abc", "role": "sink", "port": 2525, "dsn_advertised": True, "peer": "127.0.0.1",
    "helo": "mx.example.net", "mail_from": "", "mail_params": [],
    "recipients": [{"address": "sender@example.org", "params": [], "reply": "250 2.1.5 Ok"}],
    "data_reply": "250 2.0.0 Ok", "transcript": [], "started": DATE + 1, "ended": DATE + 2, "data_size": 1}


def spool(folder: Path, record: dict[str, object] | None = None, message: bytes = WITH_CONTEXT,
          name: str = "20261123T060001-abc") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.eml").write_bytes(message)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(record or RECORD), encoding="utf-8")
    return path


def original(folder: Path) -> Path:
    path = folder / "original.json"
    path.write_text(json.dumps(ENVELOPE), encoding="utf-8")
    return path


def lint_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict[str, Any]], str]:
    code = main(["lint", "--format", "json", *args])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def test_a_good_spooled_ndr_is_clean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, items, err = lint_json(capsys, "--transaction", str(spool(tmp_path)), "--envelope", str(original(tmp_path)))
    assert code == 0 and err == ""
    assert [(i["source"], i["kind"], i["findings"]) for i in items] == [
        (str(tmp_path / "20261123T060001-abc.eml"), "dsn", [])]


BAD_TRANSACTIONS = [
    ({"mail_from": "MAILER-DAEMON@mx.example.net"}, "NDR-ENV-001", "error"),
    ({"recipients": [{"address": "postmaster@example.org", "params": []}]}, "NDR-ENV-002", "error"),
    ({"mail_params": ["RET=HDRS"]}, "NDR-ENV-003", "error"),
    ({"recipients": [{"address": "sender@example.org", "params": ["NOTIFY=FAILURE"]}]}, "NDR-ENV-004", "error"),
    ({"mail_params": ["ENVID=Env+2BId"]}, "NDR-ENV-005", "warning"),
    ({"recipients": [{"address": "sender@example.org", "params": []}] * 2}, "NDR-ENV-007", "warning"),
    ({"ended": DATE + 3600}, "NDR-HDR-003", "info"),
]


@pytest.mark.parametrize(("change", "check", "severity"), BAD_TRANSACTIONS, ids=[c for _, c, _ in BAD_TRANSACTIONS])
def test_each_transaction_check_fires(change: dict[str, object], check: str, severity: str, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    record = spool(tmp_path, {**RECORD, **change})
    code, items, _ = lint_json(capsys, "--transaction", str(record), "--envelope", str(original(tmp_path)))
    assert [(f["check_id"], f["severity"]) for f in items[0]["findings"]] == [(check, severity)]
    assert code == (1 if severity == "error" else 0)


def test_the_envelope_findings_say_where_they_are(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    record = spool(tmp_path, {**RECORD, "mail_from": "x@mx.example.net", "ended": DATE + 3600})
    assert main(["lint", "--transaction", str(record), "--envelope", str(original(tmp_path))]) == 1
    lines = capsys.readouterr().out.splitlines()
    eml = tmp_path / "20261123T060001-abc.eml"
    assert lines[1].startswith(f"{eml} (SMTP envelope)  NDR-ENV-001  error  the NDR was sent with MAIL FROM:<x@")
    assert lines[2].startswith(f"{eml}:1  NDR-HDR-003  info  the NDR's Date is 3600 s before its arrival")


def test_the_message_is_judged_as_wire_bytes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    record = spool(tmp_path, message=WITH_CONTEXT.replace(b"\r\n", b"\n"))
    code, items, _ = lint_json(capsys, "--transaction", str(record), "--envelope", str(original(tmp_path)))
    assert code == 1 and {f["check_id"] for f in items[0]["findings"]} == {"NDR-HDR-014"}


def test_without_envelope_the_comparisons_are_skipped_and_said_once(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    odd = {**RECORD, "mail_params": ["ENVID=Env+2BId"], "recipients": [{"address": "other@example.org"}]}
    one, two = spool(tmp_path, odd, name="one"), spool(tmp_path, odd, name="two")
    code, items, err = lint_json(capsys, "--transaction", str(one), "--transaction", str(two))
    assert code == 0 and [i["findings"] for i in items] == [[], []]
    assert err == f"mta-conformance lint: {NO_ORIGINAL}\n"


def test_only_an_ndr_gets_the_transaction_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    relayed = b"From: a@example.org\r\nTo: b@example.com\r\nDate: Mon, 1 Jan 2001 00:00:00 +0000\r\n\r\nhi\r\n"
    record = spool(tmp_path, {**RECORD, "role": "next-hop", "mail_from": "a@example.org"}, relayed)
    code, items, _ = lint_json(capsys, "--transaction", str(record))
    assert code == 0 and items[0]["kind"] == "not-a-bounce" and items[0]["findings"] == []


@pytest.mark.parametrize(("content", "error"), [
    (b"{not json", "ID.json:1: not JSON: "),
    (b"\xff\xfe", "ID.json: not UTF-8 text"),
    (b"[]", "ID.json: not a transaction record"),
    (json.dumps({**RECORD, "mail_from": None}).encode(), "ID.json: 'mail_from' (a string"),
    (json.dumps({**RECORD, "recipients": {}}).encode(), "ID.json: 'recipients' (a list"),
    (json.dumps({**RECORD, "recipients": [{"params": []}]}).encode(), "ID.json: recipients[0] needs an 'address'"),
    (json.dumps({**RECORD, "mail_params": "RET=FULL"}).encode(), "ID.json: 'mail_params' must be a list"),
    (json.dumps({**RECORD, "recipients": [{"address": "a@b", "params": [1]}]}).encode(),
     "ID.json: 'recipients[0].params' must be a list"),
    (json.dumps({**RECORD, "ended": "soon"}).encode(), "ID.json: 'ended' must be a time"),
    (json.dumps({**RECORD, "ended": True}).encode(), "ID.json: 'ended' must be a time"),
    (json.dumps({**RECORD, "ended": 0, "started": 0}).encode(), "ID.json: 'ended' or 'started'"),
    (json.dumps({**RECORD, "data_size": None}).encode(), "ID.json: the transaction has no message"),
])
def test_an_unusable_record_is_one_line_and_status_4(content: bytes, error: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "ID.json"
    path.write_bytes(content)
    (tmp_path / "ID.eml").write_bytes(WITH_CONTEXT)
    assert main(["lint", "--transaction", str(path)]) == 4
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"mta-conformance lint: {tmp_path}/{error}") and err.count("\n") == 1


def test_a_missing_record_or_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", "--transaction", str(tmp_path / "gone.json")]) == 4
    assert capsys.readouterr().err == f"mta-conformance lint: {tmp_path}/gone.json: No such file or directory\n"
    record = spool(tmp_path)
    record.with_suffix(".eml").unlink()
    assert main(["lint", "--transaction", str(record)]) == 4
    assert capsys.readouterr().err == (f"mta-conformance lint: {record.with_suffix('.eml')}: no such file or "
                                       f"directory (the message of {record})\n")


def test_nothing_to_lint_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint"]) == 4
    assert "nothing to lint" in capsys.readouterr().err


def test_a_spooled_message_too_large(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    record = spool(tmp_path, message=WITH_CONTEXT * 10)
    code, items, _ = lint_json(capsys, "--max-message-size", "1K", "--transaction", str(record))
    assert code == 1 and items[0]["kind"] == "too-large"


def test_an_unreadable_message_is_status_4(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    record = spool(tmp_path)
    eml = record.with_suffix(".eml")
    eml.unlink()
    eml.mkdir()
    assert main(["lint", "--transaction", str(record), "--envelope", str(original(tmp_path))]) == 4
    err = capsys.readouterr().err
    assert err.startswith(f"mta-conformance lint: {eml}: ") and err.endswith(f"(the message of {record})\n")


def test_a_spooled_ndr_honours_what_the_target_advertised(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """ORCPT was in the original envelope; a target that never offered DSN is not held to it (RFC 3461)."""
    record = spool(tmp_path, message=WITH_CONTEXT.replace(b"Original-Recipient: rfc822;nobody@example.com\r\n", b""))
    args = ["--transaction", str(record), "--envelope", str(original(tmp_path))]
    code, items, _ = lint_json(capsys, *args)
    assert code == 1 and ("DSN-FMT-015", "error") in {(f["check_id"], f["severity"]) for f in items[0]["findings"]}
    code, items, _ = lint_json(capsys, *args, "--no-dsn-advertised")
    assert code == 0 and items[0]["findings"] == []
