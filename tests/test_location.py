"""Where a finding was seen: a structured Location, rendered in one place, kept in parts in the reports.

A report can only point at (and later highlight) the line of a case file or of a
captured NDR if the location stays numbers; these tests hold the rendering, the
nesting of a linted NDR's line inside "NDR n", and that a live run's finding
names the step and case-file line it judged.
"""

from __future__ import annotations

from conformance.checks.registry import finding, note
from conformance.findings import Finding, Location, Profile, Severity
from conformance.report.records import finding_record
from conformance.run import CaseRunner
from conformance.suite.loader import load_suite
from conformance.suite.locate import shipped_suites_dir
from conformance.target import StartTLS, make_settings
from conformance.testee import Testee, TesteeConfig


def test_each_form_renders_as_people_read_it() -> None:
    assert str(Location(step=4, case_line=31, detail="reply to RCPT TO:<x>")) == "step 4, line 31: reply to RCPT TO:<x>"
    assert str(Location(ndr=1, line=12)) == "NDR 1, line 12"
    assert str(Location(relayed=2)) == "relayed copy 2"
    assert str(Location(ndr=1, detail="block for <a@b>")) == "NDR 1: block for <a@b>"
    assert str(Location(detail="after the dialogue")) == "after the dialogue"
    assert str(Location()) == "" and not Location()


def test_a_linted_line_nests_inside_its_ndr() -> None:
    assert Location(line=24).within(Location(ndr=2)) == Location(ndr=2, line=24)
    assert str(Location(line=24).within(Location(ndr=2))) == "NDR 2, line 24"


def test_plain_words_become_a_detail_and_compare_equal() -> None:
    made = finding("SMTP-REJ-001", "x", profile=Profile.ANTI_BACKSCATTER, where="after the dialogue")
    assert made.where == Location(detail="after the dialogue")
    assert Finding("SMTP-REJ-001", made.severity, "x", "after the dialogue", made.refs) == made


def test_a_note_is_info_with_the_checks_references() -> None:
    made = note("LOOP-002", "a notice went to the postmaster", where=Location(detail="after the dialogue"))
    assert made.severity is Severity.INFO and made.refs


def test_reports_keep_the_parts() -> None:
    record = finding_record(finding("NDR-HDR-001", "no Date", profile=Profile.ANTI_BACKSCATTER,
                                    where=Location(ndr=1, line=3)))
    assert record["where"] == "NDR 1, line 3"
    assert record["location"] == {"ndr": 1, "line": 3}


def test_a_live_finding_names_its_step_and_case_file_line() -> None:
    suite = load_suite(shipped_suites_dir() / "in-session" / "rejection.yaml")
    case = next(c for c in suite.cases if c.id == "rcpt.unknown-local-user")
    with Testee(TesteeConfig(faults=frozenset({"wrong-code-unknown-user"}))) as testee:
        settings = make_settings(host=testee.host, port=testee.port, helo="client.test", sender="probe@client.test",
                                 local_domain="local.test", known_recipient="alice@local.test",
                                 starttls=StartTLS.OFF, timeout=5.0, profile=Profile.ANTI_BACKSCATTER)
        result = CaseRunner(settings).run(case)
    located = [f.where for f in result.findings if f.check_id == "SMTP-REJ-005"]
    assert located, result.summary()
    step = next(i for i, s in enumerate(case.steps, start=1) if (s.send or "").startswith("RCPT TO:<{unknown_local}>"))
    assert (located[0].step, located[0].case_line) == (step, case.steps[step - 1].line)
    assert str(located[0]).startswith(f"step {step}, line {case.steps[step - 1].line}: reply to RCPT TO:<no-such-user-")
