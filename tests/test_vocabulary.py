"""The case-file vocabulary: placeholders and ``requires`` keywords come from one table each.

The schema's descriptions and the README are written by hand; these tests fail
when either misses or invents a placeholder or a keyword, and pin what the
tables compute (values, rendering, skip reasons) for the runner.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from conformance.suite import placeholders, requirements
from conformance.suite.loader import CaseFileError, case_schema, load_suite
from conformance.suite.model import Case, Step
from conformance.target import StartTLS, TargetSettings, make_settings

README = Path(__file__).resolve().parent.parent / "README.md"
FORMS = {p.form for p in placeholders.PLACEHOLDERS}
KEYWORDS = {r.keyword for r in requirements.REQUIREMENTS}


def _readme_table(header: str) -> set[str]:
    """The first cells (in backticks) of the README table whose header row starts with *header*."""
    lines = README.read_text("utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    cells: set[str] = set()
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        first = line.split("|")[1].strip()
        assert first.startswith("`") and first.endswith("`"), line
        cells.add(first.strip("`"))
    return cells


def test_schema_describes_every_placeholder_and_no_other() -> None:
    send = case_schema()["$defs"]["step"]["properties"]["send"]["description"]
    assert set(re.findall(r"\{[a-z_]+(?::N)?\}", send)) == FORMS


def test_schema_lists_every_requires_keyword_and_no_other() -> None:
    spec = case_schema()["$defs"]["case"]["properties"]["requires"]
    listed = spec["description"].split("Keywords:", 1)[1].rstrip(".")
    written = {re.sub(r"\s*\(.*", "", item).strip() for item in re.split(r",\s*(?![^()]*\))", listed)}
    assert written == KEYWORDS
    pattern, words = spec["items"]["anyOf"]
    assert set(words["enum"]) == requirements.WORDS
    assert pattern["pattern"] == f"^!?{requirements.CAPABILITY.pattern}$"


def test_readme_lists_every_placeholder_and_no_other() -> None:
    assert _readme_table("| Placeholder |") == FORMS


def test_readme_lists_every_requires_keyword_and_no_other() -> None:
    assert _readme_table("| `requires` |") == KEYWORDS


def test_every_placeholder_with_a_missing_value_names_its_option() -> None:
    bare = placeholders.values(make_settings(), "t")
    assert set(bare) == placeholders.NAMES - {"n", "fill"}
    for name, value in bare.items():
        assert value is not None or placeholders.BY_NAME[name].option, name


def _settings(**overrides: object) -> TargetSettings:
    return make_settings(helo="client.example", **overrides)


def test_values_and_render() -> None:
    s = _settings(known_recipient="alice@example.org", sender_domain="bounce.example", relay_domain="relay.example")
    values = placeholders.values(s, "tok")
    assert values["unknown_local"] == "no-such-user-tok@example.org"
    assert values["bounce_sender"] == "tok@bounce.example"
    assert values["foreign_recipient"] == "relay-probe-tok@example.net"
    assert values["known_recipient"] == "alice@example.org"
    assert values["plain_relay_domain"] is None
    rendered = placeholders.render("{n} {fill:5} {fill:2} {helo} {plain_relay_domain} {captured} {nope}",
                                   {**values, "captured": "250"}, 3, "tok")
    assert rendered == "3 tokxx to client.example  250 "


def test_unavailable_names_the_option() -> None:
    values = placeholders.values(_settings(), "t")
    assert placeholders.unavailable("RCPT TO:<{unknown_local}>", values) == \
        "requires --mta-local-domain (or --mta-known-recipient)"
    assert placeholders.unavailable("MAIL FROM:<{bounce_sender}>", values) == "requires --mta-sender-domain"
    assert placeholders.unavailable("EHLO {helo} {n}", values) is None


def _case(requires: tuple[str, ...] = (), *sends: str, over_limit: bool = False) -> Case:
    steps = [Step(send=None, expectations=())] + [Step(send=s, expectations=()) for s in sends]
    if over_limit:
        steps.append(Step(send=None, expectations=(), data=True, data_size="over-limit"))
    return Case(id="c", title="t", suite="s", checks=("SMTP-REJ-001",), steps=tuple(steps), requires=requires)


def test_requirement_gap_reasons_in_order() -> None:
    bare = _settings()
    gap = requirements.requirement_gap
    assert gap(_case(("known_recipient",)), bare, {}) == \
        "requires --mta-known-recipient (an address the target accepts, the control probe)"
    delivering = dataclasses.replace(_case(("known_recipient",)), steps=_case(over_limit=True).steps)
    assert (gap(delivering, _settings(local_domain="example.org"), {"SIZE": "100"}) or "").startswith(
        "requires --mta-known-recipient: this case delivers a message to it")
    assert gap(_case(("DSN", "local_domain")), bare, {}) == \
        "requires EHLO capability DSN, which the target does not advertise"
    assert gap(_case(("!DSN",)), bare, {"DSN": ""}) == \
        "for targets without DSN; the target advertises DSN in its EHLO reply"
    assert gap(_case(("relay_route",)), bare, {}) == \
        "requires the relay route: set --mta-relay-domain and --mta-harness-listen"
    assert (gap(_case(("slow",)), bare, {}) or "").startswith("an opt-in slow case")
    assert gap(_case(over_limit=True), bare, {}) == \
        "sends a message over the target's SIZE limit, but the target advertises no SIZE limit"
    assert gap(_case(over_limit=True), bare, {"SIZE": str(10**9)}) == (
        "sends a message over the target's SIZE limit, but that limit (1000000000 octets) is above "
        "the 64 MiB this suite sends")
    assert gap(_case((), "MAIL FROM:<{bounce_sender}>"), bare, {}) == "requires --mta-sender-domain"
    assert gap(_case((), "HELO {helo}"), _settings(starttls=StartTLS.REQUIRED), {}) == \
        "opens with HELO, which cannot negotiate STARTTLS (--mta-starttls=required)"
    assert gap(_case(("DSN", "!SIZE"), "HELO {helo}"), bare, {"DSN": ""}) is None


def test_size_limit() -> None:
    assert requirements.size_limit({"SIZE": "1000"}) == 1000
    assert requirements.size_limit({"SIZE": "0"}) is None
    assert requirements.size_limit({"SIZE": ""}) is None
    assert requirements.size_limit({}) is None


@pytest.mark.parametrize("written", ["known_recipient", "slow", "plain_relay_route", "DSN", "8BITMIME", "!DSN"])
def test_known_requirements(written: str) -> None:
    assert requirements.is_known(written)


@pytest.mark.parametrize("written", ["routes", "dsn", "!dsn", "!", "", "known-recipient"])
def test_unknown_requirements(written: str) -> None:
    assert not requirements.is_known(written)


def test_loader_refuses_an_unknown_placeholder(tmp_path: Path) -> None:
    path = tmp_path / "x.mta.yaml"
    path.write_text("suite: x\ncases:\n  - id: a\n    title: t\n    checks: [SMTP-REJ-001]\n"
                    "    dialogue:\n      - expect: 220\n      - send: RCPT TO:<{nobody}>\n")
    with pytest.raises(CaseFileError, match=r":8: unknown placeholder \{nobody\}"):
        load_suite(path)
