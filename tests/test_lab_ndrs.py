"""The linter on NDRs the lab's OpenSMTPD, Sendmail and Haraka sent (tests/data/lab-ndrs, captured here).

Each MTA's NDR carries the faults that MTA really has, and only those: the
set of error and warning findings is asserted exactly, so a check that goes
quiet on a real fault fails here, and so does one that starts to judge
correct bytes.  Each file is named after the scenario that produced it: a next
hop refusing the recipient at RCPT (NOTIFY=FAILURE, ORCPT, ENVID, RET=HDRS on
the MTAs that offer DSN), and an unknown local user on the backscatter listener.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.findings import Severity
from conformance.ndr.lint import lint_bytes

DATA = Path(__file__).resolve().parent / "data" / "lab-ndrs"

#: (mta, scenario) -> {check id: severity}: every error and warning the NDR deserves
EXPECTED: dict[tuple[str, str], dict[str, str]] = {
    # multipart/mixed around message/delivery-status (RFC 3464 §2: a DSN is a multipart/report);
    # the message body comes back under text/rfc822-headers (RFC 6522 §4)
    ("opensmtpd", "next-hop-refuses-rcpt"): {"MPR-001": "error", "RET-005": "warning"},
    ("opensmtpd", "unknown-local-user"): {"MPR-001": "error", "RET-005": "warning"},
    # Date in GMT (RFC 5322 §3.3 obs-zone: MUST NOT), Auto-Submitted: auto-generated (RFC 3834 §5.1:
    # MUST NOT on a DSN), DSN dates in GMT (RFC 1123 §5.2.14: numeric SHOULD)
    ("sendmail", "next-hop-refuses-rcpt"): {"NDR-HDR-002": "error", "NDR-HDR-008": "error",
                                            "DSN-FMT-010": "warning", "DSN-FMT-023": "warning"},
    ("sendmail", "unknown-local-user"): {"NDR-HDR-002": "error", "NDR-HDR-008": "error",
                                         "DSN-FMT-010": "warning", "DSN-FMT-023": "warning"},
    # no MIME-Version (RFC 2045 §4), nested boundaries that begin with the outer one (RFC 2046
    # §5.1.1), Remote-MTA without its type (RFC 3464 §2.3.5)
    ("haraka", "next-hop-refuses-rcpt"): {"NDR-HDR-007": "error", "MPR-010": "error", "DSN-FMT-003": "error"},
    ("haraka", "unknown-local-user"): {"NDR-HDR-007": "error", "MPR-010": "error", "DSN-FMT-003": "error"},
}


def _kept(raw: bytes, **options: object) -> dict[str, str]:
    result = lint_bytes(raw, **options)  # type: ignore[arg-type]
    kept: dict[str, str] = {}
    for finding in result.findings:
        if finding.severity in (Severity.ERROR, Severity.WARNING):
            worst = kept.get(finding.check_id)
            kept[finding.check_id] = "error" if "error" in (worst, str(finding.severity)) else str(finding.severity)
    return kept


@pytest.mark.parametrize(("mta", "scenario"), sorted(EXPECTED), ids=[f"{m}-{s}" for m, s in sorted(EXPECTED)])
def test_lab_ndr_findings(mta: str, scenario: str) -> None:
    raw = (DATA / mta / f"{scenario}.eml").read_bytes()
    assert _kept(raw) == EXPECTED[(mta, scenario)]


def test_every_lab_ndr_is_asserted() -> None:
    files = {(p.parent.name, p.stem) for p in DATA.glob("*/*.eml")}
    assert files == set(EXPECTED)


def test_opensmtpd_multipart_mixed_is_not_called_a_dsn() -> None:
    result = lint_bytes((DATA / "opensmtpd" / "unknown-local-user.eml").read_bytes())
    assert "not an RFC 3464 DSN" in result.verdict and "multipart/mixed" in result.verdict


def test_sendmail_extension_field_is_at_most_a_note() -> None:
    """X-Actual-Recipient between Final-Recipient and Action: an extension field out of the grammar's place."""
    result = lint_bytes((DATA / "sendmail" / "next-hop-refuses-rcpt.eml").read_bytes())
    order = [f for f in result.findings if f.check_id == "DSN-FMT-012"]
    assert order and all(f.severity == Severity.INFO for f in order)
    assert "X-Actual-Recipient" in order[0].message


@pytest.mark.parametrize(("zone", "severity"), [("+0000", None), ("GMT", "warning"), ("EST", "warning"),
                                                ("UTC", "error"), ("CEST", "error")])
def test_dsn_date_zones(zone: str, severity: str | None) -> None:
    """RFC 822 zone names are a SHOULD (RFC 1123 §5.2.14); a zone RFC 822 never defined is an error."""
    raw = (DATA / "sendmail" / "unknown-local-user.eml").read_bytes()
    raw = raw.replace(b"Arrival-Date: Mon, 7 Dec 2026 22:27:48 GMT", f"Arrival-Date: Mon, 7 Dec 2026 22:27:48 {zone}".encode())
    assert _kept(raw).get("DSN-FMT-010") == severity
