"""The placeholders of case files: one table, read by the loader, the runner and the docs test.

A case file writes ``{token}``, ``{unknown_local}``, ``{fill:40}``... in the lines
it sends and in the values it expects.  Each row of :data:`PLACEHOLDERS` says
what a placeholder means, how its value is computed from the target settings
and the case run's token, and which option provides it (so a case that needs
an unset one is skipped with "requires <option>").  Keeping every placeholder
here means the loader cannot accept a name the runner does not fill, and the
schema description and README are checked against the same rows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..target import TargetSettings

#: a placeholder in a template: ``{name}`` or ``{name:N}`` (N only for ``fill``)
PATTERN = re.compile(r"\{([a-z_][a-z0-9_]*)(?::([0-9]+))?\}")
#: the largest N of ``{fill:N}``: far beyond any SMTP line limit (RFC 5321 §4.5.3.1 allows 512 octets
#: in a command, 998 in a message line), small enough that a repeated step stays a few megabytes
MAX_FILL = 10_000
#: the domain of the relay probe's recipient: reserved (RFC 2606), never the target's
FOREIGN_DOMAIN = "example.net"
_LOCAL_DOMAIN_OPTION = "--mta-local-domain (or --mta-known-recipient)"

Value = Callable[["TargetSettings", str], "str | None"]


@dataclass(frozen=True)
class Placeholder:
    """One placeholder: its name, what it means, and where its value comes from.

    ``value`` is None for the per-step placeholders (``{n}``, ``{fill:N}``),
    which :func:`render` computes from the step rather than from the settings.
    ``option`` names the option(s) that provide a value that may be missing;
    None when the value is always there.
    """

    name: str
    form: str  #: how a case file writes it, e.g. ``{fill:N}``
    meaning: str
    value: Value | None = None
    option: str | None = None


def _unknown_local(s: TargetSettings, token: str) -> str | None:
    return f"no-such-user-{token}@{s.local_domain}" if s.local_domain else None


def _bounce_sender(s: TargetSettings, token: str) -> str | None:
    return f"{token}@{s.sender_domain}" if s.sender_domain else None


PLACEHOLDERS: tuple[Placeholder, ...] = (
    Placeholder("helo", "{helo}", "the name this suite gives in EHLO/HELO (--mta-helo)",
                lambda s, t: s.helo),
    Placeholder("sender", "{sender}", "the envelope sender (--mta-sender), its {token} replaced by the case's token",
                lambda s, t: s.sender.replace("{token}", t)),
    Placeholder("token", "{token}", "a token unique to one case run, found again in NDRs and relayed copies",
                lambda s, t: t),
    Placeholder("local_domain", "{local_domain}",
                "a domain the target is final destination for (--mta-local-domain, else --mta-known-recipient's)",
                lambda s, t: s.local_domain, _LOCAL_DOMAIN_OPTION),
    Placeholder("known_recipient", "{known_recipient}",
                "an address the target accepts (the control probe's recipient; postmaster without one)",
                lambda s, t: s.control_recipient, "--mta-known-recipient"),
    Placeholder("unknown_local", "{unknown_local}",
                "an unknown user of the local domain, unique per run: no-such-user-<token>@<local domain>",
                _unknown_local, _LOCAL_DOMAIN_OPTION),
    Placeholder("foreign_domain", "{foreign_domain}", f"a domain the target must not relay to ({FOREIGN_DOMAIN})",
                lambda s, t: FOREIGN_DOMAIN),
    Placeholder("foreign_recipient", "{foreign_recipient}",
                f"an address in the foreign domain: relay-probe-<token>@{FOREIGN_DOMAIN}",
                lambda s, t: f"relay-probe-{t}@{FOREIGN_DOMAIN}"),
    Placeholder("sender_domain", "{sender_domain}",
                "the domain whose mail the target routes to the harness's sink (--mta-sender-domain)",
                lambda s, t: s.sender_domain, "--mta-sender-domain"),
    Placeholder("bounce_sender", "{bounce_sender}",
                "a sender whose bounces reach the harness: <token>@<sender domain>",
                _bounce_sender, "--mta-sender-domain"),
    Placeholder("relay_domain", "{relay_domain}",
                "the domain the target relays to the harness's next hop, which advertises DSN (--mta-relay-domain)",
                lambda s, t: s.relay_domain, "--mta-relay-domain"),
    Placeholder("plain_relay_domain", "{plain_relay_domain}",
                "the domain the target relays to the harness's plain port, without DSN (--mta-plain-relay-domain)",
                lambda s, t: s.plain_relay_domain, "--mta-plain-relay-domain"),
    Placeholder("n", "{n}", "the repetition number in a repeated step, counting from 1"),
    Placeholder("fill", "{fill:N}", f"N characters (N up to {MAX_FILL}): the token, then x's (cut to N)"),
)

BY_NAME: Mapping[str, Placeholder] = {p.name: p for p in PLACEHOLDERS}
#: every name a case file may use without capturing it first
NAMES: frozenset[str] = frozenset(BY_NAME)


def names(template: str) -> list[str]:
    """The placeholder names *template* uses, in order (repeats kept)."""
    return [match.group(1) for match in PATTERN.finditer(template)]


def misuse(template: str) -> str | None:
    """Why a placeholder of *template* cannot be rendered as written (a sentence), or None.

    Only ``fill`` takes a size, and needs one no larger than :data:`MAX_FILL`.
    """
    for match in PATTERN.finditer(template):
        name, size = match.group(1), match.group(2)
        if name != "fill" and size is not None:
            return f"{{{name}:{size}}}: only {{fill:N}} takes a size"
        if name == "fill" and size is None:
            return "{fill} needs a size, e.g. {fill:40}"
        if name == "fill" and _width(size) > MAX_FILL:
            return f"{{fill:{size[:12]}}} is larger than {MAX_FILL} characters, the largest fill"
    return None


def _width(size: str | None) -> int:
    """The N of ``{fill:N}``, without converting a thousand digits (MAX_FILL + 1 stands for any too large)."""
    digits = (size or "0").lstrip("0") or "0"
    return int(digits) if len(digits) <= len(str(MAX_FILL)) else MAX_FILL + 1


def values(settings: TargetSettings, token: str) -> dict[str, str | None]:
    """The settings-derived placeholders for one case run; None where the option is not set.

    The runner adds the names a step captures to this dict as the dialogue goes.
    """
    return {p.name: p.value(settings, token) for p in PLACEHOLDERS if p.value is not None}


def render(template: str, values: Mapping[str, str | None], n: int, token: str) -> str:
    """*template* with every placeholder replaced; an unknown or unset name becomes ''."""

    def replace(match: re.Match[str]) -> str:
        name, size = match.group(1), match.group(2)
        if name == "n":
            return str(n)
        if name == "fill":
            width = min(_width(size), MAX_FILL)  # the loader refuses more; never build a huge line
            return (token + "x" * width)[:width]
        value = values.get(name)
        return "" if value is None else value

    return PATTERN.sub(replace, template)


def unavailable(template: str, values: Mapping[str, str | None]) -> str | None:
    """The skip reason when *template* uses a placeholder whose option is unset, else None."""
    for name in names(template):
        if name in values and values[name] is None:
            row = BY_NAME.get(name)
            return f"requires {row.option if row and row.option else name}"
    return None
