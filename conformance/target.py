"""The target profile: which MTA to test, and how.

Each setting comes from the command line, else the environment (``MTA_HOST``...),
else the ini file (``mta_host``...), else its default; the source is kept so the
report header can say where each value came from (a CI gate that silently picked
up a stray environment variable is a debugging nightmare).
"""

from __future__ import annotations

import enum
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .findings import Profile


class StartTLS(str, enum.Enum):
    OFF = "off"
    OPPORTUNISTIC = "opportunistic"
    REQUIRED = "required"

    def __str__(self) -> str:
        return self.value


class SettingError(ValueError):
    """A setting has a value that cannot be used; the message names option and source."""


def _default_helo() -> str:
    name = socket.getfqdn()
    return name if "." in name and not name.endswith(".") else "mta-conformance.localdomain"


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"{text!r} is not a boolean (true/false)")


def _parse_port(text: str) -> int:
    port = int(text)
    if not 1 <= port <= 65535:
        raise ValueError(f"{port} is not a TCP port (1-65535)")
    return port


def _parse_timeout(text: str) -> float:
    value = float(text)
    if not 0 < value <= 3600:
        raise ValueError(f"{text!r} is not a timeout in seconds (0 < t <= 3600)")
    return value


def _parse_timeout_or_zero(text: str) -> float:
    """A timeout where 0 means "off" (for opt-in waits)."""
    value = float(text)
    if not 0 <= value <= 3600:
        raise ValueError(f"{text!r} is not a number of seconds (0 <= t <= 3600)")
    return value


def _parse_enum(kind: type[enum.Enum]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            return kind(text.strip().lower())
        except ValueError:
            allowed = ", ".join(str(m.value) for m in kind)  # type: ignore[attr-defined]
            raise ValueError(f"{text!r} is not one of: {allowed}") from None

    return parse


def _parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.strip().rpartition(":")
    if not sep or not host:
        raise ValueError(f"{text!r} is not HOST:PORT")
    return host.strip("[]"), _parse_port(port)


def _parse_domain(text: str) -> str:
    text = text.strip().lower()
    if not text or "@" in text or any(c.isspace() for c in text):
        raise ValueError(f"{text!r} is not a domain")
    return text


def _parse_address(text: str) -> str:
    text = text.strip()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1]
    if text.count("@") != 1 or any(c.isspace() for c in text) or text.startswith("@") or text.endswith("@"):
        raise ValueError(f"{text!r} is not a mailbox address (local@domain)")
    return text


@dataclass(frozen=True)
class OptionSpec:
    """One target setting: its name everywhere and how to read it."""

    name: str  #: ini key and dest, e.g. "mta_host"
    help: str
    parse: Callable[[str], Any] = str
    default: Any = None
    flag: bool = False  #: a command-line switch without a value
    metavar: str | None = None

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        return self.name.upper()


OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec("mta_host", "host name or address of the MTA under test; without it the plugin does nothing",
               metavar="HOST"),
    OptionSpec("mta_port", "SMTP port of the MTA under test (default 25)", _parse_port, 25, metavar="PORT"),
    OptionSpec("mta_helo", "name sent in EHLO/HELO (default: this host's FQDN)", str, None, metavar="NAME"),
    OptionSpec("mta_sender", "reverse-path of the probes (default: mta-conformance@<helo name>)",
               _parse_address, None, metavar="ADDRESS"),
    OptionSpec("mta_local_domain", "a domain the target delivers locally (default: the known recipient's domain)",
               str, None, metavar="DOMAIN"),
    OptionSpec("mta_known_recipient", "an address the target must accept: the control probe that makes "
               "in-session verdicts meaningful", _parse_address, None, metavar="ADDRESS"),
    OptionSpec("mta_starttls", "use STARTTLS: off (default), opportunistic, required",
               _parse_enum(StartTLS), StartTLS.OFF, metavar="MODE"),
    OptionSpec("mta_timeout", "seconds for connecting and for the whole of each reply (default 30)",
               _parse_timeout, 30.0, metavar="SECONDS"),
    OptionSpec("mta_profile", "judging profile: anti-backscatter (default) or strict-rfc",
               _parse_enum(Profile), Profile.ANTI_BACKSCATTER, metavar="PROFILE"),
    OptionSpec("mta_strict", "warnings (and inconclusive verdicts) fail the case", _parse_bool, False, flag=True),
    OptionSpec("mta_report_dir", "folder for junit.xml and the other reports (default reports/)",
               str, "reports", metavar="DIR"),
    OptionSpec("mta_sender_domain", "domain the target routes to the harness's bounce sink: NDRs come back there",
               _parse_domain, None, metavar="DOMAIN"),
    OptionSpec("mta_relay_domain", "domain the target relays to the harness's next hop (the port with DSN)",
               _parse_domain, None, metavar="DOMAIN"),
    OptionSpec("mta_plain_relay_domain", "domain the target relays to the harness's port without DSN",
               _parse_domain, None, metavar="DOMAIN"),
    OptionSpec("mta_harness_listen", "HOST:PORT of the harness port with DSN (sink and next hop)",
               _parse_listen, None, metavar="HOST:PORT"),
    OptionSpec("mta_harness_plain_listen", "HOST:PORT of the harness port without DSN",
               _parse_listen, None, metavar="HOST:PORT"),
    OptionSpec("mta_ndr_timeout", "seconds to wait for an expected NDR (default 60)", _parse_timeout, 60.0,
               metavar="SECONDS"),
    OptionSpec("mta_quiet_period", "seconds of silence that prove no NDR comes (default 15)", _parse_timeout, 15.0,
               metavar="SECONDS"),
    OptionSpec("mta_sequential", "judge each after-acceptance case right after its own dialogue instead of "
               "sending all first and waiting together (slower; for debugging one case)", _parse_bool, False,
               flag=True),
    OptionSpec("mta_delay_timeout", "run the opt-in slow cases (a delayed DSN) and wait this many seconds for "
               "them; the target's delay-warning time must be shorter (default 0: those cases are skipped)",
               _parse_timeout_or_zero, 0.0, metavar="SECONDS"),
)


@dataclass(frozen=True)
class TargetSettings:
    host: str | None
    port: int
    helo: str
    sender: str
    local_domain: str | None
    known_recipient: str | None
    starttls: StartTLS
    timeout: float
    profile: Profile
    strict: bool
    report_dir: Path
    sender_domain: str | None = None
    relay_domain: str | None = None
    plain_relay_domain: str | None = None
    harness_listen: tuple[str, int] | None = None
    harness_plain_listen: tuple[str, int] | None = None
    ndr_timeout: float = 60.0
    quiet_period: float = 15.0
    sequential: bool = False
    #: seconds to wait for a delayed DSN; 0 skips the opt-in slow cases
    delay_timeout: float = 0.0
    #: setting name -> "command line" | "environment MTA_X" | "ini mta_x" | "default"
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return bool(self.host)

    @property
    def control_recipient(self) -> str | None:
        """The address the probe's control RCPT must see accepted.

        The known recipient when given; else postmaster of the local domain,
        which RFC 5321 §4.5.1 says MUST be accepted.  Postmaster stands in for
        the probe and for in-session RCPTs only: no test message is ever
        delivered to it (cases that complete a DATA need --mta-known-recipient).
        """
        if self.known_recipient:
            return self.known_recipient
        return f"postmaster@{self.local_domain}" if self.local_domain else None

    def header_lines(self) -> list[str]:
        """One line per setting with its value and source, for the report header."""
        rows = []
        for spec in OPTIONS:
            attr = spec.name.removeprefix("mta_")
            value = getattr(self, attr)
            if isinstance(value, tuple):
                value = f"{value[0]}:{value[1]}"
            shown = "(not set)" if value is None else str(value)
            rows.append(f"  {spec.option}={shown}  ({self.sources.get(spec.name, 'default')})")
        return rows


def resolve(
    cli: dict[str, Any],
    ini: dict[str, Any],
    environ: dict[str, str] | None = None,
) -> TargetSettings:
    """Resolve every setting: command line > environment > ini > default.

    *cli* maps option names to the parsed command-line value or None when not
    given; *ini* maps names to the raw ini value ('' when absent).
    """
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for spec in OPTIONS:
        raw: Any = None
        source = "default"
        if cli.get(spec.name) not in (None, False):
            raw, source = cli[spec.name], "command line"
        elif env.get(spec.env, "") != "":
            raw, source = env[spec.env], f"environment {spec.env}"
        elif ini.get(spec.name) not in (None, "", []):
            raw, source = ini[spec.name], f"ini {spec.name}"
        if raw is None:
            values[spec.name] = spec.default
        else:
            try:
                values[spec.name] = raw if (spec.flag and raw is True) else spec.parse(str(raw))
            except ValueError as exc:
                raise SettingError(f"{spec.option}: {exc} (from {source})") from None
        sources[spec.name] = source
    helo = values["mta_helo"] or _default_helo()
    if values["mta_helo"] is None:
        sources["mta_helo"] = "default (this host's name)"
    sender = values["mta_sender"] or f"mta-conformance@{helo}"
    known = values["mta_known_recipient"]
    local_domain = values["mta_local_domain"]
    if local_domain is None and known:
        local_domain = known.rsplit("@", 1)[1]
        sources["mta_local_domain"] = "default (domain of --mta-known-recipient)"
    if values["mta_host"] and not known and not local_domain:
        raise SettingError("--mta-host needs a control probe: give --mta-known-recipient=ADDRESS (an address the "
                           "target accepts) or --mta-local-domain=DOMAIN (postmaster@DOMAIN is then the probe, "
                           "RFC 5321 §4.5.1)")
    return TargetSettings(
        host=values["mta_host"],
        port=values["mta_port"],
        helo=helo,
        sender=sender,
        local_domain=local_domain,
        known_recipient=known,
        starttls=values["mta_starttls"],
        timeout=values["mta_timeout"],
        profile=values["mta_profile"],
        strict=bool(values["mta_strict"]),
        report_dir=Path(values["mta_report_dir"]),
        sender_domain=values["mta_sender_domain"],
        relay_domain=values["mta_relay_domain"],
        plain_relay_domain=values["mta_plain_relay_domain"],
        harness_listen=values["mta_harness_listen"],
        harness_plain_listen=values["mta_harness_plain_listen"],
        ndr_timeout=values["mta_ndr_timeout"],
        quiet_period=values["mta_quiet_period"],
        sequential=bool(values["mta_sequential"]),
        delay_timeout=values["mta_delay_timeout"],
        sources=sources,
    )


#: routes after-acceptance cases need: (settings that provide it, the options to name in a skip)
ROUTES: dict[str, tuple[tuple[str, str], str]] = {
    "bounce_route": (("sender_domain", "harness_listen"), "--mta-sender-domain and --mta-harness-listen"),
    "relay_route": (("relay_domain", "harness_listen"), "--mta-relay-domain and --mta-harness-listen"),
    "plain_relay_route": (("plain_relay_domain", "harness_plain_listen"),
                          "--mta-plain-relay-domain and --mta-harness-plain-listen"),
}


def route_gap(settings: TargetSettings, route: str) -> str | None:
    """The options to set for *route*, or None when it is configured."""
    attrs, options = ROUTES[route]
    return None if all(getattr(settings, a) for a in attrs) else options
