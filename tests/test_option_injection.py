"""Hostile option values: nothing a user (or a stray MTA_* variable) gives reaches the SMTP wire unchecked.

A CR or LF in ``--mta-helo`` would end the EHLO command early and let the rest be
read as a command of its own (SMTP command injection).  Every option refuses the
C0 controls, DEL and the C1 controls with one line naming the option, the
character (escaped) and where the value came from; names and addresses refuse
what they cannot hold (spaces, ``<>``), while a quoted local part keeps its
spaces (RFC 5321 §4.1.2).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conformance.exitcodes import ExitCode
from conformance.target import OPTIONS, SettingError, resolve

#: every option whose value is sent to the target (or names it), with a value that works
WIRE = {
    "mta_host": "mx.example",
    "mta_helo": "client.example",
    "mta_sender": "probe@example.org",
    "mta_local_domain": "local.example",
    "mta_known_recipient": "known@local.example",
    "mta_sender_domain": "bounces.example",
    "mta_relay_domain": "relay.example",
    "mta_plain_relay_domain": "plain.example",
}
#: the character, and how the message shows it
CONTROLS = {
    "CR": ("\r", "\\r"),
    "LF": ("\n", "\\n"),
    "NUL": ("\x00", "\\x00"),
    "ESC": ("\x1b", "\\x1b"),
    "DEL": ("\x7f", "\\x7f"),
    "C1": ("\x85", "\\x85"),
}
#: a good value for every other option taking a value (they refuse control characters too)
OTHERS = {
    "mta_port": "2525", "mta_starttls": "off", "mta_timeout": "5.0", "mta_profile": "strict-rfc",
    "mta_report_dir": "reports", "mta_harness_listen": "127.0.0.1:0", "mta_harness_plain_listen": "127.0.0.1:0",
    "mta_ndr_timeout": "5.0", "mta_quiet_period": "5.0", "mta_delay_timeout": "0.0", "mta_strict": "yes",
    "mta_sequential": "no", "mta_run_deadline": "60",
}
SPEC = {spec.name: spec for spec in OPTIONS}


def refusal(name: str, value: str, escaped: str, source: str) -> str:
    return (f"{SPEC[name].option}: {value!r} has the control character {escaped} at character 3: no setting may "
            f"hold CR, LF or any other control character (from {source})")


def test_the_tables_here_cover_every_option() -> None:
    assert set(WIRE) | set(OTHERS) == set(SPEC)


@pytest.mark.parametrize("control", CONTROLS, ids=str)
@pytest.mark.parametrize("name", WIRE, ids=str)
def test_a_control_character_is_refused_from_the_command_line(name: str, control: str) -> None:
    char, escaped = CONTROLS[control]
    value = WIRE[name][:2] + char + WIRE[name][2:]
    with pytest.raises(SettingError) as raised:
        resolve({name: value}, {}, {})
    assert str(raised.value) == refusal(name, value, escaped, "command line")
    assert "\n" not in str(raised.value) and "\r" not in str(raised.value)


@pytest.mark.parametrize("control", CONTROLS, ids=str)
@pytest.mark.parametrize("name", WIRE, ids=str)
def test_a_control_character_is_refused_from_the_environment_and_the_ini(name: str, control: str) -> None:
    char, escaped = CONTROLS[control]
    value = WIRE[name][:2] + char + WIRE[name][2:]
    env = SPEC[name].env
    with pytest.raises(SettingError) as raised:
        resolve({}, {}, {env: value})
    assert str(raised.value) == refusal(name, value, escaped, f"environment {env}")
    with pytest.raises(SettingError) as from_ini:
        resolve({}, {name: value}, {})
    assert str(from_ini.value) == refusal(name, value, escaped, f"ini {name}")


@pytest.mark.parametrize("name", OTHERS, ids=str)
def test_the_other_options_refuse_control_characters_too(name: str) -> None:
    value = OTHERS[name][:2] + "\r" + OTHERS[name][2:]
    with pytest.raises(SettingError) as raised:
        resolve({}, {}, {SPEC[name].env: value})
    assert str(raised.value) == refusal(name, value, "\\r", f"environment {SPEC[name].env}")


def test_good_values_still_work() -> None:
    settings = resolve(dict(WIRE), {}, {})
    assert (settings.host, settings.helo, settings.sender, settings.local_domain, settings.known_recipient) == (
        "mx.example", "client.example", "probe@example.org", "local.example", "known@local.example")
    assert (settings.sender_domain, settings.relay_domain, settings.plain_relay_domain) == (
        "bounces.example", "relay.example", "plain.example")
    others = resolve({}, {}, {SPEC[name].env: value for name, value in OTHERS.items()})
    assert others.port == 2525 and others.strict is True


@pytest.mark.parametrize(("name", "value", "message"), [
    ("mta_helo", "client example", "'client example' is not a domain or address literal for EHLO: it has a space"),
    ("mta_helo", "<client.example>", "'<client.example>' is not a domain or address literal for EHLO: it has the "
     "character '<'"),
    ("mta_host", "mx example", "'mx example' is not a host name or address: it has a space"),
    ("mta_local_domain", "local.example>", "'local.example>' is not a domain: it has the character '>'"),
    ("mta_sender_domain", "a\u00a0b.example", "'a\\xa0b.example' is not a domain: it has the space character "
     "\\xa0"),
    ("mta_relay_domain", "relay@example", "'relay@example' is not a domain: it has the character '@'"),
    ("mta_sender", "a b@example.org", "'a b@example.org' is not a mailbox address (local@domain): it has a space "
     "outside a quoted local part"),
    ("mta_sender", "a<b@example.org", "'a<b@example.org' is not a mailbox address (local@domain): its local part "
     "has the character '<' outside quotes"),
    ("mta_known_recipient", "known@local example", "'known@local example' is not a mailbox address "
     "(local@domain): its domain is not a domain: it has a space"),
    ("mta_known_recipient", '"a"b"@local.example', "'\"a\"b\"@local.example' is not a mailbox address "
     "(local@domain): a quoted local part has a bare '\"' or '\\'"),
    ("mta_known_recipient", "local.example", "'local.example' is not a mailbox address (local@domain): it has "
     "no @"),
])
def test_names_and_addresses_refuse_what_they_cannot_hold(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingError) as raised:
        resolve({name: value}, {}, {})
    assert str(raised.value) == f"{SPEC[name].option}: {message} (from command line)"


@pytest.mark.parametrize("address", ['"a b"@example.com', '<"a b"@example.com>', '"a\\"b"@example.com',
                                     "a.b+tag@[192.0.2.1]", "user@[IPv6:2001:db8::1]", "üser@exämple.com"])
def test_addresses_rfc_5321_allows_are_kept(address: str) -> None:
    settings = resolve({"mta_known_recipient": address}, {}, {})
    assert settings.known_recipient == address.strip("<>")


def test_a_long_value_is_shown_bounded() -> None:
    with pytest.raises(SettingError) as raised:
        resolve({"mta_helo": "x" * 10_000 + "\n"}, {}, {})
    assert len(str(raised.value)) < 300 and "'...' has the control character" not in str(raised.value)
    assert "\\n at character 10001" in str(raised.value)


@pytest.mark.parametrize("control", ["CR", "LF", "NUL", "ESC", "DEL", "C1"])
def test_under_pytest_a_control_character_is_a_usage_error(pytester: pytest.Pytester, control: str) -> None:
    char, escaped = CONTROLS[control]
    result = pytester.runpytest("--mta-host=127.0.0.1", "--mta-local-domain=local.example",
                                f"--mta-helo=cl{char}ient.example")
    assert result.ret == pytest.ExitCode.USAGE_ERROR == ExitCode.USAGE
    errors = [line for line in result.stderr.lines if "--mta-helo" in line]
    assert errors == ["ERROR: mta-conformance: " + refusal("mta_helo", f"cl{char}ient.example", escaped,
                                                           "command line")]
    assert "Traceback" not in result.stderr.str()


@pytest.mark.parametrize("control", ["CR", "LF", "ESC", "DEL", "C1"])  # an environment cannot hold NUL
def test_under_pytest_a_control_character_from_the_environment_is_a_usage_error(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, control: str) -> None:
    char, escaped = CONTROLS[control]
    monkeypatch.setenv("MTA_SENDER", f"pr{char}obe@example.org")
    result = pytester.runpytest("--mta-host=127.0.0.1", "--mta-local-domain=local.example")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.stderr.lines if "--mta-sender" in line]
    assert errors == ["ERROR: mta-conformance: " + refusal("mta_sender", f"pr{char}obe@example.org", escaped,
                                                           "environment MTA_SENDER")]


def test_mta_conformance_run_exits_with_the_usage_status(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "conformance.cli", "run", "--", "--mta-host=127.0.0.1",
                           "--mta-known-recipient=known@local.example\r\nRSET", "-p", "no:cacheprovider"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == ExitCode.USAGE, proc.stderr[-2000:]
    assert "--mta-known-recipient: 'known@local.example\\r\\nRSET' has the control character \\r at character 20" \
        in proc.stderr
    assert "Traceback" not in proc.stderr
