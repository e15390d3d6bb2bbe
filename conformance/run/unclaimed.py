"""What reached the harness that no case can claim: the run's own findings.

Every transaction the harness captures is a case's when it carries that case's
token (in its reverse path, a recipient or its bytes); the case's judges see
it.  One that carries no case's token was sent to an address no case gave as
its reverse path, or returns nothing of the message it reports on: it cannot
fail a case, but it is the target's doing and the run says so (results.json,
``run_findings``), as information for the person reading the report.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Protocol

from ..checks.registry import note
from ..findings import Finding, Location
from ..harness.mailbox import Transaction
from ..ndr.classify import VERDICTS, classify, looks_like_message
from ..ndr.message import load
from .dialogue import TOKEN_PATTERN
from .ndr_context import raw_reverse_path

#: the route control's token (run/routes.py: "ctrl-" and a case token), in addresses and in bytes
_CONTROL = re.compile(rf"ctrl-{TOKEN_PATTERN}", re.IGNORECASE)
_CONTROL_BYTES = re.compile(rf"ctrl-{TOKEN_PATTERN}".encode(), re.IGNORECASE)
#: the info the run gives an unclaimed capture: the row about where an NDR may go (only the reverse path)
CHECK = "NDR-ENV-002"


class CapturedMail(Protocol):
    """What the run needs of the harness at its end: whether it ran, and everything it captured."""

    def listening(self) -> object | None: ...

    def mailbox(self) -> object: ...


def carries_token(tx: Transaction, token: str) -> bool:
    """Whether *tx* belongs to the case run with *token* (in its reverse path, a recipient, or its bytes)."""
    lowered = token.lower()
    return (lowered in tx.mail_from.lower() or any(lowered in r.address.lower() for r in tx.recipients)
            or (tx.data is not None and token.encode() in tx.data))


def route_control(tx: Transaction) -> bool:
    """Whether *tx* is the route control's own mail (its token, ``ctrl-`` and a token, in the envelope)."""
    return bool(_CONTROL.search(tx.mail_from) or any(_CONTROL.search(r.address) for r in tx.recipients)
                or (tx.data is not None and _CONTROL_BYTES.search(tx.data)))


def unclaimed(captured: Iterable[Transaction], tokens: Iterable[str]) -> list[Transaction]:
    """The transactions that carry no token of the run's cases (nor the route control's), by arrival."""
    known = [t for t in tokens if t]
    return sorted((tx for tx in captured if not route_control(tx) and not any(carries_token(tx, t) for t in known)),
                  key=lambda tx: tx.started)


def unclaimed_findings(captured: Iterable[Transaction], tokens: Iterable[str]) -> list[Finding]:
    """One info finding per capture no case claims, saying what it was and why no case could take it."""
    return [note(CHECK, _described(tx), where=Location(detail=f"harness transaction {tx.id}"))
            for tx in unclaimed(captured, tokens)]


def harness_findings(holder: CapturedMail | None, tokens: Iterable[str]) -> list[Finding]:
    """The unclaimed captures of the harness that ran in this process (none when no harness ran)."""
    if holder is None or holder.listening() is None:
        return []
    all_of = getattr(holder.mailbox(), "all", None)
    return unclaimed_findings(all_of(), tokens) if callable(all_of) else []


def _described(tx: Transaction) -> str:
    to = ", ".join(f"<{r.address}>" for r in tx.recipients) or "no recipient"
    where = {"sink": "the bounce sink", "next-hop": "the next hop"}.get(tx.role, "the harness (refused there)")
    return (f"{_kind(tx)} reached {where} with MAIL FROM:{raw_reverse_path(tx)} to {to}, carrying no case's token "
            f"in its envelope, returned headers or body: no case can claim it, so it is judged by none (an NDR "
            f"goes only to the original reverse path, RFC 3461 §6.1, and returns enough to find its message)")


def _kind(tx: Transaction) -> str:
    """The capture in words: what the linter's classification makes of its bytes."""
    if tx.data is None:
        return "a transaction without a message"
    if not looks_like_message(tx.data):
        return "something that is not a message"
    try:
        kind = VERDICTS[classify(load(tx.data))]
    except Exception:  # noqa: BLE001 - an unreadable capture is described, never a traceback
        return "a message that cannot be parsed"
    return f"a message ({kind})"
