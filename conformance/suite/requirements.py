"""The ``requires`` keywords of case files: one table, read by the loader, the runner and the docs test.

A case says what it needs from the target (``requires: [known_recipient, DSN]``);
when the target or its settings cannot give it, the case is skipped with a
sentence naming the option to set or the capability missing.  Each row of
:data:`REQUIREMENTS` holds a keyword, its meaning and that gap rule, so a
keyword the loader accepts is always one the runner understands.  The rules
that follow from the dialogue rather than from a keyword (an over-limit
message, a placeholder whose option is unset, HELO under required STARTTLS)
are in :data:`DIALOGUE_RULES`, checked after the keywords.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..target import ROUTES, StartTLS, route_gap
from . import placeholders

if TYPE_CHECKING:
    from ..target import TargetSettings
    from .model import Case

#: an EHLO keyword (RFC 5321 §4.1.1.1), as a case names it: upper case
CAPABILITY = re.compile(r"[A-Z0-9][A-Z0-9-]*")
#: the largest SIZE limit a 'size: over-limit' case will exceed (bigger limits skip the case)
MAX_OVER_LIMIT = 64 * 1024 * 1024

Capabilities = Mapping[str, str]
Gap = Callable[[str, "Case", "TargetSettings", Capabilities], "str | None"]


def size_limit(capabilities: Capabilities) -> int | None:
    """The fixed SIZE limit advertised in EHLO (RFC 1870), or None when there is none."""
    if "SIZE" not in capabilities:
        return None
    words = capabilities["SIZE"].split()
    if not words or not words[0].isdigit() or int(words[0]) == 0:
        return None
    return int(words[0])


@dataclass(frozen=True)
class Requirement:
    """One ``requires`` keyword: how it is written, what it means, and why a target may not meet it.

    ``keyword`` is the word itself, or ``UPPERCASE`` / ``!UPPERCASE`` for the
    EHLO-capability forms (``DSN``, ``!DSN``); ``matches`` says which written
    values the row stands for.
    """

    keyword: str
    meaning: str
    gap: Gap
    matches: Callable[[str], bool]


def _known_recipient(req: str, case: Case, s: TargetSettings, caps: Capabilities) -> str | None:
    if not s.known_recipient and case.delivers:
        return ("requires --mta-known-recipient: this case delivers a message to it (postmaster stands "
                "in for the control probe only; test mail never goes to a postmaster)")
    if not s.control_recipient:
        return "requires --mta-known-recipient (an address the target accepts, the control probe)"
    return None


def _local_domain(req: str, case: Case, s: TargetSettings, caps: Capabilities) -> str | None:
    return None if s.local_domain else "requires --mta-local-domain (or --mta-known-recipient)"


def _slow(req: str, case: Case, s: TargetSettings, caps: Capabilities) -> str | None:
    if s.delay_timeout:
        return None
    return ("an opt-in slow case (it waits for the target's delay warning): set --mta-delay-timeout "
            "SECONDS, longer than the target's delay-warning time, to run it")


def _route(req: str, case: Case, s: TargetSettings, caps: Capabilities) -> str | None:
    options = route_gap(s, req)
    return f"requires the {req.replace('_', ' ')}: set {options}" if options else None


def _capability(req: str, case: Case, s: TargetSettings, caps: Capabilities) -> str | None:
    # isupper(): an all-digit keyword names no capability to ask for (as the runner always read it)
    if req.isupper() and req not in caps:
        return f"requires EHLO capability {req}, which the target does not advertise"
    return None


def _no_capability(req: str, case: Case, s: TargetSettings, caps: Capabilities) -> str | None:
    if req[1:] in caps:
        return f"for targets without {req[1:]}; the target advertises {req[1:]} in its EHLO reply"
    return None


def _is(word: str) -> Callable[[str], bool]:
    return lambda req: req == word


REQUIREMENTS: tuple[Requirement, ...] = (
    Requirement("known_recipient", "an address the target accepts (--mta-known-recipient; postmaster of "
                "--mta-local-domain stands in unless the case delivers a message)",
                _known_recipient, _is("known_recipient")),
    Requirement("local_domain", "a domain the target is final destination for (--mta-local-domain)",
                _local_domain, _is("local_domain")),
    Requirement("slow", "an opt-in case that waits for the target's delay warning (--mta-delay-timeout)",
                _slow, _is("slow")),
    *(Requirement(route, f"the {route.replace('_', ' ')} to the harness ({ROUTES[route][1]})", _route, _is(route))
      for route in ROUTES),
    Requirement("UPPERCASE", "the target advertises this EHLO keyword (e.g. DSN, ENHANCEDSTATUSCODES)",
                _capability, lambda req: CAPABILITY.fullmatch(req) is not None),
    Requirement("!UPPERCASE", "the target does not advertise this EHLO keyword (e.g. !DSN)",
                _no_capability, lambda req: req.startswith("!") and CAPABILITY.fullmatch(req[1:]) is not None),
)

#: the keywords written as themselves (not the EHLO-capability forms)
WORDS: frozenset[str] = frozenset(r.keyword for r in REQUIREMENTS if not r.keyword.isupper() and "!" not in r.keyword)
#: for error messages: what a 'requires' item may be
ALLOWED = "one of " + ", ".join(sorted(WORDS)) + ", an EHLO keyword (DSN) or one negated (!DSN)"


def row_for(req: str) -> Requirement | None:
    """The row a written ``requires`` value stands for, or None when it is unknown."""
    return next((row for row in REQUIREMENTS if row.matches(req)), None)


def is_known(req: str) -> bool:
    return row_for(req) is not None


def _over_limit(case: Case, s: TargetSettings, caps: Capabilities) -> str | None:
    if not any(step.data_size == "over-limit" for step in case.steps):
        return None
    limit = size_limit(caps)
    if limit is None:
        return "sends a message over the target's SIZE limit, but the target advertises no SIZE limit"
    if limit > MAX_OVER_LIMIT:
        return (f"sends a message over the target's SIZE limit, but that limit ({limit} octets) is above "
                f"the {MAX_OVER_LIMIT // 1048576} MiB this suite sends")
    return None


def _unset_placeholder(case: Case, s: TargetSettings, caps: Capabilities) -> str | None:
    values = placeholders.values(s, "t")
    for step in case.steps:
        reason = placeholders.unavailable(step.send or "", values)
        if reason:
            return reason
    return None


def _helo_under_starttls(case: Case, s: TargetSettings, caps: Capabilities) -> str | None:
    if s.starttls is StartTLS.REQUIRED and any((step.send or "").upper().startswith("HELO ") for step in case.steps):
        return "opens with HELO, which cannot negotiate STARTTLS (--mta-starttls=required)"
    return None


#: what the dialogue itself needs, checked in this order after the keywords
DIALOGUE_RULES: tuple[Callable[[Case, TargetSettings, Capabilities], str | None], ...] = (
    _over_limit, _unset_placeholder, _helo_under_starttls)


def requirement_gap(case: Case, settings: TargetSettings, capabilities: Capabilities) -> str | None:
    """Why *case* cannot run against this target (skip reason), or None.

    *capabilities* are the EHLO keywords the probe saw (upper case -> parameters).
    The keywords are checked in the order the case lists them, then the dialogue rules.
    """
    for req in case.requires:
        row = row_for(req)
        reason = row.gap(req, case, settings, capabilities) if row else None
        if reason:
            return reason
    for rule in DIALOGUE_RULES:
        reason = rule(case, settings, capabilities)
        if reason:
            return reason
    return None
