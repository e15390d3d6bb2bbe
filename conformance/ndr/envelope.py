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
from pathlib import Path
from typing import Any


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


def from_dict(data: Any) -> Envelope:
    """An Envelope from parsed JSON; every value is checked, since the file comes from outside."""
    if not isinstance(data, dict):
        raise EnvelopeError("the envelope is a JSON object")
    unknown = set(data) - {"reverse_path", "recipients", "envid", "ret", "dsn_advertised"}
    if unknown:
        raise EnvelopeError(f"unknown envelope key(s): {', '.join(sorted(unknown))}")
    if not isinstance(data.get("reverse_path"), str):
        raise EnvelopeError("'reverse_path' (a string, '' for the null path) is required")
    recipients = []
    for index, item in enumerate(data.get("recipients", [])):
        if isinstance(item, str):
            item = {"address": item}
        if not isinstance(item, dict) or not isinstance(item.get("address"), str):
            raise EnvelopeError(f"recipients[{index}] needs an 'address' string")
        extra = set(item) - {"address", "orcpt", "notify"}
        if extra:
            raise EnvelopeError(f"recipients[{index}]: unknown key(s) {', '.join(sorted(extra))}")
        recipients.append(OriginalRecipient(item["address"], item.get("orcpt"), item.get("notify")))
    ret = data.get("ret")
    if ret is not None and str(ret).upper() not in ("FULL", "HDRS"):
        raise EnvelopeError("'ret' is FULL or HDRS")
    advertised = data.get("dsn_advertised")
    if advertised is not None and not isinstance(advertised, bool):
        raise EnvelopeError("'dsn_advertised' is true or false (did the target offer DSN in its EHLO reply?)")
    return Envelope(data["reverse_path"], tuple(recipients), data.get("envid"), ret, advertised)


def load_envelope(path: Path) -> Envelope:
    """The envelope file *path*; EnvelopeError (one line naming the file) for anything unusable."""
    try:
        return from_dict(json.loads(path.read_text(encoding="utf-8")))
    except OSError as exc:
        raise EnvelopeError(f"{path}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise EnvelopeError(f"{path}:{exc.lineno}: not JSON: {exc.msg}") from None
    except EnvelopeError as exc:
        raise EnvelopeError(f"{path}: {exc}") from None
