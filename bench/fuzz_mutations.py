"""The mutations of bench/fuzz_lint.py: each takes a message and a seeded RNG, returns new bytes and a phrase.

A real bounce, broken in the ways a careless or hostile MTA breaks one, must
never make the linter fail inside or stall; each mutation here is one such way
(RFC 5322 framing, RFC 2045-2047 encodings, RFC 2231 parameters, MIME nesting).
Every choice comes from the RNG it is given, so a seed names an input exactly.
"""

from __future__ import annotations

import base64
import quopri
import random
import re
from collections.abc import Callable

#: no mutation makes an input larger than this (the linter's callers see NDRs under a few MB)
MAX_SIZE = 2_000_000

Mutation = Callable[[bytes, random.Random], tuple[bytes, str]]

_HEADER = re.compile(rb"^([A-Za-z][A-Za-z0-9-]*):[ \t]*(.*?)\r?$", re.MULTILINE)
_BOUNDARY = re.compile(rb'boundary\s*=\s*"?([^";\r\n]+)"?', re.IGNORECASE)
_PARAM = re.compile(rb';\s*([A-Za-z-]+)\s*=\s*("[^"\r\n]*"|[^;\s]+)')
_PART = re.compile(rb"^Content-Type:[^\r\n]*\r?\n(?:[ \t][^\r\n]*\r?\n|[A-Za-z-]+:[^\r\n]*\r?\n)*\r?\n",
                   re.MULTILINE | re.IGNORECASE)
_TYPES = (b"multipart/report; report-type=delivery-status", b"multipart/mixed", b"multipart/report",
          b"message/delivery-status", b"message/rfc822", b"text/rfc822-headers", b"text/plain",
          b"message/global-delivery-status", b"multipart/alternative", b"application/octet-stream",
          b"multipart/", b"/", b"", b"text/plain; charset=\"unknown-8bit\"", b"message/partial")
_RUNS = (b" ", b"(", b";", b'"', b"\\", b"=", b"\t", b"<", b"-", b"\r\n ")
_JUNK = (b"\x00", b"\x01\x02\x1b", b"\x7f", b"\xff\xfe", b"\xc3\x28", b"\xe2\x82", b"\xed\xa0\x80",
         b"\r", b"\n", b"\x0c", b"\x80" * 8, b"\xf0\x9f\x92")


def _lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True) or [b""]


def _run_length(rng: random.Random) -> int:
    """Long, but each input stays under 1 MB of run: the lengths the linter's bounds must cover."""
    return rng.choice((10, 100, 1000, 10_000, 100_000, 500_000))


def flip(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    buf = bytearray(data or b"x")
    count = rng.randint(1, 16)
    for _ in range(count):
        buf[rng.randrange(len(buf))] ^= rng.randint(1, 255)
    return bytes(buf), f"{count} byte(s) flipped"


def truncate(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    cut = rng.randrange(len(data) + 1)
    return data[:cut], f"truncated at byte {cut}"


def duplicate(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    lines = _lines(data)
    start = rng.randrange(len(lines))
    end = min(len(lines), start + rng.choice((1, 1, 3, 20, 200)))
    times = rng.choice((1, 2, 10, 1000))
    block = b"".join(lines[start:end]) * times
    block = block[:MAX_SIZE]
    return b"".join(lines[:end]) + block + b"".join(lines[end:]), (
        f"lines {start + 1}-{end} repeated {times} more time(s)")


def delete(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    lines = _lines(data)
    start = rng.randrange(len(lines))
    end = min(len(lines), start + rng.choice((1, 1, 2, 5, 50)))
    return b"".join(lines[:start] + lines[end:]), f"lines {start + 1}-{end} deleted"


def insert(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    at = rng.randrange(len(data) + 1)
    if rng.random() < 0.5:
        junk = rng.choice(_JUNK) * rng.choice((1, 1, 5, 1000))
        what = f"{len(junk)} control/invalid byte(s) {junk[:4]!r}"
    else:
        unit = rng.choice(_RUNS)
        junk = unit * (_run_length(rng) // len(unit))
        what = f"a run of {len(junk)} bytes of {unit!r}"
    return data[:at] + junk + data[at:], f"{what} inserted at byte {at}"


def swap_headers(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    found = list(_HEADER.finditer(data))
    if len(found) < 2:
        return flip(data, rng)
    one, two = sorted(rng.sample(found, 2), key=lambda m: m.start())
    out = (data[:one.start(2)] + two.group(2) + data[one.end(2):two.start(2)] + one.group(2)
           + data[two.end(2):])
    return out, f"values of {one.group(1)!r} and {two.group(1)!r} swapped"


def content_type(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    found = [m for m in _HEADER.finditer(data) if m.group(1).lower() == b"content-type"]
    if not found:
        return nest(data, rng)
    target = rng.choice(found)
    value = target.group(2)
    choice = rng.randrange(3)
    if choice == 0:
        new = rng.choice(_TYPES) + value[value.find(b";"):] if b";" in value else rng.choice(_TYPES)
        what = "Content-Type changed"
    elif choice == 1 and _BOUNDARY.search(value):
        new = _BOUNDARY.sub(b'boundary="' + rng.choice((b"", b"-", b"b1", b"x" * 200, b"\"")) + b'"',
                            value, count=1)
        what = "boundary changed"
    else:
        new = _BOUNDARY.sub(b"", value) if rng.random() < 0.5 else value + b'; boundary="' + b"-" * 70 + b'"'
        what = "boundary removed or added"
    return data[:target.start(2)] + new + data[target.end(2):], f"{what} at byte {target.start(2)}"


def nest(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    depth = rng.choice((1, 2, 5, 50, 300))
    kind = rng.choice((b"multipart/mixed", b"multipart/report; report-type=delivery-status"))
    inner = data
    for level in range(depth):
        b = b"z%d" % level
        inner = (b"MIME-Version: 1.0\r\nContent-Type: " + kind + b'; boundary="' + b + b'"\r\n\r\n--' + b
                 + b"\r\nContent-Type: message/rfc822\r\n\r\n" + inner + b"\r\n--" + b + b"--\r\n")
    return inner, f"nested {depth} level(s) deep in {kind.split(b';')[0].decode()}"


def encode_part(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    parts = list(_PART.finditer(data))
    if not parts:
        return flip(data, rng)
    head = rng.choice(parts)
    end = data.find(b"\n--", head.end())
    end = len(data) if end < 0 else end + 1
    body = data[head.end():end]
    if rng.random() < 0.5:
        name, encoded = b"base64", base64.encodebytes(body)
    else:
        name, encoded = b"quoted-printable", quopri.encodestring(body)
    if rng.random() < 0.2:
        encoded = encoded.replace(b"=", b"=Z", 1)
    header = b"Content-Transfer-Encoding: " + name + b"\r\n"
    at = head.end() - (2 if data[head.end() - 2:head.end()] == b"\r\n" else 1)
    return data[:at] + header + data[at:head.end()] + encoded + data[end:], (
        f"the part at byte {head.start()} encoded as {name.decode()}")


def encode_word(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    found = list(_HEADER.finditer(data))
    if not found:
        return flip(data, rng)
    target = rng.choice(found)
    value = target.group(2)
    charset = rng.choice((b"utf-8", b"iso-8859-1", b"x-unknown", b""))
    if rng.random() < 0.5:
        word = b"=?" + charset + b"?B?" + base64.b64encode(value) + b"?="
    else:
        word = b"=?" + charset + b"?Q?" + quopri.encodestring(value, header=True).replace(b"\n", b"") + b"?="
    if rng.random() < 0.2:
        word = word[: rng.randrange(len(word) + 1)]
    return data[:target.start(2)] + word + data[target.end(2):], (
        f"{target.group(1)!r} RFC 2047-encoded ({charset.decode() or 'no charset'})")


def split_param(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    found = list(_PARAM.finditer(data))
    if not found:
        return content_type(data, rng)
    target = rng.choice(found)
    name, value = target.group(1), target.group(2).strip(b'"')
    pieces = max(1, min(len(value), rng.choice((2, 3, 10, 1000))))
    size = max(1, -(-len(value) // pieces))
    chunks = [value[i:i + size] for i in range(0, len(value), size)] or [b""]
    order = list(range(len(chunks)))
    if rng.random() < 0.2:
        rng.shuffle(order)
    extended = rng.random() < 0.5
    out = b""
    for i in order:
        if extended:
            text = b"".join(b"%%%02X" % c for c in chunks[i])
            out += b"; " + name + b"*%d*=" % i + (b"utf-8''" if i == 0 else b"") + text
        else:
            out += b"; " + name + b'*%d="' % i + chunks[i] + b'"'
    return data[:target.start()] + out + data[target.end():], (
        f"parameter {name!r} split into {len(chunks)} RFC 2231 section(s)")


def long_line(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    lines = _lines(data)
    index = rng.randrange(len(lines))
    line = lines[index]
    body = line.rstrip(b"\r\n")
    if rng.random() < 0.5 and index + 1 < len(lines):
        end = min(len(lines), index + rng.choice((10, 100, 10_000)))
        joined = b" ".join(x.rstrip(b"\r\n") for x in lines[index:end]) + b"\r\n"
        return b"".join(lines[:index]) + joined + b"".join(lines[end:]), f"lines {index + 1}-{end} joined"
    filler = ((body or b"x") * (_run_length(rng) // max(1, len(body)) + 1))[:MAX_SIZE // 2]
    return (b"".join(lines[:index]) + body + filler + line[len(body):] + b"".join(lines[index + 1:]),
            f"line {index + 1} made {len(body) + len(filler)} bytes long")


MUTATIONS: tuple[Mutation, ...] = (flip, truncate, duplicate, delete, insert, swap_headers, content_type,
                                   nest, encode_part, encode_word, split_param, long_line)


def mutate(data: bytes, rng: random.Random) -> tuple[bytes, list[str]]:
    """One to three mutations of *data* in a row, drawn from *rng*, each kept under :data:`MAX_SIZE`."""
    said: list[str] = []
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        mutation = rng.choice(MUTATIONS)
        data, what = mutation(data, rng)
        data = data[:MAX_SIZE]
        said.append(f"{mutation.__name__}: {what}")
    return data, said
