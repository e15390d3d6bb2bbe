"""The reply-code and enhanced-code registries are sane data."""

from __future__ import annotations

from conformance.smtp import enhanced
from conformance.smtp.codes import RCPT_SEQUENCE, REPLY_CODES


def test_basic_codes() -> None:
    for code, row in REPLY_CODES.items():
        assert row.code == code and 200 <= code <= 599
        assert row.meaning and row.source.startswith("RFC ")
    assert RCPT_SEQUENCE <= REPLY_CODES.keys()


def test_enhanced_registry() -> None:
    assert len(enhanced.ENHANCED_CODES) == len(set(enhanced.ENHANCED_CODES))
    for key, row in enhanced.ENHANCED_CODES.items():
        assert enhanced.syntax_error(f"5.{key}") is None
        assert all(200 <= c <= 599 for c in row.associated)
    assert enhanced.lookup("5.1.1").associated == (451, 550)
    assert enhanced.lookup("4.6.10").deprecated
    assert enhanced.PERMANENT_ONLY.isdisjoint(enhanced.TRANSIENT_ONLY)


def test_enhanced_syntax() -> None:
    assert enhanced.syntax_error("5.1.1") is None
    assert enhanced.syntax_error("2.0.0") is None
    assert "leading zero" in (enhanced.syntax_error("5.01.1") or "")
    assert "class 3" in (enhanced.syntax_error("3.1.1") or "")
    assert "more than three digits" in (enhanced.syntax_error("5.1.1000") or "")
