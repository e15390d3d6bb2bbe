"""Session transcripts in the notation postmasters know from swaks.

``->`` sent, ``<-`` received, ``~>``/``<~`` the same inside TLS, ``===`` harness
notes, ``**`` errors; each line prefixed with seconds since the session started.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

SENT, RECEIVED, SENT_TLS, RECEIVED_TLS, NOTE, ERROR = "->", "<-", "~>", "<~", "===", "**"


def _printable(data: bytes) -> str:
    """Show bytes readably but losslessly enough to spot CR/LF/8-bit problems."""
    out = []
    for byte in data:
        if byte == 0x0D:
            out.append("\\r")
        elif byte == 0x0A:
            out.append("\\n")
        elif byte == 0x09 or 0x20 <= byte < 0x7F:
            out.append(chr(byte))
        else:
            out.append(f"\\x{byte:02x}")
    return "".join(out)


@dataclass
class Transcript:
    """What was said in one session, with relative timestamps."""

    started: float = field(default_factory=time.monotonic)
    entries: list[tuple[float, str, str]] = field(default_factory=list)
    #: cap, so a target that floods cannot make the report huge
    max_entries: int = 2000
    truncated: bool = False

    def add(self, direction: str, text: str) -> None:
        if len(self.entries) >= self.max_entries:
            self.truncated = True
            return
        self.entries.append((time.monotonic() - self.started, direction, text))

    def sent(self, line: bytes, tls: bool = False) -> None:
        body = line[:-2] if line.endswith(b"\r\n") else line
        self.add(SENT_TLS if tls else SENT, _printable(body))

    def received_line(self, raw: bytes, tls: bool = False) -> None:
        """One received line; CRLF is implied, anything else is shown escaped."""
        body = raw[:-2] if raw.endswith(b"\r\n") else raw
        self.add(RECEIVED_TLS if tls else RECEIVED, _printable(body))

    def note(self, text: str) -> None:
        self.add(NOTE, text)

    def error(self, text: str) -> None:
        self.add(ERROR, text)

    def render(self) -> str:
        lines = [f"{t:8.3f} {d} {text}" for t, d, text in self.entries]
        if self.truncated:
            lines.append(f"         {NOTE} transcript truncated after {self.max_entries} entries")
        return "\n".join(lines)
