"""Case files: the shipped suites are valid, and a broken file says file:line and what."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from conformance.checks.registry import REGISTRY
from conformance.suite.loader import CaseFileError, case_schema, check_unique_ids, load_suite
from conformance.suite.locate import shipped_case_files

SHIPPED = shipped_case_files()


def test_there_are_shipped_suites() -> None:
    assert len(SHIPPED) >= 4


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_file_validates_against_the_schema(path: Path) -> None:
    jsonschema.Draft202012Validator.check_schema(case_schema())
    jsonschema.validate(yaml.safe_load(path.read_text()), case_schema())
    load_suite(path)


def test_case_ids_are_unique_and_checks_exist() -> None:
    suites = [load_suite(p) for p in SHIPPED]
    check_unique_ids(suites)
    for suite in suites:
        for case in suite.cases:
            assert case.checks and all(c in REGISTRY for c in case.checks)
            assert case.refs, f"{case.id} has no RFC references"


def test_no_in_session_case_completes_a_data() -> None:
    """Safe against a production MX: no in-session case sends a message body."""
    for path in SHIPPED:
        if path.parent.name != "in-session":
            continue
        text = path.read_text()
        assert "data:" not in text
        for case in load_suite(path).cases:
            for step in case.steps:
                assert (step.send or "").strip().upper() != "."


def test_every_case_that_completes_a_data_needs_a_harness_route() -> None:
    """An operator probing a live MX sets no routes, so a case that sends a message can never run there."""
    from conformance.target import ROUTES

    sending = [case for path in SHIPPED for case in load_suite(path).cases if any(step.data for step in case.steps)]
    assert len(sending) >= 20
    for case in sending:
        assert set(case.requires) & set(ROUTES), case.id
        assert case.suite == "after-acceptance", case.id


BASE = """\
suite: mine
cases:
  - id: my.case
    title: a case
    checks: [SMTP-REJ-001]
    dialogue:
      - expect: 220
"""


@pytest.mark.parametrize(("text", "line", "message"), [
    ("suite: [unclosed\n", 2, "invalid YAML: while parsing a flow sequence expected ',' or ']'"),
    ("suite: x\n  bad: indent\n", 2, "invalid YAML: mapping values are not allowed here"),
    ("", 1, "the file is empty"),
    ("- just\n- a list\n", 1, "a case file is a mapping"),
    (BASE.replace("title: a case", "title: a case\n    title: twice"), 5, "duplicate key 'title'"),
    (BASE.replace("[SMTP-REJ-001]", "[SMTP-REJ-999]"), 5, "unknown check id 'SMTP-REJ-999'"),
    (BASE + "      - send: EHLO {helo}\n        expect: {code: 250, check: DSNX-003, condition: typo}\n", 9,
     "check DSNX-003 has no condition 'typo' (its conditions: invalid-value, duplicate)"),
    (BASE + "      - send: RCPT TO:<{nobody}>\n", 8, "unknown placeholder {nobody}"),
    (BASE + "      - send: NOOP\n        expect: \"{later}\"\n", 8, "{later} is used before any step captures it"),
    (BASE.replace("id: my.case", "id: My Case"), 3, "at cases[0].id: 'My Case' does not match"),
    (BASE + "      - send: NOOP\n        expect: 250\n        repeat: 0\n", 10, "0 is less than the minimum of 1"),
    (BASE + BASE.split("cases:\n", 1)[1], 8, "duplicate case id 'my.case' (first at line 3)"),
    (BASE.replace("      - expect: 220\n", "      - send: EHLO x\n"), 7, "the first step must expect the greeting"),
    (BASE + "      - send: NOOP\n        expect: {text: '(unclosed'}\n", 8, "invalid regular expression"),
])
def test_broken_file_is_reported_with_file_and_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = tmp_path / "x.mta.yaml"
    path.write_text(text)
    with pytest.raises(CaseFileError) as info:
        load_suite(path)
    assert info.value.line == line, str(info.value)
    assert message in str(info.value)
    assert str(info.value).startswith(f"{path}:{line}: ")


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "x.mta.yaml"
    path.write_bytes(b"suite: ok\n\xff\xfe\n")
    with pytest.raises(CaseFileError, match=r":2: the file is not valid UTF-8"):
        load_suite(path)


def test_schema_is_published_json() -> None:
    text = (Path(__file__).resolve().parent.parent / "conformance" / "suite" / "case.schema.json").read_text()
    assert json.loads(text)["title"] == "mta-conformance case file"
