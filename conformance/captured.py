"""Judging what reached the harness after a case's dialogue: NDRs and relayed copies.

A case's dialogue proves what the target *said*; this module proves what it
*did* after saying 250: whether an NDR came, to whom, in what envelope and
with what report (``ndr:``), and whether the message reached the next hop with
its DSN parameters handled as RFC 3461 §5.2.1-5.2.2 require (``relayed:``).

Transactions are attributed to a case by its token, which the runner puts in
the reverse-path, in the recipient addresses and in the message itself, so
cases sent together never see each other's mail.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from .findings import Finding, Location, Severity
from .suite.model import NDRExpectation, RecipientReport, RelayExpectation

if TYPE_CHECKING:
    from .harness.mailbox import Mailbox, Transaction
    from .ndr.envelope import Envelope
    from .ndr.dsn_fields import Block
    from .smtp.transcript import Transcript
    from .target import TargetSettings

#: parameters RFC 3461 defines on MAIL and on RCPT
DSN_MAIL_PARAMS = ("ENVID", "RET")
DSN_RCPT_PARAMS = ("NOTIFY", "ORCPT")
#: an NDR Date further than this from its arrival does not reflect generation time (NDR-HDR-003)
DATE_SKEW = 300.0


class DialogueView(Protocol):
    """What the judge needs from a finished dialogue (runner._Dialogue provides it)."""

    token: str
    settings: "TargetSettings"
    capabilities: dict[str, str]

    @property
    def transcript(self) -> "Transcript": ...

    def add(self, check_id: str, message: str, where: str, condition: str | None = None) -> None: ...

    def keep(self, f: Finding) -> None: ...

    def render(self, template: str, n: int) -> str: ...

    def remaining(self, seconds: float) -> float: ...

    @property
    def envelope(self) -> "SentView": ...


class SentView(Protocol):
    """The original transaction as the target accepted it (runner.SentEnvelope)."""

    mail_from: str | None
    mail_params: list[str]

    def accepted(self) -> list[tuple[str, list[str], int | None]]: ...

    def for_lint(self) -> "Envelope": ...


def param(params: list[str], name: str) -> str | None:
    """The value of parameter *name* (case-insensitive keyword) in *params*, as written."""
    for p in params:
        key, _, value = p.partition("=")
        if key.upper() == name:
            return value
    return None


def _names(params: list[str]) -> set[str]:
    return {p.partition("=")[0].upper() for p in params}


def local_part(address: str) -> str:
    return address.rsplit("@", 1)[0].lower()


class CaptureJudge:
    """Waits for and judges one case's captured transactions."""

    def __init__(self, dialogue: DialogueView, mailbox: "Mailbox") -> None:
        self.d = dialogue
        self.mailbox = mailbox
        self.token = dialogue.token
        sent = dialogue.envelope
        self.sender = (sent.mail_from or "").lower()
        self.sent = sent

    # -- attribution ----------------------------------------------------------------
    def is_ndr(self, tx: "Transaction") -> bool:
        """Mail at the sink that belongs to this case: to its sender, to a token address, or carrying the token."""
        if tx.role != "sink":
            return False
        token = self.token.lower()
        if any((self.sender and r.address.lower() == self.sender) or token in r.address.lower()
               for r in tx.recipients):
            return True
        return tx.data is not None and self.token.encode() in tx.data

    def is_relayed(self, hop: str) -> Callable[["Transaction"], bool]:
        """Transactions at the next hop (on the port *hop* names) that carry this case's token."""
        want_dsn = hop == "dsn"
        token = self.token.lower()

        def match(tx: "Transaction") -> bool:
            return (tx.role != "sink" and tx.dsn_advertised == want_dsn
                    and (token in tx.mail_from.lower() or any(token in r.address.lower() for r in tx.recipients)))

        return match

    # -- NDRs -------------------------------------------------------------------------
    def judge_ndrs(self, spec: NDRExpectation, within: float | None = None) -> None:
        d = self.d
        transcript = d.transcript
        settings = d.settings
        override = within
        within = within or spec.within or settings.ndr_timeout
        if spec.count == 0:
            quiet = override or settings.quiet_period  # a slow case waits its whole delay timeout
            transcript.note(f"waiting {quiet:g} s: no NDR may arrive")
            found = self.mailbox.wait_for(self.is_ndr, timeout=d.remaining(quiet), settle=True)
            notices = [tx for tx in found if tx.recipients and all(
                local_part(r.address) == "postmaster" for r in tx.recipients)]
            for tx in notices:
                d.keep(Finding(spec.check, Severity.INFO,
                               f"a notice went to <{tx.recipients[0].address}> (the postmaster may be told, "
                               f"by means that generate no DSN)", "after the dialogue", ()))
            found = [tx for tx in found if tx not in notices]
            if found:
                d.add(spec.check, f"{len(found)} NDR(s) arrived although none may "
                      f"(to {', '.join('<' + r.address + '>' for tx in found for r in tx.recipients)})",
                      where="after the dialogue")
        else:
            transcript.note(f"waiting up to {within:g} s for {spec.count} NDR(s) to <{self.sender}>")
            found = self.mailbox.wait_for(self.is_ndr, timeout=d.remaining(within), count=spec.count)
            if len(found) < spec.count and spec.optional:
                d.keep(Finding(spec.check, Severity.INFO, f"no NDR within {within:g} s; the target may send none",
                               "after the dialogue", ()))
            elif len(found) < spec.count:
                d.add(spec.check, f"expected {spec.count} NDR(s) within {within:g} s, {len(found)} arrived",
                      where="after the dialogue")
            else:
                # a duplicate may follow: wait out the quiet period from the dialogue (already
                # over when cases were sent together) or a short grace after the last arrival
                last = max(tx.ended or tx.started for tx in found)
                grace = max(d.remaining(settings.quiet_period),
                            min(2.0, settings.quiet_period) - (time.time() - last))
                found = self.mailbox.wait_for(self.is_ndr, timeout=max(0.0, grace), count=spec.count + 1,
                                              settle=True)
                if len(found) > spec.count:
                    d.add(spec.extra_check, f"{len(found)} NDRs arrived for one message; {spec.count} expected",
                          where="after the dialogue", condition=spec.extra_condition)
        for number, tx in enumerate(found, start=1):
            self.judge_one_ndr(spec, tx, f"NDR {number}")
        if spec.count and len(found) >= spec.count:
            for report in spec.reports:
                self.judge_report(report, found)

    def judge_one_ndr(self, spec: NDRExpectation, tx: "Transaction", where: str) -> None:
        from .ndr.lint import lint_bytes

        d = self.d
        d.transcript.note(f"{where} captured by the harness as {tx.id}: MAIL FROM:<{tx.mail_from}> "
                          f"{' '.join(tx.mail_params)} RCPT TO:{', '.join('<' + r.address + '>' for r in tx.recipients)}")
        for line in (tx.data or b"").splitlines()[:80]:
            d.transcript.note(f"  | {line.decode('utf-8', 'replace')}")
        if spec.envelope:
            self.judge_ndr_envelope(tx, where)
        if tx.data is None:
            return
        self.judge_date(tx, where)
        if spec.lint:
            result = lint_bytes(tx.data, profile=d.settings.profile, envelope=self.sent.for_lint(), wire=True,
                                source=where, dsn_expected="DSN" in d.capabilities)
            for f in result.findings:
                d.keep(Finding(f.check_id, f.severity, f.message, Location(detail=f"{where}, {f.where}"), f.refs))
        if spec.final_recipients is not None:
            reported = sorted(a.lower() for a, _ in self.blocks(tx))
            wanted = sorted(d.render(a, 1).lower() for a in spec.final_recipients)
            if reported != wanted:
                d.add("DSN-SEM-030", f"the NDR reports {reported or 'no recipient'}, expected {wanted}", where,
                      condition="wrong-recipient")

    def judge_ndr_envelope(self, tx: "Transaction", where: str) -> None:
        """NDR-ENV-001..005, 007: the NDR's own SMTP envelope."""
        d = self.d
        if tx.mail_from != "":
            d.add("NDR-ENV-001", f"the NDR was sent with MAIL FROM:<{tx.mail_from}>, not the null path <>", where)
        others = [r.address for r in tx.recipients if r.address.lower() != self.sender]
        if others:
            d.add("NDR-ENV-002", f"the NDR went to {others}, not only the original reverse-path <{self.sender}>",
                  where)
        if len(tx.recipients) > 1:
            d.add("NDR-ENV-007", f"the NDR transaction has {len(tx.recipients)} recipients", where)
        if param(tx.mail_params, "RET") is not None:
            d.add("NDR-ENV-003", "the NDR's MAIL carries a RET parameter", where)
        original_envid = param(self.sent.mail_params, "ENVID")
        envid = param(tx.mail_params, "ENVID")
        if envid is not None and original_envid is not None and envid == original_envid:
            d.add("NDR-ENV-005", f"the NDR's MAIL reuses the original message's ENVID={envid}", where)
        for r in tx.recipients:
            notify = param(r.params, "NOTIFY")
            if notify is not None and notify.upper() != "NEVER":
                d.add("NDR-ENV-004", f"the NDR's RCPT carries NOTIFY={notify}; only NOTIFY=NEVER is allowed",
                      where, condition="other-value")

    def judge_date(self, tx: "Transaction", where: str) -> None:
        """NDR-HDR-003: the Date reflects when the NDR was written (within DATE_SKEW of its arrival)."""
        from .ndr.message import load

        date = load(tx.data or b"").header("Date")
        if not date:
            return  # a missing Date is NDR-HDR-001's finding
        try:
            when = email.utils.parsedate_to_datetime(date[0].value).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            return  # an invalid Date is NDR-HDR-002's finding
        skew = when - (tx.ended or tx.started or time.time())
        if abs(skew) > DATE_SKEW:
            self.d.add("NDR-HDR-003", f"the NDR's Date is {abs(skew):.0f} s {'after' if skew > 0 else 'before'} "
                       f"its arrival: it does not reflect when the NDR was generated", where)

    @staticmethod
    def blocks(tx: "Transaction") -> list[tuple[str, "Block"]]:
        """(Final-Recipient address, block) for each per-recipient block of a captured NDR."""
        from .ndr.message import load

        parsed = load(tx.data or b"")
        out = []
        for block in parsed.status.recipients if parsed.status else []:
            final = block.first("final-recipient")
            if final is not None:
                out.append((final.typed()[1].strip("<> "), block))
        return out

    def judge_report(self, report: RecipientReport, found: list["Transaction"]) -> None:
        """One expected per-recipient block: present in some NDR, with the fields the case names."""
        d = self.d
        address = d.render(report.final, 1)
        blocks = [(n, b) for n, tx in enumerate(found, start=1) for a, b in self.blocks(tx)
                  if a.lower() == address.lower()]
        if not blocks:
            d.add(report.check, f"no NDR has a per-recipient block for <{address}>", "after the dialogue",
                  condition=report.condition)
            return
        number, block = blocks[0]
        where = f"NDR {number}, block for <{address}>"

        def add(message: str) -> None:
            d.add(report.check, message, where, condition=report.condition)

        def value(name: str) -> str | None:
            field = block.first(name)
            return None if field is None else field.value

        action = value("action")
        if report.action is not None and (action or "").strip().lower() != report.action:
            add(f"Action is {action!r}, expected {report.action!r}")
        for name, pattern in (("status", report.status), ("diagnostic-code", report.diagnostic)):
            got = value(name)
            if pattern is not None and (got is None or not re.match(d.render(pattern, 1), got.strip(), re.I)):
                add(f"{name.title()} is {got!r}, expected /{pattern}/")
        remote = value("remote-mta")
        if report.remote_mta is True and remote is None:
            add("no Remote-MTA: the block does not name the server that refused")
        elif report.remote_mta is False and remote is not None:
            add(f"Remote-MTA {remote!r} for a failure no remote server was involved in")

    # -- relayed copies -----------------------------------------------------------------
    def judge_relayed(self, spec: RelayExpectation) -> None:
        d = self.d
        settings = d.settings
        match = self.is_relayed(spec.hop)
        port = "DSN" if spec.hop == "dsn" else "plain (no DSN)"
        if spec.count == 0:
            d.transcript.note(f"waiting {settings.quiet_period:g} s: nothing may reach the next hop")
            found = self.mailbox.wait_for(match, timeout=d.remaining(settings.quiet_period), settle=True)
            if found:
                d.add(spec.check, f"{len(found)} transaction(s) reached the next hop although the message was "
                      f"refused", where="after the dialogue")
        else:
            within = spec.within or settings.ndr_timeout
            d.transcript.note(f"waiting up to {within:g} s for the message at the {port} next hop")
            found = self.mailbox.wait_for(match, timeout=d.remaining(within), count=spec.count)
            if len(found) < spec.count:
                d.add(spec.check, f"expected the message at the {port} next hop within {within:g} s; "
                      f"{len(found)} transaction(s) arrived", where="after the dialogue")
        for number, tx in enumerate(found, start=1):
            where = f"relayed copy {number}"
            d.transcript.note(f"{where} captured by the harness as {tx.id}: MAIL FROM:<{tx.mail_from}> "
                              f"{' '.join(tx.mail_params)} RCPT TO: "
                              + ", ".join(f"<{r.address}> {' '.join(r.params)}".strip() for r in tx.recipients))
            if spec.dsn_params == "passed-on":
                self.judge_passed_on(tx, spec.check, where)
            elif spec.dsn_params == "none":
                self.judge_none_passed(tx, spec.check, where)

    def judge_passed_on(self, tx: "Transaction", check: str, where: str) -> None:
        """RFC 3461 §5.2.1: to a DSN server ENVID, RET, NOTIFY pass unchanged; ORCPT byte-identical or added."""
        d = self.d
        sent = self.sent
        for name in DSN_MAIL_PARAMS:
            was, now = param(sent.mail_params, name), param(tx.mail_params, name)
            if was is None and now is not None:
                d.add(check, f"MAIL carries {name}={now}, which the original did not have", where)
            elif was is not None and now is None:
                d.add(check, f"{name}={was} was not passed on", where)
            elif was is not None and now is not None and not _same(name, was, now):
                d.add(check, f"{name}={was} was passed on altered, as {name}={now}", where)
        for address, params, _ in sent.accepted():
            copies = [r for r in tx.recipients if r.address.lower() == address.lower()]
            if not copies:
                continue
            relayed = copies[0]
            for name in DSN_RCPT_PARAMS:
                was, now = param(params, name), param(relayed.params, name)
                if was is not None and now is None:
                    d.add(check, f"<{address}>: {name}={was} was not passed on", where)
                elif was is not None and now is not None and not _same(name, was, now):
                    d.add(check, f"<{address}>: {name}={was} was passed on altered, as {name}={now}", where)
                elif was is None and now is not None:
                    if name == "ORCPT" and _orcpt_of(now, address):
                        continue  # §5.2.1(c): an ORCPT equal to the address as received may be added
                    d.add(check, f"<{address}>: RCPT carries {name}={now}, which the original did not have", where)

    def judge_none_passed(self, tx: "Transaction", check: str, where: str) -> None:
        """RFC 3461 §5.2.2(a): to a server without DSN no DSN parameter is sent."""
        found = sorted(_names(tx.mail_params) & set(DSN_MAIL_PARAMS))
        found += sorted({n for r in tx.recipients for n in _names(r.params) & set(DSN_RCPT_PARAMS)})
        if found:
            self.d.add(check, f"DSN parameters sent to a server that does not advertise DSN: {', '.join(found)}",
                       where)


def _same(name: str, was: str, now: str) -> bool:
    """Unchanged: ENVID and ORCPT byte-identical; RET and NOTIFY keywords case-insensitively."""
    if name in ("ENVID", "ORCPT"):
        return was == now
    return sorted(w.strip().upper() for w in was.split(",")) == sorted(w.strip().upper() for w in now.split(","))


def _orcpt_of(orcpt: str, address: str) -> bool:
    kind, _, value = orcpt.partition(";")
    from .ndr.envelope import xtext_decode

    return kind.strip().lower() == "rfc822" and xtext_decode(value) == address
