"""The lab MTAs' expected verdicts: one file per listener, the README table made from them.

``lab/<mta>/expected-<listener>.yaml`` says, for every shipped case, what the
whole suite concludes against that listener of that lab MTA: the outcome, the
check ids of the error and warning findings it keeps, and why, in one line,
whenever that is anything but a clean pass.  tests/test_realmta.py asserts
every case against these files; this script renders the README's verdict
table from them and records a run's results into them:

    python tools/lab_verdicts.py --check          # exit 1 when the README table is stale
    python tools/lab_verdicts.py --write          # rewrite the README table
    python tools/lab_verdicts.py --record postfix strict reports/results.json

``--record`` keeps every ``why`` already written and marks new ones ``TODO``,
which the test refuses, so no verdict lands without its reason.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
LAB = ROOT / "lab"
README = ROOT / "README.md"
#: the lab MTAs in table order, with the name the table shows
MTAS = {"postfix": "Postfix 3.7", "exim4": "Exim 4.96", "opensmtpd": "OpenSMTPD 6.8",
        "sendmail": "Sendmail 8.17", "haraka": "Haraka 3.3"}
LISTENERS = ("strict", "backscatter")
START, END = "<!-- lab-verdicts:start (tools/lab_verdicts.py --write) -->", "<!-- lab-verdicts:end -->"
#: severities whose check ids a verdict keeps (info and notes are evidence, not verdicts)
KEPT = ("error", "warning")


@dataclass(frozen=True)
class Verdict:
    outcome: str
    findings: tuple[str, ...] = ()
    why: str = ""

    def key(self) -> tuple[str, tuple[str, ...]]:
        return self.outcome, self.findings

    def short(self) -> str:
        """The table cell: the outcome and the findings it keeps."""
        return self.outcome + (f" ({', '.join(self.findings)})" if self.findings else "")


@dataclass
class Expected:
    mta: str
    listener: str
    cases: dict[str, Verdict] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return expected_path(self.mta, self.listener)


def expected_path(mta: str, listener: str) -> Path:
    return LAB / mta / f"expected-{listener}.yaml"


def _verdict(value: Any) -> Verdict:
    if isinstance(value, str):
        return Verdict(value)
    return Verdict(str(value["outcome"]), tuple(sorted(value.get("findings") or ())), str(value.get("why") or ""))


def load(mta: str, listener: str) -> Expected:
    path = expected_path(mta, listener)
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
    cases = {case_id: _verdict(value) for case_id, value in (data or {}).get("cases", {}).items()}
    return Expected(mta, listener, cases)


def observed(results: dict[str, Any]) -> dict[str, Verdict]:
    """Each case of a results.json as a verdict (its outcome and the ids of its kept findings)."""
    verdicts = {}
    for record in results["cases"]:
        ids = sorted({f["check_id"] for f in record.get("findings", []) if f["severity"] in KEPT})
        verdicts[record["case_id"]] = Verdict(record["outcome"], tuple(ids))
    return verdicts


def missing_reasons(expected: Expected) -> list[str]:
    """Cases whose verdict is not a clean pass but says no reason."""
    return [case_id for case_id, v in expected.cases.items()
            if (v.outcome != "passed" or v.findings) and (not v.why or v.why == "TODO")]


def dump(expected: Expected) -> str:
    lines = [f"# {MTAS[expected.mta]}, {expected.listener} listener: the verdict of every shipped case.",
             "# Asserted by tests/test_realmta.py; the README's verdict table is made from it",
             "# (python tools/lab_verdicts.py --write). A case that is not a clean pass says why.",
             f"mta: {expected.mta}", f"listener: {expected.listener}", "cases:"]
    for case_id in sorted(expected.cases):
        v = expected.cases[case_id]
        if v.outcome == "passed" and not v.findings:
            lines.append(f"  {case_id}: passed")
            continue
        lines.append(f"  {case_id}:")
        lines.append(f"    outcome: {v.outcome}")
        if v.findings:
            lines.append(f"    findings: [{', '.join(v.findings)}]")
        lines.append(f"    why: {json.dumps(v.why or 'TODO', ensure_ascii=False)}")
    return "\n".join(lines) + "\n"


def record(mta: str, listener: str, results_path: Path) -> Expected:
    """The expected file refreshed from a run: outcomes and findings from it, reasons kept."""
    old = load(mta, listener)
    new = Expected(mta, listener)
    for case_id, v in observed(json.loads(results_path.read_text(encoding="utf-8"))).items():
        before = old.cases.get(case_id)
        why = before.why if before is not None and before.key() == v.key() else ""
        new.cases[case_id] = Verdict(v.outcome, v.findings, why)
    new.path.write_text(dump(new), encoding="utf-8")
    return new


def table() -> str:
    """The README table: a row per case that is not a clean pass everywhere, a column per listener."""
    columns = [(mta, listener) for mta in MTAS for listener in LISTENERS]
    loaded = {col: load(*col) for col in columns}
    case_ids = sorted({c for e in loaded.values() for c in e.cases})
    head = "| case | " + " | ".join(f"{MTAS[mta].split()[0]} {'strict' if listener == 'strict' else 'backsc.'}"
                                     for mta, listener in columns) + " |"
    rows = [head, "|---" * (len(columns) + 1) + "|"]
    clean = []
    for case_id in case_ids:
        cells = [loaded[col].cases.get(case_id, Verdict("-")) for col in columns]
        if all(c.outcome == "passed" and not c.findings for c in cells):
            clean.append(case_id)
            continue
        rows.append(f"| `{case_id}` | " + " | ".join(_cell(c) for c in cells) + " |")
    rows.append(f"| the other {len(clean)} cases | " + " | ".join("passed" for _ in columns) + " |")
    notes = _reasons(loaded)
    return "\n".join(rows) + "\n\nWhy, listener by listener (from the same files):\n\n" + notes


def _cell(v: Verdict) -> str:
    if v.outcome == "passed" and not v.findings:
        return "passed"
    text = v.short()
    return f"**{text}**" if v.outcome == "failed" else text


def _reasons(loaded: dict[tuple[str, str], Expected]) -> str:
    """Per MTA, each case that is not a clean pass with its reason, the listeners that share it named once."""
    lines = []
    for mta, label in MTAS.items():
        said: dict[tuple[str, str], list[str]] = {}
        for listener in LISTENERS:
            for case_id, v in sorted(loaded[(mta, listener)].cases.items()):
                if v.why:
                    said.setdefault((case_id, f"{v.short()}: {v.why}"), []).append(listener)
        if said:
            lines.append(f"**{label}**\n")
            lines += [f"- `{case_id}` ({', '.join(where)}): {text}" for (case_id, text), where in said.items()]
            lines.append("")
    return "\n".join(lines)


def readme_with_table(readme: str) -> str:
    before, rest = readme.split(START, 1)
    _, after = rest.split(END, 1)
    return f"{before}{START}\n{table()}{END}{after}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--check", action="store_true", help="exit 1 when the README's verdict table is stale")
    group.add_argument("--write", action="store_true", help="rewrite the README's verdict table")
    group.add_argument("--record", nargs=3, metavar=("MTA", "LISTENER", "RESULTS_JSON"),
                       help="refresh lab/MTA/expected-LISTENER.yaml from a run's results.json")
    args = parser.parse_args(argv)
    if args.record:
        mta, listener, results = args.record
        todo = missing_reasons(record(mta, listener, Path(results)))
        print(f"wrote {expected_path(mta, listener)}" + (f"; write a reason for: {', '.join(todo)}" if todo else ""))
        return 0
    current = README.read_text(encoding="utf-8")
    wanted = readme_with_table(current)
    if args.write:
        README.write_text(wanted, encoding="utf-8")
        return 0
    if current != wanted:
        print("the README's verdict table is stale: run python tools/lab_verdicts.py --write", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
