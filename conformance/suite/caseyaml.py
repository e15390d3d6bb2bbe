"""The YAML of case files, read defensively: JSON types only, bounded, never a traceback.

Case files come from users, so reading one must not hang, exhaust memory or
crash.  PyYAML's SafeLoader still expands aliases (a kilobyte "billion laughs"
file grows to gigabytes), honours explicit tags (``!!binary``, ``!!set``...),
recurses once per nesting level and turns ``2001-12-14`` into a date.  Here
the document is composed into nodes by :class:`CaseYAMLComposer`, which refuses
aliases and explicit tags and caps the nesting depth and the number of nodes
while composing, before anything is expanded; the nodes then become JSON values
(str, int, finite float, bool, None) with the line of every value kept, so the
schema sees only what a JSON document could hold.  Every refusal is a
:class:`YAMLProblem` carrying a line and one sentence; the loader adds the path.
"""

from __future__ import annotations

import math
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

#: deeper than any case file needs (the shipped ones nest 7 levels); bounds every recursion below
MAX_DEPTH = 64
#: nodes (scalars, lists, mappings) in one file: the largest shipped file holds under 900
MAX_NODES = 20_000
#: digits of an integer: every number a case file may hold is far shorter
MAX_NUMBER_CHARS = 32

_CONSTRUCT = SafeConstructor()
_YAML_TAG = "tag:yaml.org,2002:"
Lines = dict[tuple[Any, ...], int]


class YAMLProblem(Exception):
    """Why the YAML of a case file cannot be read, at a 1-based line."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def one_line(text: str) -> str:
    """*text* on one line: runs of white space become one space, other control characters are escaped."""
    squeezed = " ".join(text.split())
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in squeezed)


def shown(value: Any, limit: int = 80) -> str:
    """*value* as a message quotes it: YAML's null/true/false, and a long one cut to *limit* characters."""
    if value is None:
        return "null (an empty value)"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


class CaseYAMLComposer(yaml.SafeLoader):
    """SafeLoader whose composer refuses aliases and explicit tags and bounds depth and size."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent):
            raise YAMLProblem(line, f"YAML aliases (*{one_line(event.anchor or '')}) are not allowed in case files")
        if getattr(event, "anchor", None) is not None:
            raise YAMLProblem(line, f"YAML anchors (&{one_line(event.anchor)}) and aliases are not allowed "
                                    "in case files")
        tag = getattr(event, "tag", None)
        if tag not in (None, "!"):
            shown = "!!" + tag[len(_YAML_TAG):] if tag.startswith(_YAML_TAG) else tag
            raise YAMLProblem(line, f"explicit YAML tags ({one_line(shown)}) are not allowed in case files; "
                                    "write the plain value")
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise YAMLProblem(line, f"the file holds more than {MAX_NODES} values")
        if self._depth >= MAX_DEPTH:
            raise YAMLProblem(line, f"the values are nested more than {MAX_DEPTH} levels deep")
        self._depth += 1
        try:
            node: yaml.Node | None = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        return node


def compose(text: str) -> yaml.Node | None:
    """The single document of *text* as nodes; YAMLProblem for what case files may not hold."""
    loader: CaseYAMLComposer | None = None
    try:
        loader = CaseYAMLComposer(text)  # the reader refuses control characters right here
        return loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        if exc.context_mark and mark and exc.context_mark.line != mark.line:
            what += f" (the construct started at line {exc.context_mark.line + 1})"
        raise YAMLProblem(mark.line + 1 if mark else 1, f"invalid YAML: {one_line(what)}") from None
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        character = f"U+{exc.character:04X}" if isinstance(exc.character, int) else repr(exc.character)
        raise YAMLProblem(line, f"invalid YAML: the character {character} is not allowed in YAML text; "
                                "write it as an escape in a double-quoted string") from None
    except yaml.YAMLError as exc:
        raise YAMLProblem(1, f"invalid YAML: {one_line(str(exc))}") from None
    finally:
        if loader is not None:
            loader.dispose()


def to_json(node: yaml.Node, lines: Lines, where: tuple[Any, ...] = ()) -> Any:
    """*node* as a JSON value; *lines* gets the line of every value, keyed by its path."""
    lines[where] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            key = to_json(key_node, {}, ())
            if not isinstance(key, str):
                shown = "a list or mapping" if isinstance(key, (list, dict)) else f"{key_node.value!r}"
                raise YAMLProblem(key_line, f"mapping keys must be plain strings, not {one_line(shown)}")
            if key in result:
                raise YAMLProblem(key_line, f"duplicate key {one_line(repr(key))}")
            result[key] = to_json(value_node, lines, where + (key,))
        return result
    if isinstance(node, yaml.SequenceNode):
        return [to_json(item, lines, where + (i,)) for i, item in enumerate(node.value)]
    assert isinstance(node, yaml.ScalarNode)  # the composer makes nothing else
    return _scalar(node)


def _scalar(node: yaml.ScalarNode) -> Any:
    """A plain or quoted scalar with YAML 1.1's implicit types, but only JSON's.

    A date or time (``2001-12-14``), a merge key (``<<``) or the value key
    (``=``) stays the string it was written as; numbers must be short and finite.
    """
    tag = node.tag.rsplit(":", 1)[-1]
    if tag == "null":
        return None
    if tag == "bool":
        return _CONSTRUCT.construct_yaml_bool(node)
    if tag in ("int", "float"):
        line = node.start_mark.line + 1
        if len(node.value) > MAX_NUMBER_CHARS:
            raise YAMLProblem(line, f"the number {one_line(node.value[:20])}... is longer than "
                                    f"{MAX_NUMBER_CHARS} characters")
        try:
            number = _CONSTRUCT.construct_yaml_int(node) if tag == "int" else _CONSTRUCT.construct_yaml_float(node)
        except (ValueError, OverflowError):
            raise YAMLProblem(line, f"{one_line(repr(node.value))} is not a number a case file can hold") from None
        if isinstance(number, float) and not math.isfinite(number):
            raise YAMLProblem(line, f"{one_line(repr(node.value))} is not a finite number")
        return number
    return str(node.value)
