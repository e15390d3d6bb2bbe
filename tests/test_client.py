"""The line-level client against scripted misbehaving servers.

Each server is a thread that speaks raw bytes; the client must turn hangs,
drips, disconnects and garbage into clear errors within its deadline, never a
traceback and never a wait longer than the timeout.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from conformance.smtp.client import ConnectionClosed, ReplyTimeout, ReplyTooLong, SMTPConnection, TargetUnreachable

Script = Callable[[socket.socket, threading.Event], None]


@pytest.fixture
def scripted() -> Iterator[Callable[[Script], int]]:
    """Start a one-connection server running *script*; return its port."""
    done = threading.Event()
    threads: list[threading.Thread] = []
    listeners: list[socket.socket] = []

    def start(script: Script) -> int:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listeners.append(listener)

        def serve() -> None:
            conn, _ = listener.accept()
            with conn:
                script(conn, done)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        threads.append(thread)
        return int(listener.getsockname()[1])

    yield start
    done.set()
    for listener in listeners:
        listener.close()
    for thread in threads:
        thread.join(timeout=5)


def test_multiline_reply_is_kept_byte_exact(scripted: Callable[[Script], int]) -> None:
    port = scripted(lambda c, d: (c.sendall(b"220-first\r\n220 second\r\n"), d.wait(5)))
    conn = SMTPConnection("127.0.0.1", port, timeout=2)
    conn.connect()
    reply = conn.read_reply()
    assert reply.code == 220 and len(reply.lines) == 2
    assert reply.raw == b"220-first\r\n220 second\r\n"
    assert "<- 220-first" in conn.transcript.render()


def test_hang_times_out_within_the_deadline(scripted: Callable[[Script], int]) -> None:
    port = scripted(lambda c, d: d.wait(10))
    conn = SMTPConnection("127.0.0.1", port, timeout=0.5)
    conn.connect()
    started = time.monotonic()
    with pytest.raises(ReplyTimeout, match="no complete reply within 0.5 s"):
        conn.read_reply()
    assert time.monotonic() - started < 1.5


def test_drip_cannot_stretch_the_reply_deadline(scripted: Callable[[Script], int]) -> None:
    def drip(c: socket.socket, d: threading.Event) -> None:
        for byte in b"220 slowly but surely\r\n":
            if d.wait(0.1):  # one byte every 0.1 s: the reply takes 2.3 s in all
                return
            c.sendall(bytes([byte]))

    port = scripted(drip)
    conn = SMTPConnection("127.0.0.1", port, timeout=0.8)
    conn.connect()
    started = time.monotonic()
    with pytest.raises(ReplyTimeout) as info:
        conn.read_reply()
    assert time.monotonic() - started < 1.5
    assert info.value.partial is not None and info.value.partial.raw.startswith(b"220 s")


def test_disconnect_mid_reply(scripted: Callable[[Script], int]) -> None:
    port = scripted(lambda c, d: c.sendall(b"220-half a reply\r\n"))
    conn = SMTPConnection("127.0.0.1", port, timeout=2)
    conn.connect()
    with pytest.raises(ConnectionClosed, match="closed the connection") as info:
        conn.read_reply()
    assert info.value.partial is not None


def test_garbage_is_a_reply_without_code(scripted: Callable[[Script], int]) -> None:
    port = scripted(lambda c, d: (c.sendall(b"\x00\xffhello\n"), d.wait(5)))
    conn = SMTPConnection("127.0.0.1", port, timeout=2)
    conn.connect()
    reply = conn.read_reply()
    assert reply.code is None
    assert "\\x00\\xffhello\\n" in conn.transcript.render()


def test_flood_is_abandoned(scripted: Callable[[Script], int]) -> None:
    def flood(c: socket.socket, d: threading.Event) -> None:
        try:
            c.sendall(b"220-" + b"x" * 100_000)
        except OSError:
            pass
        d.wait(5)

    port = scripted(flood)
    conn = SMTPConnection("127.0.0.1", port, timeout=2)
    conn.connect()
    with pytest.raises(ReplyTooLong, match="a line of the greeting passed 4096 octets without ending"):
        conn.read_reply()  # one unterminated 100 KB line: the line cap abandons it before the octet cap
    assert not conn.connected


def test_unsolicited_data_is_seen_before_the_next_command(scripted: Callable[[Script], int]) -> None:
    port = scripted(lambda c, d: (c.sendall(b"220 hi\r\n250 surprise\r\n"), d.wait(5)))
    conn = SMTPConnection("127.0.0.1", port, timeout=2)
    conn.connect()
    conn.read_reply()
    assert conn.unsolicited() == b"250 surprise\r\n"


def test_unreachable_target() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        conn = SMTPConnection("127.0.0.1", port, timeout=2)
        with pytest.raises(TargetUnreachable, match=f"cannot connect to 127.0.0.1:{port}"):
            conn.connect()
