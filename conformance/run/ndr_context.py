"""Checks on a captured NDR that only the client of the run can make.

The offline linter judges an NDR's bytes and, given one, the original envelope;
it cannot know the name our client gave in EHLO, nor the exact bytes of the
reverse path the target used when it sent the NDR.  The live judge knows both:
DSN-FMT-009 holds Received-From-MTA to the EHLO name (RFC 3464 §2.2.4), and
NDR-ENV-001 says in words when a reverse path is neither ``<>`` nor an address
a reply could reach (``<#@[]>``, ``<@>``), as the harness recorded it.  And
only the case knows which NDRs count: a delay case counts "delayed" reports,
not the final failure (:class:`ActionFilter`).
"""

from __future__ import annotations

import ipaddress
import re

from ..checks.registry import finding
from ..findings import Finding, Location, Profile
from ..harness.mailbox import Transaction
from ..ndr.classify import Kind, classify
from ..ndr.dsn_fields import strip_comments
from ..ndr.message import NDRMessage, load

#: the actions RFC 3464 §2.3.3 defines
ACTIONS = frozenset({"failed", "delayed", "delivered", "relayed", "expanded"})
#: a domain name as RFC 5321 §4.1.2 writes one (sub-domains of letters, digits and hyphens)
_DOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.?")
#: a local part as RFC 5321 §4.1.2 allows it (dot-string or quoted string)
_LOCAL = re.compile(r'[A-Za-z0-9!#$%&\'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&\'*+/=?^_`{|}~-]+)*|"(?:[^"\\]|\\.)*"')


def address_literal(text: str) -> bool:
    """Whether *text* is an RFC 5321 §4.1.3 address literal: ``[192.0.2.1]`` or ``[IPv6:2001:db8::1]``."""
    if not (text.startswith("[") and text.endswith("]")):
        return False
    inner = text[1:-1]
    if inner[:5].lower() == "ipv6:":
        inner, version = inner[5:], 6
    else:
        version = 4
    try:
        return ipaddress.ip_address(inner).version == version
    except ValueError:
        return False


def usable_address(path: str) -> bool:
    """Whether a reverse path (without brackets) names a mailbox a reply could be sent to."""
    path = path.rsplit(":", 1)[-1] if path.startswith("@") else path  # a source route ends at its mailbox
    local, at, domain = path.rpartition("@")
    if not at or not _LOCAL.fullmatch(local):
        return False
    return bool(_DOMAIN.fullmatch(domain)) or address_literal(domain)


def raw_reverse_path(tx: Transaction) -> str:
    """The reverse path as the target sent it, brackets included (``<>``, ``<#@[]>``), from the MAIL argument."""
    argument = tx.mail_arg.strip()
    if argument[:5].upper() == "FROM:":
        rest = argument[5:].lstrip()
        if rest.startswith("<") and ">" in rest:
            return rest[: rest.index(">") + 1]
        return rest.split(" ", 1)[0] if rest else "<>"
    return f"<{tx.mail_from}>"


def reverse_path_findings(tx: Transaction, *, profile: Profile, where: Location) -> list[Finding]:
    """NDR-ENV-001 for a reverse path that is neither the null path nor a usable address.

    An NDR sent from ``<#@[]>`` or ``<@>`` cannot itself be answered, but it is
    not the null reverse-path either, which is what tells every later MTA that
    no NDR may be sent about it (RFC 5321 §4.5.5, §6.1; RFC 3461 §6.1).  A
    usable, non-null address is left to the envelope check's own sentence.
    """
    raw = raw_reverse_path(tx)
    if raw == "<>" or (raw.startswith("<") and raw.endswith(">") and usable_address(raw[1:-1])):
        return []
    return [finding("NDR-ENV-001", f"the NDR was sent with MAIL FROM:{raw}, which is neither the null "
                    f"reverse-path <> nor a usable address: RFC 5321 §4.5.5 wants an NDR sent with <>, so that "
                    f"no notice can be sent about it", profile=profile, where=where)]


def received_from_findings(ndr: NDRMessage, helo_names: tuple[str, ...], *, profile: Profile,
                           where: Location) -> list[Finding]:
    """DSN-FMT-009: Received-From-MTA, when present, names the client that handed the message over.

    RFC 3464 §2.2.4: for a message received by SMTP it SHOULD be ``dns;`` and
    the name the client gave in HELO or EHLO, with the client's address as a
    comment.  The name is compared case-insensitively, comments ignored; an
    address literal (``dns; [192.0.2.1]``) names the client by its address and
    is accepted, since the target may see our client behind another address.
    """
    status = ndr.status
    field = status.per_message.first("received-from-mta") if status is not None else None
    names = {n.lower().rstrip(".") for n in helo_names if n}
    if field is None or not names:
        return []
    kind, text = field.typed()
    name = strip_comments(text).strip()
    if (kind or "").lower() == "dns" and (name.lower().rstrip(".") in names or address_literal(name)):
        return []
    expected = " or ".join(f"'dns; {n}'" for n in sorted(names))
    return [finding("DSN-FMT-009", f"Received-From-MTA is {field.value!r}, but the client that handed the "
                    f"message over said EHLO {sorted(names)[0]}: RFC 3464 §2.2.4 wants {expected} (its address "
                    f"as a comment, or an address literal)", profile=profile,
                    where=Location(line=field.line).within(where))]


class ActionFilter:
    """Which of a case's NDRs count, by the actions they report (the case's ``actions``; none: every NDR).

    A delay case counts only "delayed" reports: the final failed DSN of a
    target whose queue lifetime is shorter than the wait is no delayed DSN.
    What an NDR reports comes from its Action fields, or for a notice without
    DSN fields from its classification (a delay notice, a bounce); an NDR whose
    report cannot be read counts, so nothing unreadable is waved through.
    """

    def __init__(self, actions: tuple[str, ...]) -> None:
        self.actions = actions
        self._reported: dict[str, str | None] = {}

    def reported(self, tx: Transaction) -> str | None:
        """The action(s) the NDR reports ("failed", "delayed", "delayed and failed"), None when unreadable."""
        if tx.id not in self._reported:
            self._reported[tx.id] = _reported(tx)
        return self._reported[tx.id]

    def counts(self, tx: Transaction) -> bool:
        reported = self.reported(tx)
        return not self.actions or reported is None or any(a in self.actions for a in reported.split(" and "))

    def ends_wait(self, tx: Transaction) -> bool:
        """Counted, or the final failure after which no delay notice can follow."""
        return self.counts(tx) or self.reported(tx) == "failed"


def _reported(tx: Transaction) -> str | None:
    try:
        parsed = load(tx.data) if tx.data is not None else None
        if parsed is None:
            return None
        if parsed.status is not None:
            actions = sorted({f.bare.lower() for block in parsed.status.recipients for f in block.get("action")})
            if not set(actions) <= ACTIONS:
                return None  # an action RFC 3464 does not define ("failure"): unreadable, so it counts
            return " and ".join(actions) or None
        return {Kind.DELAY_NOTICE: "delayed", Kind.BOUNCE: "failed"}.get(classify(parsed))
    except Exception:  # noqa: BLE001 - an unreadable NDR counts; the linter says what is wrong with it
        return None
