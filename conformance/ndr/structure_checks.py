"""Checks of the MIME structure of a DSN (RFC 6522, RFC 3464 §2, RFC 6533): parts, types, encodings.

Which parts there are and what they are labelled, not what the
delivery-status fields say (field_checks.py, status_checks.py).

Boundaries are compared across nesting too (MPR-010): RFC 2046 §5.1.1 says a
boundary delimiter must not appear within the encapsulated material and that a
composing agent must not choose a boundary with an enclosing one as a prefix:
readers match delimiter lines by prefix, so with ``boundary_X`` outside, the
inner line ``--boundary_Xa`` also ends the outer part.  The reverse (the
enclosing boundary beginning with the nested one) lets the outer delimiter
close the nested multipart in a reader that has not seen its end yet, so it is
reported too.  The walk follows multiparts and encapsulated messages to a
fixed depth.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Iterator

from .hits import Hit
from .message import (
    STATUS_TYPES,
    Header,
    NDRMessage,
    delimiter_lines,
    message_from_headers,
    parse_header_section,
    split_lines,
)


def report_structure(ndr: NDRMessage) -> Iterator[Hit]:
    """MPR-001 to -005, -007, -009 to -011, -013: the multipart/report skeleton of RFC 6522."""
    if ndr.content_type != "multipart/report":
        yield Hit("MPR-001", _not_a_report(ndr), 1, "otherwise")  # the engine picks the condition
        return
    report_type = ndr.message.get_param("report-type")
    if not ndr.boundary or report_type is None:
        missing = [n for n, v in (("boundary", ndr.boundary), ("report-type", report_type)) if not v]
        yield Hit("MPR-002", f"multipart/report lacks the {' and '.join(missing)} parameter", 1)
    if report_type is not None:
        value = str(report_type).lower()
        second = ndr.parts[1].content_type if len(ndr.parts) > 1 else ""
        if value not in ("delivery-status", "global-delivery-status"):
            yield Hit("MPR-003", f"report-type is {report_type!r}, not delivery-status", 1, "other-value")
        elif second in STATUS_TYPES and value != second.split("/")[1]:
            yield Hit("MPR-003", f"report-type {report_type!r} does not name the second part's {second}", 1,
                      "global-mismatch")
    if not 2 <= len(ndr.parts) <= 3:
        yield Hit("MPR-004", f"multipart/report has {len(ndr.parts)} parts; it needs two or three", 1)
    if ndr.parts:
        first = ndr.parts[0]
        if first.content_type in STATUS_TYPES or not (first.content_type.startswith("text/")
                                                      or first.content_type.startswith("multipart/")):
            yield Hit("MPR-005", f"the first part is {first.content_type}, not a human-readable explanation",
                      first.line, "missing")
        elif first.content_type == "text/html":
            yield Hit("MPR-005", "the human-readable part is HTML only", first.line, "html-only")
    if len(ndr.parts) >= 2:
        status_slot = ndr.parts[1]
        if status_slot.content_type not in STATUS_TYPES:
            label = status_slot.content_type if status_slot.has_content_type else "text/plain (no Content-Type)"
            yield Hit("MPR-007", f"the second part is {label}, not message/delivery-status", status_slot.line)
    if len(ndr.parts) >= 3:
        third = ndr.parts[2]
        fitting = ("message/rfc822", "text/rfc822-headers", "message/global", "message/global-headers")
        if third.content_type in STATUS_TYPES or third.content_type.startswith("multipart/report"):
            yield Hit("MPR-011", f"the third part is {third.content_type}, which is not returned content",
                      third.line, "non-content-type")
        elif third.content_type not in fitting:
            yield Hit("MPR-011", f"the returned content is {third.content_type}; use message/rfc822 or "
                      "text/rfc822-headers", third.line, "other-type")
    cte = str(ndr.message.get("Content-Transfer-Encoding", "")).strip().lower()
    if cte and cte not in ("7bit", "8bit", "binary"):
        yield Hit("MPR-009", f"a multipart entity has Content-Transfer-Encoding {cte}", 1)
    if ndr.boundary is not None:
        if not re.fullmatch(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]", ndr.boundary):
            yield Hit("MPR-010", f"boundary {ndr.boundary!r} is not 1 to 70 allowed characters", 1)
        if not ndr.closing_delimiter:
            yield Hit("MPR-010", "the closing boundary delimiter is missing", len(ndr.raw.splitlines()) or 1)
    if ndr.preamble.strip() and not ndr.parts:
        yield Hit("MPR-013", "all text is in the preamble, which MIME readers ignore", ndr.body_line)


def _not_a_report(ndr: NDRMessage) -> str:
    """MPR-001's words for a delivery-status part outside a top-level multipart/report."""
    if ndr.status_nested:
        return (f"the report is nested inside the top-level {ndr.content_type} (a forwarded report?): RFC 6522 "
                "§1 lets reports nest, but a DSN as its MTA sends it is a top-level multipart/report "
                "(RFC 3464 §2)")
    return (f"the top-level type is {ndr.content_type}, not multipart/report: a message/delivery-status part "
            "among its parts does not make it a DSN (RFC 3464 §2)")


def status_part_encoding(ndr: NDRMessage) -> Iterator[Hit]:
    """MPR-008: message/delivery-status is 7bit text without parameters (RFC 3464 §2)."""
    part = ndr.status_part
    if part is None or part.content_type != "message/delivery-status":
        return
    cte = part.transfer_encoding
    if cte and cte not in ("7bit", "8bit", "binary"):
        yield Hit("MPR-008", f"message/delivery-status is sent with {cte}; it must be 7bit", part.line)
    if not part.body.isascii():
        yield Hit("MPR-008", "message/delivery-status contains 8-bit octets", part.body_line)
    params = [k for k, _ in (part.message.get_params() or [])[1:]]
    if params:
        yield Hit("MPR-008", f"message/delivery-status defines no parameters ({', '.join(params)} given)",
                  part.line, "parameters")


def preamble_and_human_text(ndr: NDRMessage) -> Iterator[Hit]:  # the status may be absent here
    """MPR-013, MPR-006: text where MIME readers see it, naming each failed recipient."""
    if ndr.preamble.strip() and ndr.parts:
        yield Hit("MPR-013", "the preamble has text, which MIME readers ignore (it is not the human-readable part)",
                  ndr.body_line)
    if ndr.parts and ndr.parts[0].content_type.startswith("text/") and ndr.status is not None:
        human = ndr.parts[0].decoded_body().decode("utf-8", "replace").lower()
        for block in ndr.status.recipients:
            final = block.first("final-recipient")
            if final is None:
                continue
            address = final.typed()[1].strip("<> ").lower()
            if address and address not in human:
                yield Hit("MPR-006", f"the human-readable part does not name {address}", ndr.parts[0].body_line)


def returned_content(ndr: NDRMessage) -> Iterator[Hit]:
    """RET-005, -006, -009, -010, I18N-010: the third part is a whole message or a header, intact."""
    if len(ndr.parts) < 3:
        yield Hit("RET-009", "no returned content (the third part is optional)", 1)
        return
    third = ndr.parts[2]
    body = third.decoded_body()
    if third.content_type in ("message/rfc822", "message/global"):
        if third.transfer_encoding not in ("", "7bit", "8bit", "binary"):
            yield Hit("RET-006", f"{third.content_type} is encoded as a whole with {third.transfer_encoding}",
                      third.line)
        lines = re.split(rb"\r\n|\n|\r", body.strip(b"\r\n"))
        has_blank = any(not line.strip() for line in lines[1:])
        if not has_blank:
            yield Hit("RET-005", f"{third.content_type} holds only a header; a header-only return is "
                      "text/rfc822-headers", third.line)
        else:
            inner = parse_header_section(body.lstrip(b"\r\n"))
            boundary = inner.get_param("boundary") if inner.get_content_maintype() == "multipart" else None
            if boundary and f"--{boundary}--".encode() not in body:
                yield Hit("RET-010", "the returned message is cut off: its MIME structure never closes",
                          third.line)
    if third.content_type == "text/rfc822-headers" and re.search(rb"\r?\n\r?\n\S", body.strip(b"\r\n")):
        yield Hit("RET-005", "text/rfc822-headers contains more than a header section", third.line)
    if third.content_type == "message/global-headers" and third.message.get_param("charset"):
        yield Hit("I18N-010", "message/global-headers carries a charset parameter", third.line)


def global_types(ndr: NDRMessage) -> Iterator[Hit]:
    """I18N-008, -009, -011: message/global-delivery-status used and encoded as RFC 6533 says."""
    part = ndr.status_part
    if part is None or part.content_type != "message/global-delivery-status":
        return
    if part.transfer_encoding in ("base64", "quoted-printable"):
        yield Hit("I18N-009", "message/global-delivery-status is transfer-encoded (8bit expected unless the path "
                  "is 7-bit)", part.line, "encoded")
    elif part.transfer_encoding in ("", "7bit") and not part.body.isascii():
        yield Hit("I18N-009", "message/global-delivery-status is labelled 7bit but carries 8-bit octets",
                  part.line, "mislabelled-7bit")
    if ndr.raw.isascii():
        yield Hit("I18N-011", "everything is ASCII: the traditional message/delivery-status would do", part.line)
    if any(p.content_type in ("message/rfc822", "text/rfc822-headers") for p in ndr.parts):
        yield Hit("I18N-008", "global and traditional types are mixed (valid; readers must accept it)", part.line,
                  "parser")


#: how deep the walk goes: real NDRs nest two or three levels; a crafted one must not cost more
MAX_DEPTH = 8
_ENCAPSULATED = ("message/rfc822", "message/global")
#: a returned message without such a field holds no multipart, so the walk skips it (most of them)
_DECLARES_MULTIPART = re.compile(rb"^content-type:\s*multipart/", re.IGNORECASE | re.MULTILINE)
#: an entity's Content-Type as the walk needs it: type/subtype, boundary parameter, line of the field
_Type = tuple[str, str | None, int]


def nested_boundaries(ndr: NDRMessage) -> Iterator[Hit]:
    """MPR-010: every boundary below the top level, held against each boundary that encloses it."""
    if not ndr.boundary:
        return
    for part in ndr.parts:
        if not (part.content_type.startswith("multipart/") or part.content_type in _ENCAPSULATED
                and _DECLARES_MULTIPART.search(part.body)):
            continue
        body = part.decoded_body() if part.transfer_encoding in ("base64", "quoted-printable") else part.body
        content_type = next((h for h in part.headers if h.name.lower() == "content-type"), None)
        if content_type is not None:
            yield from _walk(_read_type(content_type), split_lines(body), part.body_line, [ndr.boundary], 1)


def _walk(content_type: _Type | None, lines: list[bytes], body_line: int, enclosing: list[str],
          depth: int) -> Iterator[Hit]:
    """The hits of one entity (its *content_type*, its body's *lines*) in the multiparts of *enclosing*."""
    if depth > MAX_DEPTH or content_type is None:
        return
    kind, boundary, line = content_type
    if kind in _ENCAPSULATED:
        inner, blank = _header_type(lines, body_line)
        yield from _walk(inner, lines[blank + 1:], body_line + blank + 1, enclosing, depth + 1)
    elif kind.startswith("multipart/") and boundary:
        for outer in enclosing:
            problem = prefix_problem(outer, boundary)
            if problem:
                yield Hit("MPR-010", problem, line)
        for part_headers, part_lines, part_line in _split(lines, boundary, body_line):
            yield from _walk(part_headers, part_lines, part_line, [*enclosing, boundary], depth + 1)


def prefix_problem(outer: str, inner: str) -> str | None:
    """Why the nested boundary *inner* clashes with the enclosing *outer*, or None when neither begins the other."""
    if inner == outer:
        return (f"a nested multipart reuses the enclosing boundary {outer!r}: its delimiter lines are the "
                "enclosing ones (RFC 2046 §5.1.1)")
    if inner.startswith(outer):
        return (f"the nested boundary {inner!r} begins with the enclosing boundary {outer!r}: the line "
                f"'--{inner}' also reads as an enclosing delimiter, which RFC 2046 §5.1.1 forbids inside "
                "the encapsulated material")
    if outer.startswith(inner):
        return (f"the enclosing boundary {outer!r} begins with the nested boundary {inner!r}: the line "
                f"'--{outer}' also reads as a delimiter of the nested multipart (RFC 2046 §5.1.1)")
    return None


def _header_type(lines: list[bytes], first_line: int) -> tuple[_Type | None, int]:
    """The Content-Type of the header section that starts *lines* (None without one), and the blank line's index.

    Only that one field is read: a returned message's many Received fields are
    not worth parsing here.
    """
    found: list[bytes] = []
    start = first_line
    index = 0
    for index, line in enumerate(lines):
        if not line.strip():
            break
        if found and line[:1] in (b" ", b"\t"):
            found.append(line)
        elif found:
            break
        elif line[:13].lower() == b"content-type:":
            found, start = [line], first_line + index
    else:
        index = len(lines)
    while index < len(lines) and lines[index].strip():
        index += 1
    return (_read_type(Header("Content-Type", b" ".join(found).decode("utf-8", "replace")[13:].strip(),
                              start, b"")) if found else None), index


def _read_type(header: Header) -> _Type:
    """(type/subtype lower-cased, boundary parameter, line of the field) of a Content-Type field."""
    kind = header.value.split(";", 1)[0].strip().lower()
    if not kind.startswith("multipart/"):
        return kind, None, header.line  # only a multipart's parameters matter to the walk
    message = message_from_headers([header])
    try:
        boundary = message.get_param("boundary")
    except Exception:  # noqa: BLE001 - the email package raises odd things on odd headers
        boundary = None
    if isinstance(boundary, tuple):
        boundary = email.utils.collapse_rfc2231_value(boundary)
    return message.get_content_type(), str(boundary) if boundary else None, header.line


def _split(lines: list[bytes], boundary: str, first_line: int) -> Iterator[tuple[_Type | None, list[bytes], int]]:
    """The body parts of a multipart body's *lines*: (headers, body lines, line of the body), up to its close."""
    starts, close = delimiter_lines(lines, boundary)
    end = len(lines) if close is None else close
    for start, stop in zip(starts, [*starts[1:], end], strict=False):
        part_lines = lines[start + 1:stop]
        content_type, blank = _header_type(part_lines, first_line + start + 1)
        yield content_type, part_lines[blank + 1:], first_line + start + 2 + blank
