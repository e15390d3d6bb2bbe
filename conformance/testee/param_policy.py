"""Which MAIL and RCPT parameters the testee accepts, and the reply when it refuses one.

A conforming MTA refuses a parameter it does not know (555), one given twice
or with a bad value (501), a SIZE over its limit (552).  The DSN parameters'
values are judged by params.py; the faults in faults.py that concern
parameters (refused, accepted when invalid, case-sensitive, short limits, ...)
are applied here, so the session only asks for a verdict.
"""

from __future__ import annotations

from . import params as P

#: parameters MAIL takes in any session; RET and ENVID only after EHLO
MAIL_PARAMETERS = frozenset({"SIZE", "BODY", "SMTPUTF8"})
MAIL_DSN_PARAMETERS = frozenset({"RET", "ENVID"})
#: parameters RCPT takes after EHLO (none after HELO)
RCPT_PARAMETERS = frozenset({"NOTIFY", "ORCPT"})


def refusal(plist: list[P.Param], allowed: frozenset[str], faults: frozenset[str],
            max_message_size: int) -> str | None:
    """None when every parameter is acceptable, else the full reply refusing the first that is not."""
    seen: set[str] = set()
    for param in plist:
        if param.name in seen and not (param.name in P.DSN_PARAMETERS and "dsn-duplicates-accepted" in faults):
            return f"501 5.5.4 {param.name} parameter given twice"
        seen.add(param.name)
        if param.name not in allowed:
            return f"555 5.5.4 {param.name} parameter not recognized"
        if param.name in P.DSN_PARAMETERS:
            status = _dsn_refusal(param, faults)
        else:
            status = _other_refusal(param, faults, max_message_size)
        if status:
            return status
    return None


def _dsn_refusal(param: P.Param, faults: frozenset[str]) -> str | None:
    """None when the DSN parameter is acceptable, else the reply refusing it."""
    if "dsn-params-refused" in faults or "no-dsn" in faults:
        return f"555 5.5.4 {param.name} parameter not supported"
    if "dsn-invalid-accepted" in faults:
        return None
    case_sensitive = "dsn-keywords-case-sensitive" in faults
    short = "dsn-short-limits" in faults
    value = param.value
    if param.name == "RET":
        error = P.ret_error(value, case_sensitive)
    elif param.name == "ENVID":
        error = P.envid_error(value, 64 if short else 100)
    elif param.name == "NOTIFY":
        error = P.notify_error(value, case_sensitive)
    else:
        error = P.orcpt_error(value, 256 if short else 500)
    return f"501 5.5.4 {error}" if error else None


def _other_refusal(param: P.Param, faults: frozenset[str], max_message_size: int) -> str | None:
    """None when SIZE, BODY or SMTPUTF8 is acceptable, else the reply refusing it."""
    value = param.value or ""
    if param.name == "SIZE":
        if not value.isdigit():
            return "501 5.5.4 SIZE needs a number"
        if int(value) > max_message_size:
            return "552 5.3.4 Message size exceeds fixed limit"
    elif param.name == "BODY":
        if value.upper() not in ("7BIT", "8BITMIME"):
            return "501 5.5.4 BODY is 7BIT or 8BITMIME"
        if value.upper() == "8BITMIME" and "8bitmime-refused" in faults:
            return "502 5.5.1 Not implemented"
    elif param.name == "SMTPUTF8":
        if param.value is not None:
            return "501 5.5.4 SMTPUTF8 takes no value"
        if "smtputf8-refused" in faults:
            return "500 5.5.1 Not implemented"
    return None
