#!/usr/bin/env python3
"""Build conformance/checks/catalogue.yaml from docs/rfc-catalogue.md.

The registry is data, generated once and then held against the catalogue by
tests/test_registry.py.  Condition keys (our short names for the catalogue's
"severity (condition)" alternatives) are assigned in KEYS below.

    python tools/build_catalogue.py          # write the YAML
    python tools/build_catalogue.py --check  # exit 1 when the YAML is stale
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
MARKDOWN = ROOT / "docs" / "rfc-catalogue.md"
OUTPUT = ROOT / "conformance" / "checks" / "catalogue.yaml"

#: (id, the text in parentheses) -> condition key
KEYS: dict[tuple[str, str], str] = {
    ("SMTP-REJ-005", "mismatch"): "mismatch",
    ("SMTP-REJ-005", "551"): "code-551",
    ("SMTP-REJ-010", "limit below 100"): "limit-below-100",
    ("SMTP-REJ-010", "552 instead of 452"): "552-instead-of-452",
    ("SMTP-REJ-011", "other code"): "other-code",
    ("SMTP-REJ-011", "accepted"): "accepted",
    ("ESC-006", "unregistered"): "unregistered",
    ("ESC-006", "deprecated"): "deprecated",
    ("ESC-007", "5.0.0, 5.7.1 etc. used instead"): "generic-code",
    ("ESC-008", "contested, see notes"): "contested",
    ("DSNX-003", "invalid value"): "invalid-value",
    ("DSNX-003", "duplicate, because §4.5 says SHOULD"): "duplicate",
    ("DSNX-006", "refused"): "refused",
    ("NDR-ENV-004", "other value"): "other-value",
    ("NDR-ENV-004", "absent"): "absent",
    ("NDR-ENV-005", "original ENVID reused"): "envid-reused",
    ("NDR-ENV-006", "split without need"): "split",
    ("NDR-ENV-006", "one NDR mixes messages"): "mixed-messages",
    ("NDR-HDR-005", "missing or `<>`"): "missing",
    ("NDR-HDR-005", "role account"): "role-account",
    ("NDR-HDR-008", "`auto-generated` or more than one field"): "auto-generated-or-repeated",
    ("NDR-HDR-008", "absent"): "absent",
    ("NDR-HDR-012", "over 998"): "over-998",
    ("NDR-HDR-012", "over 78"): "over-78",
    ("MPR-001", "not multipart/report from a target that advertises DSN, or in the DSN-lint profile"): "dsn-expected",
    ("MPR-001", "otherwise, and for a report nested inside another part"): "otherwise",
    ("MPR-003", "other value, e.g. `disposition-notification`"): "other-value",
    ("MPR-003", "global mismatch"): "global-mismatch",
    ("MPR-005", "missing, or a machine type first"): "missing",
    ("MPR-005", "HTML only"): "html-only",
    ("MPR-008", "parameters"): "parameters",
    ("MPR-011", "other type, e.g. text/plain"): "other-type",
    ("MPR-011", "a non-content type such as message/delivery-status"): "non-content-type",
    ("DSN-FMT-001", "no per-recipient block, unparsable"): "unparsable",
    ("DSN-FMT-003", "missing type or \";\""): "missing-type",
    ("DSN-FMT-003", "X- type"): "x-type",
    ("DSN-SEM-005", "`dns` with IP or single label"): "dns-not-fqdn",
    ("DSN-SEM-005", "non-public name"): "non-public-name",
    ("DSN-FMT-015", "ORCPT given, field missing or altered"): "missing-or-altered",
    ("DSN-FMT-015", "field without ORCPT"): "without-orcpt",
    ("DSN-SEM-018", "failed+2.x.x, delayed+2.x.x, delivered/expanded+4/5"): "contradiction",
    ("DSN-SEM-018", "delayed+5.x.x, relayed+4/5"): "unusual",
    ("DSN-SEM-020", "relay case"): "relay-case",
    ("DSN-SEM-021", "generic 5.0.0 where the reply had a precise code"): "generic-status",
    ("DSN-SEM-022", "bare IP"): "bare-ip",
    ("DSN-FMT-027", "unknown non-X name"): "unknown-name",
    ("DSN-SEM-030", "unknown or successfully delivered recipient reported failed"): "wrong-recipient",
    ("RET-002", "body returned"): "body-returned",
    ("I18N-009", "encoded; path unknown"): "encoded",
    ("I18N-009", "labelled 7bit but 8-bit octets"): "mislabelled-7bit",
    ("I18N-012", "wrong code"): "wrong-code",
    ("I18N-012", "refusal only after DATA"): "after-data",
    ("I18N-013", "non-conforming NDR"): "non-conforming",
    ("I18N-008", "parser requirement"): "parser",
    ("LOOP-005", "`<>` with Auto-Submitted"): "null-with-auto-submitted",
    ("LOOP-005", "`<>` without Auto-Submitted"): "null-without-auto-submitted",
    ("LOOP-006", "reply to `<>`"): "reply-to-null",
    ("LOOP-006", "reply to auto-submitted mail"): "reply-to-auto-submitted",
    ("LOOP-007", "50 refused; several hundred accepted; loop answered by NDR"): "loop-handling",
    ("ESC-005", "widely ignored"): "widely-ignored",
    ("SMTP-REJ-007", "354"): "code-354",
}

_ROW = re.compile(r"^\|\s*([A-Z0-9]+(?:-[A-Z0-9]+)*-\d{3})\s*\|")
_PROFILES = {"anti-backscatter profile": "anti-backscatter", "strict-rfc profile": "strict-rfc"}


def split_top(text: str, seps: tuple[str, ...] = (";",)) -> list[str]:
    """Split on separators outside parentheses (and ' / ' between two parts)."""
    parts, depth, cur, i = [], 0, "", 0
    while i < len(text):
        ch = text[i]
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if depth == 0 and ch == ";":
            parts.append(cur)
            cur = ""
        elif depth == 0 and text[i:i + 3] == " / ":
            parts.append(cur)
            cur = ""
            i += 2
        else:
            cur += ch
        i += 1
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def parse_severity(text: str) -> list[tuple[str, str | None]]:
    """'error (x); warning' -> [('error', 'x'), ('warning', None)]."""
    out = []
    for part in split_top(text):
        m = re.match(r"^(error|warning|info)\s*(?:\((.*)\))?$", part, re.S)
        if not m:
            raise ValueError(f"cannot read severity {part!r}")
        out.append((m.group(1), m.group(2).strip() if m.group(2) else None))
    return out


def read_rows(markdown: str) -> list[dict[str, str]]:
    rows = []
    for line in markdown.splitlines():
        if not _ROW.match(line):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 6:
            raise ValueError(f"row with {len(cells)} cells: {line[:60]}")
        rows.append(dict(zip(("id", "source", "level", "requirement", "test", "sev"), cells)))
    return rows


def test_mode(how: str) -> str:
    return how.split(":", 1)[0].strip().rstrip(".")


def short_title(requirement: str) -> str:
    first = re.split(r"(?<=[.;])\s", requirement, maxsplit=1)[0].rstrip(".;")
    first = re.sub(r"`", "", first)
    return first if len(first) <= 110 else first[:107].rsplit(" ", 1)[0] + "..."


def build(markdown: str) -> dict[str, dict]:
    data: dict[str, dict] = {}
    for row in read_rows(markdown):
        rules = []
        for severity, when in parse_severity(row["sev"]):
            profile = _PROFILES.get((when or "").lower())
            key = None
            if when is not None and profile is None:
                key = KEYS.get((row["id"], when))
                if key is None:
                    raise ValueError(f"{row['id']}: no condition key for {when!r}; add one to KEYS")
            rules.append({"severity": severity, "when": when, "key": key, "profile": profile})
        data[row["id"]] = {
            "source": row["source"],
            "level": row["level"],
            "mode": test_mode(row["test"]),
            "title": short_title(row["requirement"]),
            "severity": rules,
        }
    return data


def render(data: dict[str, dict]) -> str:
    head = ("# Generated from docs/rfc-catalogue.md by tools/build_catalogue.py; held against it by\n"
            "# tests/test_registry.py. Edit the catalogue (and KEYS in the tool), not this file.\n")
    return head + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=200)


def main(argv: list[str]) -> int:
    text = render(build(MARKDOWN.read_text(encoding="utf-8")))
    if "--check" in argv:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if current != text:
            print(f"{OUTPUT} is stale: run python tools/build_catalogue.py")
            return 1
        print(f"{OUTPUT} matches {MARKDOWN}")
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT} ({text.count(chr(10))} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
