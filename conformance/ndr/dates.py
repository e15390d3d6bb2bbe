"""RFC 5322 date-times as NDRs write them: what is wrong with one, and reading one for comparison."""

from __future__ import annotations

import email.utils
import re
from datetime import datetime

_COMMENT = re.compile(r"\([^)]*\)")


def date_problem(value: str, numeric_zone: bool = False) -> str | None:
    """Why *value* is not a usable RFC 5322 date-time, or None."""
    text = _COMMENT.sub("", value).strip()
    try:
        parsed = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return "not an RFC 5322 date-time"
    if parsed is None:
        return "not an RFC 5322 date-time"
    zone = text.split()[-1] if text.split() else ""
    if numeric_zone and not re.fullmatch(r"[+-][0-9]{4}", zone):
        return f"the zone {zone!r} is not numeric"
    if re.match(r"^\s*(?:[A-Za-z]{3},\s*)?\d{1,2}\s+\w+\s+\d{2}\s", text):
        return "two-digit year (obsolete form)"
    match = re.match(r"^\s*([A-Za-z]{3}),", text)
    if match and match.group(1).title() != parsed.strftime("%a"):
        return f"{match.group(1)} is not the weekday of that date ({parsed.strftime('%a')})"
    return None


def aware_date_time(value: str) -> datetime | None:
    """*value* (comments dropped) as a date-time with a zone, or None when it is not one."""
    try:
        parsed = email.utils.parsedate_to_datetime(_COMMENT.sub("", value).strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return parsed if parsed is not None and parsed.tzinfo is not None else None
