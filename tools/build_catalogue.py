#!/usr/bin/env python3
"""Draft conformance/checks/catalogue.yaml from docs/rfc-catalogue.md, and hold the two together.

The catalogue (markdown) is what people read and argue about; the YAML is what the
code loads.  Most of every YAML entry is mechanical (id order, Source, Level, the
test-mode letters, the severities with their parenthesised conditions), so this
tool derives it.  Two things are hand-written and live only in the YAML: the short
``title`` of each check and the condition ``key`` of each conditional severity
(the names cases and the linter pass as ``condition=``).  The tool drafts both for
new rows and keeps the hand-written ones whenever it rewrites the file.

    python tools/build_catalogue.py            # (re)write the YAML, keeping titles and keys
    python tools/build_catalogue.py --fresh    # draft from scratch (titles and keys too)
    python tools/build_catalogue.py --stdout   # print the YAML instead of writing it
    python tools/build_catalogue.py --check    # report, diff-style, where YAML and markdown
                                               # disagree; exit 1 if they do, 0 if not
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
MARKDOWN = ROOT / "docs" / "rfc-catalogue.md"
OUTPUT = ROOT / "conformance" / "checks" / "catalogue.yaml"

SEVERITIES = ("error", "warning", "info")
#: parenthesised Sev text that selects a profile rather than a condition
PROFILES = {"anti-backscatter profile": "anti-backscatter", "strict-rfc profile": "strict-rfc"}
#: the longest title the report lines have room for
TITLE_MAX = 90
KEY_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
#: a catalogue row: "| SMTP-REJ-001 | ..." (section 10/11 tables start with other words)
_ROW = re.compile(r"^\|\s*([A-Z0-9]+(?:-[A-Z0-9]+)*-\d{3})\s*\|")
#: one mode group: L, C, S, S+ctx, L+C, C+ctx ...
_MODE_GROUP = re.compile(r"^[LCS](?:\+(?:[LCS]|ctx))*(?:,\s*[LCS](?:\+(?:[LCS]|ctx))*)*$")

HEADER = (
    "# The check registry, one entry per row of docs/rfc-catalogue.md, in catalogue order.\n"
    "# source, level, mode and the severities (severity, when, profile) are derived from the\n"
    "# catalogue; title and the condition keys are hand-written.  After editing the catalogue,\n"
    "# run python tools/build_catalogue.py (keeps titles and keys); --check reports drift.\n"
)


@dataclass(frozen=True)
class Row:
    """One catalogue table row, cells stripped."""

    id: str
    source: str
    level: str
    requirement: str
    test: str
    sev: str
    line: int


# --------------------------------------------------------------------------- reading the markdown


def read_rows(markdown: str) -> list[Row]:
    """Every requirement row of the catalogue's tables, in document order."""
    rows: list[Row] = []
    for number, line in enumerate(markdown.splitlines(), 1):
        if not _ROW.match(line):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 6:
            raise ValueError(f"{MARKDOWN.name}:{number}: row with {len(cells)} cells, expected 6")
        rows.append(Row(*cells, line=number))
    return rows


def split_top(text: str) -> list[str]:
    """Split *text* on ';' outside parentheses, and on ' / ' between two parts.

    "error (a; b); warning" -> ["error (a; b)", "warning"]; the Sev column uses ' / '
    only between two "severity (... profile)" parts.
    """
    parts: list[str] = []
    depth, current, i = 0, "", 0
    while i < len(text):
        ch = text[i]
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(depth - 1, 0)
        if depth == 0 and ch == ";":
            parts.append(current)
            current = ""
        elif depth == 0 and text.startswith(" / ", i):
            parts.append(current)
            current = ""
            i += 2
        else:
            current += ch
        i += 1
    parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def parse_severity(text: str) -> list[tuple[str, str | None]]:
    """The Sev column as (severity, parenthesised text or None) pairs, in order."""
    out: list[tuple[str, str | None]] = []
    for part in split_top(text):
        m = re.fullmatch(r"(error|warning|info)\s*(?:\((.*)\))?", part, re.S)
        if not m:
            raise ValueError(f"cannot read severity {part!r} in {text!r}")
        out.append((m.group(1), m.group(2).strip() if m.group(2) is not None else None))
    return out


def profile_of(when: str | None) -> str | None:
    """The profile a parenthesised Sev text names ("strict-RFC profile"), if it names one."""
    return PROFILES.get((when or "").strip().lower())


def _drop_parens(text: str) -> str:
    """Remove parenthesised text (nesting-aware)."""
    out, depth = "", 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(depth - 1, 0)
        elif depth == 0:
            out += ch
    return out


def _top_colon(text: str) -> int:
    """Index of the first ':' outside parentheses, or -1."""
    depth = 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(depth - 1, 0)
        elif ch == ":" and depth == 0:
            return i
    return -1


def mode_of(how: str) -> str:
    """The test-mode letters at the start of the "How to test" cell.

    Each ';'-separated segment that starts with mode letters contributes them (text
    after a ':' and parenthesised notes such as "(lab)" are dropped), so
    "C: RCPT with ...; S+ctx" -> "C; S+ctx", "L (EHLO) + C" -> "L+C",
    "L, S: compare ..." -> "L, S".  The first segment that is prose ends the mode.
    """
    modes: list[str] = []
    for segment in split_top(how):
        colon = _top_colon(segment)
        head = segment[:colon] if colon >= 0 else segment
        head = re.sub(r"\s+", " ", _drop_parens(head)).strip().rstrip(".").strip()
        head = re.sub(r"\s*\+\s*", "+", head)
        if not _MODE_GROUP.match(head):
            break
        modes.append(head)
    return "; ".join(modes)


# --------------------------------------------------------------------------- drafting titles and keys


def draft_key(when: str) -> str:
    """A kebab-case draft of a condition key from its parenthesised text; hand-check it."""
    text = when.split(",")[0] if len(when) > 30 else when
    words = re.findall(r"[a-z0-9]+", text.lower().replace("`", ""))
    key = "-".join(words[:4]) or "condition"
    return f"code-{key}" if key.isdigit() else key


def draft_title(requirement: str) -> str:
    """The requirement's first sentence, cut to TITLE_MAX; hand-write a better one."""
    first = re.split(r"(?<=[.;])\s", requirement.replace("`", ""), maxsplit=1)[0].rstrip(".;")
    if len(first) <= TITLE_MAX:
        return first
    return first[: TITLE_MAX - 3].rsplit(" ", 1)[0] + "..."


def build(rows: list[Row], existing: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """The YAML data for *rows*; titles and keys come from *existing* where it has them.

    A key is kept when the existing entry has a rule with the same severity and
    parenthesised text; otherwise it is drafted (and reported by --check as
    unchecked only if it breaks a rule, so look at new drafts by eye).
    """
    existing = existing or {}
    data: dict[str, dict[str, Any]] = {}
    for row in rows:
        old = existing.get(row.id) if isinstance(existing.get(row.id), dict) else {}
        old_keys = {(r.get("severity"), r.get("when")): r.get("key")
                    for r in old.get("severity") or [] if isinstance(r, dict)}
        rules: list[dict[str, Any]] = []
        for severity, when in parse_severity(row.sev):
            profile = profile_of(when)
            key: str | None = None
            if when is not None and profile is None:
                key = old_keys.get((severity, when)) or draft_key(when)
            rules.append({"severity": severity, "when": when, "key": key, "profile": profile})
        title = old.get("title") if isinstance(old.get("title"), str) else None
        data[row.id] = {
            "source": row.source,
            "level": row.level,
            "mode": mode_of(row.test),
            "title": title or draft_title(row.requirement),
            "severity": rules,
        }
    return data


def render(data: dict[str, dict[str, Any]]) -> str:
    """The YAML text: block style per check, one flow mapping per severity rule."""
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=None, width=200)
    return HEADER + body


# --------------------------------------------------------------------------- checking


def _fmt_rule(rule: Any) -> str:
    if not isinstance(rule, dict):
        return repr(rule)
    return (f"{rule.get('severity')} when={rule.get('when')!r} key={rule.get('key')!r} "
            f"profile={rule.get('profile')!r}")


def compare(rows: list[Row], data: Any) -> Iterator[str]:
    """Diff-style lines ('-' markdown, '+' YAML) wherever *data* disagrees with *rows*.

    Also reports hand-written parts that break the rules: a missing or over-long
    title, a conditional severity without a kebab-case key, a key on an
    unconditional or profile rule, the same key twice in one row.
    """
    if not isinstance(data, dict):
        yield "+ the YAML is not a mapping of check ids"
        return
    md_ids = [r.id for r in rows]
    yaml_ids = list(data)
    for missing in [i for i in md_ids if i not in data]:
        yield f"- {missing}  (in the catalogue, missing from the YAML)"
    for extra in [i for i in yaml_ids if i not in set(md_ids)]:
        yield f"+ {extra}  (in the YAML, not in the catalogue)"
    common_md = [i for i in md_ids if i in data]
    common_yaml = [i for i in yaml_ids if i in set(md_ids)]
    if common_md != common_yaml:
        first = next(n for n, (a, b) in enumerate(zip(common_md, common_yaml, strict=False)) if a != b)
        yield f"@@ order @@\n- {common_md[first]} at position {first + 1}\n+ {common_yaml[first]}"
    for row in rows:
        entry = data.get(row.id)
        if entry is None:
            continue
        lines = list(_compare_entry(row, entry))
        if lines:
            yield f"@@ {row.id} (catalogue line {row.line}) @@"
            yield from lines


def _compare_entry(row: Row, entry: Any) -> Iterator[str]:
    if not isinstance(entry, dict):
        yield f"+ {entry!r}  (not a mapping)"
        return
    for field, want in (("source", row.source), ("level", row.level), ("mode", mode_of(row.test))):
        if entry.get(field) != want:
            yield f"- {field}: {want}\n+ {field}: {entry.get(field)}"
    title = entry.get("title")
    if not isinstance(title, str) or not title.strip() or "\n" in title:
        yield f"+ title: {title!r}  (needs a one-line title)"
    elif len(title) > TITLE_MAX:
        yield f"+ title: {title!r}  ({len(title)} characters, at most {TITLE_MAX})"
    want_rules = [(s, w, profile_of(w)) for s, w in parse_severity(row.sev)]
    got = entry.get("severity")
    got_rules = got if isinstance(got, list) else []
    for n in range(max(len(want_rules), len(got_rules))):
        want = want_rules[n] if n < len(want_rules) else None
        have = got_rules[n] if n < len(got_rules) else None
        triple = (have.get("severity"), have.get("when"), have.get("profile")) if isinstance(have, dict) else None
        if want != triple:
            if want is not None:
                yield f"- severity[{n}]: {want[0]} when={want[1]!r} profile={want[2]!r}"
            if have is not None:
                yield f"+ severity[{n}]: {_fmt_rule(have)}"
            continue
        assert isinstance(have, dict) and want is not None
        key = have.get("key")
        conditional = want[1] is not None and want[2] is None
        if conditional and not (isinstance(key, str) and KEY_PATTERN.match(key)):
            yield f"+ severity[{n}]: key={key!r}  (a conditional severity needs a kebab-case key)"
        if not conditional and key is not None:
            yield f"+ severity[{n}]: key={key!r}  (an unconditional or profile severity has key null)"
    keys = [r.get("key") for r in got_rules if isinstance(r, dict) and r.get("key") is not None]
    for dup in sorted({k for k in keys if keys.count(k) > 1}):
        yield f"+ key {dup!r} used twice in one row"
    extra = set(entry) - {"source", "level", "mode", "title", "severity"}
    if extra:
        yield f"+ unknown fields: {', '.join(sorted(extra))}"


# --------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--check", action="store_true", help="report drift between YAML and markdown; exit 1 on any")
    group.add_argument("--stdout", action="store_true", help="print the YAML instead of writing it")
    parser.add_argument("--fresh", action="store_true", help="ignore the existing YAML (draft titles and keys anew)")
    parser.add_argument("--markdown", type=Path, default=MARKDOWN)
    parser.add_argument("--yaml", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)

    rows = read_rows(args.markdown.read_text(encoding="utf-8"))
    current: Any = None
    if args.yaml.exists():
        current = yaml.safe_load(args.yaml.read_text(encoding="utf-8"))

    if args.check:
        report = list(compare(rows, current))
        if report:
            print(f"--- {args.markdown}\n+++ {args.yaml}")
            print("\n".join(report))
            print(f"{args.yaml.name} disagrees with {args.markdown.name}: "
                  f"run python tools/build_catalogue.py, then hand-check titles and keys")
            return 1
        print(f"{args.yaml.name} agrees with {args.markdown.name} ({len(rows)} checks)")
        return 0

    existing = None if args.fresh or not isinstance(current, dict) else current
    text = render(build(rows, existing))
    if args.stdout:
        sys.stdout.write(text)
        return 0
    args.yaml.write_text(text, encoding="utf-8")
    print(f"wrote {args.yaml} ({len(rows)} checks)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
