"""The one registry of checks: every row of the requirement catalogue.

Every finding anywhere in the project (reply rules, case expectations, the NDR
linter) names a check id from here and takes its severity from here, for the
active profile and, where the catalogue gives alternatives ("error (invalid
value); warning (duplicate)"), for the condition that applies.  Keeping the
severities in one place is what lets the catalogue, not each caller, decide how
much a failure matters.

The data is ``catalogue.yaml`` (package data), drafted from
``docs/rfc-catalogue.md`` by ``tools/build_catalogue.py`` and held against it by
``tests/test_registry.py``, so no id can be invented or lost.  It is loaded and
validated once, at import: a broken file fails loudly at start-up instead of
producing findings with a wrong severity later.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from ..findings import Finding, Location, Profile, Severity

__all__ = [
    "REGISTRY",
    "CatalogueError",
    "Check",
    "Registry",
    "SeverityRule",
    "UnknownCheck",
    "UnknownCondition",
    "finding",
    "note",
    "parse_refs",
    "severity_of",
]


class UnknownCheck(KeyError):
    """A check id that is not in the catalogue (a typo, or a check nobody catalogued)."""

    def __init__(self, check_id: str) -> None:
        super().__init__(check_id)
        self.check_id = check_id

    def __str__(self) -> str:
        # KeyError would show only repr(id); say what is wrong
        return f"unknown check id {self.check_id!r}: not in the requirement catalogue (docs/rfc-catalogue.md)"


class UnknownCondition(ValueError):
    """A condition key the check does not define; the message lists the valid keys."""

    def __init__(self, check_id: str, condition: str, valid: tuple[str, ...]) -> None:
        self.check_id = check_id
        self.condition = condition
        self.valid = valid
        known = ", ".join(valid) if valid else "none, it has a single severity"
        super().__init__(f"{check_id} has no condition {condition!r} (its conditions: {known})")


class CatalogueError(ValueError):
    """catalogue.yaml is malformed; raised while loading, naming the entry at fault."""


@dataclass(frozen=True)
class SeverityRule:
    """One "severity (when)" alternative of a catalogue row's Sev column."""

    severity: Severity
    #: the catalogue's parenthesised text, verbatim ("invalid value", "strict-RFC profile"); None if bare
    when: str | None
    #: our short name for the condition, passed by callers as ``condition=``; None for the default
    key: str | None
    #: set when the alternative applies to one profile only
    profile: Profile | None

    def applies_to(self, profile: Profile) -> bool:
        """True when this rule is in force under *profile*."""
        return self.profile is None or self.profile is profile


@dataclass(frozen=True)
class Check:
    """One catalogue row: what is required, where it comes from, how much a failure matters."""

    id: str
    #: the catalogue's Source column, verbatim ("5321 §3.3, §6.2 ; BP")
    source: str
    #: the RFC keyword behind the row: MUST, SHOULD, desc, BP, ...
    level: str
    #: how it is tested: L (live dialogue), C (captured NDR), S (static lint), S+ctx, L+C, ...
    mode: str
    #: a short plain-English summary for report lines
    title: str
    rules: tuple[SeverityRule, ...]

    def severity(self, profile: Profile = Profile.ANTI_BACKSCATTER, condition: str | None = None) -> Severity:
        """The severity of a failure of this check under *profile* and *condition*.

        Rules restricted to another profile are ignored.  With a *condition*, the rule
        with that key decides (UnknownCondition if there is none, so a misspelt key
        cannot silently fall back to the default).  Without one, the unconditional
        rule decides if the row has one, else the first rule, which is the
        catalogue's primary severity.
        """
        applicable = [rule for rule in self.rules if rule.applies_to(profile)]
        if condition is not None:
            for rule in applicable:
                if rule.key == condition:
                    return rule.severity
            raise UnknownCondition(self.id, condition, self.condition_keys())
        for rule in applicable:
            if rule.key is None:
                return rule.severity
        return applicable[0].severity  # loading guarantees one rule per profile

    def condition_keys(self) -> tuple[str, ...]:
        """The condition keys this check accepts, in catalogue order (empty for most rows)."""
        return tuple(rule.key for rule in self.rules if rule.key is not None)

    @property
    def refs(self) -> tuple[str, ...]:
        """The Source column as readable references: ("RFC 5321 §3.3", "RFC 5321 §6.2", "best practice")."""
        return parse_refs(self.source)

    @property
    def section(self) -> str:
        """The first reference, short enough for a report line."""
        return self.refs[0]


_RFC_NUMBER = re.compile(r"\d{4}")
#: a section-like piece that belongs to the last RFC named: "§4.2", "App. E"
_SECTION = re.compile(r"(?:§|App\.\s)")


def _drop_remarks(text: str) -> str:
    """Remove parenthesised remarks that follow a space ("(ABNF)", "(RFC 7504 text not found)").

    Parentheses glued to a section number ("§5.2.6(a)", "§2(2)-(3)") are part of the
    reference and stay.
    """
    out: list[str] = []
    depth = 0
    for i, ch in enumerate(text):
        if ch == "(" and (depth or (i > 0 and text[i - 1].isspace()) or i == 0):
            depth += 1
            continue
        if depth:
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
            continue
        out.append(ch)
    return "".join(out)


@cache
def parse_refs(source: str) -> tuple[str, ...]:
    """Turn a catalogue Source cell into readable references; never raises.

    Bare four-digit numbers are RFC numbers, and each "§..." (or "App. E") attaches to
    the last RFC named: "5321 §3.3, §6.2 ; BP" -> ("RFC 5321 §3.3", "RFC 5321 §6.2",
    "best practice").  Other words ("registry", "observed practice") are kept as
    they are.  A cell nothing can be made of comes back whole.
    """
    try:
        refs: list[str] = []
        rfc: str | None = None
        text = _drop_remarks(source)
        for raw in re.split(r"[;,]|\svs\.?\s", text):
            piece = " ".join(raw.split())
            if not piece:
                continue
            head, _, rest = piece.partition(" ")
            if _RFC_NUMBER.fullmatch(head):
                rfc = head
                refs.append(f"RFC {rfc} {rest}".strip())
            elif _SECTION.match(piece) and rfc is not None:
                refs.append(f"RFC {rfc} {piece}")
            elif piece.startswith("(") and refs:
                refs[-1] += f",{piece}"  # "§5.2.6(a),(c)" was split at the comma
            elif piece == "BP":
                refs.append("best practice")
            else:
                refs.append(piece)
        unique = tuple(dict.fromkeys(refs))
        return unique or (source.strip() or "catalogue",)
    except Exception:  # a reference is decoration; a report must never fail on it
        return (source.strip() or "catalogue",)


class Registry:
    """All checks in catalogue order, looked up by id (Mapping-like; iterating yields Checks)."""

    def __init__(self, checks: list[Check] | tuple[Check, ...]) -> None:
        self._checks: dict[str, Check] = {}
        for check in checks:
            if check.id in self._checks:
                raise CatalogueError(f"check {check.id} is defined twice")
            self._checks[check.id] = check

    @classmethod
    def from_yaml(cls, text: str, origin: str = "catalogue.yaml") -> Registry:
        """Parse and validate catalogue YAML; CatalogueError names the entry at fault."""
        return cls(_parse(text, origin))

    def __getitem__(self, check_id: str) -> Check:
        try:
            return self._checks[check_id]
        except KeyError:
            raise UnknownCheck(check_id) from None

    def get(self, check_id: str, default: Check | None = None) -> Check | None:
        """The check, or *default* when the id is not catalogued."""
        return self._checks.get(check_id, default)

    def __contains__(self, check_id: object) -> bool:
        return check_id in self._checks

    def __iter__(self) -> Iterator[Check]:
        return iter(self._checks.values())

    def __len__(self) -> int:
        return len(self._checks)

    def __repr__(self) -> str:
        return f"<Registry of {len(self)} checks>"

    def ids(self) -> list[str]:
        """All check ids, in catalogue order."""
        return list(self._checks)


# --------------------------------------------------------------------------- loading

_FIELDS = ("source", "level", "mode", "title", "severity")
_RULE_FIELDS = ("severity", "when", "key", "profile")
_KEY = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_ID = re.compile(r"^[A-Z0-9]+(?:-[A-Z0-9]+)*-\d{3}$")


def _duplicate_ids(text: str) -> list[str]:
    """Top-level keys given twice (safe_load would silently keep the last one)."""
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(node, yaml.MappingNode):
        return []
    seen: set[str] = set()
    dups: list[str] = []
    for key_node, _ in node.value:
        if key_node.value in seen:
            dups.append(str(key_node.value))
        seen.add(key_node.value)
    return dups


def _parse(text: str, origin: str) -> list[Check]:
    try:
        data: Any = yaml.safe_load(text)
        dups = _duplicate_ids(text)
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{origin}: not valid YAML: {exc}") from None
    if dups:
        raise CatalogueError(f"{origin}: check {dups[0]} is defined twice")
    if not isinstance(data, dict) or not data:
        raise CatalogueError(f"{origin}: expected a mapping of check ids to entries")
    return [_parse_check(str(check_id), row, origin) for check_id, row in data.items()]


def _parse_check(check_id: str, row: Any, origin: str) -> Check:
    where = f"{origin}: {check_id}"
    if not _ID.match(check_id):
        raise CatalogueError(f"{where}: not a catalogue id (like SMTP-REJ-001)")
    if not isinstance(row, dict):
        raise CatalogueError(f"{where}: expected a mapping with {', '.join(_FIELDS)}")
    missing = [f for f in _FIELDS if f not in row]
    unknown = sorted(set(row) - set(_FIELDS))
    if missing or unknown:
        problems = ([f"missing {', '.join(missing)}"] if missing else []) + \
            ([f"unknown field(s) {', '.join(map(str, unknown))}"] if unknown else [])
        problem = "; ".join(problems)
        raise CatalogueError(f"{where}: {problem}")
    for name in ("source", "level", "mode", "title"):
        if not isinstance(row[name], str) or not row[name].strip():
            raise CatalogueError(f"{where}: {name} must be a non-empty string, not {row[name]!r}")
    raw_rules = row["severity"]
    if not isinstance(raw_rules, list) or not raw_rules:
        raise CatalogueError(f"{where}: severity must be a non-empty list of rules")
    rules = tuple(_parse_rule(rule, f"{where}: severity rule {n + 1}") for n, rule in enumerate(raw_rules))
    keys = [r.key for r in rules if r.key is not None]
    if len(keys) != len(set(keys)):
        raise CatalogueError(f"{where}: condition keys repeat ({', '.join(keys)})")
    for profile in Profile:
        if not any(r.applies_to(profile) for r in rules):
            raise CatalogueError(f"{where}: no severity applies under the {profile} profile")
    return Check(check_id, row["source"], row["level"], row["mode"], row["title"], rules)


def _parse_rule(rule: Any, where: str) -> SeverityRule:
    if not isinstance(rule, dict):
        raise CatalogueError(f"{where}: expected a mapping with {', '.join(_RULE_FIELDS)}")
    unknown = sorted(set(map(str, rule)) - set(_RULE_FIELDS))
    if unknown:
        raise CatalogueError(f"{where}: unknown field(s) {', '.join(unknown)}")
    try:
        severity = Severity.parse(str(rule.get("severity", "")))
    except ValueError as exc:
        raise CatalogueError(f"{where}: {exc}") from None
    profile_text = rule.get("profile")
    try:
        profile = None if profile_text is None else Profile(str(profile_text))
    except ValueError:
        valid = ", ".join(p.value for p in Profile)
        raise CatalogueError(f"{where}: unknown profile {profile_text!r} ({valid} or null)") from None
    when, key = rule.get("when"), rule.get("key")
    if when is not None and not isinstance(when, str):
        raise CatalogueError(f"{where}: when must be text or null, not {when!r}")
    if key is not None and not (isinstance(key, str) and _KEY.match(key)):
        raise CatalogueError(f"{where}: key must be kebab-case text or null, not {key!r}")
    if key is not None and profile is not None:
        raise CatalogueError(f"{where}: a profile rule takes no condition key ({key!r})")
    return SeverityRule(severity, when, key, profile)


def _load() -> Registry:
    """The packaged catalogue.yaml, read through importlib.resources so wheels work too."""
    text = resources.files("conformance.checks").joinpath("catalogue.yaml").read_text(encoding="utf-8")
    return Registry.from_yaml(text)


#: every check of the catalogue, loaded once at import
REGISTRY: Registry = _load()


def severity_of(check_id: str, profile: Profile, condition: str | None = None) -> Severity:
    """The severity of *check_id* under *profile* (and *condition*), from the registry."""
    return REGISTRY[check_id].severity(profile, condition)


def finding(
    check_id: str,
    message: str,
    *,
    profile: Profile,
    condition: str | None = None,
    where: Location | str = "",
) -> Finding:
    """A finding of *check_id* with the registry's severity and RFC references.

    This is how the rest of the code creates findings, so that no caller picks a
    severity of its own; an unknown id or condition raises instead of guessing.
    """
    check = REGISTRY[check_id]
    return Finding(check_id, check.severity(profile, condition), message,
                   where if isinstance(where, Location) else Location(detail=where), check.refs)


def note(check_id: str, message: str, *, where: Location | str = "") -> Finding:
    """An observation about *check_id* that is not a failure (severity info), e.g. a postmaster notice.

    Still made here, with the check's references, so that no caller builds a
    Finding by hand.
    """
    check = REGISTRY[check_id]
    return Finding(check_id, Severity.INFO, message,
                   where if isinstance(where, Location) else Location(detail=where), check.refs)
