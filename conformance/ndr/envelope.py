"""The original transaction's envelope: the context S+ctx checks need.

From a JSON file (``mta-conformance lint --envelope FILE.json``) or built by the
live harness from what it sent.  Values are as sent on the wire: ENVID and ORCPT
in xtext, addresses with their original case.  ``dsn_advertised`` says whether
the target offered DSN in its EHLO reply (absent: not known), which decides the
severity of MPR-001 and whether the DSN parameters are held against the NDR.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema


class EnvelopeError(ValueError):
    """An envelope file or object that cannot be used; the message names what is wrong."""


@dataclass(frozen=True)
class OriginalRecipient:
    """One recipient of the original transaction, with its DSN parameters as sent."""

    address: str
    orcpt: str | None = None  #: "rfc822;addr" as sent (xtext)
    notify: str | None = None  #: "SUCCESS,FAILURE", "NEVER", ...

    @property
    def notify_keywords(self) -> set[str]:
        """NOTIFY's keywords, upper-cased (empty when NOTIFY was not given)."""
        return {w.strip().upper() for w in (self.notify or "").split(",") if w.strip()}


@dataclass(frozen=True)
class Envelope:
    """The original transaction: what an NDR about it must echo (To, Original-Envelope-Id, ORCPT...)."""

    reverse_path: str
    recipients: tuple[OriginalRecipient, ...] = field(default=())
    envid: str | None = None
    ret: str | None = None
    #: did the target advertise DSN in its EHLO reply? None: not known
    dsn_advertised: bool | None = None

    def recipient(self, address: str) -> OriginalRecipient | None:
        """The recipient *address* names (case-insensitively), or None when it was not one."""
        for r in self.recipients:
            if r.address.lower() == address.lower():
                return r
        return None


#: no envelope comes near this (a few recipients); a larger file is not one, and is not read further
MAX_ENVELOPE_SIZE = 1024 * 1024


@lru_cache(maxsize=1)
def _validator() -> Any:
    """The validator of envelope.schema.json (shipped in the package): the file format's one definition."""
    text = resources.files("conformance.ndr").joinpath("envelope.schema.json").read_text("utf-8")
    return jsonschema.Draft202012Validator(json.loads(text))


def from_dict(data: Any) -> Envelope:
    """An Envelope from parsed JSON; every value is checked against the schema, since the file comes from outside."""
    error = jsonschema.exceptions.best_match(_validator().iter_errors(data))
    if error is not None:
        raise EnvelopeError(_schema_message(error))
    _refuse_lone_surrogates(data)
    recipients = tuple(OriginalRecipient(item) if isinstance(item, str)
                       else OriginalRecipient(item["address"], item.get("orcpt"), item.get("notify"))
                       for item in data.get("recipients", []))
    return Envelope(data["reverse_path"], recipients, data.get("envid"), data.get("ret"), data.get("dsn_advertised"))


def _schema_message(error: Any) -> str:
    """One sentence for a schema error: the JSON path, what belongs there and what is there (never a regex)."""
    path = _json_path(error.absolute_path)
    where = f"'{path}'" if path else "the envelope"
    schema, instance = error.schema, error.instance
    if error.validator == "required":
        missing = next(k for k in error.validator_value if k not in instance)
        name = f"{path}.{missing}" if path else missing
        return f"'{name}' ({schema['properties'][missing]['description']}) is required"
    if error.validator == "additionalProperties":
        extra = ", ".join(repr(k)[1:-1] for k in sorted(set(instance) - set(schema["properties"])))
        at = f" in {where}" if path else ""
        known = ", ".join(schema["properties"])
        return f"unknown {schema['title']} key(s){at}: {_bounded(extra)} (the keys are {known})"
    return f"{where} is {schema.get('description', 'not valid')}, not {_kind(instance)}"


def _json_path(parts: Any) -> str:
    """``recipients[0].address`` for the path deque ['recipients', 0, 'address']."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return _bounded(text)


def _kind(value: Any) -> str:
    """What a JSON value is, for a message: 'the string "abc"', 'a list', 'null'..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return f"the number {_bounded(repr(value))}"
    if isinstance(value, str):
        return f"the string {_bounded(repr(value))}"
    return "a list" if isinstance(value, list) else "an object"


def _bounded(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _refuse_lone_surrogates(data: Any) -> None:
    r"""A lone surrogate (``"\ud800"``) is valid JSON but no character: it could not be written in a finding."""
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise EnvelopeError("a string holds a lone surrogate escape (such as \\ud800), which is no character") \
            from None


def load_envelope(path: Path) -> Envelope:
    """The envelope file *path*; EnvelopeError (one line naming the file) for anything unusable.

    Read as untrusted input: bounded in size, decoded as UTF-8, parsed without
    a recursion crash, then checked against envelope.schema.json.
    """
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_ENVELOPE_SIZE + 1)
    except OSError as exc:
        raise EnvelopeError(f"{path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_ENVELOPE_SIZE:
        raise EnvelopeError(f"{path}: larger than {MAX_ENVELOPE_SIZE} bytes (1 MiB): not an envelope file")
    try:
        return from_dict(json.loads(raw.decode("utf-8")))
    except UnicodeDecodeError as exc:
        raise EnvelopeError(f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}): "
                            "not an envelope file") from None
    except json.JSONDecodeError as exc:
        raise EnvelopeError(f"{path}:{exc.lineno}: not JSON: {exc.msg}") from None
    except RecursionError:
        raise EnvelopeError(f"{path}: nested too deeply to read: not an envelope file") from None
    except EnvelopeError as exc:
        raise EnvelopeError(f"{path}: {exc}") from None
