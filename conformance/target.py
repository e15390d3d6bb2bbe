"""The target profile: which MTA to test, and how.

Each setting comes from the command line, else the environment (``MTA_HOST``...),
else the ini file (``mta_host``...), else its default; the source is kept so the
report header can say where each value came from (a CI gate that silently picked
up a stray environment variable is a debugging nightmare).

An option is declared once, as a field of :class:`TargetSettings` whose metadata
is its row of the table (help, parser, default, switch or value, metavar): the
option name, environment and ini names, the pytest option group and the report
header all follow from that one row, so a new option cannot be half added.
Settings whose default depends on other settings (the EHLO name, the sender, the
local domain) are filled in one place, :func:`_derive`, after the table's values.
"""

from __future__ import annotations

import enum
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, TypeVar

from .findings import Profile

#: option names are the field names with this prefix: ini key and dest "mta_host", "--mta-host", "MTA_HOST"
PREFIX = "mta_"
_OPTION_KEY = "mta_option"  #: the field-metadata key that holds a field's OptionSpec

_E = TypeVar("_E", bound=enum.Enum)


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


# -- parsers: text from the command line, environment or ini file -> typed value --------------------------

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


def _parse_run_deadline(text: str) -> float:
    """The whole run's deadline: 0 means none; at most a week (a longer run is a target that never ends)."""
    value = float(text)
    if not 0 <= value <= 7 * 86400:
        raise ValueError(f"{text!r} is not a number of seconds (0 <= t <= 604800; 0: no deadline)")
    return value


def _parse_enum(kind: type[_E]) -> Callable[[str], _E]:
    def parse(text: str) -> _E:
        try:
            return kind(text.strip().lower())
        except ValueError:
            allowed = ", ".join(str(m.value) for m in kind)
            raise ValueError(f"{text!r} is not one of: {allowed}") from None

    return parse


def _parse_listen(text: str) -> tuple[str, int]:
    """HOST:PORT where the harness listens; port 0 lets the kernel pick a free one when it binds."""
    host, sep, port = text.strip().rpartition(":")
    if not sep or not host:
        raise ValueError(f"{text!r} is not HOST:PORT")
    if port.strip() == "0":
        return host.strip("[]"), 0
    return host.strip("[]"), _parse_port(port)


#: characters no host or domain name holds (nor an EHLO name, nor the domain of an address)
_NOT_IN_NAME = frozenset('<>@"\\,;()')
#: characters an unquoted local part cannot hold (RFC 5321 §4.1.2: specials outside a quoted string)
_NOT_IN_LOCAL_PART = frozenset('<>()[],;:@\\"')
_SHOWN_CHARS = 80  #: the longest value quoted whole in a message


def _shown(text: str) -> str:
    """*text* quoted for a one-line message: escaped (repr) and bounded."""
    return repr(text) if len(text) <= _SHOWN_CHARS else repr(text[:_SHOWN_CHARS]) + "..."


def _is_control(char: str) -> bool:
    """C0 controls (CR, LF, NUL, TAB...), DEL and the C1 controls."""
    return ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F


def _refuse_controls(text: str) -> None:
    """A value with CR or LF would end an SMTP command early (command injection); no setting may hold one."""
    for index, char in enumerate(text):
        if _is_control(char):
            escaped = repr(char)[1:-1]
            raise ValueError(f"{_shown(text)} has the control character {escaped} at character {index + 1}: no "
                             "setting may hold CR, LF or any other control character")


def _name_fault(text: str) -> str | None:
    """What keeps *text* from being a host or domain name (or an address literal), or None."""
    if not text:
        return "it is empty"
    for char in text:
        if char.isspace():
            return "it has a space" if char == " " else f"it has the space character {repr(char)[1:-1]}"
        if char in _NOT_IN_NAME:
            return f"it has the character {char!r}"
    return None


def _parse_name(text: str, what: str = "a domain") -> str:
    """A host name, domain or address literal as given (case kept): no spaces, no <>, @ or quotes."""
    text = text.strip()
    fault = _name_fault(text)
    if fault:
        raise ValueError(f"{_shown(text)} is not {what}: {fault}")
    return text


def _parse_host(text: str) -> str:
    return _parse_name(text, "a host name or address")


def _parse_helo(text: str) -> str:
    return _parse_name(text, "a domain or address literal for EHLO")


def _parse_domain(text: str) -> str:
    return _parse_name(text).lower()


def _local_part_fault(local: str) -> str | None:
    """What keeps *local* from being a local part (dot-string or quoted string, RFC 5321 §4.1.2), or None."""
    if not local:
        return "the local part before the @ is empty"
    if len(local) >= 2 and local[0] == local[-1] == '"':
        inner = local[1:-1].replace("\\\\", "").replace('\\"', "")
        return "a quoted local part has a bare '\"' or '\\'" if '"' in inner or inner.endswith("\\") else None
    for char in local:
        if char.isspace():
            return "it has a space outside a quoted local part"
        if char in _NOT_IN_LOCAL_PART:
            return f"its local part has the character {char!r} outside quotes"
    return None


def _parse_address(text: str) -> str:
    """local@domain, optionally in <>; a quoted local part may hold spaces (``"a b"@example.com``)."""
    text = text.strip()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1]
    local, at, domain = text.rpartition("@")
    fault = "it has no @" if not at else _local_part_fault(local)
    if fault is None:
        domain_fault = _name_fault(domain)
        fault = f"its domain is not a domain: {domain_fault}" if domain_fault else None
    if fault:
        raise ValueError(f"{_shown(text)} is not a mailbox address (local@domain): {fault}")
    return text


# -- the option table ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class OptionSpec:
    """One target setting: its name everywhere and how to read it."""

    name: str  #: ini key and dest, e.g. "mta_host"
    help: str
    parse: Callable[[str], Any] = str
    default: Any = None  #: typed, as the parser returns it; None when unset or derived from other settings
    flag: bool = False  #: a command-line switch without a value
    metavar: str | None = None

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        return self.name.upper()

    @property
    def attr(self) -> str:
        """The TargetSettings attribute that holds the value."""
        return self.name.removeprefix(PREFIX)


def option(help: str, parse: Callable[[str], Any] = str, default: Any = None, *, flag: bool = False,
           metavar: str | None = None) -> Mapping[str, OptionSpec]:
    """The field metadata that makes a TargetSettings field an option: its row of the table.

    The row is named after its field when OPTIONS is built (a field's metadata is
    made before the field knows its own name).
    """
    return {_OPTION_KEY: OptionSpec("", help, parse, default, flag, metavar)}


@dataclass(frozen=True, kw_only=True)
class TargetSettings:
    """Every setting of a run, typed; build it with :func:`resolve` or :func:`make_settings`."""

    host: str | None = field(metadata=option(
        "host name or address of the MTA under test; without it the plugin does nothing", _parse_host,
        metavar="HOST"))
    port: int = field(metadata=option(
        "SMTP port of the MTA under test (default 25)", _parse_port, 25, metavar="PORT"))
    helo: str = field(metadata=option(
        "name sent in EHLO/HELO (default: this host's FQDN)", _parse_helo, metavar="NAME"))
    sender: str = field(metadata=option(
        "reverse-path of the probes (default: mta-conformance@<helo name>)", _parse_address, metavar="ADDRESS"))
    local_domain: str | None = field(metadata=option(
        "a domain the target delivers locally (default: the known recipient's domain)", _parse_name,
        metavar="DOMAIN"))
    known_recipient: str | None = field(metadata=option(
        "an address the target must accept: the control probe that makes in-session verdicts meaningful",
        _parse_address, metavar="ADDRESS"))
    starttls: StartTLS = field(metadata=option(
        "use STARTTLS: off (default), opportunistic, required", _parse_enum(StartTLS), StartTLS.OFF,
        metavar="MODE"))
    timeout: float = field(metadata=option(
        "seconds for connecting and for the whole of each reply (default 30)", _parse_timeout, 30.0,
        metavar="SECONDS"))
    profile: Profile = field(metadata=option(
        "judging profile: anti-backscatter (default) or strict-rfc", _parse_enum(Profile), Profile.ANTI_BACKSCATTER,
        metavar="PROFILE"))
    strict: bool = field(metadata=option(
        "warnings (and inconclusive verdicts) fail the case", _parse_bool, False, flag=True))
    report_dir: Path = field(metadata=option(
        "folder for junit.xml and the other reports (default reports/)", Path, Path("reports"), metavar="DIR"))
    sender_domain: str | None = field(metadata=option(
        "domain the target routes to the harness's bounce sink: NDRs come back there", _parse_domain,
        metavar="DOMAIN"))
    relay_domain: str | None = field(metadata=option(
        "domain the target relays to the harness's next hop (the port with DSN)", _parse_domain, metavar="DOMAIN"))
    plain_relay_domain: str | None = field(metadata=option(
        "domain the target relays to the harness's port without DSN", _parse_domain, metavar="DOMAIN"))
    harness_listen: tuple[str, int] | None = field(metadata=option(
        "HOST:PORT of the harness port with DSN (sink and next hop); port 0 binds a free port, shown in the header",
        _parse_listen, metavar="HOST:PORT"))
    harness_plain_listen: tuple[str, int] | None = field(metadata=option(
        "HOST:PORT of the harness port without DSN; port 0 binds a free port", _parse_listen, metavar="HOST:PORT"))
    ndr_timeout: float = field(metadata=option(
        "seconds to wait for an expected NDR (default 60)", _parse_timeout, 60.0, metavar="SECONDS"))
    quiet_period: float = field(metadata=option(
        "seconds of silence that prove no NDR comes (default 15)", _parse_timeout, 15.0, metavar="SECONDS"))
    sequential: bool = field(metadata=option(
        "judge each after-acceptance case right after its own dialogue instead of sending all first and waiting "
        "together (slower; for debugging one case)", _parse_bool, False, flag=True))
    #: seconds to wait for a delayed DSN; 0 skips the opt-in slow cases
    delay_timeout: float = field(metadata=option(
        "run the opt-in slow cases (a delayed DSN) and wait this many seconds for them; the target's "
        "delay-warning time must be shorter (default 0: those cases are skipped)", _parse_timeout_or_zero, 0.0,
        metavar="SECONDS"))
    run_deadline: float = field(metadata=option(
        "seconds the whole run may take: once they have passed no new case starts, the remaining cases are "
        "could-not-test and the reports are written (default 3600; 0: no deadline)", _parse_run_deadline, 3600.0,
        metavar="SECONDS"))
    #: option name -> "command line" | "environment MTA_X" | "ini mta_x" | "default" | "default (...)"
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

    @property
    def binds_free_port(self) -> bool:
        """A harness listen address asks for port 0: the harness picks its port when it binds."""
        return any(a is not None and a[1] == 0 for a in (self.harness_listen, self.harness_plain_listen))

    def with_bound_ports(self, dsn: tuple[str, int] | None, plain: tuple[str, int] | None) -> TargetSettings:
        """These settings with the ports the harness bound where port 0 was asked; the source says so."""
        changes: dict[str, Any] = {}
        sources = dict(self.sources)
        for name, asked, bound in (("harness_listen", self.harness_listen, dsn),
                                   ("harness_plain_listen", self.harness_plain_listen, plain)):
            if asked is not None and asked[1] == 0 and bound is not None and bound[1]:
                changes[name] = (asked[0], int(bound[1]))
                key = PREFIX + name
                sources[key] = f"{sources.get(key, 'default')}; port 0 asked, the harness bound {bound[1]}"
        return replace(self, **changes, sources=sources) if changes else self

    def header_lines(self) -> list[str]:
        """One line per setting with its value and source, for the report header."""
        rows = []
        for spec in OPTIONS:
            value = getattr(self, spec.attr)
            if isinstance(value, tuple):
                value = f"{value[0]}:{value[1]}"
            shown = "(not set)" if value is None else str(value)
            rows.append(f"  {spec.option}={shown}  ({self.sources.get(spec.name, 'default')})")
        return rows


#: every option, in the order of TargetSettings' fields (the order of --help and of the report header)
OPTIONS: tuple[OptionSpec, ...] = tuple(
    replace(f.metadata[_OPTION_KEY], name=PREFIX + f.name) for f in fields(TargetSettings) if _OPTION_KEY in f.metadata
)


# -- building settings -----------------------------------------------------------------------------------

def resolve(
    cli: dict[str, Any],
    ini: dict[str, Any],
    environ: Mapping[str, str] | None = None,
) -> TargetSettings:
    """Resolve every setting: command line > environment > ini > default.

    *cli* maps option names to the parsed command-line value or None when not
    given; *ini* maps names to the raw ini value ('' when absent).
    """
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for spec in OPTIONS:
        values[spec.attr], sources[spec.name] = _read(spec, cli, ini, env)
    settings = _derive(values, sources)
    _require_control_probe(settings)
    return settings


def make_settings(**overrides: Any) -> TargetSettings:
    """Settings from typed values (not command-line text), for tests and benchmarks.

    Unnamed settings take the table's defaults and the derived ones are filled
    in by the same code as :func:`resolve`, so a test cannot drift from what a
    run would use.  No control-probe check: a unit test may talk to a server
    that has no mailbox at all.
    """
    names = {spec.attr for spec in OPTIONS}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise TypeError(f"make_settings() got unknown setting(s): {', '.join(unknown)}")
    values = {spec.attr: overrides.get(spec.attr, spec.default) for spec in OPTIONS}
    sources = {spec.name: "given" if spec.attr in overrides else "default" for spec in OPTIONS}
    return _derive(values, sources)


def _read(spec: OptionSpec, cli: Mapping[str, Any], ini: Mapping[str, Any],
          env: Mapping[str, str]) -> tuple[Any, str]:
    """One setting's typed value and its source; a value that does not parse names option and source."""
    raw: Any
    if cli.get(spec.name) not in (None, False):
        raw, source = cli[spec.name], "command line"
    elif env.get(spec.env, "") != "":
        raw, source = env[spec.env], f"environment {spec.env}"
    elif ini.get(spec.name) not in (None, "", []):
        raw, source = ini[spec.name], f"ini {spec.name}"
    else:
        return spec.default, "default"
    if spec.flag and raw is True:
        return True, source
    try:
        _refuse_controls(str(raw))
        return spec.parse(str(raw)), source
    except ValueError as exc:
        raise SettingError(f"{spec.option}: {exc} (from {source})") from None


def _derive(values: dict[str, Any], sources: dict[str, str]) -> TargetSettings:
    """Fill the settings whose default depends on others (and say so in *sources*), then build."""
    given_helo = values["helo"]
    values["helo"] = given_helo or _default_helo()
    if given_helo is None:
        sources["mta_helo"] = "default: this host's name"
    values["sender"] = values["sender"] or f"mta-conformance@{values['helo']}"
    known = values["known_recipient"]
    if values["local_domain"] is None and known:
        values["local_domain"] = known.rsplit("@", 1)[1]
        sources["mta_local_domain"] = "default: the domain of --mta-known-recipient"
    return TargetSettings(**values, sources=sources)


def _require_control_probe(settings: TargetSettings) -> None:
    """A run against a host needs an address the target must accept, or in-session verdicts mean nothing."""
    if settings.host and not settings.known_recipient and not settings.local_domain:
        raise SettingError("--mta-host needs a control probe: give --mta-known-recipient=ADDRESS (an address the "
                           "target accepts) or --mta-local-domain=DOMAIN (postmaster@DOMAIN is then the probe, "
                           "RFC 5321 §4.5.1)")


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
