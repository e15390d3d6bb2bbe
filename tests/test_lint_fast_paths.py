"""The linter's fast paths say what the slow ones said: header fields, line lengths, From, content types.

Each shortcut taken for speed (reading header fields by partition, finding
the header section's end in one search, measuring line lengths without a
Python loop, recognising a plain From without a full address parse,
remembering Content-Type parameters) is held here against a bad input, a good
input and the general code it stands in for.
"""

from __future__ import annotations

import email.utils

import pytest
from test_ndr_lint import GOOD

from conformance.ndr.headers import ReadMessage, header_section_end, parse_header_section, read_headers
from conformance.ndr.lint import lint_bytes


def findings(raw: bytes, check: str) -> list[tuple[str, int | None]]:
    return [(f.message, f.where.line) for f in lint_bytes(raw).findings if f.check_id == check]


@pytest.mark.parametrize("lines, fields, blank", [
    ([b"Subject: hi", b"X-A :  b ", b"", b"body"], [("Subject", "hi", 1), ("X-A", "b", 2)], 2),
    ([b"Received: from a", b"\tby b", b" for c", b"\x0b", b"x: y"], [("Received", "from a by b for c", 1)], 3),
    ([b" lead: x", b"no colon here", b"a b: c", b": v"], [(" lead: x", "", 1), ("no colon here", "", 2),
                                                        ("a b: c", "", 3), (": v", "", 4)], 4),
])
def test_header_fields_by_name_value_and_line(lines: list[bytes], fields: list[tuple[str, str, int]],
                                               blank: int) -> None:
    headers, index = read_headers(lines, 1)
    assert [(h.name, h.value, h.line) for h in headers] == fields and index == blank


@pytest.mark.parametrize("raw, end", [
    (b"a: b\r\n\r\nbody", (6, 8)), (b"a: b\n\nbody", (5, 6)), (b"a: b\r\rbody", (5, 6)),
    (b"a: b\r\nc: d\r\n", (12, 12)), (b"\r\nbody", (0, 2)), (b"a: b\r\r\nbody", (5, 7)),
])
def test_the_header_section_ends_at_the_first_empty_line(raw: bytes, end: tuple[int, int]) -> None:
    assert header_section_end(raw) == end


def test_a_long_body_line_is_found_on_its_line() -> None:
    at = GOOD.index(b"Your message to")
    long_body = GOOD[:at] + b"x" * 1200 + b"\r\n" + GOOD[at:]
    line = GOOD[:at].count(b"\r\n") + 1
    assert findings(long_body, "NDR-HDR-012") == [("a line is longer than 998 characters", line)]
    lf = long_body.replace(b"\r\n", b"\n")
    assert findings(lf, "NDR-HDR-012") == [("a line is longer than 998 characters", line)]
    assert findings(GOOD, "NDR-HDR-012") == []


def test_a_long_header_line_is_over_78() -> None:
    raw = GOOD.replace(b"Subject: Undelivered Mail Returned to Sender",
                       b"Subject: Undelivered Mail Returned to Sender " + b"y" * 60)
    assert findings(raw, "NDR-HDR-012") == [("a header line is longer than 78 characters", 4)]


@pytest.mark.parametrize("value, fine", [
    ("MAILER-DAEMON@mx.example.net (Mail Delivery System)", True),
    ('"Mail Delivery System" <MAILER-DAEMON@mx.example.net>', True),
    ("Mail Delivery System <MAILER-DAEMON@mx.example.net>", True),
    ('"Q\\"uote" <a@example.net>', True),
    ("<>", False),
    ("Mail Delivery System <>", False),
    ("", False),
])
def test_from_gives_an_address_as_parseaddr_says(value: str, fine: bool) -> None:
    assert bool(email.utils.parseaddr(value)[1]) is fine
    raw = GOOD.replace(b"From: MAILER-DAEMON@mx.example.net (Mail Delivery System)", f"From: {value}".encode())
    assert (findings(raw, "NDR-HDR-005") == []) is fine


def test_a_returned_header_section_answers_its_content_type_without_its_body() -> None:
    returned = (b"From: a@example.org\r\nContent-Type: multipart/mixed;\r\n boundary=\"inner\"\r\n"
                b"Subject: x\r\n\r\n--inner\r\nContent-Type: text/html\r\n\r\n<p>\r\n")
    message = parse_header_section(returned)
    assert message.get_content_type() == "multipart/mixed" and message.get_param("boundary") == "inner"
    assert message.get("Subject") is None  # only Content-* fields are read
    assert parse_header_section(b"Subject: x\r\n\r\nContent-Type: text/html\r\n").get_content_type() == "text/plain"


def test_remembered_parameters_are_forgotten_when_a_field_changes() -> None:
    message = ReadMessage()
    message["Content-Type"] = "multipart/report; report-type=delivery-status; boundary=a"
    assert message.get_param("report-type") == "delivery-status" and message.get_param("BOUNDARY") == "a"
    assert message.get_param("charset", "none") == "none" and message.get_param("x", header="x-none") is None
    message.set_param("boundary", "b")
    assert message.get_param("boundary") == "b"
    del message["Content-Type"]
    assert message.get_param("boundary") is None and message.get_params() is None
