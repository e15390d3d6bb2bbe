"""After acceptance, against a real MTA: what a broken route does to the verdicts.

(The shipped after-acceptance suite runs against Postfix and Exim in
tests/test_realmta.py.)  A user case file drives Postfix while the harness is
told a sender domain the MTA does not route to it: every case that needs the
route must fail with the route control's message, never pass for want of an NDR.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from realmta import RealMTA

pytestmark = pytest.mark.realmta

CASES = (Path(__file__).resolve().parent / "data" / "trial.mta.yaml").read_text()


def test_broken_route_fails_every_case_that_needs_it(postfix_mta: RealMTA, tmp_path: Path) -> None:
    """The target relays sender.test to the harness, but the harness is told another domain."""
    (tmp_path / "trial.mta.yaml").write_text(CASES)
    ports = postfix_mta.ports
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "trial.mta.yaml",
           "--mta-host=127.0.0.1", f"--mta-port={postfix_mta.strict_port}", "--mta-known-recipient=alice@local.test",
           "--mta-sender-domain=elsewhere.test", "--mta-relay-domain=relay.test",
           f"--mta-harness-listen=127.0.0.1:{ports.relay}", "--mta-ndr-timeout=5", "--mta-quiet-period=2",
           f"--mta-report-dir={tmp_path}", "-k", "trial"]
    subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    records = json.loads((tmp_path / "results.json").read_text())["cases"]
    assert {r["outcome"] for r in records} == {"failed"} and len(records) == 4
    for record in records:
        assert "route control failed" in record["failure_message"]
    # the null-sender case, which expects no NDR, fails too instead of passing for the wrong reason
    null = next(r for r in records if r["case_id"] == "trial.null-sender.never-bounces")
    assert "route control failed: " in null["failure_message"]
