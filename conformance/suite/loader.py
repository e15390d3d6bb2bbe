"""Load case files: YAML -> schema -> semantic checks -> model.

Every problem becomes a :class:`CaseFileError` carrying ``file:line`` and a
sentence saying what is wrong, so a malformed case file fails collection
with that message and never with a traceback.  YAML is composed into nodes
first (not loaded straight into dicts) to keep line numbers and to catch
duplicate keys, which PyYAML would silently overwrite.
"""

from __future__ import annotations

import json
import re
import unicodedata
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from ..checks.registry import REGISTRY
from . import caseyaml, placeholders, requirements
from .caseyaml import shown
from .model import (
    Case,
    Expectation,
    NDRExpectation,
    RecipientReport,
    RelayExpectation,
    Step,
    Suite,
)

#: the largest shipped file is 12 KB; reading YAML costs about a second per megabyte
MAX_FILE_BYTES = 512 * 1024
#: characters of one error message: one line on a terminal, a few at most
MAX_MESSAGE = 400


class CaseFileError(Exception):
    """A problem in a case file, located at ``path:line``."""

    def __init__(self, path: Path, line: int, message: str) -> None:
        message = caseyaml.one_line(message)
        if len(message) > MAX_MESSAGE:  # a last resort: messages quote values through caseyaml.shown
            message = f"{message[:MAX_MESSAGE]}... (cut)"
        super().__init__(f"{caseyaml.one_line(str(path))}:{line}: {message}")
        self.path = path
        self.line = line
        self.message = message


@lru_cache(maxsize=1)
def case_schema() -> dict[str, Any]:
    """The JSON Schema of case files (shipped in the package)."""
    text = resources.files("conformance.suite").joinpath("case.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


# -- YAML with line numbers ---------------------------------------------------

def parse_yaml(path: Path, text: str) -> tuple[Any, dict[tuple[Any, ...], int]]:
    """YAML text -> (JSON data, map from data path to line); see :mod:`.caseyaml` for what is refused."""
    try:
        node = caseyaml.compose(text)
        if node is None:
            raise CaseFileError(path, 1, "the file is empty; a case file needs 'suite' and 'cases'")
        lines: dict[tuple[Any, ...], int] = {}
        return caseyaml.to_json(node, lines), lines
    except caseyaml.YAMLProblem as exc:
        raise CaseFileError(path, exc.line, exc.message) from None


def _line_for(lines: dict[tuple[Any, ...], int], where: tuple[Any, ...]) -> int:
    while where and where not in lines:
        where = where[:-1]
    return lines.get(where, 1)


def _schema_message(error: jsonschema.ValidationError) -> str:
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")
    at = f"at {where}: " if where else ""
    if error.validator == "additionalProperties":
        return f"{at}{error.message} (allowed: {', '.join(sorted(error.schema.get('properties', {})))})"
    if error.validator in ("anyOf", "oneOf"):
        described = error.schema.get("description", "see the case schema")
        return f"{at}{shown(error.instance)} is not a valid value here ({described})"
    # jsonschema quotes the value as Python writes it, however long
    message = error.message.replace(repr(error.instance), shown(error.instance), 1)
    return f"{at}{message}"


def _check_schema(path: Path, data: dict[str, Any], lines: dict[tuple[Any, ...], int]) -> None:
    """Raise for the first schema error by line; of the errors on that line, the deepest says most."""
    def line_of(error: jsonschema.ValidationError) -> int:
        return _line_for(lines, tuple(error.absolute_path))

    validator = jsonschema.Draft202012Validator(case_schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: (line_of(e), len(e.absolute_path)))
    if errors:
        first_line = line_of(errors[0])
        deepest = max([e for e in errors if line_of(e) == first_line], key=lambda e: len(e.absolute_path))
        raise CaseFileError(path, line_of(deepest), _schema_message(deepest))


# -- semantic checks -----------------------------------------------------------

def _codes(spec: Any) -> tuple[str, ...]:
    items = spec if isinstance(spec, list) else [spec]
    return tuple(str(item) for item in items)


def _expectations(raw: Any) -> tuple[Expectation, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, (list, dict)):
        return (Expectation(codes=_codes(raw)),)
    items = raw if isinstance(raw, list) else [raw]
    return tuple(
        Expectation(
            codes=_codes(item["code"]) if "code" in item else (),
            not_codes=tuple(item.get("not_code", ())),
            enhanced=item.get("enhanced"),
            text=item.get("text"),
            check=item.get("check"),
            condition=None if item.get("condition") is None else str(item["condition"]),
            why=item.get("why"),
            only_if=None if item.get("only_if") is None else str(item["only_if"]),
            skip_if_unmet=item.get("otherwise") == "skip",
            pass_if_unmet=item.get("otherwise") == "pass",
        )
        for item in items
    )


def _validate_check(path: Path, line: int, check: str, condition: str | None) -> None:
    if check not in REGISTRY:
        raise CaseFileError(path, line, f"unknown check id {shown(check)}: not in the requirement catalogue")
    if condition is not None and condition not in REGISTRY[check].condition_keys():
        keys = ", ".join(REGISTRY[check].condition_keys()) or "none"
        raise CaseFileError(path, line, f"check {check} has no condition {shown(condition)} (its conditions: {keys})")


def _ndr_expectation(raw: dict[str, Any], path: Path, lines: dict[tuple[Any, ...], int],
                     base: tuple[Any, ...], defined: set[str]) -> NDRExpectation:
    spec = raw["ndr"]
    where = base + ("ndr",)
    _validate_check(path, _line_for(lines, where), spec["check"], None)
    extra = spec.get("extra") or {}
    if extra:
        _validate_check(path, _line_for(lines, where + ("extra",)), extra["check"], extra.get("condition"))
    reports: list[RecipientReport] = []
    for r, item in enumerate(spec.get("report", ())):
        line = _line_for(lines, where + ("report", r))
        _validate_check(path, line, item["check"], item.get("condition"))
        for key in ("status", "diagnostic"):
            if key in item:
                _check_template(path, line, str(item[key]), defined)
                try:
                    re.compile(str(item[key]))
                except re.error as err:
                    raise CaseFileError(path, line,
                                        f"invalid regular expression {shown(item[key])} in '{key}': {err}") from None
        _check_template(path, line, item["final"], defined)
        remote = item.get("remote_mta")
        reports.append(RecipientReport(final=item["final"], check=item["check"], condition=item.get("condition"),
                                       action=item.get("action"),
                                       status=None if item.get("status") is None else str(item["status"]),
                                       diagnostic=item.get("diagnostic"),
                                       remote_mta=None if remote is None else remote == "present"))
    for r, address in enumerate(spec.get("final_recipients", ())):
        _check_template(path, _line_for(lines, where + ("final_recipients", r)), address, defined)
    if spec["count"] == 0 and reports:
        raise CaseFileError(path, _line_for(lines, where), "'report' needs a count above 0")
    return NDRExpectation(count=spec["count"], check=spec["check"], within=spec.get("within"),
                          envelope=spec.get("envelope", True), lint=spec.get("lint", True),
                          final_recipients=tuple(spec["final_recipients"]) if "final_recipients" in spec else None,
                          extra_check=extra.get("check", "DSNX-022"), extra_condition=extra.get("condition"),
                          reports=tuple(reports), optional=bool(spec.get("optional", False)),
                          actions=tuple(spec.get("actions", ())))


def _check_expectations(expectations: tuple[Expectation, ...], path: Path, lines: dict[tuple[Any, ...], int],
                        where: tuple[Any, ...], defined: set[str]) -> None:
    """Catalogue ids, regular expressions and captured names of one step's expectations."""
    line = _line_for(lines, where)
    for e, exp in enumerate(expectations):
        if exp.check:
            _validate_check(path, _line_for(lines, where + ("expect", e)), exp.check, exp.condition)
        elif exp.condition:
            raise CaseFileError(path, line, "'condition' needs a 'check'")
        if exp.check and (exp.skip_if_unmet or exp.pass_if_unmet):
            raise CaseFileError(path, line, "'otherwise' is for preconditions (no 'check')")
        if exp.text:
            try:
                re.compile(exp.text)
            except re.error as err:
                raise CaseFileError(path, line, f"invalid regular expression {shown(exp.text)}: {err}") from None
        for code in exp.codes:
            for name in placeholders.names(code):
                if name not in defined:
                    raise CaseFileError(path, line, f"{{{name}}} is used before any step captures it")


def _check_template(path: Path, line: int, text: str, defined: set[str]) -> None:
    """Every placeholder of *text* is known by this step and can be rendered as written."""
    for name in placeholders.names(text):
        if name not in defined:
            raise CaseFileError(path, line, f"unknown placeholder {{{name}}} in {shown(text)}")
    problem = placeholders.misuse(text)
    if problem:
        raise CaseFileError(path, line, f"{problem} (in {shown(text)})")


def _check_wire_text(path: Path, line: int, text: str, what: str, allowed: str) -> None:
    """No control character but those *allowed* in text sent to the target.

    A CR or LF inside a 'send' would smuggle further commands past the runner
    (a DATA it does not know it sent, and so completes); in a data header, a
    header line or the end of the message.
    """
    for i, char in enumerate(text):
        if unicodedata.category(char) == "Cc" and char not in allowed:
            raise CaseFileError(path, line, f"{what} holds the control character U+{ord(char):04X} "
                                            f"at position {i + 1}; not allowed there")


def _check_data(data: dict[str, Any], path: Path, line: int, defined: set[str]) -> None:
    """A data step's own headers and body: known placeholders, and nothing that ends a line or the message early."""
    for name, value in data.get("headers", {}).items():
        if not name or any(not 33 <= ord(c) <= 126 or c == ":" for c in name):
            raise CaseFileError(path, line, f"{shown(name)} is not a header field name (RFC 5322 §2.2: printable "
                                            "US-ASCII characters except colon)")
        _check_template(path, line, value, defined)
        _check_wire_text(path, line, value, f"the header {name}", "\t")
    if "body" in data:
        _check_template(path, line, data["body"], defined)
        _check_wire_text(path, line, data["body"], "the body", "\t\r\n")


def _build_step(step: dict[str, Any], path: Path, lines: dict[tuple[Any, ...], int], where: tuple[Any, ...],
                defined: set[str]) -> Step:
    """One dialogue step; the names it captures are added to *defined* for the steps after it."""
    line = _line_for(lines, where)
    expectations = _expectations(step.get("expect"))
    _check_expectations(expectations, path, lines, where, defined)
    if "send" in step:
        _check_template(path, line, step["send"], defined)
        _check_wire_text(path, line, step["send"], "'send' (one command line; the CRLF is added)", "\t")
        if step["send"].split(" ", 1)[0].upper() == "BDAT":
            raise CaseFileError(path, line, "BDAT is not supported: the steps after it would be sent as its chunk")
    disconnect = step.get("disconnect") or {}
    if disconnect.get("check"):
        _validate_check(path, line, disconnect["check"], None)
    if step.get("tls") == "starttls" and step.get("send", "").upper() != "STARTTLS":
        raise CaseFileError(path, line, "a 'tls: starttls' step must send STARTTLS")
    captures = tuple((name, what) for name, what in (step.get("capture") or {}).items())
    data = step.get("data")
    if data is not None and "send" in step:
        raise CaseFileError(path, line, "a step has either 'send' or 'data'")
    if isinstance(data, dict):
        _check_data(data, path, _line_for(lines, where + ("data",)), defined)
    defined.update(name for name, _ in captures)
    return Step(
        send=step.get("send"),
        expectations=expectations,
        captures=captures,
        repeat=int(step.get("repeat", 1)),
        disconnect_allowed=bool(disconnect.get("allowed")),
        disconnect_check=disconnect.get("check"),
        starttls=step.get("tls") == "starttls",
        tempfail_is_finding=step.get("tempfail") == "finding",
        data=data is not None,
        data_headers=tuple((data or {}).get("headers", {}).items()) if isinstance(data, dict) else (),
        data_body=data.get("body") if isinstance(data, dict) else None,
        data_size=data.get("size") if isinstance(data, dict) else None,
        line=line,
    )


def _relay_expectation(raw: dict[str, Any], path: Path, lines: dict[tuple[Any, ...], int],
                       base: tuple[Any, ...]) -> RelayExpectation:
    spec = raw["relayed"]
    _validate_check(path, _line_for(lines, base + ("relayed",)), spec["check"], None)
    return RelayExpectation(count=spec["count"], check=spec["check"], hop=spec.get("hop", "dsn"),
                            dsn_params=spec.get("dsn_params"), within=spec.get("within"))


def _build_case(raw: dict[str, Any], suite: str, path: Path, lines: dict[tuple[Any, ...], int], index: int) -> Case:
    base = ("cases", index)
    for check in raw["checks"]:
        _validate_check(path, _line_for(lines, base + ("checks",)), check, None)
    for requirement in raw.get("requires", ()):
        if not requirements.is_known(requirement):
            raise CaseFileError(path, _line_for(lines, base + ("requires",)),
                                f"unknown requirement {shown(requirement)} ({requirements.ALLOWED})")
    defined = set(placeholders.NAMES)
    steps = [_build_step(step, path, lines, base + ("dialogue", s), defined) for s, step in enumerate(raw["dialogue"])]
    ndr = _ndr_expectation(raw, path, lines, base, defined) if "ndr" in raw else None
    relayed = _relay_expectation(raw, path, lines, base) if "relayed" in raw else None
    if steps[0].send is not None or steps[0].data:
        raise CaseFileError(path, steps[0].line, "the first step must expect the greeting (no 'send')")
    return Case(
        id=raw["id"],
        title=raw["title"],
        suite=suite,
        checks=tuple(raw["checks"]),
        steps=tuple(steps),
        refs=tuple(raw.get("refs", ())),
        requires=tuple(raw.get("requires", ())),
        description=raw.get("description", ""),
        path=path,
        line=_line_for(lines, base),
        ndr=ndr,
        relayed=relayed,
    )


def load_suite(path: Path) -> Suite:
    """Load and validate one case file; raise CaseFileError on any problem."""
    try:
        data_bytes = path.read_bytes()
    except OSError as exc:
        raise CaseFileError(path, 1, f"cannot read the file: {exc.strerror or exc}") from None
    if len(data_bytes) > MAX_FILE_BYTES:
        raise CaseFileError(path, 1, f"the file is larger than {MAX_FILE_BYTES} octets")
    try:
        text = data_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data_bytes[: exc.start].count(b"\n") + 1
        raise CaseFileError(path, line, "the file is not valid UTF-8") from None
    data, lines = parse_yaml(path, text)
    if not isinstance(data, dict):
        raise CaseFileError(path, 1, "a case file is a mapping with 'suite' and 'cases'")
    _check_schema(path, data, lines)
    seen: dict[str, int] = {}
    cases = []
    for index, raw in enumerate(data["cases"]):
        line = _line_for(lines, ("cases", index))
        if raw["id"] in seen:
            raise CaseFileError(path, _line_for(lines, ("cases", index, "id")),
                                f"duplicate case id {shown(raw['id'])} (first at line {seen[raw['id']]})")
        seen[raw["id"]] = line
        cases.append(_build_case(raw, data["suite"], path, lines, index))
    return Suite(name=data["suite"], title=str(data.get("title") or data["suite"]), cases=tuple(cases),
                 path=path, description=data.get("description", ""))


def check_unique_ids(suites: list[Suite]) -> None:
    """Case ids are unique across all suites of a run (they name JUnit testcases)."""
    seen: dict[str, Case] = {}
    for suite in suites:
        for case in suite.cases:
            if case.id in seen:
                raise CaseFileError(case.path, case.line,
                                    f"case id {shown(case.id)} is already used at {seen[case.id].location}")
            seen[case.id] = case
