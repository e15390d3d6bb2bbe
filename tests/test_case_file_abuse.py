"""Hostile case files cannot hang, crash or smuggle: each is a loaded suite or one `file:line: ...` line.

Case files are users' input.  An alias bomb, explicit tags, deep nesting, huge
numbers and control characters are refused while the YAML is composed (before
anything is expanded); what would misbehave at run time (a CR or LF in a line
sent to the target, a ``{fill:N}`` beyond the cap) is refused by ``check-cases``.
The mutation test at the end holds every load of a mutated shipped suite to a
time and memory bound.
"""

from __future__ import annotations

import re
import time
import tracemalloc
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.cli import main
from conformance.suite import placeholders
from conformance.suite.loader import CaseFileError, load_suite
from conformance.suite.locate import shipped_case_files

HEAD = """\
suite: mine
cases:
  - id: my.case
    title: a case
    checks: [SMTP-REJ-001]
    dialogue:
      - expect: 220
"""
BOMB = "".join(f"{chr(97 + i)}: &{chr(97 + i)} [" + ",".join([f"*{chr(96 + i)}" if i else '"lol"'] * 9) + "]\n"
               for i in range(9))


def _load_error(tmp_path: Path, text: str) -> CaseFileError:
    path = tmp_path / "x.mta.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CaseFileError) as info:
        load_suite(path)
    assert "\n" not in str(info.value) and str(info.value).startswith(f"{path}:{info.value.line}: ")
    return info.value


@pytest.mark.parametrize(("text", "line", "message"), [
    (BOMB, 1, "YAML anchors (&a) and aliases are not allowed in case files"),
    ("suite: mine\ncases: *later\n", 2, "YAML aliases (*later) are not allowed in case files"),
    ("suite: !!int 3\n", 1, "explicit YAML tags (!!int) are not allowed"),
    ("suite: x\ncases: !!bool yes\n", 2, "explicit YAML tags (!!bool)"),
    ("suite: !!timestamp 2001-12-14\n", 1, "explicit YAML tags (!!timestamp)"),
    ("suite: !!python/object:os.system x\n", 1, "explicit YAML tags (!!python/object:os.system)"),
    ("suite: !mine x\n", 1, "explicit YAML tags (!mine)"),
    ("suite: " + "[" * 5000 + "]" * 5000 + "\n", 1, "nested more than 64 levels deep"),
    ("suite: x\ncases:\n" + "".join("  " * i + "- \n" for i in range(1, 100)), 66, "nested more than 64 levels"),
    ("suite: [" + "a," * 30000 + "]\n", 1, "the file holds more than 20000 values"),
    (HEAD + "      - send: NOOP\n        repeat: " + "9" * 5000 + "\n", 9, "longer than 32 characters"),
    (HEAD + "      - send: NOOP\n        repeat: .inf\n", 9, "'.inf' is not a finite number"),
    ("suite: x\x01\n", 1, "the character U+0001 is not allowed in YAML text"),
    ("suite: x\ncases: []\n\n\nfoo: \"open\n\n", 7, "invalid YAML: while scanning a quoted scalar"),
    ("suite: x\n? [a, b]\n: c\n", 2, "mapping keys must be plain strings, not a list or mapping"),
    ("suite: x\nyes: 1\n", 2, "mapping keys must be plain strings, not 'yes'"),
    ("suite: x\n3: 1\n", 2, "mapping keys must be plain strings, not '3'"),
    ("suite:\ncases: []\n", 1, "at suite: null (an empty value) is not of type 'string'"),
    ("suite: [" + "x, " * 2000 + "]\ncases: []\n", 1, "characters) is not of type 'string'"),
])
def test_hostile_yaml_is_one_line_at_its_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    error = _load_error(tmp_path, text)
    assert (error.line, message in str(error)) == (line, True), str(error)
    assert len(str(error)) < 600


def test_a_date_stays_the_string_it_was_written_as(tmp_path: Path) -> None:
    path = tmp_path / "x.mta.yaml"
    path.write_text(HEAD.replace("title: a case", "title: 2001-12-14"))
    assert load_suite(path).cases[0].title == "2001-12-14"


STEP = HEAD + "      - send: MAIL FROM:<{sender}>\n        expect: 250\n"


@pytest.mark.parametrize(("text", "line", "message"), [
    (HEAD + '      - send: "NOOP\\r\\nDATA"\n', 8, "'send' (one command line; the CRLF is added) holds the control "
                                                   "character U+000D at position 5"),
    (HEAD + '      - send: "NOOP\\nRSET"\n', 8, "character U+000A at position 5"),
    (HEAD + '      - send: "NOOP\\0"\n', 8, "character U+0000"),
    (HEAD + '      - send: "NOOP\\x85"\n', 8, "character U+0085"),
    (HEAD + "      - send: BDAT 10 LAST\n", 8, "BDAT is not supported"),
    (HEAD + "      - send: NOOP {fill:4294967295}\n", 8, "{fill:4294967295} is larger than 10000 characters"),
    (HEAD + "      - send: NOOP {fill:10001}\n", 8, "{fill:10001} is larger than 10000 characters"),
    (HEAD + "      - send: NOOP {fill:" + "9" * 5000 + "}\n", 8, "is larger than 10000 characters"),
    (HEAD + "      - send: NOOP {fill}\n", 8, "{fill} needs a size"),
    (HEAD + "      - send: NOOP {token:3}\n", 8, "{token:3}: only {fill:N} takes a size"),
    (STEP + '      - data: {headers: {X-A: "a\\r\\n.\\r\\nQUIT"}}\n', 10,
     "the header X-A holds the control character U+000D"),
    (STEP + '      - data: {headers: {"X A": "a"}}\n', 10, "'X A' is not a header field name (RFC 5322 §2.2"),
    (STEP + '      - data: {headers: {"X-A:": "a"}}\n', 10, "is not a header field name"),
    (STEP + '      - data: {headers: {"": "a"}}\n', 10, "'' is not a header field name"),
    (STEP + '      - data: {headers: {X-A: "{nope}"}}\n', 10, "unknown placeholder {nope} in '{nope}'"),
    (STEP + '      - data: {body: "hello {nope}"}\n', 10, "unknown placeholder {nope}"),
    (STEP + '      - data: {body: "a\\0b"}\n', 10, "the body holds the control character U+0000"),
    (STEP + '      - data: {body: "{fill:20000}"}\n', 10, "{fill:20000} is larger than 10000 characters"),
    (STEP + "        ndr: {count: 1, check: DSNX-010, final_recipients: ['{nope}@x']}\n"
     .replace("        ndr", "    ndr"), 10, "unknown placeholder {nope}"),
    (STEP + "    ndr: {count: 1, check: DSNX-010, within: 1.0e+30}\n", 10, "1e+30 is greater than the maximum of 86400"),
])
def test_what_would_misbehave_at_run_time_is_refused(tmp_path: Path, text: str, line: int, message: str) -> None:
    error = _load_error(tmp_path, text)
    assert (error.line, message in str(error)) == (line, True), str(error)


@pytest.mark.parametrize("step", [
    '      - send: "NOOP\\tx {fill:10000}"\n        expect: 250\n',
    '      - data: {headers: {X-Mine: "{token}\\tx", Subject: "{fill:40}"}, body: "a\\r\\nb\\n.c\\t{token}\\n"}\n'
    '        expect: 250\n',
])
def test_what_runs_as_meant_is_accepted(tmp_path: Path, step: str) -> None:
    path = tmp_path / "x.mta.yaml"
    path.write_text(STEP + step)
    assert len(load_suite(path).cases[0].steps) == 3


def test_render_never_builds_more_than_the_largest_fill() -> None:
    assert len(placeholders.render("{fill:" + "9" * 5000 + "}", {}, 1, "tok")) == placeholders.MAX_FILL
    assert placeholders.render("{fill:3}", {}, 1, "token") == "tok"


def test_check_cases_prints_one_line_per_hostile_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bomb.mta.yaml").write_text(BOMB)
    (tmp_path / "deep.mta.yaml").write_text("suite: " + "[" * 5000 + "]" * 5000 + "\n")
    (tmp_path / "crlf.mta.yaml").write_text(HEAD + '      - send: "NOOP\\r\\nDATA"\n')
    started = time.monotonic()
    assert main(["check-cases", str(tmp_path)]) == 1
    assert time.monotonic() - started < 10
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(": ", 1)[0] for line in lines[:3]] == [
        f"{tmp_path / 'bomb.mta.yaml'}:1", f"{tmp_path / 'crlf.mta.yaml'}:8", f"{tmp_path / 'deep.mta.yaml'}:1"]
    assert lines[3] == "0 cases in 0 files: 3 error(s)"


def test_collection_shows_the_one_line(pytester: pytest.Pytester) -> None:
    pytester.makefile(".mta.yaml", bomb=BOMB)
    result = pytester.runpytest("-p", "no:cacheprovider", "--collect-only", "--mta-host=127.0.0.1:1",
                                "--mta-local-domain=example.com", "bomb.mta.yaml")
    out = result.stdout.str()
    assert "malformed case file: " in out and "bomb.mta.yaml:1: YAML anchors (&a) and aliases are not allowed" in out
    assert "Traceback" not in out and "ComposerError" not in out


# -- mutations of the shipped suites -------------------------------------------

SHIPPED = {path.name: path.read_text("utf-8") for path in shipped_case_files()}
SNIPPETS = ["*a", "&a x", "!!int 3", "!!timestamp 2001-12-14", "!foo x", "[" * 3000, "{" * 80 + "}" * 80,
            "9" * 400, "1e999", ".nan", "\x00", "\x1b[2J", "\t", "\r", "\u2028", "'", '"', ": :", "- -",
            "{fill:4294967295}", '"a\\r\\nDATA"', "? [a]", "<<: {a: 1}", "yes", "~", "2001-12-14", "0x1F",
            "1:20:30", "---", "...", "%YAML 1.1", BOMB]
JUNK = st.one_of(st.sampled_from(SNIPPETS), st.text(max_size=30),
                 st.integers(min_value=-(2 ** 70), max_value=2 ** 70).map(str))


def _replace_value(data: object, draw: st.DrawFn) -> object:
    """Walk down to a random value of *data* and delete, duplicate or replace it (other type, odd text)."""
    if isinstance(data, dict) and data:
        key = draw(st.sampled_from(sorted(data, key=str)))
        action = draw(st.sampled_from(["delete", "descend", "replace", "rename"]))
        if action == "delete":
            return {k: v for k, v in data.items() if k != key}
        if action == "rename":
            return {**data, draw(st.sampled_from(["id", "send", "expect", "x", "data", "ndr"])): data[key]}
        new = _replace_value(data[key], draw) if action == "descend" else draw(_VALUES)
        return {**data, key: new}
    if isinstance(data, list) and data:
        i = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["delete", "duplicate", "descend"]))
        if action == "delete":
            return data[:i] + data[i + 1:]
        if action == "duplicate":
            return data[:i] + [data[i]] + data[i:]
        return data[:i] + [_replace_value(data[i], draw)] + data[i + 1:]
    return draw(_VALUES)


_VALUES = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2 ** 64), max_value=2 ** 64),
                    st.floats(), st.text(max_size=20), st.sampled_from(SNIPPETS), st.just([]), st.just({}),
                    st.just({"send": "NOOP"}), st.just([{"a": [1, {"b": None}]}]))


@st.composite
def mutated_case_files(draw: st.DrawFn) -> str:
    """A shipped suite mutated as data (re-dumped) or as text (a snippet in, a line gone or doubled, truncated)."""
    text = SHIPPED[draw(st.sampled_from(sorted(SHIPPED)))]
    if draw(st.booleans()):
        data = _replace_value(yaml.safe_load(text), draw)
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=draw(st.booleans()))
    lines = text.splitlines(keepends=True)
    for _ in range(draw(st.integers(0, 3))):
        i = draw(st.integers(0, max(len(lines) - 1, 0)))
        how = draw(st.sampled_from(["insert", "delete", "duplicate", "truncate"]))
        if how == "insert" or not lines:
            line = lines[i] if lines else ""
            at = draw(st.integers(0, len(line)))
            lines[i:i + 1] = [line[:at] + draw(JUNK) + line[at:]]
        elif how == "delete":
            del lines[i]
        elif how == "duplicate":
            lines.insert(i, lines[i])
        else:
            lines = lines[:i] + [lines[i][: draw(st.integers(0, len(lines[i])))]]
    return "".join(lines)


LOCATED = re.compile(r"[^\n]*x\.mta\.yaml:(\d+): \S[^\n]*")


@settings(max_examples=200, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(text=mutated_case_files())
def test_a_mutated_suite_loads_or_says_one_line(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    path = tmp_path_factory.getbasetemp() / "x.mta.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    tracemalloc.start()
    started = time.monotonic()
    try:
        suite = load_suite(path)
    except CaseFileError as exc:
        match = LOCATED.fullmatch(str(exc))
        assert match, str(exc)
        assert 1 <= int(match.group(1)) <= text.count("\n") + 2, str(exc)
    else:
        assert suite.cases
    finally:
        elapsed = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert elapsed < 2, f"loading took {elapsed:.1f} s"
    assert peak < 50_000_000, f"loading used {peak} octets"


def test_the_limits_are_documented_as_enforced() -> None:
    """The README and the schema state the caps the loader enforces, so the docs cannot drift from them."""
    from conformance.suite import caseyaml
    from conformance.suite.loader import MAX_FILE_BYTES, case_schema

    readme = " ".join((Path(__file__).resolve().parent.parent / "README.md").read_text("utf-8").split())
    assert f"`{{fill:N}}` is at most {placeholders.MAX_FILL} characters" in readme
    assert f"N at most {placeholders.MAX_FILL}" in readme
    assert f"at most {caseyaml.MAX_DEPTH} levels of nesting, {caseyaml.MAX_NODES:,} values and " \
           f"{MAX_FILE_BYTES // 1024} KiB" in readme
    send = case_schema()["$defs"]["step"]["properties"]["send"]["description"]
    assert f"{{fill:N}} (N at most {placeholders.MAX_FILL})" in send
