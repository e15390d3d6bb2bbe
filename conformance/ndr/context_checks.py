"""Checks that need the original envelope (S+ctx) or the raw captured bytes (C).

Without an envelope they do not run (the CLI says so); the live harness passes
both the envelope it sent and the bytes it received.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Iterator

from ..smtp.params import xtext_decode
from .envelope import Envelope
from .hits import Hit, blocks
from .message import NDRMessage


def envelope_checks(ndr: NDRMessage, env: Envelope) -> Iterator[Hit]:
    to = ndr.header("To")
    addresses = [a.lower() for _, a in email.utils.getaddresses([h.value for h in to])]
    if env.reverse_path and env.reverse_path.lower() not in addresses:
        yield Hit("NDR-HDR-004", f"To does not address the original return path <{env.reverse_path}>",
                  to[0].line if to else 1)
    if ndr.status is None:
        return
    original_id = ndr.status.per_message.first("original-envelope-id")
    if env.envid is None and original_id is not None:
        yield Hit("DSN-FMT-007", "Original-Envelope-Id present although the original MAIL had no ENVID",
                  original_id.line)
    elif env.envid is not None:
        wanted = xtext_decode(env.envid)
        if original_id is None:
            yield Hit("DSN-FMT-007", f"no Original-Envelope-Id although MAIL had ENVID={env.envid}",
                      ndr.status.per_message.line)
        elif original_id.value != wanted:
            yield Hit("DSN-FMT-007", f"Original-Envelope-Id {original_id.value!r} is not the xtext-decoded ENVID "
                      f"{wanted!r}", original_id.line)
    for block in blocks(ndr):
        final = block.first("final-recipient")
        address = final.typed()[1].strip("<> ") if final else ""
        recipient = env.recipient(address) if address else None
        if final is not None and recipient is not None and recipient.address != address:
            yield Hit("DSN-SEM-014", f"Final-Recipient {address!r} is not the recipient as received "
                      f"({recipient.address!r}: case changed)", final.line)
        if final is not None and recipient is None:
            yield Hit("DSN-SEM-030", f"Final-Recipient {address!r} was not a recipient of the original transaction",
                      final.line, "wrong-recipient")
        original = block.first("original-recipient")
        if recipient is not None and recipient.orcpt:
            if original is None:
                yield Hit("DSN-FMT-015", f"ORCPT={recipient.orcpt} was given but Original-Recipient is missing",
                          block.line, "missing-or-altered")
            else:
                kind, value = original.typed()
                o_kind, _, o_value = recipient.orcpt.partition(";")
                if (kind or "").lower() != o_kind.lower() or value not in (o_value, xtext_decode(o_value)):
                    yield Hit("DSN-FMT-015", f"Original-Recipient {original.value!r} is not ORCPT {recipient.orcpt!r}",
                              original.line, "missing-or-altered")
        elif original is not None and recipient is not None:
            yield Hit("DSN-FMT-015", "Original-Recipient without an ORCPT parameter", original.line, "without-orcpt")
        action = block.first("action")
        if action is not None and recipient is not None and action.bare.lower() == "relayed" \
                and "SUCCESS" not in recipient.notify_keywords:
            yield Hit("DSN-SEM-019", "Action relayed although no success notification was requested", action.line)


def wire_checks(raw: bytes) -> Iterator[Hit]:
    """C checks on the bytes as transmitted (NDR-HDR-014)."""
    bare = re.search(rb"(?<!\r)\n|\r(?!\n)", raw)
    if bare:
        line = raw.count(b"\n", 0, bare.start()) + 1
        yield Hit("NDR-HDR-014", "a bare CR or LF: the transmitted NDR must use CRLF line endings", line)


def returned_content_checks(ndr: NDRMessage, env: Envelope) -> Iterator[Hit]:
    """RET-001/002/003: what came back against what RET asked for."""
    if len(ndr.parts) < 3 or ndr.status is None:
        return
    third = ndr.parts[2]
    whole = third.content_type in ("message/rfc822", "message/global")
    body = third.decoded_body().strip(b"\r\n")
    has_body = bool(re.search(rb"(\r\n|\n|\r)(\r\n|\n|\r)\S", body)) if whole else False
    failures = {(f.bare.lower()) for b in blocks(ndr) for f in b.get("action")} & {"failed"}
    ret = (env.ret or "").upper()
    if ret == "HDRS" and has_body:
        yield Hit("RET-002", "RET=HDRS asked for the header only, but the whole message came back", third.line)
    if ret == "FULL" and failures and not has_body:
        yield Hit("RET-001", "RET=FULL asked for the whole message, but only its header came back", third.line)
    if not failures and has_body:
        yield Hit("RET-003", "a DSN without failures returns the whole message; it should return the header only",
                  third.line)
