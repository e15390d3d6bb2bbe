"""Header sections as bytes: fields with their line numbers, and email Messages built from them.

An NDR's header section, each part's and a returned message's are read here,
line by line as written (CRLF, LF or bare CR), so every field keeps its exact
bytes and the line it starts on; only Content-* fields go on to the email
package, which answers content types and parameters (RFC 2045/2231).
"""

from __future__ import annotations

import email.message
import functools
import re
from collections.abc import Callable
from typing import Any, NamedTuple

from . import params as parameters

LINE_END = re.compile(rb"\r\n|\n|\r")


def parse_header_section(data: bytes) -> email.message.Message:
    """The Content-* fields of *data*'s header section, as an email Message (compat32) for content types.

    Read by this module's reader, up to the first blank line: the email
    package's header parser would read (and decode) the whole body too, which
    for a returned message of megabytes is the cost of a second parse.
    """
    end, _ = header_section_end(data)
    kept: list[bytes] = []
    taking = False
    for line in split_lines(data[:end]):  # only Content-* fields (and their folded lines) are asked about
        if line[:1] not in (b" ", b"\t"):
            taking = line[:8].lower() == b"content-"
        if taking:
            kept.append(line)
    headers, _ = read_headers(kept, 1)
    message = ReadMessage()
    for header in headers:
        message[header.name] = header.value
    return message


_UNSET: Any = object()


class ReadMessage(email.message.Message):
    """An email Message built from fields this module read, which remembers the parameters it was asked for.

    The classifier and the checks ask the same part for its report-type,
    boundary and charset again and again, and the email package parses the
    Content-Type anew each time; a changed field forgets what was remembered.
    Parameters are read by :mod:`params` (linear, RFC 2231 sections joined
    whatever the name), values always strings.
    """

    def get_params(self, failobj: Any = None, header: str = "content-type", unquote: bool = True) -> Any:
        asked = self.__dict__.setdefault("_asked", {})
        key = (header.lower(), unquote)
        if key not in asked:
            value = self.get(header, _UNSET)
            if value is _UNSET:
                asked[key] = _UNSET
            else:  # read here, linearly and RFC 2231 sections joined (see params.py), not by the email package
                value = str(value)
                pairs = parameters.params(value) if unquote else parameters.raw_params(value)
                asked[key] = [(value[:parameters.VALUE_LIMIT].partition(";")[0].strip(), ""), *pairs]
        params = asked[key]
        return failobj if params is _UNSET else list(params)

    def get_param(self, param: str, failobj: Any = None, header: str = "content-type",
                  unquote: bool = True) -> Any:
        params = self.get_params(_UNSET, header, unquote)
        wanted = param.lower()
        for name, value in params if params is not _UNSET else ():
            if name.lower() == wanted:
                return value
        return failobj


def _forgetting(method: Callable[..., Any]) -> Callable[..., Any]:
    """*method* of ReadMessage, made to forget the remembered parameters first (it changes fields)."""
    @functools.wraps(method)
    def changed(self: ReadMessage, *args: Any, **kwargs: Any) -> Any:
        self.__dict__.pop("_asked", None)
        return method(self, *args, **kwargs)
    return changed


for _name in ("__setitem__", "__delitem__", "add_header", "replace_header", "set_raw", "set_param", "del_param",
              "set_type", "set_boundary", "set_charset"):
    setattr(ReadMessage, _name, _forgetting(getattr(email.message.Message, _name)))


def message_from_headers(headers: list[Header]) -> email.message.Message:
    """An email Message carrying fields this module already read (no second parse).

    The email package then answers content types and parameters (RFC 2045/2231)
    as usual, without reading the header section again.
    """
    message = ReadMessage()
    for header in headers:
        if header.name[:8].lower() == "content-":  # all the email package is asked about
            message[header.name] = header.value
    return message


class Header(NamedTuple):
    """One header field as written; a tuple, as a message has thousands of them and reads them often."""

    name: str
    value: str  #: unfolded
    line: int
    raw: bytes  #: every physical line, terminators removed, joined by b"\n"


def split_lines(data: bytes) -> list[bytes]:
    return LINE_END.split(data)


def read_headers(lines: list[bytes], first_line: int) -> tuple[list[Header], int]:
    """Header fields of a header section; returns them and the index of the blank line."""
    headers: list[Header] = []
    current: list[bytes] = []
    start = first_line
    index = 0
    for index, line in enumerate(lines):
        lead = line[:1]
        if lead == b" " or lead == b"\t":
            if current:
                current.append(line)
                continue
        elif not line.strip():  # a blank line (or one of other white space) ends the section
            break
        if current:
            headers.append(_header(current, start))
        current = [line]
        start = first_line + index
    else:
        index = len(lines)
    if current:
        headers.append(_header(current, start))
    return headers, index


def _header(raw_lines: list[bytes], line: int) -> Header:
    """A field from its physical lines: the name before the first colon (no white space in it), the value unfolded.

    A first line that is no ``Name:`` gives a field named by the whole line, with no value.
    """
    first = raw_lines[0]
    name, colon, rest = first.partition(b":")
    name = name.rstrip(b" \t")
    if not colon or name.split() != [name]:  # no name, or white space in it
        return Header(first.decode("utf-8", "replace"), "", line, b"\n".join(raw_lines))
    if len(raw_lines) == 1:  # most fields: no folding to undo
        return Header(name.decode("utf-8", "replace"), rest.decode("utf-8", "replace").strip(), line, first)
    value_bytes = b" ".join([rest.strip(), *(part.strip() for part in raw_lines[1:])])
    return Header(name.decode("utf-8", "replace"), value_bytes.decode("utf-8", "replace").strip(), line,
                  b"\n".join(raw_lines))


def header_section_end(raw: bytes) -> tuple[int, int]:
    """(end of the header section, start of the body): stops at the first blank line.

    Scanning only as far as the header goes keeps the cost of a 50 MB body out of it.
    """
    first = LINE_END.match(raw)
    if first is not None:  # the message starts with a blank line: no header section
        return 0, first.end()
    match = _BLANK_LINE.search(raw)
    return (match.start(1), match.end(1)) if match else (len(raw), len(raw))


#: two line ends in a row (a CR before LF is one line end, never two): the blank line ending a header section
_BLANK_LINE = re.compile(rb"(?:\r\n|\n|\r(?!\n))(\r\n|\n|\r(?!\n))")
