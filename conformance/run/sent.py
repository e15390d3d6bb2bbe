"""What the client sent in a case's dialogue, as the judges of captured mail need it.

The dialogue proves what the target *said*; NDRs and relayed copies are judged
afterwards against what the target accepted from us (the original envelope)
and the values the dialogue used (token, placeholders).  This module is that
hand-over, so the judges never reach back into the dialogue.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from ..ndr.envelope import Envelope, OriginalRecipient
from ..smtp.params import param, split_path
from ..smtp.transcript import Transcript
from ..suite import placeholders
from ..suite.model import Case
from ..target import TargetSettings


#: how the judges name a captured message in a case's transcript ("NDR 1", "relayed copy 2", "postmaster
#: copy 1"); the reports find the names again with CAPTURE_NAMED, so both sides read this one spelling
def capture_named(what: str, tx_id: str) -> str:
    return f"{what} captured by the harness as {tx_id}:"


CAPTURE_NAMED = re.compile(r"\b(NDR|relayed copy|postmaster copy) (\d+) captured by the harness as (\S+?):")

#: (address, RCPT parameter words, the target's reply code)
SentRecipient = tuple[str, list[str], "int | None"]


@dataclass
class SentEnvelope:
    """The transaction as the target accepted it from us (for judging its NDRs)."""

    mail_from: str | None = None
    mail_params: list[str] = field(default_factory=list)
    rcpts: list[SentRecipient] = field(default_factory=list)
    data_sent: bool = False
    data_code: int | None = None
    #: the name the client gave in its last EHLO or HELO (Received-From-MTA is held to it)
    helo: str | None = None
    _pending: tuple[str, str, list[str]] | None = None

    def sent(self, command: str, line: str) -> None:
        """Note a command as sent; MAIL and RCPT count once the target's reply is known."""
        if command in ("MAIL", "RCPT"):
            argument = line.split(" ", 1)[1] if " " in line else ""
            path = split_path(argument.lstrip(), "FROM" if command == "MAIL" else "TO")
            self._pending = (command, path[0], path[1]) if path else None
        elif command in ("RSET", "EHLO", "HELO"):
            self.mail_from, self.mail_params, self.rcpts, self._pending = None, [], [], None
            if command != "RSET":
                self.helo = line.split(" ", 1)[1].strip() if " " in line else ""

    def replied(self, command: str, code: int | None) -> None:
        pending, self._pending = self._pending, None
        if command == "DATA-END":
            self.data_code = code
        if pending is None or pending[0] != command:
            return
        if command == "MAIL" and code is not None and code // 100 == 2:
            self.mail_from, self.mail_params = pending[1], pending[2]
        elif command == "RCPT":
            self.rcpts.append((pending[1], pending[2], code))

    def accepted(self) -> list[SentRecipient]:
        return [r for r in self.rcpts if r[2] is not None and r[2] // 100 == 2]

    def original(self) -> Envelope:
        """The envelope the NDR judge holds an NDR against (the S+ctx and transaction checks)."""
        return Envelope(
            reverse_path=self.mail_from or "",
            recipients=tuple(OriginalRecipient(a, param(p, "ORCPT"), param(p, "NOTIFY"))
                             for a, p, _ in self.accepted()),
            envid=param(self.mail_params, "ENVID"),
            ret=param(self.mail_params, "RET"),
        )


@dataclass
class SentCase:
    """A finished dialogue, as the judges of what reached the harness see it."""

    case: Case
    token: str
    settings: TargetSettings
    capabilities: dict[str, str]
    envelope: SentEnvelope
    values: dict[str, str | None]
    transcript: Transcript
    talked_at: float = field(default_factory=time.monotonic)

    def render(self, template: str) -> str:
        """A case-file template with this run's placeholder values."""
        return placeholders.render(template, self.values, 1, self.token)

    def helo_names(self) -> tuple[str, ...]:
        """The names the client gave the target in EHLO: the one the dialogue sent, and --mta-helo."""
        return tuple(n for n in dict.fromkeys((self.envelope.helo, self.settings.helo)) if n)

    def remaining(self, seconds: float) -> float:
        """Time left of *seconds* counted from the end of this case's dialogue.

        Cases that were sent together wait together: a quiet period that began
        while other cases were being judged is not waited for again.
        """
        return max(0.0, self.talked_at + seconds - time.monotonic())
