"""The testee's named faults: each changes one precise behaviour.

The fault matrix (tests/test_fault_matrix.py) runs the suite once per fault
and asserts exactly which cases notice it; that is how every check is shown
able to fail.  "The unknown-user refusal" is the reply to RCPT for an unknown
user of the local domain (two lines by default).

Each fault has a *kind*: what the shipped suites (in-session and after
acceptance together, default profile) make of it, hence the exit status of
``mta-conformance run --testee --fault NAME`` (see KINDS).  A kind is the worst
over all cases: an error finding makes it "error"; else a warning finding
"warning"; else an inconclusive case "inconclusive"; else "conforming".  The
fault matrices compute it from their results and compare.
"""

from __future__ import annotations

from dataclasses import dataclass

ERROR, WARNING, INCONCLUSIVE, CONFORMING = "error", "warning", "inconclusive", "conforming"

#: what a fault of each kind does to the shipped suite's exit status (default profile, anti-backscatter)
KINDS: dict[str, str] = {
    ERROR: "exit 1: a case fails with an error finding",
    WARNING: "exit 0 (1 under --mta-strict): warning findings, no error",
    INCONCLUSIVE: "exit 0 (1 under --mta-strict): cases end inconclusive, no warning or error",
    CONFORMING: "exit 0, even under --mta-strict: a conforming variant (info findings at most)",
}


@dataclass(frozen=True)
class Fault:
    name: str
    kind: str  #: one of KINDS
    description: str


CATALOGUE: tuple[Fault, ...] = (
    Fault("accept-unknown-recipients", ERROR,
          "unknown local users are accepted at RCPT (250): accept-then-bounce"),
    Fault("tempfail-unknown-recipients", INCONCLUSIVE,
          "unknown local users get 450 4.1.1 (a persistent temporary refusal)"),
    Fault("wrong-code-unknown-user", WARNING,
          "the unknown-user refusal uses 553 instead of 550"),
    Fault("generic-enhanced-code", CONFORMING,
          "the unknown-user refusal uses 5.0.0 instead of 5.1.1"),
    Fault("unregistered-enhanced-code", WARNING,
          "the unknown-user refusal uses the unregistered 5.1.99"),
    Fault("unregistered-reply-code", WARNING,
          "the unknown-user refusal uses the basic code 559"),
    Fault("missing-enhanced-codes", ERROR,
          "every reply to RCPT omits its enhanced status code"),
    Fault("invalid-enhanced-syntax", ERROR,
          "the unknown-user refusal uses 5.01.1 (a leading zero)"),
    Fault("enhanced-class-mismatch", ERROR,
          "the unknown-user refusal is 550 with 4.1.1"),
    Fault("enhanced-code-varies", ERROR,
          "the unknown-user refusal's lines carry 5.1.1 and 5.1.0"),
    Fault("malformed-multiline", ERROR,
          "the unknown-user refusal's last line has code 551, the first 550"),
    Fault("bare-lf", ERROR,
          "the unknown-user refusal's lines end with a bare LF"),
    Fault("non-ascii-reply", ERROR,
          "the unknown-user refusal's text contains UTF-8"),
    Fault("long-reply-line", WARNING,
          "the unknown-user refusal's first line is 600 octets"),
    Fault("bare-code", WARNING,
          "the greeting is a bare '220' without text"),
    Fault("garbage-reply", ERROR,
          "RSET is answered 'OK' without a code"),
    Fault("extra-reply", ERROR,
          "RSET is answered twice"),
    Fault("missing-reply", ERROR,
          "RSET is not answered at all"),
    Fault("drip", ERROR,
          "the unknown-user refusal is sent one byte every 0.2 s"),
    Fault("disconnect-on-unknown", ERROR,
          "the connection is closed instead of refusing an unknown user"),
    Fault("drop-after-errors", CONFORMING,
          "after three refused RCPTs the next RCPT gets 421 and the connection closes"),
    Fault("open-relay", WARNING,
          "recipients in foreign domains are accepted (never delivered)"),
    Fault("data-without-recipients", WARNING,
          "DATA without an accepted recipient is answered 354"),
    Fault("low-recipient-limit", ERROR,
          "only 50 recipients are accepted, then 452"),
    Fault("recipient-limit-552", WARNING,
          "after 100 recipients further RCPTs get 552 instead of 452"),
    Fault("rcpt-without-mail-accepted", ERROR,
          "RCPT without MAIL is accepted for known users"),
    Fault("forwarding-disclosure", CONFORMING,
          "RCPT for alice is answered 251 with a forwarding address"),
    Fault("dsn-keyword-parameters", WARNING,
          "EHLO advertises 'DSN NOTIFY RET' instead of 'DSN'"),
    Fault("dsn-params-refused", ERROR,
          "DSN is advertised but every DSN parameter gets 555"),
    Fault("dsn-notify-never-accepts-unknown", ERROR,
          "an unknown user with NOTIFY=NEVER is accepted"),
    Fault("dsn-invalid-accepted", ERROR,
          "invalid RET, ENVID, NOTIFY and ORCPT values are accepted"),
    Fault("dsn-duplicates-accepted", WARNING,
          "repeated RET, ENVID, NOTIFY and ORCPT are accepted"),
    Fault("dsn-keywords-case-sensitive", WARNING,
          "lower-case RET and NOTIFY values get 501"),
    Fault("dsn-short-limits", ERROR,
          "ENVID over 64 or ORCPT over 256 characters get 501"),
    Fault("dsn-params-without-dsn", CONFORMING,
          "DSN is not advertised, yet DSN parameters are accepted"),
    Fault("no-dsn", CONFORMING,
          "DSN is not advertised and DSN parameters get 555 (correct for a server without DSN)"),
    Fault("8bitmime-refused", ERROR,
          "8BITMIME is advertised but BODY=8BITMIME gets 502"),
    Fault("smtputf8-refused", ERROR,
          "SMTPUTF8 is advertised but the SMTPUTF8 parameter gets 500"),
    Fault("no-enhanced-codes-after-helo", WARNING,
          "after HELO no reply carries an enhanced status code"),
    Fault("no-enhanced-codes", CONFORMING,
          "ENHANCEDSTATUSCODES is not advertised and no reply carries a code (correct)"),
    # after acceptance (with routes): relaying and NDR generation
    Fault("ndr-non-null-sender", ERROR,
          "NDRs are sent with MAIL FROM:<MAILER-DAEMON@...> instead of <>"),
    Fault("ndr-to-header-address", ERROR,
          "NDRs go to the From/Reply-To header address instead of the reverse-path"),
    Fault("ndr-to-null-sender", ERROR,
          "a message with a null reverse-path is bounced to its header address"),
    Fault("notify-never-ignored", ERROR,
          "NDRs are sent for recipients with NOTIFY=NEVER (or without FAILURE)"),
    Fault("ret-ignored", WARNING,
          "RET=HDRS returns the whole message (and RET=FULL only the header)"),
    Fault("envid-not-echoed", ERROR,
          "the NDR has no Original-Envelope-Id although MAIL had ENVID"),
    Fault("envid-not-decoded", ERROR,
          "Original-Envelope-Id echoes the ENVID still xtext-encoded"),
    Fault("ndr-invalid-action", ERROR,
          "the NDR says 'Action: failure'"),
    Fault("ndr-missing-status", ERROR,
          "the NDR has no Status field"),
    Fault("ndr-multipart-mixed", ERROR,
          "the NDR is multipart/mixed instead of multipart/report"),
    Fault("two-ndrs", WARNING,
          "every NDR is sent twice"),
    Fault("refuse-unknown-after-data", ERROR,
          "unknown local users are accepted at RCPT and the end of data is answered 550 5.1.1"),
    Fault("bounce-after-data-refusal", ERROR,
          "a message over the SIZE limit is answered 552 at end of data, then relayed and bounced"),
    Fault("ndr-names-all-recipients", ERROR,
          "the NDR reports every recipient failed, also those the next hop accepted"),
    Fault("ndr-without-remote-mta", ERROR,
          "NDR blocks for next-hop refusals have no Remote-MTA and no Diagnostic-Code"),
    Fault("orcpt-not-reported", ERROR,
          "the NDR has no Original-Recipient although RCPT had ORCPT"),
    Fault("final-recipient-lowercased", ERROR,
          "Final-Recipient is the recipient lower-cased"),
    Fault("dsn-params-dropped", ERROR,
          "relaying to a next hop with DSN drops ENVID, RET, NOTIFY and ORCPT"),
    Fault("dsn-params-to-plain-hop", ERROR,
          "relaying to a next hop without DSN still sends ENVID, RET, NOTIFY and ORCPT"),
    Fault("no-relayed-dsn", ERROR,
          "NOTIFY=SUCCESS relayed to a next hop without DSN gives no 'relayed' DSN"),
    Fault("relayed-dsn-always", ERROR,
          "every recipient relayed to a next hop without DSN gets a 'relayed' DSN, asked for or not"),
    Fault("ndr-dsn-params", ERROR,
          "the NDR is sent with RET=HDRS and the original ENVID on MAIL and NOTIFY=FAILURE on RCPT"),
    Fault("ndr-copy-to-postmaster", ERROR,
          "the NDR transaction also has postmaster at the sender's domain as a recipient"),
    Fault("ndr-stale-date", CONFORMING,
          "the NDR's Date is an hour before it was written"),
    Fault("partial-failure-no-ndr", ERROR,
          "when some recipients of a message were relayed and others failed, no NDR is sent"),
    Fault("success-dsn-full-content", WARNING,
          "a DSN without failures ('relayed', 'delayed') returns the whole message"),
    Fault("delayed-dsn-ignores-notify", ERROR,
          "a 'delayed' DSN is sent although NOTIFY did not contain DELAY"),
)

#: fault name -> what it changes
FAULTS: dict[str, str] = {f.name: f.description for f in CATALOGUE}
#: fault name -> its kind (see KINDS); the fault matrices assert it
FAULT_KINDS: dict[str, str] = {f.name: f.kind for f in CATALOGUE}


def validate(names: frozenset[str]) -> frozenset[str]:
    unknown = sorted(names - FAULTS.keys())
    if unknown:
        raise ValueError(f"unknown fault(s) {', '.join(unknown)}; known: {', '.join(FAULTS)}")
    return names
