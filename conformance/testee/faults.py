"""The testee's named faults: each changes one precise behaviour.

The fault matrix (tests/test_fault_matrix.py) runs the suite once per fault
and asserts exactly which cases notice it; that is how every check is shown
able to fail.  "The unknown-user refusal" is the reply to RCPT for an unknown
user of the local domain (two lines by default).
"""

from __future__ import annotations

FAULTS: dict[str, str] = {
    "accept-unknown-recipients": "unknown local users are accepted at RCPT (250): accept-then-bounce",
    "tempfail-unknown-recipients": "unknown local users get 450 4.1.1 (a persistent temporary refusal)",
    "wrong-code-unknown-user": "the unknown-user refusal uses 553 instead of 550",
    "generic-enhanced-code": "the unknown-user refusal uses 5.0.0 instead of 5.1.1",
    "unregistered-enhanced-code": "the unknown-user refusal uses the unregistered 5.1.99",
    "unregistered-reply-code": "the unknown-user refusal uses the basic code 559",
    "missing-enhanced-codes": "every reply to RCPT omits its enhanced status code",
    "invalid-enhanced-syntax": "the unknown-user refusal uses 5.01.1 (a leading zero)",
    "enhanced-class-mismatch": "the unknown-user refusal is 550 with 4.1.1",
    "enhanced-code-varies": "the unknown-user refusal's lines carry 5.1.1 and 5.1.0",
    "malformed-multiline": "the unknown-user refusal's last line has code 551, the first 550",
    "bare-lf": "the unknown-user refusal's lines end with a bare LF",
    "non-ascii-reply": "the unknown-user refusal's text contains UTF-8",
    "long-reply-line": "the unknown-user refusal's first line is 600 octets",
    "bare-code": "the greeting is a bare '220' without text",
    "garbage-reply": "RSET is answered 'OK' without a code",
    "extra-reply": "RSET is answered twice",
    "missing-reply": "RSET is not answered at all",
    "drip": "the unknown-user refusal is sent one byte every 0.2 s",
    "disconnect-on-unknown": "the connection is closed instead of refusing an unknown user",
    "drop-after-errors": "after three refused RCPTs the next RCPT gets 421 and the connection closes",
    "open-relay": "recipients in foreign domains are accepted (never delivered)",
    "data-without-recipients": "DATA without an accepted recipient is answered 354",
    "low-recipient-limit": "only 50 recipients are accepted, then 452",
    "recipient-limit-552": "after 100 recipients further RCPTs get 552 instead of 452",
    "rcpt-without-mail-accepted": "RCPT without MAIL is accepted for known users",
    "forwarding-disclosure": "RCPT for alice is answered 251 with a forwarding address",
    "dsn-keyword-parameters": "EHLO advertises 'DSN NOTIFY RET' instead of 'DSN'",
    "dsn-params-refused": "DSN is advertised but every DSN parameter gets 555",
    "dsn-notify-never-accepts-unknown": "an unknown user with NOTIFY=NEVER is accepted",
    "dsn-invalid-accepted": "invalid RET, ENVID, NOTIFY and ORCPT values are accepted",
    "dsn-duplicates-accepted": "repeated RET, ENVID, NOTIFY and ORCPT are accepted",
    "dsn-keywords-case-sensitive": "lower-case RET and NOTIFY values get 501",
    "dsn-short-limits": "ENVID over 64 or ORCPT over 256 characters get 501",
    "dsn-params-without-dsn": "DSN is not advertised, yet DSN parameters are accepted",
    "no-dsn": "DSN is not advertised and DSN parameters get 555 (correct for a server without DSN)",
    "8bitmime-refused": "8BITMIME is advertised but BODY=8BITMIME gets 502",
    "smtputf8-refused": "SMTPUTF8 is advertised but the SMTPUTF8 parameter gets 500",
    "no-enhanced-codes-after-helo": "after HELO no reply carries an enhanced status code",
    "no-enhanced-codes": "ENHANCEDSTATUSCODES is not advertised and no reply carries a code (correct)",
    # after acceptance (with routes): relaying and NDR generation
    "ndr-non-null-sender": "NDRs are sent with MAIL FROM:<MAILER-DAEMON@...> instead of <>",
    "ndr-to-header-address": "NDRs go to the From/Reply-To header address instead of the reverse-path",
    "ndr-to-null-sender": "a message with a null reverse-path is bounced to its header address",
    "notify-never-ignored": "NDRs are sent for recipients with NOTIFY=NEVER (or without FAILURE)",
    "ret-ignored": "RET=HDRS returns the whole message (and RET=FULL only the header)",
    "envid-not-echoed": "the NDR has no Original-Envelope-Id although MAIL had ENVID",
    "envid-not-decoded": "Original-Envelope-Id echoes the ENVID still xtext-encoded",
    "ndr-invalid-action": "the NDR says 'Action: failure'",
    "ndr-missing-status": "the NDR has no Status field",
    "ndr-multipart-mixed": "the NDR is multipart/mixed instead of multipart/report",
    "two-ndrs": "every NDR is sent twice",
    "refuse-unknown-after-data": "unknown local users are accepted at RCPT and the end of data is answered 550 5.1.1",
    "bounce-after-data-refusal": "a message over the SIZE limit is answered 552 at end of data, then relayed and bounced",
    "ndr-names-all-recipients": "the NDR reports every recipient failed, also those the next hop accepted",
    "ndr-without-remote-mta": "NDR blocks for next-hop refusals have no Remote-MTA and no Diagnostic-Code",
    "orcpt-not-reported": "the NDR has no Original-Recipient although RCPT had ORCPT",
    "final-recipient-lowercased": "Final-Recipient is the recipient lower-cased",
    "dsn-params-dropped": "relaying to a next hop with DSN drops ENVID, RET, NOTIFY and ORCPT",
    "dsn-params-to-plain-hop": "relaying to a next hop without DSN still sends ENVID, RET, NOTIFY and ORCPT",
    "no-relayed-dsn": "NOTIFY=SUCCESS relayed to a next hop without DSN gives no 'relayed' DSN",
    "relayed-dsn-always": "every recipient relayed to a next hop without DSN gets a 'relayed' DSN, asked for or not",
    "ndr-dsn-params": "the NDR is sent with RET=HDRS and the original ENVID on MAIL and NOTIFY=FAILURE on RCPT",
    "ndr-copy-to-postmaster": "the NDR transaction also has postmaster at the sender's domain as a recipient",
    "ndr-stale-date": "the NDR's Date is an hour before it was written",
    "partial-failure-no-ndr": "when some recipients of a message were relayed and others failed, no NDR is sent",
    "success-dsn-full-content": "a DSN without failures ('relayed', 'delayed') returns the whole message",
    "delayed-dsn-ignores-notify": "a 'delayed' DSN is sent although NOTIFY did not contain DELAY",
}


def validate(names: frozenset[str]) -> frozenset[str]:
    unknown = sorted(names - FAULTS.keys())
    if unknown:
        raise ValueError(f"unknown fault(s) {', '.join(unknown)}; known: {', '.join(FAULTS)}")
    return names
