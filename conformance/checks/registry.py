"""The one registry of checks: every row of the requirement catalogue.

Every finding anywhere in the project (reply rules, case expectations, the NDR
linter) names a check id from here, and takes its severity from here, for the
active profile and, where the catalogue gives alternatives ("error (invalid
value); warning (duplicate)"), for the condition that applies.  The data is
``catalogue.yaml``, generated from ``docs/rfc-catalogue.md`` and held against
it by ``tests/test_registry.py``, so no id can be invented or lost.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from importlib import resources

import yaml

from ..findings import Finding, Profile, Severity


class UnknownCheck(KeyError):
    def __str__(self) -> str:
        return f"unknown check id {self.args[0]!r}: not in the requirement catalogue"


class UnknownCondition(ValueError):
    pass


@dataclass(frozen=True)
class SeverityRule:
    """One "severity (when)" alternative of a catalogue row."""

    severity: Severity
    when: str | None  #: the catalogue's parenthesised text, verbatim
    key: str | None  #: our short name for the condition; None for the default
    profile: Profile | None  #: set when the alternative is per profile


_RFC_NUMBER = re.compile(r"^\d{4}$")


@dataclass(frozen=True)
class Check:
    id: str
    source: str  #: the catalogue's Source column, verbatim
    level: str  #: MUST, SHOULD, desc, BP, ...
    mode: str  #: L, C, S, S+ctx, L+C, ...
    title: str
    rules: tuple[SeverityRule, ...]

    def severity(self, profile: Profile = Profile.ANTI_BACKSCATTER, condition: str | None = None) -> Severity:
        """The severity of a failure of this check under *profile* and *condition*."""
        applicable = [r for r in self.rules if r.profile is None or r.profile is profile]
        if condition is not None:
            for rule in applicable:
                if rule.key == condition:
                    return rule.severity
            raise UnknownCondition(
                f"{self.id} has no condition {condition!r} (its conditions: {', '.join(self.condition_keys()) or 'none'})"
            )
        for rule in applicable:
            if rule.key is None:
                return rule.severity
        return applicable[0].severity

    def condition_keys(self) -> tuple[str, ...]:
        return tuple(r.key for r in self.rules if r.key)

    @cached_property
    def refs(self) -> tuple[str, ...]:
        """The Source column as readable references: ("RFC 5321 §3.3", "best practice")."""
        text = re.sub(r"\([^)]*\)", lambda m: m.group(0) if re.match(r"\([a-z]\)", m.group(0)) else "", self.source)
        refs: list[str] = []
        rfc: str | None = None
        for raw in re.split(r"[;,]| vs ", text):
            piece = raw.strip()
            if not piece:
                continue
            words = piece.split()
            if _RFC_NUMBER.match(words[0]):
                rfc = words[0]
                rest = " ".join(words[1:])
                refs.append(f"RFC {rfc} {rest}".strip())
            elif piece.startswith("§") and rfc:
                refs.append(f"RFC {rfc} {piece}")
            elif piece.startswith("(") and refs:
                refs[-1] += piece  # "§5.2.6(a),(c)" split at the comma
            elif piece == "BP":
                refs.append("best practice")
            else:
                refs.append(piece)
        return tuple(refs) or (self.source,)

    @property
    def section(self) -> str:
        return self.refs[0]


class Registry:
    """All checks in catalogue order, looked up by id."""

    def __init__(self, checks: list[Check]) -> None:
        self._checks = {check.id: check for check in checks}

    def __getitem__(self, check_id: str) -> Check:
        try:
            return self._checks[check_id]
        except KeyError:
            raise UnknownCheck(check_id) from None

    def get(self, check_id: str) -> Check | None:
        return self._checks.get(check_id)

    def __contains__(self, check_id: object) -> bool:
        return check_id in self._checks

    def __iter__(self) -> Iterator[Check]:
        return iter(self._checks.values())

    def __len__(self) -> int:
        return len(self._checks)

    def ids(self) -> list[str]:
        return list(self._checks)


def _load() -> Registry:
    text = resources.files("conformance.checks").joinpath("catalogue.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    checks = []
    for check_id, row in data.items():
        try:
            rules = tuple(
                SeverityRule(
                    severity=Severity.parse(rule["severity"]),
                    when=rule.get("when"),
                    key=rule.get("key"),
                    profile=Profile(rule["profile"]) if rule.get("profile") else None,
                )
                for rule in row["severity"]
            )
        except (KeyError, ValueError) as exc:
            raise RuntimeError(f"catalogue.yaml: {check_id}: {exc}") from None
        checks.append(Check(check_id, row["source"], row["level"], row["mode"], row["title"], rules))
    return Registry(checks)


REGISTRY: Registry = _load()


def severity_of(check_id: str, profile: Profile, condition: str | None = None) -> Severity:
    return REGISTRY[check_id].severity(profile, condition)


def finding(
    check_id: str,
    message: str,
    *,
    profile: Profile,
    condition: str | None = None,
    where: str = "",
) -> Finding:
    """A finding of *check_id* with the registry's severity and RFC references."""
    check = REGISTRY[check_id]
    return Finding(check_id, check.severity(profile, condition), message, where, check.refs)
