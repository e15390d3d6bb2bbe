"""Hostile inputs of the linter: the verdict and findings they get, never a traceback, never "fine" when unjudged.

Times are not asserted here (bench/lint_pathological.py measures them); each
input that once made the linter backtrack, recurse or give up is shown with
the verdict it gets now, and a good message beside it keeps its verdict.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from test_ndr_lint import GOOD

from conformance.cli import main
from conformance.exitcodes import ExitCode
from conformance.ndr import dsn_fields, lint, nested
from conformance.ndr.classify import Kind
from conformance.ndr.dates import date_problem, without_comments
from conformance.ndr.lint import lint_bytes
from conformance.ndr.message import load
from conformance.ndr.params import params
from conformance.ndr.status_checks import STATUS_VALUE

_SPEC = importlib.util.spec_from_file_location(
    "lint_pathological", Path(__file__).resolve().parent.parent / "bench" / "lint_pathological.py")
assert _SPEC is not None and _SPEC.loader is not None
bench = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(bench)


def ids(raw: bytes) -> set[str]:
    return {f.check_id for f in lint_bytes(raw).findings}


@pytest.mark.parametrize("name", sorted(bench.inputs(2_000)))
def test_every_pathological_input_gets_a_verdict(name: str) -> None:
    result = lint_bytes(bench.inputs(2_000)[name])
    assert result.verdict
    assert not result.internal_errors


def test_status_with_spaces_then_junk_is_not_a_code() -> None:
    raw = bench.inputs(20_000)["status with spaces then x"]
    found = [f for f in lint_bytes(raw).findings if f.check_id == "ESC-001"]
    assert found and "not an enhanced status code" in found[0].message


@pytest.mark.parametrize(("value", "groups"), [
    ("5.1.1", ("5.1.1", None)), (" 5.1.1 (user unknown) ", ("5.1.1", "(user unknown)")),
    ("5.1.1(a) (b)", ("5.1.1", "(a) (b)")), ("5.1.1 x", None), ("5.1.1" + " " * 5000 + "x", None)])
def test_status_value_reads_as_before(value: str, groups: tuple[str, str | None] | None) -> None:
    match = STATUS_VALUE.match(value)
    assert (match.groups() if match else None) == groups


def test_date_of_open_parentheses_is_no_date() -> None:
    assert date_problem("(" * 100_000) == ("not an RFC 5322 date-time in its first 4096 characters (the field "
                                           "has 100000; no more of it is read)")
    assert date_problem("(" * 100) == "not an RFC 5322 date-time"
    assert date_problem("Mon, 23 Nov 2026 06:00:00 +0000 (" + "(" * 100_000) is None  # an unclosed comment
    assert date_problem("Mon, 23 Nov 2026 06:00:00 +0000") is None


def test_comments_nest_and_quote() -> None:
    assert without_comments("Mon, 23 Nov 2026 (a (b) c) 06:00:00  +0000 (x") == "Mon, 23 Nov 2026 06:00:00 +0000"
    assert without_comments(r"23 Nov 2026 (a \) b) 06:00 +0000") == "23 Nov 2026 06:00 +0000"


def test_date_with_long_folding_white_space_is_still_a_date() -> None:
    assert date_problem("Mon, 23 Nov 2026" + " " * 100_000 + "06:00:00 +0000") is None


def test_rfc_2231_report_type_continuations_are_read() -> None:
    raw = GOOD.replace(b"report-type=delivery-status;", b'report-type*0="delivery-"; report-type*1="status";')
    result = lint_bytes(raw)
    assert result.kind is Kind.DSN_FAILURE and result.fully_judged
    assert not {"MPR-002", "MPR-003"} & ids(raw)


def test_rfc_2231_boundary_continuations_and_encoded_values_are_read() -> None:
    raw = GOOD.replace(b'boundary="b1/mx.example.net"', b'boundary*0="b1/mx."; boundary*1="example.net"').replace(
        b"report-type=delivery-status;", b"report-type*=us-ascii'en'delivery%2Dstatus;")
    assert load(raw).boundary == "b1/mx.example.net"
    assert lint_bytes(raw).kind is Kind.DSN_FAILURE
    assert not {"MPR-002", "MPR-003", "MPR-004"} & ids(raw)


def test_another_report_type_in_sections_is_read_as_that_type() -> None:
    raw = GOOD.replace(b"report-type=delivery-status;", b'report-type*0="disposition-"; report-type*1="notification";')
    assert lint_bytes(raw).kind is Kind.MDN


@pytest.mark.parametrize(("value", "expected"), [
    ('multipart/report; report-type=delivery-status; boundary="b;1"',
     [("report-type", "delivery-status"), ("boundary", "b;1")]),
    ("text/plain; charset*=utf-8''%C3%A9t%C3%A9", [("charset", "été")]),
    ('a/b; x*1="b"; x*0="a"; x="plain"', [("x", "plain")]),
    ('a/b; x*0="a"; x*2="c"', [("x", "a")]),  # a gap ends the value
    ('a/b; q="a\\"b"; ;; =v; n', [("q", 'a"b'), ("n", "")]),
])
def test_parameters(value: str, expected: list[tuple[str, str]]) -> None:
    assert params(value) == expected


def test_content_type_of_quoted_semicolons_keeps_its_parameters() -> None:
    raw = bench.inputs(100_000)["content-type of quoted semicolons"]
    assert load(raw).boundary == "b1"
    assert lint_bytes(raw).kind is Kind.DSN_FAILURE


def _nested_dsn(depth: int) -> bytes:
    """A DSN inside *depth* levels of multipart/mixed."""
    inner = GOOD.split(b"\r\n\r\n", 1)
    report = inner[0].split(b"Content-Type:", 1)[1]
    opening = b"".join(b'--n%d\r\nContent-Type: multipart/mixed; boundary="n%d"\r\n\r\n' % (i, i + 1)
                       for i in range(depth))
    closing = b"".join(b"--n%d--\r\n" % i for i in reversed(range(depth + 1)))
    return (b"From: MAILER-DAEMON@mx.example.net\r\nSubject: Undelivered Mail Returned to Sender\r\n"
            b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="n0"\r\n\r\n' + opening
            + b"--n%d\r\nContent-Type:" % depth + report + b"\r\n\r\n" + inner[1] + closing)


def test_a_report_nested_a_few_levels_down_is_found() -> None:
    result = lint_bytes(_nested_dsn(3))
    assert result.kind is Kind.DSN_FAILURE and result.fully_judged
    ndr = load(_nested_dsn(3))
    assert ndr.status_nested and ndr.status is not None and ndr.status.recipients


def test_a_forwarded_report_is_found() -> None:
    raw = (b"From: a@example.org\r\nSubject: Fwd: bounce\r\nMIME-Version: 1.0\r\n"
           b'Content-Type: multipart/mixed; boundary="f"\r\n\r\n--f\r\nContent-Type: text/plain\r\n\r\nsee below\r\n'
           b"--f\r\nContent-Type: message/rfc822\r\n\r\n" + GOOD + b"\r\n--f--\r\n")
    ndr = load(raw)
    assert ndr.status_nested and ndr.status is not None
    assert ndr.status_part is not None and ndr.status_part.body_line > 1


def test_deep_nesting_is_not_fully_judged_and_never_raises() -> None:
    result = lint_bytes(_nested_dsn(1_000))
    assert not result.fully_judged
    assert result.verdict.startswith("could not be fully judged: multiparts and enclosed messages nested deeper "
                                     f"than {nested.NEST_LIMIT} levels were not read")


def test_deep_nesting_without_a_report_named_is_judged() -> None:
    result = lint_bytes(bench.inputs(100_000)["nested multiparts"])
    assert result.fully_judged and result.kind is Kind.BOUNCE


def test_an_internal_error_makes_the_verdict_say_so(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(raw: bytes) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr("conformance.ndr.lint.load", broken)
    result = lint_bytes(GOOD)
    assert not result.fully_judged
    assert result.verdict.startswith("could not be fully judged: the linter failed inside")


def test_a_spent_budget_stops_the_checks() -> None:
    result = lint_bytes(GOOD, budget_s=0.0)
    assert not result.fully_judged and not result.findings
    assert result.verdict.startswith("could not be fully judged: linting stopped after ")
    assert "checks did not run" in result.verdict
    assert lint_bytes(GOOD, budget_s=60.0).fully_judged


def _lint_exit(raw: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    path = tmp_path / "m.eml"
    path.write_bytes(raw)
    code = main(["lint", str(path)])
    return code, capsys.readouterr().out


def test_lint_exits_non_zero_for_an_input_it_could_not_fully_judge(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _lint_exit(_nested_dsn(1_000), tmp_path, capsys)
    assert code == ExitCode.NON_CONFORMANT
    assert "could not be fully judged" in out


def test_lint_exits_zero_for_a_good_dsn_with_rfc_2231_sections(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = GOOD.replace(b"report-type=delivery-status;", b'report-type*0="delivery-"; report-type*1="status";')
    code, out = _lint_exit(raw, tmp_path, capsys)
    assert "could not be fully judged" not in out and "not a bounce" not in out
    assert code == ExitCode.CONFORMANT


def test_junk_lines_in_a_delivery_status_are_described_fifty_times_and_counted() -> None:
    raw = bench.inputs(100_000)["boundary lines without end"]
    found = [f for f in lint_bytes(raw).findings if f.check_id == "DSN-FMT-001"]
    assert len(found) <= dsn_fields.PROBLEM_LIMIT + 2
    assert any("more lines from here on are not fields either" in f.message for f in found)


def test_a_fault_repeated_in_every_block_is_listed_a_hundred_times_and_counted() -> None:
    block = b"Final-Recipient: rfc822; nobody@example.com\r\nAction: failure\r\nStatus: 5.1.1\r\n\r\n"
    found = [f for f in lint_bytes(bench.dsn(recipients=block * 500)).findings if f.check_id == "DSN-FMT-016"]
    assert len(found) == lint.PER_CHECK_LIMIT + 1
    assert found[-1].message.startswith("400 more findings of this check from here on are not listed")


def test_a_finding_quoting_a_huge_value_leaves_its_middle_out() -> None:
    raw = bench.inputs(100_000)["status with spaces then x"]
    found = next(f for f in lint_bytes(raw).findings if f.check_id == "ESC-001")
    assert len(found.message) < 700 and "characters left out" in found.message
    assert found.message.endswith("is not an enhanced status code")


def test_a_from_of_angle_brackets_gives_no_address_and_says_how_much_was_read() -> None:
    raw = bench.inputs(100_000)["from of angle brackets"]
    found = [f for f in lint_bytes(raw).findings if f.check_id == "NDR-HDR-005"]
    assert found and "gives no address a person could reply to in its first 4096 characters" in found[0].message
    assert "NDR-HDR-005" not in ids(bench.dsn())


def test_the_ndr_date_against_its_arrival_is_bounded() -> None:
    from conformance.findings import Location, Profile
    from conformance.ndr.transaction import date_findings

    hostile = load(bench.inputs(100_000)["date of open parentheses"])
    assert date_findings(hostile, 0.0, profile=Profile.ANTI_BACKSCATTER, where=Location()) == []
    good = load(bench.dsn())
    assert [f.check_id for f in date_findings(good, 0.0, profile=Profile.ANTI_BACKSCATTER, where=Location())] \
        == ["NDR-HDR-003"]


@pytest.mark.parametrize(("value", "deep"), [
    (b"(" * 5000 + b"MAILER-DAEMON@mx.example.net", True),  # the stdlib reader recursed past its limit here
    (b"(" * 2000 + b")" * 2000 + b" <MAILER-DAEMON@mx.example.net>", False),  # read again without comments
])
def test_from_with_comments_nested_past_the_stdlib_recursion_limit(value: bytes, deep: bool) -> None:
    raw = GOOD.replace(b"From: MAILER-DAEMON@mx.example.net", b"From: " + value, 1)
    assert raw != GOOD
    result = lint_bytes(raw)
    assert result.internal_errors == [] and result.fully_judged
    said = [f.message for f in result.findings if f.check_id == "NDR-HDR-005"]
    assert (said and "comments nest too deep" in said[0]) if deep else said == []
