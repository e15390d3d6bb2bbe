"""What ``mta-conformance lint`` does with inputs that are not (only) mail.

Each behaviour is shown on the bad input (a verdict, a one-line reason, a
bounded read) and on good input (a real DSN still judged as before).
"""

from __future__ import annotations

import errno
import io
import json
import os
import random
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
from test_ndr_lint import CORPUS, GOOD

from conformance.cli import main
from conformance.exitcodes import ExitCode
from conformance.ndr.classify import Kind, looks_like_mail_file, looks_like_message
from conformance.ndr.lint import lint_bytes
from conformance.ndr.sources import (
    CHUNK,
    Trouble,
    Unread,
    iter_messages,
    parse_size,
    read_message,
)

BAD = GOOD.replace(b"Action: failed", b"Action: failure")
MIB = 1 << 20
LF = GOOD.replace(b"\r\n", b"\n")
FROM_LINE = b"From MAILER-DAEMON Mon Nov 23 06:00:00 2026\n"
README = b"# Bounce message corpus\n\nReal-world delivery reports. See MANIFEST.tsv.\n"


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def random_bytes(size: int, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(size)


def write_random(path: Path, size: int, head: bytes = b"", tail: bytes = b"") -> Path:
    rng = random.Random(size)
    with path.open("wb") as handle:
        handle.write(head)
        for _ in range(size // MIB):
            handle.write(rng.randbytes(MIB))
        handle.write(tail)
    return path


def lint(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["lint", *args])
    out, err = capsys.readouterr()
    return code, out, err


# --- exit codes -------------------------------------------------------------------------------------------


def test_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good, bad = write(tmp_path / "good.eml", GOOD), write(tmp_path / "bad.eml", BAD)
    assert lint(capsys, str(good))[0] == ExitCode.CONFORMANT == 0
    assert lint(capsys, str(bad))[0] == ExitCode.NON_CONFORMANT == 1
    code, out, err = lint(capsys, str(good), str(tmp_path / "missing.eml"))
    assert code == ExitCode.USAGE == 4
    assert out == "" and err == f"mta-conformance lint: {tmp_path / 'missing.eml'}: no such file or directory\n"
    envelope = write(tmp_path / "env.json", b"[]")
    assert lint(capsys, "--envelope", str(envelope), str(good))[0] == 4
    assert lint(capsys, str(write(tmp_path / "empty.eml", b"")))[0] == 1  # not a message


def test_help_states_the_exit_codes_and_the_cap(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["lint", "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "--max-message-size BYTES" in out and "default 32M" in out
    assert "0   no error finding" in out
    assert "1   error findings, or an input too large, not a message or not an mbox" in out
    assert "4   usage error" in out and "unreadable input" in out
    assert "2 " not in out.split("exit status:")[1]


@pytest.mark.parametrize(("text", "size"), [("33554432", 32 * MIB), ("32M", 32 * MIB), ("64k", 64 * 1024),
                                            ("1G", 1 << 30), ("32MiB", 32 * MIB), ("10MB", 10 * MIB), ("7", 7)])
def test_sizes(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "0", "-1", "32X", "1.5M", "M"])
def test_bad_sizes_are_argument_errors(text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError):
        parse_size(text)
    with pytest.raises(SystemExit) as exited:
        main(["lint", "--max-message-size", text, str(write(tmp_path / "a.eml", GOOD))])
    assert exited.value.code != 0
    assert "--max-message-size" in capsys.readouterr().err


# --- not a message ----------------------------------------------------------------------------------------


NOT_MAIL = {
    "empty": (b"", "the input is empty"),
    "blank lines": (b"\n\r\n  \n", "the input has only blank lines"),
    "random bytes": (random_bytes(5000), "its first line is neither"),
    "readme": (README, "its first line is neither"),
    "nul bytes": (b"\x00" * 100, "its first line is neither"),
    "indented field": (b"  Subject: x\n\nbody\n", "its first line is neither"),
    "dsn after a text line": (b"Hello there\n" + GOOD, "its first line is neither"),
}


@pytest.mark.parametrize("name", NOT_MAIL)
def test_not_a_message(name: str) -> None:
    data, reason = NOT_MAIL[name]
    result = lint_bytes(data)
    assert result.kind is Kind.NOT_A_MESSAGE
    assert result.findings == [] and not result.internal_errors
    assert result.verdict.startswith("not a message: " + reason)


@pytest.mark.parametrize("data", [
    GOOD, LF, GOOD.replace(b"\r\n", b"\r"), FROM_LINE + LF, b"\n\n" + GOOD, BAD,
    b"X-Odd.Name\t: v\r\n" + GOOD,  # any RFC 5322 field name, blanks before the colon
])
def test_messages_are_messages(data: bytes) -> None:
    assert looks_like_message(data) is True
    assert lint_bytes(data).kind is not Kind.NOT_A_MESSAGE


def test_sniffing_a_beginning() -> None:
    assert looks_like_message(b"\n\n", complete=False) is None  # blank so far: read more
    assert looks_like_message(b"Subj", complete=False) is None  # cut before the colon
    assert looks_like_message(b"Subject", complete=False) is None
    assert looks_like_message(b"Subject: x", complete=False) is True
    assert looks_like_message(b"Fro", complete=False) is None
    assert looks_like_message(b"hello world\n", complete=False) is False
    assert looks_like_message(b"x" * 2000, complete=False) is False  # no field name is that long


def test_not_a_message_on_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    readme = write(tmp_path / "README.md", README)
    code, out, _ = lint(capsys, str(readme), os.devnull)
    assert code == 1
    assert out.splitlines() == [
        f'{readme}: not a message: its first line is neither a header field ("Name: value") nor an mbox "From " line',
        f"{os.devnull}: not a message: the input is empty",
        "0 message(s), 0 with errors: 0 error(s), 0 warning(s), 0 info; not judged: 2 not a message"]
    code, out, _ = lint(capsys, str(write(tmp_path / "good.eml", GOOD)))
    assert code == 0 and out.splitlines()[0].endswith(": RFC 3464 DSN reporting a failure")


# --- too large --------------------------------------------------------------------------------------------


class Endless(io.RawIOBase):
    """A stream that never ends (like /dev/urandom or a FIFO fed forever), counting what is read."""

    def __init__(self, head: bytes, filler: bytes) -> None:
        self.head, self.filler, self.given = head, filler, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview, /) -> int:  # type: ignore[override]
        data = (self.head + self.filler * (len(buffer) // len(self.filler) + 1))[:len(buffer)]
        self.head = b""
        buffer[:len(data)] = data
        self.given += len(data)
        return len(data)


def test_an_endless_message_stops_at_the_cap() -> None:
    stream = Endless(b"Subject: endless\r\n\r\n", b"x" * 75 + b"\r\n")
    result = read_message(io.BufferedReader(stream), max_size=MIB)
    assert isinstance(result, Unread) and result.kind is Kind.TOO_LARGE
    assert stream.given <= MIB + 1 + io.DEFAULT_BUFFER_SIZE  # cap + 1, and what the buffer reads ahead


def test_endless_random_bytes_stop_at_the_first_line() -> None:
    stream = Endless(b"", random_bytes(4096))
    result = read_message(io.BufferedReader(stream), max_size=MIB)
    assert isinstance(result, Unread) and result.kind is Kind.NOT_A_MESSAGE
    assert stream.given <= CHUNK + io.DEFAULT_BUFFER_SIZE


def test_the_cap_is_inclusive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    at_cap = write(tmp_path / "at.eml", GOOD)
    over = write(tmp_path / "over.eml", GOOD + b"\r\n")
    code, out, _ = lint(capsys, "--max-message-size", str(len(GOOD)), str(at_cap), str(over))
    assert code == 1
    assert out.splitlines() == [
        f"{at_cap}: RFC 3464 DSN reporting a failure",
        (f"{over}: too large: more than {len(GOOD)} bytes ({len(GOOD)} bytes), not read further; raise the cap "
         f"with --max-message-size (e.g. --max-message-size {2 * len(GOOD)})"),
        "1 message(s), 0 with errors: 0 error(s), 0 warning(s), 0 info; not judged: 1 too large"]
    assert lint(capsys, str(at_cap), str(over))[0] == 0  # under the default cap


def test_100_mib_files_in_bounded_memory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """100 MiB after a header (too large) and of random bytes (not a message), read with a 1 MiB cap."""
    big = write_random(tmp_path / "big.eml", 100 * MIB, head=b"Subject: big\n\n")
    noise = write_random(tmp_path / "noise.bin", 100 * MIB)
    tracemalloc.start()
    try:
        code, out, _ = lint(capsys, "--max-message-size", "1M", str(big), str(noise))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert code == 1
    assert out.splitlines()[0] == (f"{big}: too large: more than 1 MiB (1048576 bytes), not read further; "
                                   "raise the cap with --max-message-size (e.g. --max-message-size 2M)")
    assert out.splitlines()[1].startswith(f"{noise}: not a message: ")
    assert peak < 4 * MIB, peak


def test_an_mbox_skips_a_message_over_the_cap_in_constant_memory(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    box = write_random(tmp_path / "big.mbox", 100 * MIB, head=FROM_LINE + b"Subject: big\n\n",
                       tail=b"\n\n" + FROM_LINE + LF + b"\n" + FROM_LINE + BAD.replace(b"\r\n", b"\n"))
    tracemalloc.start()
    try:
        code, out, _ = lint(capsys, "--mbox", "--max-message-size", "1M", str(box))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == (f"{box}#1: too large: more than 1 MiB (1048576 bytes), skipped to the next message; "
                        "raise the cap with --max-message-size (e.g. --max-message-size 2M)")
    assert lines[1] == f"{box}#2: RFC 3464 DSN reporting a failure"
    assert lines[2] == f"{box}#3: RFC 3464 DSN reporting a failure"
    assert lines[-1].startswith("2 message(s), 1 with errors:") and lines[-1].endswith("; not judged: 1 too large")
    assert peak < 4 * MIB, peak


def test_a_line_without_end_is_not_held(tmp_path: Path) -> None:
    box = write(tmp_path / "one-line.mbox", FROM_LINE + b"Subject: x\n\n" + b"y" * (3 * MIB) + b"\n\n" + FROM_LINE + LF)
    tracemalloc.start()
    try:
        found = [(label, p if isinstance(p, (Unread, Trouble)) else len(p))
                 for label, p in iter_messages([box], mbox=True, max_size=MIB // 2)]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [label for label, _ in found] == [f"{box}#1", f"{box}#2"]
    assert isinstance(found[0][1], Unread) and found[0][1].kind is Kind.TOO_LARGE
    assert found[1][1] == len(LF)
    assert peak < 2 * MIB, peak


def test_stdin_over_the_cap() -> None:
    data = b"Subject: x\n\n" + b"y" * 5000
    proc = subprocess.run([sys.executable, "-m", "conformance.cli", "lint", "--max-message-size", "4K", "-"],
                          input=data, capture_output=True, check=False)
    assert proc.returncode == 1 and proc.stderr == b""
    assert proc.stdout.startswith(b"-: too large: more than 4 KiB (4096 bytes), not read further")
    proc = subprocess.run([sys.executable, "-m", "conformance.cli", "lint", "--max-message-size", "4K", "-"],
                          input=GOOD, capture_output=True, check=False)
    assert proc.returncode == 0, proc.stdout


@pytest.mark.skipif(not Path("/dev/urandom").exists(), reason="no /dev/urandom")
@pytest.mark.parametrize("mbox", [False, True])
def test_dev_urandom_ends(mbox: bool) -> None:
    proc = subprocess.run([sys.executable, "-m", "conformance.cli", "lint", "--max-message-size", "2M",
                           *(["--mbox"] if mbox else []), "/dev/urandom"], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 1 and proc.stderr == ""
    verdict = ('/dev/urandom: not an mbox: no "From " line starts a message in its first 2 MiB, not read further'
               if mbox else "/dev/urandom: not a message: ")
    assert proc.stdout.startswith(verdict)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_read_like_a_file(tmp_path: Path) -> None:
    fifo, good = tmp_path / "fifo", write(tmp_path / "good.eml", GOOD)
    os.mkfifo(fifo)
    # the writer blocks until lint opens the FIFO; it holds none of lint's pipes, so a failure cannot hang here
    script = 'cat "$1" > "$2" 2>/dev/null & exec "$3" -m conformance.cli lint "$2"'
    proc = subprocess.run(["sh", "-c", script, "sh", str(good), str(fifo), sys.executable], capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.startswith(f"{fifo}: RFC 3464 DSN reporting a failure")


# --- not an mbox ------------------------------------------------------------------------------------------


def test_not_an_mbox(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    single = write(tmp_path / "single.eml", GOOD)
    empty = write(tmp_path / "empty.mbox", b"")
    late = write(tmp_path / "late.mbox", b"x" * 5000 + b"\n\n" + FROM_LINE + LF)
    code, out, _ = lint(capsys, "--mbox", "--max-message-size", "4K", str(single), str(empty), str(late))
    assert code == 1
    assert out.splitlines() == [
        f'{single}: not an mbox: no "From " line starts a message (a single message? lint it without --mbox)',
        f'{empty}: not an mbox: no "From " line starts a message (the input is empty)',
        f'{late}: not an mbox: no "From " line starts a message in its first 4 KiB, not read further',
        "0 message(s), 0 with errors: 0 error(s), 0 warning(s), 0 info; not judged: 3 not an mbox"]
    assert lint(capsys, "--max-message-size", "4K", str(single))[0] == 0  # without --mbox


def test_mbox_line_endings_and_escapes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    crlf = FROM_LINE.replace(b"\n", b"\r\n") + GOOD + b"\r\n" + FROM_LINE.replace(b"\n", b"\r\n") + GOOD
    box = write(tmp_path / "crlf.mbox", b"junk before the first From line\n\n" + crlf)
    found = [p for _, p in iter_messages([box], mbox=True)]
    assert found == [GOOD, GOOD]
    escaped = write(tmp_path / "escaped.mbox", FROM_LINE + LF.replace(b"Your message", b">From here, your message"))
    [message] = [p for _, p in iter_messages([escaped], mbox=True)]
    assert isinstance(message, bytes) and b"\nFrom here, your message" in message
    assert lint(capsys, "--mbox", str(box), str(escaped))[0] == 0


# --- every output format ----------------------------------------------------------------------------------


def _mixed(tmp_path: Path) -> list[str]:
    return [str(write(tmp_path / "a-good.eml", GOOD)), str(write(tmp_path / "b-bad.eml", BAD)),
            str(write(tmp_path / "c-big.eml", GOOD + b"x" * 5000)), str(write(tmp_path / "d-readme.eml", README))]


def test_json_reports_every_verdict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = lint(capsys, "--format", "json", "--max-message-size", "4K", *_mixed(tmp_path))
    assert code == 1
    items = json.loads(out)
    assert [i["kind"] for i in items] == ["dsn", "dsn", "too-large", "not-a-message"]
    assert items[2]["verdict"].startswith("too large: more than 4 KiB (4096 bytes)")
    assert "--max-message-size" in items[2]["verdict"]
    assert items[3]["verdict"].startswith("not a message: ")
    assert items[2]["findings"] == items[3]["findings"] == []
    box = write(tmp_path / "x.mbox", README)
    items = json.loads(lint(capsys, "--format", "json", "--mbox", str(box))[1])
    assert [(i["source"], i["kind"]) for i in items] == [(str(box), "not-an-mbox")]


def test_junit_reports_every_verdict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import xmlschema

    code, out, _ = lint(capsys, "--format", "junit", "--max-message-size", "4K", *_mixed(tmp_path))
    assert code == 1
    xmlschema.XMLSchema(str(Path(__file__).resolve().parent / "data" / "junit-10.xsd")).validate(out)
    assert 'tests="4" failures="3"' in out
    assert 'classname="mta-conformance.lint.too-large"' in out and 'type="too-large"' in out
    assert 'classname="mta-conformance.lint.not-a-message"' in out and 'type="not-a-message"' in out
    assert "verdict: too large: more than 4 KiB" in out


def test_text_summary_counts_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = lint(capsys, "--max-message-size", "4K", *_mixed(tmp_path))
    assert code == 1
    assert out.splitlines()[-1] == ("2 message(s), 1 with errors: 1 error(s), 0 warning(s), 0 info; "
                                    "not judged: 1 not a message, 1 too large")


# --- folders ----------------------------------------------------------------------------------------------


def _corpus_like(root: Path) -> None:
    write(root / "README.md", README)
    write(root / "MANIFEST.tsv", b"file\tsource_repository\tlicense\nb.eml\thttps://example.org\tMIT\n")
    write(root / "LICENSES" / "MIT.txt", b"MIT License\n\nCopyright (c) 2014 Someone\n")
    write(root / "ehlo-2525.txt", b"S: 220 mx.example ESMTP\nC: ehlo probe\nS: 250-mx.example\n")
    write(root / "aliases.in", b"# aliases\npostmaster: root\n")
    write(root / "module.py", b'"""``mta-conformance``: a docstring"""\n')
    write(root / "envelope.json", b'{"reverse_path": ""}\n')
    write(root / ".DS_Store", b"\x00\x00\x00\x01Bud1" + random_bytes(200))


def test_a_folder_lints_only_mail_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "bounces"
    _corpus_like(root)
    mail = [write(root / "a.eml", GOOD), write(root / "B.EML", LF),
            write(root / "Maildir" / "cur" / "1700000000.M1P2.host:2,S", GOOD),
            write(root / "Maildir" / "new" / "1700000001.M3P4.host", GOOD),
            write(root / "saved-bounce.txt", b"Return-Path: <>\r\n" + GOOD),
            write(root / "from-line", FROM_LINE + LF)]
    code, out, err = lint(capsys, str(root))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert sorted(line.split(": ")[0] for line in lines[:-1]) == sorted(str(p) for p in mail)
    assert lines[-1] == "6 message(s), 0 with errors: 0 error(s), 0 warning(s), 0 info"


def test_a_folder_without_mail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "docs"
    _corpus_like(root)
    code, out, err = lint(capsys, str(root))
    assert code == 1
    assert err == f"mta-conformance lint: no mail files in {root}\n"
    assert out == "0 message(s), 0 with errors: 0 error(s), 0 warning(s), 0 info\n"
    assert lint(capsys, str(root / "README.md"))[0] == 1  # named: always linted, "not a message"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert lint(capsys, str(empty))[0] == 1


def test_an_eml_that_is_not_mail_is_a_verdict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "box"
    write(root / "a.eml", GOOD)
    write(root / "b.eml", random_bytes(3000))
    code, out, _ = lint(capsys, str(root))
    assert code == 1
    assert out.splitlines()[1].startswith(f"{root / 'b.eml'}: not a message: ")
    assert out.splitlines()[-1].endswith("; not judged: 1 not a message")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_folder_special_files_are_skipped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "box"
    write(root / "a.eml", GOOD)
    os.mkfifo(root / "fifo.eml")  # would block if opened
    (root / "dangling.eml").symlink_to(root / "nowhere.eml")
    code, out, err = lint(capsys, str(root))
    assert (code, err) == (0, "")
    assert out.splitlines()[-1].startswith("1 message(s)")


def test_mail_file_sniffing() -> None:
    assert looks_like_mail_file(GOOD) and looks_like_mail_file(FROM_LINE + LF)
    assert looks_like_mail_file(b"X-Spam: no\nReceived: from a by b\n\nhi\n")
    assert not looks_like_mail_file(b"X-Spam: no\nX-Other: yes\n\nDate: then\n")  # Date is in the body
    assert not looks_like_mail_file(README) and not looks_like_mail_file(b"")
    assert looks_like_mail_file(b"X-A: 1\nX-B: 2\nDat", complete=False) is False  # no known field seen yet
    assert looks_like_mail_file(b"Received: from a\n by b; Mon\nDate: M", complete=False)


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the bounce corpus is not at {CORPUS} (third-party data, not shipped)")
def test_the_corpus_folder_counts_its_messages_only(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, err = lint(capsys, "--min-severity", "error", str(CORPUS))
    assert err == ""
    verdicts = [line for line in out.splitlines() if ": " in line and line.split(": ")[0].startswith(str(CORPUS))
                and ":" not in line.split(": ")[0][len(str(CORPUS)):]]
    named = {line.split(": ")[0] for line in verdicts}
    emls = {str(p) for p in CORPUS.rglob("*.eml")}
    assert named == emls  # README.md, MANIFEST.tsv and LICENSES/ are neither linted nor counted
    judged = sum(1 for line in verdicts if ": not a message: " not in line)
    assert out.splitlines()[-1].startswith(f"{judged} message(s), ")


# --- never a traceback ------------------------------------------------------------------------------------


def test_unreadable_files_and_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "box"
    good = write(root / "a.eml", GOOD)
    locked = write(root / "b.eml", GOOD)
    write(root / "sub" / "c.eml", GOOD)
    real_open, real_scandir = Path.open, os.scandir

    def open_(self: Path, *args: object, **kwargs: object) -> object:
        if self == locked:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)  # type: ignore[call-overload]

    def scandir(path: object = ".") -> object:
        if Path(str(path)) == root / "sub":
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_scandir(path)  # type: ignore[call-overload]

    monkeypatch.setattr(Path, "open", open_)
    monkeypatch.setattr(os, "scandir", scandir)
    code, out, err = lint(capsys, str(root))
    assert code == ExitCode.USAGE
    assert err.splitlines() == [f"mta-conformance lint: {locked}: Permission denied",
                                f"mta-conformance lint: {root / 'sub'}: Permission denied"]
    assert out.splitlines() == [f"{good}: RFC 3464 DSN reporting a failure",
                                "1 message(s), 0 with errors: 0 error(s), 0 warning(s), 0 info"]
    code, out, err = lint(capsys, str(locked), str(good))
    assert code == 4 and err == f"mta-conformance lint: {locked}: Permission denied\n"
    assert out.startswith(f"{good}: RFC 3464")  # the run goes on


def test_a_read_error_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    broken = write(tmp_path / "broken.eml", GOOD)
    real_open = Path.open

    class Failing(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            raise OSError(errno.EIO, "Input/output error")

        def readline(self, size: int | None = -1) -> bytes:
            raise OSError(errno.EIO, "Input/output error")

    def open_(self: Path, *args: object, **kwargs: object) -> object:
        return Failing() if self == broken else real_open(self, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(Path, "open", open_)
    for mode in ([], ["--mbox"]):
        code, _, err = lint(capsys, *mode, str(broken))
        assert (code, err) == (4, f"mta-conformance lint: {broken}: Input/output error\n")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads every file")
def test_real_permissions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    locked = write(tmp_path / "box" / "locked" / "a.eml", GOOD)
    locked.chmod(0)
    locked.parent.chmod(0)
    try:
        code, _, err = lint(capsys, str(tmp_path / "box"))
        assert code == 4 and "Permission denied" in err and len(err.splitlines()) == 1
    finally:
        locked.parent.chmod(0o700)
        locked.chmod(0o600)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("mbox", [False, True])
def test_garbage_gets_a_verdict(seed: int, mbox: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(seed)
    pieces = [GOOD, LF, FROM_LINE, b"\n", b"\r", b"From ", b">From ", b"Subject: x\n", rng.randbytes(300)]
    data = b"".join(rng.choice(pieces) for _ in range(rng.randint(1, 30)))
    path = write(tmp_path / "garbage", data)
    code, out, err = lint(capsys, *(["--mbox"] if mbox else []), "--max-message-size", "2K", str(path))
    assert code in (0, 1) and "internal error" not in err and "Traceback" not in err
    assert out.splitlines()[-1].count("message(s)") == 1


# --- a closed output --------------------------------------------------------------------------------------


class ClosingPipe(io.StringIO):
    """An output whose reader goes away after *limit* characters."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def write(self, text: str) -> int:
        if self.tell() + len(text) > self.limit:
            raise BrokenPipeError(errno.EPIPE, "Broken pipe")
        return super().write(text)


@pytest.mark.parametrize("fmt", ["text", "json", "junit"])
def test_a_closed_output_ends_quietly(fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    for i in range(20):
        write(tmp_path / f"{i:02}.eml", BAD)
    monkeypatch.setattr(sys, "stdout", ClosingPipe(200))
    code = main(["lint", "--format", fmt, str(tmp_path)])
    assert code == 1  # as it would be without the closed pipe
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(("data", "status"), [(GOOD, 0), (BAD, 1)])
def test_a_closed_pipe_in_a_real_process(data: bytes, status: int, tmp_path: Path) -> None:
    """``lint dir | head -1`` when head is gone before lint writes: no traceback, status as without it."""
    for i in range(50):
        write(tmp_path / f"{i:02}.eml", data)
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody will ever read: every write gets EPIPE
    try:
        proc = subprocess.run([sys.executable, "-m", "conformance.cli", "lint", str(tmp_path)], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, check=False)
    finally:
        os.close(write_end)
    assert proc.returncode == status
    assert proc.stderr == ""
