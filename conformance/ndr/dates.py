"""RFC 5322 date-times as NDRs write them: what is wrong with one, and reading one for comparison.

Every date an NDR carries is untrusted text: a date the standard library can
parse may still lie outside the years it can hold once its zone is applied
(``31 Dec 9999 23:59 -1200`` is in year 10000 UTC).  Such a date is a finding
of the row that judges the field, never an internal error of the linter.
"""

from __future__ import annotations

import email.utils
import re
from datetime import datetime, timezone

from .dsn_fields import strip_comments

#: how much of a date field is read: far more than any date-time with its comments (RFC 5322 §2.1.1 lets a
#: line hold 998 characters), so a field of a million "(" costs no more than one of four thousand
DATE_VALUE_LIMIT = 4096
#: longer than any RFC 5322 date-time once comments are dropped and white space runs made one space
#: ("Mon, 23 Nov 2026 06:00:00 +0000" is 31 characters; the obsolete forms add little): such text is no date
DATE_TEXT_LIMIT = 100
#: RFC 5322 §4.3 obs-zone (case-insensitive, as ABNF strings are): the names and the military letters (any
#: letter but J), which §3.3 says MUST NOT be generated
_OBS_ZONE = re.compile(r"UT|GMT|[ECMP][SD]T|[A-IK-Z]", re.IGNORECASE)


def without_comments(value: str) -> str:
    """*value* without its comments (nested ones too, RFC 5322 §3.2.2) and with white space runs made one space.

    At most :data:`DATE_VALUE_LIMIT` characters are read (see :func:`date_problem`).
    """
    collapsed = " ".join(value.split())  # first, so long folding white space is never what is cut off
    if "(" not in collapsed:
        return collapsed[:DATE_VALUE_LIMIT]
    return " ".join(strip_comments(collapsed[:DATE_VALUE_LIMIT]).split())


def _parse(text: str) -> datetime | None:
    """*text* as a datetime, or None when the standard library cannot read it at all.

    Text longer than any date-time is not handed over: the standard
    library's parser is not linear in it.
    """
    if len(text) > DATE_TEXT_LIMIT:
        return None
    try:
        return email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _in_utc(parsed: datetime) -> datetime | None:
    """*parsed* moved to UTC, or None when that moment lies outside the years 1 to 9999."""
    if parsed.tzinfo is None:
        return parsed
    try:
        return parsed.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        return None


#: the condition key of a DSN date whose zone is an RFC 822 zone name (a SHOULD, not a MUST)
ZONE_NAME = "rfc822-zone-name"


def dsn_date_problem(value: str) -> tuple[str, str | None] | None:
    """Why a DSN date field (Arrival-Date, Last-Attempt-Date, Will-Retry-Until) is wrong, with its condition key.

    RFC 3464 takes ``date-time`` from RFC 822 as amended by RFC 1123, whose
    §5.2.14 says a numeric zone SHOULD be used and every reader MUST accept the
    zone names: ``GMT`` there is a warning (key :data:`ZONE_NAME`), while a zone
    RFC 822 does not know (``UTC``, ``CEST``) or no date at all is an error (key None).
    """
    text = without_comments(value)
    zone = text.split()[-1] if text.split() else ""
    parsed = _parse(text)
    if _OBS_ZONE.fullmatch(zone) and parsed is not None and _in_utc(parsed) is not None:
        return (f"the zone {zone!r} is an RFC 822 zone name; RFC 1123 §5.2.14 says a numeric zone "
                "SHOULD be used (+0000)", ZONE_NAME)
    problem = date_problem(value, numeric_zone=True)
    return None if problem is None else (problem, None)


def date_problem(value: str, numeric_zone: bool = False) -> str | None:
    """Why *value* is not a usable RFC 5322 date-time, or None."""
    text = without_comments(value)
    parsed = _parse(text)
    if parsed is None:
        if len(" ".join(value.split())) > DATE_VALUE_LIMIT:
            return (f"not an RFC 5322 date-time in its first {DATE_VALUE_LIMIT} characters (the field has "
                    f"{len(value)}; no more of it is read)")
        return "not an RFC 5322 date-time"
    if _in_utc(parsed) is None:
        return "its moment in UTC lies outside the years 1 to 9999 (not a date a reader can hold)"
    zone = text.split()[-1] if text.split() else ""
    if numeric_zone and not re.fullmatch(r"[+-][0-9]{4}", zone):
        return f"the zone {zone!r} is not numeric"
    if zone.isalpha():
        return _alphabetic_zone(zone)
    if re.match(r"^\s*(?:[A-Za-z]{3},\s*)?\d{1,2}\s+\w+\s+\d{2}\s", text):
        return "two-digit year (obsolete form)"
    match = re.match(r"^\s*([A-Za-z]{3}),", text)
    if match and match.group(1).title() != parsed.strftime("%a"):
        return f"{match.group(1)} is not the weekday of that date ({parsed.strftime('%a')})"
    return None


def _alphabetic_zone(zone: str) -> str:
    """Why a zone written in letters is wrong: RFC 5322 §3.3 generates only numeric zones."""
    if _OBS_ZONE.fullmatch(zone):
        return (f"the zone {zone!r} is the obsolete alphabetic form (obs-zone), which RFC 5322 §3.3 "
                "says MUST NOT be generated; write it as a numeric offset such as +0000")
    return f"the zone {zone!r} is no zone RFC 5322 §3.3 defines; write it as a numeric offset such as +0000"


def parse_date(value: str) -> datetime | None:
    """*value* (comments dropped, at most DATE_VALUE_LIMIT characters read) as a datetime, or None."""
    return _parse(without_comments(value))


def utc_seconds(value: str) -> float | None:
    """*value* (comments dropped) as seconds since the epoch, or None when it has no zone or no UTC moment.

    Seconds, not datetimes, so comparing two dates with a margin never
    overflows at the edges of the calendar.
    """
    parsed = _parse(without_comments(value))
    if parsed is None or parsed.tzinfo is None:
        return None
    moment = _in_utc(parsed)
    return None if moment is None else moment.timestamp()
