"""A transaction the harness spooled to disk, judged offline (``lint --transaction SPOOL/ID.json``).

With a spool folder the harness writes each transaction it received as
``<id>.json`` (the envelope: ``mail_from``, ``mail_params``, ``recipients``
with their ``params``, ``started``, ``ended``) and ``<id>.eml`` (the message's
bytes as received).  Judging them later gives the verdict the live run gave:
the message as wire bytes (the C checks) and the transaction it came in
(transaction.py).  The record is read as untrusted data: every value is checked
and anything unusable is one line naming the file, never a traceback.  The
format is read here rather than through the harness's own classes, which the
judge does not import.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..findings import Location, Profile
from .envelope import Envelope
from .lint import LintResult, lint_message, unparsable
from .message import load
from .sources import Trouble, Unread, read_message
from .transaction import (
    ReceivedEnvelope,
    ReceivedRecipient,
    date_findings,
    envelope_findings,
)

#: no harness record comes near this; a larger file is not one
MAX_RECORD_SIZE = 16 * 1024 * 1024
#: where the findings on the envelope are said to be (they have no line in the message)
ENVELOPE = Location(detail="SMTP envelope")


class SpoolError(ValueError):
    """A transaction record that cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True)
class SpooledTransaction:
    """A spooled transaction's envelope and where its message is."""

    record: Path  #: the ``<id>.json`` file
    message: Path  #: the ``<id>.eml`` beside it
    envelope: ReceivedEnvelope


def load_transaction(path: Path) -> SpooledTransaction:
    """Read and check ``<id>.json``; SpoolError for a missing, unreadable or garbled record."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_RECORD_SIZE + 1)
    except OSError as exc:
        raise SpoolError(f"{path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_RECORD_SIZE:
        raise SpoolError(f"{path}: larger than {MAX_RECORD_SIZE} bytes: not a transaction record")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise SpoolError(f"{path}: not UTF-8 text: not a transaction record") from None
    except json.JSONDecodeError as exc:
        raise SpoolError(f"{path}:{exc.lineno}: not JSON: {exc.msg}") from None
    except RecursionError:
        raise SpoolError(f"{path}: nested too deeply to read: not a transaction record") from None
    try:
        envelope = _envelope(data)
    except SpoolError as exc:
        raise SpoolError(f"{path}: {exc}") from None
    if isinstance(data, dict) and "data_size" in data and data["data_size"] is None:
        raise SpoolError(f"{path}: the transaction has no message (it ended before DATA): nothing to lint")
    message = path.with_suffix(".eml")
    if not os.path.lexists(message):  # said before anything is linted, as for a missing PATH
        raise SpoolError(f"{message}: no such file or directory (the message of {path})")
    return SpooledTransaction(path, message, envelope)


def _envelope(data: Any) -> ReceivedEnvelope:
    if not isinstance(data, dict):
        raise SpoolError("not a transaction record (a JSON object with mail_from, recipients, started...)")
    mail_from = data.get("mail_from")
    if not isinstance(mail_from, str):
        raise SpoolError("'mail_from' (a string, '' for the null path) is required")
    recipients = data.get("recipients")
    if not isinstance(recipients, list):
        raise SpoolError("'recipients' (a list of {address, params}) is required")
    received = []
    for index, item in enumerate(recipients):
        if not isinstance(item, dict) or not isinstance(item.get("address"), str):
            raise SpoolError(f"recipients[{index}] needs an 'address' string")
        received.append(ReceivedRecipient(item["address"], _words(item.get("params", []),
                                                                    f"recipients[{index}].params")))
    return ReceivedEnvelope(reverse_path=mail_from, arrived=_arrival(data),
                            mail_params=_words(data.get("mail_params", []), "mail_params"),
                            recipients=tuple(received))


def _words(value: Any, name: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(word, str) for word in value):
        raise SpoolError(f"'{name}' must be a list of parameter strings")
    return tuple(value)


def _arrival(data: dict[str, Any]) -> float:
    """When the transaction ended (else began): what the NDR's Date is held against."""
    for name in ("ended", "started"):
        value = data.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or value < 0:
            raise SpoolError(f"'{name}' must be a time in seconds since the epoch, not {value!r}")
        if value > 0:
            return float(value)
    raise SpoolError("'ended' or 'started' (the arrival time, seconds since the epoch) is required")


def lint_transaction(tx: SpooledTransaction, *, profile: Profile, original: Envelope | None,
                     max_size: int, dsn_advertised: bool | None = None) -> LintResult | Trouble:
    """The message as wire bytes plus its transaction's checks; Trouble when the message cannot be read.

    The transaction's checks run only on an NDR: for other mail (a relayed copy
    from the spool's next hop) they would judge what was never meant as one.
    *dsn_advertised* is :func:`~conformance.ndr.lint.lint_bytes`'s (None: the
    *original* envelope's ``dsn_advertised``, else unknown).
    """
    source = str(tx.message)
    try:
        with tx.message.open("rb") as handle:
            raw = read_message(handle, max_size)
    except OSError as exc:
        return Trouble(f"{tx.message}: {exc.strerror or exc} (the message of {tx.record})")
    if isinstance(raw, Unread):
        return LintResult(source, raw.kind, detail=raw.detail)
    try:
        ndr = load(raw)
    except Exception as exc:  # noqa: BLE001 - never a traceback for a garbage NDR
        return unparsable(source, exc)
    result = lint_message(ndr, profile=profile, source=source, envelope=original, wire=True,
                          dsn_advertised=dsn_advertised)
    if result.kind.is_ndr:
        result.findings.extend(envelope_findings(tx.envelope, profile=profile, where=ENVELOPE, original=original))
        result.findings.extend(date_findings(ndr, tx.envelope.arrived, profile=profile, where=Location()))
        result.findings.sort(key=lambda f: f.where.line or 0)
    return result
