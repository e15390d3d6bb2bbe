"""A step's expectations held against the reply it got: what failed, in words."""

from __future__ import annotations

import re
from collections.abc import Callable

from ..smtp.reply import Reply
from ..suite.model import Expectation


def matches(spec: str, reply: Reply) -> bool:
    """``550`` matches that code, ``5xx`` the class."""
    if spec.endswith("xx"):
        return reply.klass is not None and str(reply.klass) == spec[0]
    return spec.isdigit() and reply.code == int(spec)


def unmet(exp: Expectation, reply: Reply, render: Callable[[str], str]) -> str | None:
    """Why *reply* does not meet *exp*, or None when it does (or the expectation does not apply)."""
    if exp.only_if is not None and not matches(render(exp.only_if), reply):
        return None
    if exp.codes:
        wanted = [render(c) for c in exp.codes]
        if not any(matches(spec, reply) for spec in wanted):
            return f"expected {' or '.join(wanted)}, got {reply.one_line()!r}"
    if exp.not_codes and reply.code in exp.not_codes:
        return f"got {reply.one_line()!r}"
    if exp.enhanced and reply.enhanced is not None and reply.enhanced != exp.enhanced:
        return f"expected enhanced code {exp.enhanced}, got {reply.enhanced} in {reply.one_line()!r}"
    if exp.text and not re.search(exp.text, reply.text, re.IGNORECASE):
        return f"reply text {reply.text!r} does not match /{exp.text}/"
    return None


def needs_final_answer(expectations: tuple[Expectation, ...]) -> bool:
    """True unless some expectation of the step allows a 4yz reply (then 4yz is an answer, not a tempfail)."""
    return not any(exp.codes and exp.allows_class(4) for exp in expectations)
