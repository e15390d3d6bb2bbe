"""The project's own line-level SMTP client.

smtplib normalises too much for a conformance tool: it joins multiline replies,
forgives bare LF, hides unsolicited replies and raises on garbage.  This client
sends exactly the line a case says, keeps every reply byte-exact, and bounds every
wait: the whole of each reply must arrive within ``timeout`` seconds, so a target
that drips one byte a second cannot stretch a read.
"""

from __future__ import annotations

import select
import socket
import ssl
import time
from dataclasses import dataclass, field

from .reply import Reply, partial_reply, split_complete_reply
from .transcript import Transcript, _printable

# The caps on one reply.  A reply past any of them is never taken as a reply: the
# client raises ReplyTooLong and closes the connection, because what follows on
# the stream can no longer be matched to the commands sent.  Memory stays bounded
# by about two receive chunks above MAX_REPLY_BYTES whatever the target sends.

#: RFC 5321 sets no limit on the number of lines; an EHLO reply has one per extension
#: (a dozen or two), so 200 lines is far beyond any real reply and ends an endless ``250-``
MAX_REPLY_LINES = 200
#: a whole reply, all lines with their terminators (a target must not be able to exhaust the harness)
MAX_REPLY_BYTES = 64 * 1024
#: one line with its terminator: RFC 5321 §4.5.3.1.5 allows 512 octets; longer lines up to
#: this cap are still read (and judged by SMTP-RPL-004), a line past it is abandoned
MAX_LINE_BYTES = 4096
#: how many lines of an abandoned reply the transcript shows
_SHOWN_LINES = 5


class SMTPClientError(Exception):
    """Base of what can go wrong talking to a target; messages are meant for people."""


class TargetUnreachable(SMTPClientError):
    pass


class ReplyTimeout(SMTPClientError):
    def __init__(self, message: str, partial: Reply | None) -> None:
        super().__init__(message)
        self.partial = partial


class ConnectionClosed(SMTPClientError):
    def __init__(self, message: str, partial: Reply | None) -> None:
        super().__init__(message)
        self.partial = partial


class ReplyTooLong(SMTPClientError):
    """A reply past MAX_REPLY_LINES, MAX_REPLY_BYTES or MAX_LINE_BYTES: never a reply.

    *cap* says which: ``"lines"``, ``"octets"`` or ``"line"`` (one line too long).
    The connection is already closed when this is raised.
    """

    def __init__(self, message: str, cap: str, lines: int, octets: int, first_line: bytes) -> None:
        super().__init__(message)
        self.cap, self.lines, self.octets, self.first_line = cap, lines, octets, first_line


class TLSFailed(SMTPClientError):
    pass


def _answering(data: bytes) -> str:
    """What the reply to *data* answers, for messages: the end of a message, or the command's verb."""
    if data.endswith(b"\r\n.\r\n"):
        return "the reply to the end of data"
    verb = data.split(b"\r\n", 1)[0].split(b" ", 1)[0].split(b":", 1)[0][:20]
    return f"the reply to {_printable(verb.upper())}"


@dataclass
class SMTPConnection:
    """One TCP session with the target."""

    host: str
    port: int
    timeout: float
    transcript: Transcript = field(default_factory=Transcript)
    _sock: socket.socket | None = field(default=None, init=False, repr=False)
    _buffer: bytes = field(default=b"", init=False, repr=False)
    tls_active: bool = field(default=False, init=False)
    closed_by_peer: bool = field(default=False, init=False)
    #: what the next reply answers, for messages: "the greeting", "the reply to EHLO"
    awaiting: str = field(default="the greeting", init=False)

    # -- connection ---------------------------------------------------------
    def connect(self) -> None:
        self.transcript.note(f"connecting to {self.host}:{self.port}")
        try:
            self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except TimeoutError:
            raise TargetUnreachable(
                f"cannot connect to {self.host}:{self.port}: no answer within {self.timeout:g} s"
            ) from None
        except OSError as exc:
            raise TargetUnreachable(
                f"cannot connect to {self.host}:{self.port}: {exc.strerror or exc}"
            ) from None
        self.transcript.note("connected")

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
            self._sock = None

    @property
    def connected(self) -> bool:
        return self._sock is not None and not self.closed_by_peer

    # -- sending ------------------------------------------------------------
    def send_line(self, line: str | bytes) -> None:
        """Send one command line; CRLF is appended."""
        data = line.encode("utf-8") if isinstance(line, str) else line
        self.send_raw(data + b"\r\n")

    def send_raw(self, data: bytes) -> None:
        if self._sock is None:
            raise ConnectionClosed("not connected", None)
        for piece in data.split(b"\r\n")[:-1] if data.endswith(b"\r\n") else [data]:
            self.transcript.sent(piece, tls=self.tls_active)
        self.awaiting = _answering(data)
        deadline = time.monotonic() + self.timeout
        try:
            self._sock.settimeout(max(0.001, deadline - time.monotonic()))
            self._sock.sendall(data)
        except TimeoutError:
            raise ReplyTimeout(
                f"the target did not take our data within {self.timeout:g} s", None
            ) from None
        except OSError as exc:
            self.closed_by_peer = True
            raise ConnectionClosed(f"connection lost while sending: {exc.strerror or exc}", None) from None

    # -- receiving ----------------------------------------------------------
    def read_reply(self, timeout: float | None = None) -> Reply:
        """Read one complete reply, or raise within *timeout* (default: the session's)."""
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        while True:
            reply, rest = split_complete_reply(self._buffer)
            self._check_caps(self._buffer if reply is None else reply.raw, complete=reply is not None)
            if reply is not None:
                self._buffer = rest
                for line in reply.lines:
                    self.transcript.received_line(line.raw, tls=self.tls_active)
                return reply
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                partial = partial_reply(self._buffer)
                self._note_partial(partial)
                got = f"; got only {partial.one_line()!r}" if partial else ""
                self.transcript.error(f"no complete reply within {limit:g} s")
                raise ReplyTimeout(f"no complete reply within {limit:g} s{got}", partial)
            chunk = self._recv(remaining)
            if chunk is None:
                continue
            if chunk == b"":
                self.closed_by_peer = True
                partial = partial_reply(self._buffer)
                self._note_partial(partial)
                self.transcript.note("connection closed by the target")
                raise ConnectionClosed("the target closed the connection", partial)
            self._buffer += chunk

    def _check_caps(self, head: bytes, complete: bool) -> None:
        """Abandon the reply at the front of the stream once it is past a cap (see MAX_REPLY_LINES).

        *head* is the whole reply when *complete*, else everything buffered (all of
        it belongs to the reply still arriving, which has at least one line more).
        """
        pieces = head.split(b"\n")  # the last piece is the unfinished line (empty after a final LF)
        lines = head.count(b"\n") + (0 if complete else 1)
        longest = max([len(piece) + 1 for piece in pieces[:-1]] + [len(pieces[-1])])
        if longest > MAX_LINE_BYTES:
            within = (f"a line of {self.awaiting} passed {MAX_LINE_BYTES} octets without ending (RFC 5321 "
                      f"§4.5.3.1.5 allows 512 octets including CRLF; ")
            cap = "line"
        elif lines > MAX_REPLY_LINES:
            code = pieces[0][:4]
            sent = (f"the target sent '{_printable(code)}' lines without a last line; "
                    if len(code) == 4 and code[:3].isdigit() and code.endswith(b"-") else "")
            within, cap = f"{self.awaiting} did not end within {MAX_REPLY_LINES} lines ({sent}", "lines"
        elif len(head) > MAX_REPLY_BYTES:
            within, cap = f"{self.awaiting} did not end within {MAX_REPLY_BYTES} octets (", "octets"
        else:
            return
        first = pieces[0].removesuffix(b"\r")
        quoted = f"'{_printable(first[:80])}'" + ("..." if len(first) > 80 else "")
        complete_lines = head.count(b"\n")
        message = (f"{within}{complete_lines} complete lines, {len(head)} octets read; the first line: {quoted}); "
                   f"the connection is closed")
        self._abandon(pieces)
        self.transcript.error(message)
        raise ReplyTooLong(message, cap, lines, len(head), first[:80])

    def _abandon(self, pieces: list[bytes]) -> None:
        """Show the first lines of an abandoned reply and close: the rest of the stream is unusable."""
        lines = [piece + b"\n" for piece in pieces[:-1]] + ([pieces[-1]] if pieces[-1] else [])
        for line in lines[:_SHOWN_LINES]:
            shown = line if len(line) <= 200 else line[:200] + b"..."
            self.transcript.received_line(shown, tls=self.tls_active)
        if len(lines) > _SHOWN_LINES:
            self.transcript.note(f"... {len(lines) - _SHOWN_LINES} more lines not shown")
        self._buffer = b""
        self.close()

    def _note_partial(self, partial: Reply | None) -> None:
        if partial:
            for line in partial.lines:
                self.transcript.received_line(line.raw, tls=self.tls_active)

    def _recv(self, remaining: float) -> bytes | None:
        """One recv bounded by *remaining*; None when it timed out (caller rechecks)."""
        assert self._sock is not None
        try:
            self._sock.settimeout(max(0.001, remaining))
            return self._sock.recv(65536)
        except (TimeoutError, ssl.SSLWantReadError):
            return None
        except OSError as exc:
            self.closed_by_peer = True
            self.transcript.error(f"connection error: {exc.strerror or exc}")
            return b""

    def unsolicited(self) -> bytes:
        """Bytes the target sent that no command asked for (already here, no waiting).

        Called before each command when pipelining is not in use: a reply that is
        already buffered or readable at that point was not solicited.
        """
        data, self._buffer = self._buffer, b""
        if self._sock is not None and not self.closed_by_peer:
            try:
                while True:
                    pending = self._sock.pending() if isinstance(self._sock, ssl.SSLSocket) else 0
                    readable, _, _ = select.select([self._sock], [], [], 0)
                    if not readable and not pending:
                        break
                    self._sock.settimeout(0.001)
                    chunk = self._sock.recv(65536)
                    if not chunk:
                        self.closed_by_peer = True
                        break
                    data += chunk
                    if len(data) > MAX_REPLY_BYTES:
                        break
            except (TimeoutError, ssl.SSLWantReadError, OSError):
                pass
        if data:
            for piece in data.splitlines(keepends=True):
                self.transcript.received_line(piece, tls=self.tls_active)
        return data

    def drain_until_close(self, timeout: float) -> bytes:
        """After QUIT: collect anything more the target sends until it closes."""
        deadline = time.monotonic() + timeout
        data, self._buffer = self._buffer, b""
        while self._sock is not None and not self.closed_by_peer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            chunk = self._recv(remaining)
            if chunk is None:
                continue
            if chunk == b"":
                self.closed_by_peer = True
                break
            data += chunk
            if len(data) > MAX_REPLY_BYTES:
                break
        if data:
            for piece in data.splitlines(keepends=True):
                self.transcript.received_line(piece, tls=self.tls_active)
        return data

    # -- TLS ----------------------------------------------------------------
    def start_tls(self, server_hostname: str | None, context: ssl.SSLContext | None = None) -> None:
        """Wrap the socket after a 220 to STARTTLS.

        The default context does not verify the certificate: the suite judges bounce
        behaviour, not the target's PKI, and test targets use self-signed certificates.
        """
        assert self._sock is not None
        if self._buffer:
            raise TLSFailed("the target sent data after its 220 to STARTTLS (response injection)")
        if context is None:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        try:
            self._sock.settimeout(self.timeout)
            self._sock = context.wrap_socket(self._sock, server_hostname=server_hostname or None)
        except (ssl.SSLError, OSError) as exc:
            self.transcript.error(f"TLS handshake failed: {exc}")
            raise TLSFailed(f"TLS handshake failed: {exc}") from None
        self.tls_active = True
        version = self._sock.version() if isinstance(self._sock, ssl.SSLSocket) else "?"
        cipher = self._sock.cipher() if isinstance(self._sock, ssl.SSLSocket) else None
        self.transcript.note(f"TLS started: {version}, {cipher[0] if cipher else 'unknown cipher'}")
