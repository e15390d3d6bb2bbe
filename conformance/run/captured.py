"""NDRs captured after a case's dialogue: attributed to the case, waited for, handed to the NDR judge.

A case's dialogue proves what the target *said*; this module proves what it
*did* after saying 250: whether an NDR came, to whom, and with what report
(``ndr:``).  The NDR itself (its envelope, its Date, its bytes) is judged by
:mod:`conformance.ndr`, the same checks ``mta-conformance lint`` runs; here are
the waits and what only the case knows (how many NDRs, for which recipients).

Transactions are attributed to a case by its token, which the runner puts in
the reverse-path, in the recipient addresses and in the message itself, so
cases sent together never see each other's mail.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from ..findings import Finding, Location, Severity
from ..harness.mailbox import Transaction
from ..ndr.classify import VERDICTS, classify, looks_like_message
from ..ndr.dsn_fields import Block, Field
from ..ndr.lint import lint_message, mpr_001_condition
from ..ndr.message import NDRMessage, load
from ..ndr.transaction import ReceivedEnvelope, ReceivedRecipient, date_findings, envelope_findings
from ..suite.model import NDRExpectation, RecipientReport
from .collector import FindingCollector
from .ndr_context import ActionFilter, raw_reverse_path, received_from_findings, reverse_path_findings
from .sent import SentCase, capture_named
from .waiting import WatchedMailbox

AFTER = Location(detail="after the dialogue")


#: seconds one captured message may take to lint: a target cannot stall a run with a pathological NDR
#: (past it the remaining checks do not run and the case is inconclusive, saying so)
LINT_BUDGET_S = 2.0

def ndr_of(token: str, sender: str) -> Callable[[Transaction], bool]:
    """Mail at the sink that belongs to a case: to its sender, to a token address, or carrying the token.

    A copy to the postmaster is not one of the case's NDRs (:func:`copy_of`).
    """
    lowered, sender, raw = token.lower(), sender.lower(), token.encode()

    def match(tx: Transaction) -> bool:
        if tx.role != "sink" or postmaster_copy(tx, sender):
            return False
        if any((sender and r.address.lower() == sender) or lowered in r.address.lower() for r in tx.recipients):
            return True
        return tx.data is not None and raw in tx.data

    return match


def postmaster_copy(tx: Transaction, sender: str) -> bool:
    """A notice that went only to a postmaster (RFC 5321 §6.1 lets the postmaster be told), not to *sender*."""
    return bool(tx.recipients) and all(
        r.address.rsplit("@", 1)[0].lower() == "postmaster" and r.address.lower() != sender for r in tx.recipients)


def copy_of(token: str, sender: str) -> Callable[[Transaction], bool]:
    """A postmaster copy at the sink that carries the case's token (in its returned headers or body)."""
    lowered, sender, raw = token.lower(), sender.lower(), token.encode()

    def match(tx: Transaction) -> bool:
        return tx.role == "sink" and postmaster_copy(tx, sender) and (
            (tx.data is not None and raw in tx.data) or lowered in tx.mail_from.lower())

    return match


@dataclass
class CapturedNDR:
    """One NDR of a case, parsed once for every check that reads it."""

    number: int
    tx: Transaction
    parsed: NDRMessage | None

    @classmethod
    def of(cls, number: int, tx: Transaction) -> CapturedNDR:
        try:
            parsed = load(tx.data) if tx.data is not None else None
        except Exception:  # noqa: BLE001 - a garbage NDR gets findings from the linter, never a traceback
            parsed = None
        return cls(number, tx, parsed)

    def blocks(self) -> list[tuple[str, Block]]:
        """(Final-Recipient address, block) for each per-recipient block."""
        status = self.parsed.status if self.parsed is not None else None
        out = []
        for block in status.recipients if status else []:
            final = block.first("final-recipient")
            if final is not None:
                out.append((final.typed()[1].strip("<> "), block))
        return out


def judge_ndrs(sent: SentCase, spec: NDRExpectation, mailbox: WatchedMailbox, log: FindingCollector,
               within: float | None = None) -> None:
    """Wait for the NDRs *spec* expects (or the quiet period, for none), then judge each and the reports.

    NDRs reporting an action the case does not count (``actions``) are linted
    like the others but neither counted nor held to the reports; postmaster
    copies carrying the case's token are linted too, and said to be copies.
    """
    counting = ActionFilter(spec.actions)
    if spec.count == 0:
        counted = _wait_for_none(sent, spec, mailbox, log, within, counting)
    else:
        counted = _wait_for_some(sent, spec, mailbox, log, within, counting)
    aside = _set_aside(sent, spec, mailbox, log, within, counting)
    ndrs = [CapturedNDR.of(number, tx) for number, tx in enumerate(counted + aside, start=1)]
    for ndr in ndrs:
        judge_one(sent, spec, ndr, log)
    if spec.count and len(counted) >= spec.count:
        for report in spec.reports:
            judge_report(sent, report, ndrs[: len(counted)], log)
    sender = (sent.envelope.mail_from or "").lower()
    for number, tx in enumerate(mailbox.wait_for(copy_of(sent.token, sender), timeout=0.0), start=1):
        judge_copy(sent, spec, number, tx, log)


def _wait_for_none(sent: SentCase, spec: NDRExpectation, mailbox: WatchedMailbox, log: FindingCollector,
                   override: float | None, counting: ActionFilter) -> list[Transaction]:
    quiet = override or sent.settings.quiet_period  # a slow case waits its whole delay timeout
    sent.transcript.note(f"waiting {quiet:g} s: no NDR may arrive")
    is_ndr = ndr_of(sent.token, sent.envelope.mail_from or "")
    found = mailbox.wait_for(lambda tx: is_ndr(tx) and counting.ends_wait(tx), timeout=sent.remaining(quiet),
                             settle=True)
    found = [tx for tx in found if counting.counts(tx)]
    if found:
        log.add(spec.check, f"{len(found)} NDR(s) arrived although none may "
                f"(to {', '.join('<' + r.address + '>' for tx in found for r in tx.recipients)})", where=AFTER)
    return found


def _wait_for_some(sent: SentCase, spec: NDRExpectation, mailbox: WatchedMailbox, log: FindingCollector,
                   override: float | None, counting: ActionFilter) -> list[Transaction]:
    settings, sender = sent.settings, (sent.envelope.mail_from or "").lower()
    within = override or spec.within or settings.ndr_timeout
    is_ndr = ndr_of(sent.token, sender)

    def counted(tx: Transaction) -> bool:
        return is_ndr(tx) and counting.counts(tx)

    sent.transcript.note(f"waiting up to {within:g} s for {spec.count} NDR(s) to <{sender}>")
    found = mailbox.wait_for(lambda tx: is_ndr(tx) and counting.ends_wait(tx), timeout=sent.remaining(within),
                             count=spec.count)
    final = [tx for tx in found if not counting.counts(tx)]
    found = [tx for tx in found if counting.counts(tx)]
    if len(found) < spec.count and spec.optional:
        if not final and not mailbox.wait_for(lambda tx: is_ndr(tx) and not counting.counts(tx), timeout=0.0):
            log.note(spec.check, f"no NDR within {within:g} s; the target may send none", AFTER)
    elif len(found) < spec.count:
        log.add(spec.check, f"expected {spec.count} NDR(s) within {within:g} s, {len(found)} arrived", where=AFTER)
    else:
        # a duplicate may follow: wait out the quiet period from the dialogue (already
        # over when cases were sent together) or a short grace after the last arrival
        last = max(tx.ended or tx.started for tx in found)
        grace = max(sent.remaining(settings.quiet_period), min(2.0, settings.quiet_period) - (time.time() - last))
        found = mailbox.wait_for(counted, timeout=max(0.0, grace), count=spec.count + 1, settle=True)
        if len(found) > spec.count:
            log.add(spec.extra_check, f"{len(found)} NDRs arrived for one message; {spec.count} expected",
                    where=AFTER, condition=spec.extra_condition)
    return found


def _set_aside(sent: SentCase, spec: NDRExpectation, mailbox: WatchedMailbox, log: FindingCollector,
               override: float | None, counting: ActionFilter) -> list[Transaction]:
    """The case's NDRs that report an action it does not count, each said as info (it ended the wait)."""
    if not counting.actions:
        return []
    is_ndr = ndr_of(sent.token, sent.envelope.mail_from or "")
    aside = mailbox.wait_for(lambda tx: is_ndr(tx) and not counting.counts(tx), timeout=0.0)
    wait = override or (spec.within or sent.settings.ndr_timeout if spec.count else sent.settings.quiet_period)
    ended = time.time() - (time.monotonic() - sent.talked_at)  # when the dialogue ended, on the wall clock
    judged = " and ".join(counting.actions)
    for tx in aside:
        after, reported = max(0.0, (tx.ended or tx.started) - ended), counting.reported(tx)
        if reported == "failed" and override:
            said = (f"the final failed DSN arrived after {after:.0f} s, before the delay timeout of {wait:g} s: "
                    f"the queue lifetime of the target is shorter than --mta-delay-timeout; only {judged} "
                    f"reports are judged here")
        elif reported == "failed":
            said = (f"the final failed DSN arrived after {after:.0f} s, before the wait of {wait:g} s ended; "
                    f"only {judged} reports are judged here")
        else:
            said = f"an NDR reporting {reported} arrived after {after:.0f} s; only {judged} reports are judged here"
        log.note(spec.check, said, AFTER)
    return aside


def received_envelope(tx: Transaction) -> ReceivedEnvelope:
    """The harness's record of a transaction as the NDR judge's plain data."""
    return ReceivedEnvelope(
        reverse_path=tx.mail_from, arrived=tx.ended or tx.started or time.time(),
        mail_params=tuple(tx.mail_params),
        recipients=tuple(ReceivedRecipient(r.address, tuple(r.params)) for r in tx.recipients))


def judge_one(sent: SentCase, spec: NDRExpectation, ndr: CapturedNDR, log: FindingCollector) -> None:
    """One NDR: its transaction and Date, its bytes (the linter), the recipients it reports."""
    tx, where = ndr.tx, Location(ndr=ndr.number)
    _note_capture(sent, f"NDR {ndr.number}", tx)
    profile, original, received = sent.settings.profile, sent.envelope.original(), received_envelope(tx)
    if spec.envelope:
        envelope = envelope_findings(received, profile=profile, where=where, original=original)
        odd = reverse_path_findings(tx, profile=profile, where=where)  # said in its own words, not twice
        log.extend([f for f in envelope if not odd or f.check_id != "NDR-ENV-001"] + odd)
    if ndr.parsed is None:
        judge_is_report(sent, spec, ndr, [], log)
        return
    log.extend(date_findings(ndr.parsed, received.arrived, profile=profile, where=where))
    linted: list[Finding] = []
    if spec.lint:
        result = lint_message(ndr.parsed, profile=profile, envelope=original, wire=True, source=str(where),
                              dsn_advertised="DSN" in sent.capabilities, where=where, budget_s=LINT_BUDGET_S)
        linted = result.findings
        log.extend(linted)
        if not result.fully_judged:
            log.unjudged.append(f"NDR {ndr.number} {result.verdict}")
        log.extend(received_from_findings(ndr.parsed, sent.helo_names(), profile=profile, where=where))
    judge_is_report(sent, spec, ndr, linted, log)
    if spec.final_recipients is not None:
        reported = sorted(a.lower() for a, _ in ndr.blocks())
        wanted = sorted(sent.render(a).lower() for a in spec.final_recipients)
        if reported != wanted:
            log.add("DSN-SEM-030", f"the NDR reports {reported or 'no recipient'}, expected {wanted}", where,
                    condition="wrong-recipient")


def _note_capture(sent: SentCase, what: str, tx: Transaction) -> None:
    """The captured transaction in the case's transcript: its envelope as sent, its first lines."""
    sent.transcript.note(f"{capture_named(what, tx.id)} MAIL FROM:{raw_reverse_path(tx)} "
                         f"{' '.join(tx.mail_params)} RCPT TO:"
                         f"{', '.join('<' + r.address + '>' for r in tx.recipients)}")
    for line in (tx.data or b"").splitlines()[:80]:
        sent.transcript.note(f"  | {line.decode('utf-8', 'replace')}")


def judge_copy(sent: SentCase, spec: NDRExpectation, number: int, tx: Transaction, log: FindingCollector) -> None:
    """A postmaster copy that carries the case's token: linted like an NDR when it is a DSN.

    RFC 5321 §6.1 lets the postmaster be told, by means that need not be a DSN;
    a copy that is one is held to the DSN format like the NDR itself (not to
    the NDR's envelope, which goes to the postmaster on purpose).  Its findings
    say they are about the copy, and none is more than a warning: what the case
    judges is the target's answer to the sender, and a notice the RFC leaves to
    the postmaster's own means (Postfix labels its copies ``auto-generated``,
    for instance) must not fail a case that the sender's side passes.
    """
    where, to = Location(detail=f"postmaster copy {number}"), ", ".join(f"<{r.address}>" for r in tx.recipients)
    _note_capture(sent, f"postmaster copy {number}", tx)
    ndr = CapturedNDR.of(number, tx)
    if ndr.parsed is None or ndr.parsed.status is None:
        log.note(spec.check, f"a notice went to {to} (the postmaster copy, {_kind_of(ndr)}): the postmaster may "
                 f"be told by means that generate no DSN, so it is not judged as one", where)
        return
    log.note(spec.check, f"a copy of the NDR went to {to} (the postmaster copy): it is judged as a DSN", where)
    profile = sent.settings.profile
    found = lint_message(ndr.parsed, profile=profile, wire=True, source=str(where),
                         dsn_advertised="DSN" in sent.capabilities, where=where, budget_s=LINT_BUDGET_S).findings
    found += received_from_findings(ndr.parsed, sent.helo_names(), profile=profile, where=where)
    log.extend([replace(f, message=f"in the postmaster copy: {f.message}", severity=min(f.severity, Severity.WARNING))
                for f in found])


def judge_is_report(sent: SentCase, spec: NDRExpectation, ndr: CapturedNDR, linted: list[Finding],
                    log: FindingCollector) -> None:
    """An NDR the case expects must be a report: a message without a delivery-status part is none.

    A truncated, header-only message at the sink would otherwise count as the
    expected NDR.  The rows are the catalogue's: MPR-001 (not a multipart/report,
    error where DSN was advertised or under anti-backscatter) and MPR-007 (a
    multipart/report without its delivery-status part).  What the linter already
    said about this NDR under the same row is not said again.
    """
    parsed = ndr.parsed
    if spec.count < 1 or spec.optional or (parsed is not None and parsed.status is not None):
        return
    if parsed is not None and parsed.content_type == "multipart/report":
        check, condition = "MPR-007", None
        message = "the multipart/report has no message/delivery-status part: it reports nothing a program can read"
    else:
        check, condition = "MPR-001", mpr_001_condition(sent.settings.profile, "DSN" in sent.capabilities)
        message = (f"what arrived is not a report ({_kind_of(ndr)}): it has no multipart/report with a "
                   f"message/delivery-status part, so it is not the NDR the case expects")
    if all(f.check_id != check for f in linted):
        log.add(check, message, Location(ndr=ndr.number), condition=condition)


def _kind_of(ndr: CapturedNDR) -> str:
    """The linter's classification of a captured message, in words."""
    raw = ndr.tx.data or b""
    if not looks_like_message(raw):
        return "not a message"
    if ndr.parsed is None:
        return "a message that cannot be parsed"
    try:
        return VERDICTS[classify(ndr.parsed)]
    except Exception:  # noqa: BLE001 - a garbage NDR is described, never a traceback
        return "a message that cannot be classified"


def judge_report(sent: SentCase, report: RecipientReport, ndrs: list[CapturedNDR], log: FindingCollector) -> None:
    """One expected per-recipient block: present in some NDR, with the fields the case names."""
    address = sent.render(report.final)
    blocks = [(ndr.number, b) for ndr in ndrs for a, b in ndr.blocks() if a.lower() == address.lower()]
    if not blocks:
        log.add(report.check, f"no NDR has a per-recipient block for <{address}>", AFTER,
                condition=report.condition)
        return
    number, block = blocks[0]
    where = Location(ndr=number, detail=f"block for <{address}>")

    def add(message: str) -> None:
        log.add(report.check, message, where, condition=report.condition)

    action = block.first("action")
    if report.action is not None and action is None:
        add(f"the block has no Action field (expected {report.action!r})")
    elif report.action is not None and action is not None and action.bare.lower() != report.action:
        add(f"Action is {action.value!r}, expected {report.action!r}")
    for name, pattern in (("Status", report.status), ("Diagnostic-Code", report.diagnostic)):
        got = block.first(name.lower())
        if pattern is None or (got is not None and re.match(sent.render(pattern), _compared(got), re.I)):
            continue
        meaning, shown = _meaning(name, sent.render(pattern)), f"the case's pattern is: {sent.render(pattern)}"
        if got is None:
            add(f"the block has no {name} field (expected {meaning}; {shown})")
        else:
            add(f"{name} is {got.value!r}, which does not report {meaning} ({shown})")
    remote = block.first("remote-mta")
    if report.remote_mta is True and remote is None:
        add("no Remote-MTA: the block does not name the server that refused")
    elif report.remote_mta is False and remote is not None:
        add(f"Remote-MTA {remote.value!r} for a failure no remote server was involved in")


#: a Status pattern naming only the class digit: ``5\.``
_STATUS_CLASS = re.compile(r"([245])\\\.")
#: a Diagnostic-Code pattern naming the type and the reply code: ``smtp *; *550``
_DIAGNOSTIC_REPLY = re.compile(r"([A-Za-z][\w-]*)(?: \*)?;(?: \*)?([2-5][0-9]{2})")
_CLASSES = {"2": "success", "4": "a persistent transient failure", "5": "a permanent failure"}


def _meaning(name: str, pattern: str) -> str:
    """What a case's pattern asks of a field, in words where its form is one of the suites' usual ones."""
    status = _STATUS_CLASS.fullmatch(pattern) if name == "Status" else None
    if status:
        return f"{_CLASSES[status.group(1)]}, a {status.group(1)}.x.x code"
    reply = _DIAGNOSTIC_REPLY.fullmatch(pattern) if name == "Diagnostic-Code" else None
    if reply:
        return f"the {reply.group(1)} reply {reply.group(2)}"
    return "the value the case expects"


def _compared(field: Field) -> str:
    """A field's value as the case's pattern sees it, read by the RFC 3464 grammar.

    Comments are dropped where the grammar has tokens (the Status code, the
    type before ``;``) and kept where it has text: a Diagnostic-Code's text is
    what the server said, parentheses included.
    """
    if field.key == "status":
        return field.bare
    kind, text = field.typed()
    return text if kind is None else f"{kind}; {text}"
