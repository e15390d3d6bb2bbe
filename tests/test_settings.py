"""The option table: one row per setting, read the same way from every source.

tests/test_plugin.py runs whole sessions (header sources, a bad command-line
value, the control-probe usage error); these tests check the table itself and
resolve()/make_settings() without starting pytest for each case.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from conformance.findings import Profile
from conformance.target import (
    OPTIONS,
    PREFIX,
    SettingError,
    StartTLS,
    TargetSettings,
    make_settings,
    resolve,
)

NOT_OPTIONS = {"sources"}  #: TargetSettings fields that are bookkeeping, not settings


def test_every_field_is_one_option_and_every_option_one_field() -> None:
    field_names = [f.name for f in dataclasses.fields(TargetSettings) if f.name not in NOT_OPTIONS]
    assert [spec.attr for spec in OPTIONS] == field_names
    for spec in OPTIONS:
        assert spec.name == PREFIX + spec.attr
        assert spec.option == "--mta-" + spec.attr.replace("_", "-")
        assert spec.env == "MTA_" + spec.attr.upper()
        assert spec.help and (spec.flag or spec.metavar)


def test_help_lists_every_option_with_its_env_and_ini_names(pytester: pytest.Pytester,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "1000")  # one line per option: help texts are not wrapped mid-word
    result = pytester.runpytest("--help")
    assert result.ret == 0
    out = " ".join(result.stdout.str().split())
    for spec in OPTIONS:
        shown = spec.option if spec.flag else f"{spec.option}={spec.metavar}"
        assert f"{shown} {spec.help} [env {spec.env}, ini {spec.name}]" in out, spec.name
        assert f"{spec.name} (string): {spec.help}" in out, spec.name


def test_make_settings_rejects_an_unknown_name() -> None:
    with pytest.raises(TypeError, match="colour, hots"):
        make_settings(host="mx.example", hots="mx.example", colour="blue")
    with pytest.raises(TypeError, match="sources"):
        make_settings(sources={})  # bookkeeping, not a setting


def test_make_settings_takes_the_table_defaults_and_derives_like_resolve() -> None:
    made = make_settings(host="mx.example", known_recipient="alice@local.example")
    resolved = resolve({"mta_host": "mx.example", "mta_known_recipient": "alice@local.example"}, {}, {})
    assert dataclasses.replace(made, sources={}) == dataclasses.replace(resolved, sources={})
    assert made.local_domain == "local.example"
    assert made.sender == f"mta-conformance@{made.helo}"
    assert (made.port, made.timeout, made.starttls, made.profile) == (25, 30.0, StartTLS.OFF, Profile.ANTI_BACKSCATTER)
    assert made.report_dir == Path("reports") and made.strict is False and made.delay_timeout == 0.0
    assert made.sources["mta_host"] == "given" and made.sources["mta_port"] == "default"
    assert made.sources["mta_local_domain"] == "default: the domain of --mta-known-recipient"


def test_make_settings_keeps_a_target_without_control_probe() -> None:
    """A unit test may talk to a bare server: the usage check belongs to the command line."""
    settings = make_settings(host="127.0.0.1", local_domain=None, known_recipient=None)
    assert settings.active and settings.control_recipient is None
    with pytest.raises(SettingError, match="--mta-known-recipient.*--mta-local-domain"):
        resolve({"mta_host": "127.0.0.1"}, {}, {})


@pytest.mark.parametrize(("cli", "env", "ini", "port", "source"), [
    ("2525", "2526", "2527", 2525, "command line"),
    (None, "2526", "2527", 2526, "environment MTA_PORT"),
    (None, "", "2527", 2527, "ini mta_port"),  # an empty variable is not set
    (None, None, "", 25, "default"),
])
def test_resolve_precedence(cli: str | None, env: str | None, ini: str, port: int, source: str) -> None:
    environ = {} if env is None else {"MTA_PORT": env}
    settings = resolve({"mta_port": cli}, {"mta_port": ini}, environ)
    assert settings.port == port
    assert settings.sources["mta_port"] == source


def test_a_switch_not_given_on_the_command_line_falls_back_to_env_and_ini() -> None:
    assert resolve({"mta_strict": True}, {"mta_strict": "false"}, {"MTA_STRICT": "no"}).strict is True
    from_env = resolve({"mta_strict": None}, {"mta_strict": "false"}, {"MTA_STRICT": "yes"})
    assert from_env.strict is True and from_env.sources["mta_strict"] == "environment MTA_STRICT"
    from_ini = resolve({"mta_sequential": None}, {"mta_sequential": "on"}, {})
    assert from_ini.sequential is True and from_ini.sources["mta_sequential"] == "ini mta_sequential"


@pytest.mark.parametrize(("cli", "env", "ini", "message"), [
    ({"mta_timeout": "0"}, {}, {}, "--mta-timeout: '0' is not a timeout in seconds (0 < t <= 3600) (from command line)"),
    ({}, {"MTA_STARTTLS": "maybe"}, {},
     "--mta-starttls: 'maybe' is not one of: off, opportunistic, required (from environment MTA_STARTTLS)"),
    ({}, {}, {"mta_harness_listen": "nowhere"},
     "--mta-harness-listen: 'nowhere' is not HOST:PORT (from ini mta_harness_listen)"),
])
def test_a_bad_value_names_option_and_source(cli: dict[str, str], env: dict[str, str], ini: dict[str, str],
                                             message: str) -> None:
    with pytest.raises(SettingError) as raised:
        resolve(cli, ini, env)
    assert str(raised.value) == message


def test_derived_settings_say_where_they_came_from() -> None:
    settings = resolve({"mta_host": "mx.example", "mta_local_domain": "local.example"}, {}, {})
    assert settings.sources["mta_helo"] == "default: this host's name"
    assert settings.sources["mta_local_domain"] == "command line"
    assert settings.control_recipient == "postmaster@local.example"
    given = resolve({"mta_helo": "me.example"}, {}, {"MTA_KNOWN_RECIPIENT": "<bob@b.example>"})
    assert (given.helo, given.sender, given.local_domain) == ("me.example", "mta-conformance@me.example", "b.example")
    assert given.sources["mta_local_domain"] == "default: the domain of --mta-known-recipient"


def test_harness_listen_takes_port_zero_and_the_bound_port_replaces_it() -> None:
    from conformance.run.routes import listen

    settings = resolve({"mta_harness_listen": "127.0.0.1:0", "mta_harness_plain_listen": "[::1]:2601"}, {}, {})
    assert settings.harness_listen == ("127.0.0.1", 0) and settings.harness_plain_listen == ("::1", 2601)
    assert settings.binds_free_port
    with pytest.raises(SettingError, match="is not a TCP port"):
        resolve({"mta_port": "0"}, {}, {})
    bound = settings.with_bound_ports(("127.0.0.1", 41234), ("::1", 2601))
    assert bound.harness_listen == ("127.0.0.1", 41234) and bound.harness_plain_listen == ("::1", 2601)
    assert bound.sources["mta_harness_listen"] == "command line; port 0 asked, the harness bound 41234"
    assert bound.sources["mta_harness_plain_listen"] == "command line"  # asked a port of its own: unchanged
    assert "  --mta-harness-listen=127.0.0.1:41234  (command line; port 0 asked, the harness bound 41234)" \
        in bound.header_lines()
    assert listen(bound.harness_listen) == "127.0.0.1:41234"  # what route control messages name
    assert not bound.binds_free_port and settings.with_bound_ports(None, None) is settings
