"""The pytest plugin as a user meets it: options, collection, selection, reports."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.suite.locate import shipped_suites_dir
from conformance.testee import Testee, TesteeConfig

HERE = Path(__file__).resolve().parent
XSD = HERE / "data" / "junit-10.xsd"


@pytest.fixture(scope="module")
def testee() -> Iterator[Testee]:
    with Testee(TesteeConfig()) as t:
        yield t


@pytest.fixture
def accept_all() -> Iterator[Testee]:
    with Testee(TesteeConfig(faults=frozenset({"accept-unknown-recipients"}))) as t:
        yield t


def target_args(t: Testee, *extra: str) -> list[str]:
    return ["-p", "no:cacheprovider", f"--mta-host={t.host}", f"--mta-port={t.port}",
            "--mta-known-recipient=alice@local.test", "--mta-timeout=3", *extra]


def test_inert_without_host(pytester: pytest.Pytester) -> None:
    pytester.makefile(".mta.yaml", mine="suite: mine\ncases: [")  # broken, but never read
    pytester.makepyfile(test_plain="def test_ok():\n    assert sum([1, 1]) == 2\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "mta-conformance target settings" not in result.stdout.str()
    assert "JUnit report" not in result.stdout.str()
    assert not (pytester.path / "reports").exists()


def test_shipped_suite_runs_and_header_shows_sources(pytester: pytest.Pytester, testee: Testee,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MTA_PROFILE", "strict-rfc")
    pytester.makeini("[pytest]\nmta_helo = ini-helo.example\n")
    result = pytester.runpytest(*target_args(testee))
    result.assert_outcomes(passed=23, skipped=23)
    out = result.stdout.str()
    assert f"--mta-host={testee.host}  (command line)" in out
    assert "--mta-profile=strict-rfc  (environment MTA_PROFILE)" in out
    assert "--mta-helo=ini-helo.example  (ini mta_helo)" in out
    assert "--mta-report-dir=reports  (default)" in out
    assert out.rstrip().splitlines()[-1].startswith("=") and "23 passed, 23 skipped" in out.rstrip().splitlines()[-1]


def test_bad_option_value_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--mta-host=127.0.0.1", "--mta-port=seventy")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--mta-port: invalid literal*seventy*(from command line)*"])
    assert "Traceback" not in result.stderr.str()


def test_malformed_case_file_names_file_and_line(pytester: pytest.Pytester, testee: Testee) -> None:
    pytester.makefile(".mta.yaml", broken="""\
suite: mine
cases:
  - id: my.case
    title: a case
    checks: [SMTP-REJ-001]
    dialogue:
      - expect: 220
      - send: EHLO {helo}
        expects: 250
""")
    result = pytester.runpytest(*target_args(testee, "broken.mta.yaml"))
    out = result.stdout.str()
    assert "broken.mta.yaml:8: at cases[0].dialogue[1]: Additional properties are not allowed ('expects'" in out
    assert "Traceback" not in out and "raise " not in out
    assert result.ret == pytest.ExitCode.INTERRUPTED  # collection error stops the run


def test_own_case_files_and_selection(pytester: pytest.Pytester, testee: Testee) -> None:
    pytester.makefile(".mta.yaml", mine="""\
suite: mine
cases:
  - id: my.noop
    title: NOOP is answered 250
    checks: [SMTP-RPL-001]
    dialogue:
      - expect: 220
      - send: EHLO {helo}
        expect: 250
      - send: NOOP
        expect: {code: 250, check: SMTP-RPL-001}
      - send: QUIT
        expect: 221
""")
    result = pytester.runpytest(*target_args(testee, "mine.mta.yaml"))
    result.assert_outcomes(passed=1)  # a path given: only what it names is collected
    result = pytester.runpytest(*target_args(testee, "-m", "mine", "mine.mta.yaml", str(shipped_suites_dir())))
    result.assert_outcomes(passed=1)
    result = pytester.runpytest(*target_args(testee, "--collect-only", "-q"))
    assert "my.noop" not in result.stdout.str()  # no path: the shipped suites only, not the folder's files
    result = pytester.runpytest(*target_args(testee, "-m", "SMTP-REJ-001"))
    result.assert_outcomes(passed=2)  # the two cases that judge SMTP-REJ-001
    result = pytester.runpytest(*target_args(testee, "-k", "hundred or without-mail"))
    result.assert_outcomes(passed=2)
    result = pytester.runpytest(*target_args(testee, "-m", "in-session and DSNX-005"))
    result.assert_outcomes(passed=3)


def test_last_failed_and_exitfirst(pytester: pytest.Pytester, accept_all: Testee) -> None:
    args = [a for a in target_args(accept_all) if a != "-p" and a != "no:cacheprovider"]
    first = pytester.runpytest(*args)
    first.assert_outcomes(failed=2, passed=20, skipped=24)
    again = pytester.runpytest(*args, "--lf")
    again.assert_outcomes(failed=2)
    stop = pytester.runpytest(*args, "-x")
    stop.assert_outcomes(failed=1, passed=stop.parseoutcomes().get("passed", 0),
                         skipped=stop.parseoutcomes().get("skipped", 0))


def test_failure_report_names_check_rfc_and_transcript(pytester: pytest.Pytester, accept_all: Testee) -> None:
    result = pytester.runpytest(*target_args(accept_all, "-k", "rcpt.unknown-local-user and not repeated"))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*SMTP-REJ-001 error: an unknown local user must be refused at RCPT*[[]RFC 5321 §3.3; RFC 5321 §6.2; best practice[]]",
        "*-> RCPT TO:<no-such-user-t*@local.test>",
        "*<- 250 2.1.5 Ok",
    ])


def test_warnings_summary_and_strict(pytester: pytest.Pytester) -> None:
    with Testee(TesteeConfig(faults=frozenset({"open-relay"}))) as t:
        lenient = pytester.runpytest(*target_args(t, "-k", "relay-denied"))
        lenient.assert_outcomes(passed=1)
        assert lenient.ret == 0
        lenient.stdout.fnmatch_lines(["*mta-conformance warnings*",
                                      "rcpt.foreign-domain.relay-denied: SMTP-REJ-006 warning*"])
        # -W error cannot turn a warning finding into a traceback: it is not a Python warning
        erroring = pytester.runpytest(*target_args(t, "-k", "relay-denied", "-W", "error"))
        erroring.assert_outcomes(passed=1)
        assert "Traceback" not in erroring.stdout.str() and erroring.ret == 0
        strict = pytester.runpytest(*target_args(t, "-k", "relay-denied", "--mta-strict"))
        strict.assert_outcomes(failed=1)
        assert strict.ret == 1


def test_inconclusive_is_neither_pass_nor_fail(pytester: pytest.Pytester) -> None:
    with Testee(TesteeConfig(faults=frozenset({"tempfail-unknown-recipients"}))) as t:
        result = pytester.runpytest(*target_args(t, "-k", "rcpt.unknown-local-user and not repeated", "-v"))
        result.stdout.fnmatch_lines(["*rcpt.unknown-local-user INCONCLUSIVE*", "*1 inconclusive*"])
        assert result.ret == 75  # the only selected case could not be judged
        both = pytester.runpytest(*target_args(t, "-k", "rcpt.unknown-local-user or hundred", "-rs"))
        assert both.ret == 0  # one judged and passed, one inconclusive
        both.stdout.fnmatch_lines(["INCONCLUSIVE rcpt.unknown-local-user: inconclusive: *450*"])  # the case id
        strict = pytester.runpytest(*target_args(t, "-k", "rcpt.unknown-local-user and not repeated", "--mta-strict"))
        strict.assert_outcomes(failed=1)
        records = json.loads((pytester.path / "reports" / "results.json").read_text())["cases"]
        assert records[0]["verdict"] == "inconclusive"


def test_unreachable_target_fails_every_case_fast(pytester: pytest.Pytester) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connection refused
        started = time.monotonic()
        result = pytester.runpytest("-p", "no:cacheprovider", "--mta-host=127.0.0.1", f"--mta-port={port}",
                                    "--mta-known-recipient=alice@local.test")
    assert time.monotonic() - started < 30
    assert result.ret == 75  # could not test: not the exit status of a non-conformant server
    assert "= 46 could-not-test in " in result.stdout.lines[-1]
    lines = result.stdout.lines
    first = next(i for i, line in enumerate(lines) if "COULD NOT TEST" in line)
    assert lines[first] == (f"mta-conformance: COULD NOT TEST 127.0.0.1:{port}: probe of 127.0.0.1:{port} failed: "
                            f"cannot connect to 127.0.0.1:{port}: Connection refused")
    assert first < next(i for i, line in enumerate(lines) if line.startswith("collected"))  # said first
    assert "FAILED" not in result.stdout.str()
    records = json.loads((pytester.path / "reports" / "results.json").read_text())
    assert {r["outcome"] for r in records["cases"]} == {"could-not-test"}
    assert records["cases"][0]["reason"].startswith("could not test: probe of")
    assert 'message="could not test: probe of' in (pytester.path / "reports" / "junit.xml").read_text()
    xdist = pytester.runpytest("-p", "no:cacheprovider", "--mta-host=127.0.0.1", f"--mta-port={port}",
                               "--mta-known-recipient=alice@local.test", "-n", "2")
    assert xdist.ret == 75


def test_refused_known_recipient_voids_the_run(pytester: pytest.Pytester, testee: Testee) -> None:
    args = [a.replace("alice@", "nobody-here@") for a in target_args(testee)]
    result = pytester.runpytest(*args)
    assert result.ret == 75
    result.stdout.fnmatch_lines(["*COULD NOT TEST*control probe: the target refused the known recipient "
                                 "<nobody-here@local.test>*"])


def test_postmaster_is_the_control_probe_without_a_known_recipient(pytester: pytest.Pytester,
                                                                   testee: Testee) -> None:
    args = [a for a in target_args(testee) if not a.startswith("--mta-known-recipient")]
    result = pytester.runpytest(*args, "--mta-local-domain=local.test", "-rs")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*control probe: <postmaster@local.test>*RFC 5321 §4.5.1*"])
    outcomes = result.parseoutcomes()
    assert outcomes["passed"] >= 20  # the in-session cases run with postmaster standing in
    refused = pytester.runpytest(*args, "--mta-local-domain=elsewhere.test")
    assert refused.ret == 75
    refused.stdout.fnmatch_lines(["*COULD NOT TEST*refused <postmaster@elsewhere.test>*RFC 5321 §4.5.1*"])
    neither = pytester.runpytest(*args)
    assert neither.ret == pytest.ExitCode.USAGE_ERROR
    neither.stderr.fnmatch_lines(["*--mta-known-recipient*--mta-local-domain*"])


def _validate(path: Path) -> None:
    import xmlschema

    xmlschema.XMLSchema(str(XSD)).validate(str(path))


def test_junit_reports_validate_against_the_jenkins_schema(pytester: pytest.Pytester, accept_all: Testee) -> None:
    result = pytester.runpytest(*target_args(accept_all, "--junitxml=pytest-junit.xml"))
    result.assert_outcomes(failed=2, passed=20, skipped=24)
    ours = pytester.path / "reports" / "junit.xml"
    _validate(ours)
    _validate(pytester.path / "pytest-junit.xml")
    text = ours.read_text()
    assert 'name="rcpt.unknown-local-user"' in text
    assert "SMTP-REJ-001 error" in text and "RFC 5321 §3.3" in text
    assert "&lt;- 250 2.1.5 Ok" in text  # the transcript in system-out
    assert text.count("<testcase ") == 46


def test_xdist_controller_writes_one_report(pytester: pytest.Pytester, testee: Testee) -> None:
    result = pytester.runpytest(*target_args(testee, "-n", "2"))
    result.assert_outcomes(passed=23, skipped=23)
    text = (pytester.path / "reports" / "junit.xml").read_text()
    assert text.count("<testcase ") == 46
    _validate(pytester.path / "reports" / "junit.xml")


def test_a_harness_that_cannot_listen_is_could_not_test(pytester: pytest.Pytester, testee: Testee) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = pytester.runpytest(*target_args(testee, "--mta-sender-domain=sender.test",
                                                 "--mta-relay-domain=relay.test",
                                                 f"--mta-harness-listen=127.0.0.1:{port}", "-m", "after-acceptance"))
    assert result.ret == 75, result.stdout.str()[-2000:]
    result.stdout.fnmatch_lines([f"COULD NOT TEST: cannot start the harness on 127.0.0.1:{port}: *"])
    records = json.loads((pytester.path / "reports" / "results.json").read_text())["cases"]
    assert {r["outcome"] for r in records} <= {"could-not-test", "skipped"}


def test_harness_port_zero_shows_the_bound_port_in_the_header(pytester: pytest.Pytester, testee: Testee) -> None:
    result = pytester.runpytest(*target_args(testee, "--mta-harness-listen=127.0.0.1:0",
                                             "--mta-harness-plain-listen=127.0.0.2:0", "-k", "rcpt.unknown-local-user"))
    result.assert_outcomes(passed=2)
    out = result.stdout.str()
    dsn = [line for line in out.splitlines() if line.strip().startswith("--mta-harness-listen=")]
    plain = [line for line in out.splitlines() if line.strip().startswith("--mta-harness-plain-listen=")]
    assert len(dsn) == 1 and len(plain) == 1, out[:3000]
    port = int(dsn[0].split("=127.0.0.1:", 1)[1].split()[0])
    assert port != 0 and f"port 0 asked, the harness bound {port}" in dsn[0]
    assert "=127.0.0.2:" in plain[0] and "=127.0.0.2:0 " not in plain[0]
