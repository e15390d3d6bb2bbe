"""An NDR's own transaction (envelope and Date), and linting a message already parsed."""

from __future__ import annotations

from test_ndr_lint import GOOD

from conformance.findings import Location, Profile
from conformance.ndr.lint import lint_bytes, lint_message
from conformance.ndr.message import load


def test_lint_message_is_lint_bytes_on_a_parsed_message() -> None:
    bad = GOOD.replace(b"Action: failed", b"Action: failure")
    assert lint_message(load(bad), source="x") == lint_bytes(bad, source="x")


def test_findings_lie_within_the_base_location() -> None:
    bad = GOOD.replace(b"Action: failed", b"Action: failure")
    result = lint_message(load(bad), profile=Profile.ANTI_BACKSCATTER, where=Location(ndr=2))
    action = next(f for f in result.findings if f.check_id == "DSN-FMT-016")
    assert str(action.where) == "NDR 2, line 24"
