"""What an NDR check reports, and the shape every check has.

A check yields ``Hit(check_id, message, line, condition)``: the catalogue id,
plain words, the line of the message it concerns and the condition key that
picks the severity.  The engine (lint.py) turns hits into findings with the
registry's severity for the profile, so no check chooses a severity itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .dsn_fields import Block
from .message import NDRMessage


@dataclass(frozen=True)
class Hit:
    """One thing a check found: a check id, what is wrong, the message line (0: none), a condition key."""

    check_id: str
    message: str
    line: int = 0
    condition: str | None = None


#: a check: the parsed NDR in, its hits out (never raises on odd input: the parser made data of it)
NDRCheck = Callable[[NDRMessage], Iterator[Hit]]


def blocks(ndr: NDRMessage) -> list[Block]:
    """The per-recipient blocks of an NDR known to have delivery-status fields."""
    assert ndr.status is not None
    return ndr.status.recipients
