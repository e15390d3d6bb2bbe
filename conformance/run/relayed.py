"""Relayed copies: whether the message reached the next hop, with its DSN parameters as RFC 3461 §5.2 says.

A relayed copy is attributed to its case by the token in its reverse-path or
recipients; the harness's port says whether the next hop advertised DSN.
"""

from __future__ import annotations

from collections.abc import Callable

from ..findings import Location
from ..harness.mailbox import Transaction
from ..smtp.params import DSN_MAIL_PARAMS, DSN_RCPT_PARAMS, param, param_names, xtext_decode
from ..suite.model import RelayExpectation
from .collector import FindingCollector
from .sent import SentCase, capture_named
from .waiting import WatchedMailbox


def relayed_by(token: str, hop: str) -> Callable[[Transaction], bool]:
    """Transactions at the next hop (on the port *hop* names) that carry *token*."""
    want_dsn = hop == "dsn"
    token = token.lower()

    def match(tx: Transaction) -> bool:
        return (tx.role != "sink" and tx.dsn_advertised == want_dsn
                and (token in tx.mail_from.lower() or any(token in r.address.lower() for r in tx.recipients)))

    return match


def judge_relayed(sent: SentCase, spec: RelayExpectation, mailbox: WatchedMailbox, log: FindingCollector) -> None:
    """Wait for the copies *spec* expects (or the quiet period, for none) and judge their DSN parameters."""
    settings, transcript = sent.settings, sent.transcript
    match = relayed_by(sent.token, spec.hop)
    port = "DSN" if spec.hop == "dsn" else "plain (no DSN)"
    after = Location(detail="after the dialogue")
    if spec.count == 0:
        transcript.note(f"waiting {settings.quiet_period:g} s: nothing may reach the next hop")
        found = mailbox.wait_for(match, timeout=sent.remaining(settings.quiet_period), settle=True)
        if found:
            log.add(spec.check, f"{len(found)} transaction(s) reached the next hop although the message was "
                    f"refused", where=after)
    else:
        within = spec.within or settings.ndr_timeout
        transcript.note(f"waiting up to {within:g} s for the message at the {port} next hop")
        found = mailbox.wait_for(match, timeout=sent.remaining(within), count=spec.count)
        if len(found) < spec.count:
            log.add(spec.check, f"expected the message at the {port} next hop within {within:g} s; "
                    f"{len(found)} transaction(s) arrived", where=after)
    for number, tx in enumerate(found, start=1):
        where = Location(relayed=number)
        transcript.note(f"{capture_named(f'relayed copy {number}', tx.id)} MAIL FROM:<{tx.mail_from}> "
                        f"{' '.join(tx.mail_params)} RCPT TO: "
                        + ", ".join(f"<{r.address}> {' '.join(r.params)}".strip() for r in tx.recipients))
        if spec.dsn_params == "passed-on":
            judge_passed_on(sent, tx, spec.check, where, log)
        elif spec.dsn_params == "none":
            judge_none_passed(tx, spec.check, where, log)


def judge_passed_on(sent: SentCase, tx: Transaction, check: str, where: Location, log: FindingCollector) -> None:
    """RFC 3461 §5.2.1: to a DSN server ENVID, RET, NOTIFY pass unchanged; ORCPT byte-identical or added."""
    original = sent.envelope
    for name in DSN_MAIL_PARAMS:
        was, now = param(original.mail_params, name), param(tx.mail_params, name)
        if was is None and now is not None:
            log.add(check, f"MAIL carries {name}={now}, which the original did not have", where)
        elif was is not None and now is None:
            log.add(check, f"{name}={was} was not passed on", where)
        elif was is not None and now is not None and not _same(name, was, now):
            log.add(check, f"{name}={was} was passed on altered, as {name}={now}", where)
    for address, params, _ in original.accepted():
        copies = [r for r in tx.recipients if r.address.lower() == address.lower()]
        if copies:
            _judge_rcpt_params(address, params, copies[0].params, check, where, log)


def _judge_rcpt_params(address: str, was_params: list[str], now_params: list[str], check: str, where: Location,
                       log: FindingCollector) -> None:
    for name in DSN_RCPT_PARAMS:
        was, now = param(was_params, name), param(now_params, name)
        if was is not None and now is None:
            log.add(check, f"<{address}>: {name}={was} was not passed on", where)
        elif was is not None and now is not None and not _same(name, was, now):
            log.add(check, f"<{address}>: {name}={was} was passed on altered, as {name}={now}", where)
        elif was is None and now is not None:
            if name == "ORCPT" and _orcpt_of(now, address):
                continue  # §5.2.1(c): an ORCPT equal to the address as received may be added
            log.add(check, f"<{address}>: RCPT carries {name}={now}, which the original did not have", where)


def judge_none_passed(tx: Transaction, check: str, where: Location, log: FindingCollector) -> None:
    """RFC 3461 §5.2.2(a): to a server without DSN no DSN parameter is sent."""
    found = sorted(param_names(tx.mail_params) & set(DSN_MAIL_PARAMS))
    found += sorted({n for r in tx.recipients for n in param_names(r.params) & set(DSN_RCPT_PARAMS)})
    if found:
        log.add(check, f"DSN parameters sent to a server that does not advertise DSN: {', '.join(found)}", where)


def _same(name: str, was: str, now: str) -> bool:
    """Unchanged: ENVID and ORCPT byte-identical; RET and NOTIFY keywords case-insensitively."""
    if name in ("ENVID", "ORCPT"):
        return was == now
    return sorted(w.strip().upper() for w in was.split(",")) == sorted(w.strip().upper() for w in now.split(","))


def _orcpt_of(orcpt: str, address: str) -> bool:
    kind, _, value = orcpt.partition(";")
    return kind.strip().lower() == "rfc822" and xtext_decode(value) == address
