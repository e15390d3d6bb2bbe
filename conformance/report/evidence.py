"""What reached the harness for a case, saved with the run: evidence a vendor can open and check.

Every NDR and relayed copy a case's judges saw is written beside the reports as
``captured/<case>/<n>.eml`` (the bytes exactly as the harness received them)
and ``<n>.json`` (its envelope: the reverse path as sent, the recipients with
the harness's replies, which harness port and role took it, when it arrived
counted from the start of the case, the peer).  JUnit and results.json name
the files.

Everything here comes from the target or from a case file, so nothing is
trusted: a case id becomes a folder name only through :func:`safe_name` (no
path separators, no ``..``, no control bytes); text shown to people is made
printable by :mod:`.escape`, where every writer goes for it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from ..harness.mailbox import Transaction
from ..run.sent import CAPTURE_NAMED

#: the folder under the report folder that holds the captured messages
FOLDER = "captured"
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")
_NAME_LIMIT = 100


def safe_name(case_id: str) -> str:
    """A folder name for *case_id*: letters, digits, ``.``, ``_``, ``-`` only, never ``.`` or ``..``.

    A changed id gets a short hash of the original, so two ids that differ only in
    the characters replaced still get folders of their own.
    """
    name = _UNSAFE_NAME.sub("_", case_id).lstrip(".")[:_NAME_LIMIT] or "case"
    if name != case_id:
        name += "-" + hashlib.sha256(case_id.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return name


def message_path(case_id: str, number: int, suffix: str = ".eml") -> str:
    """Where message *number* of a case is saved, relative to the report folder (always with ``/``)."""
    return f"{FOLDER}/{safe_name(case_id)}/{number}{suffix}"


def judged_as(transcript: str) -> dict[str, str]:
    """Transaction id -> how the judges named it (``NDR 2``, ``relayed copy 1``), read from the case transcript."""
    return {m.group(3): f"{m.group(1)} {m.group(2)}" for m in CAPTURE_NAMED.finditer(transcript)}


def envelope(tx: Transaction, case_id: str, number: int, started: float, label: str) -> dict[str, Any]:
    """The envelope of one captured transaction, as its ``.json`` file holds it.

    Values are as the harness recorded them, under the names of the harness's
    spool records, so ``mta-conformance lint --transaction`` reads the file;
    the file is written with every non-ASCII and control character as a JSON
    escape.
    """
    def after(moment: float) -> float | None:
        return round(moment - started, 3) if started and moment else None

    return {
        "case_id": case_id, "number": number, "judged_as": label, "transaction": tx.id,
        "role": tx.role, "listener": "the harness port with DSN" if tx.dsn_advertised else
        "the harness port without DSN", "port": tx.port, "peer": tx.peer, "helo": tx.helo,
        "mail_arg": tx.mail_arg, "mail_from": tx.mail_from, "mail_params": list(tx.mail_params),
        "recipients": [{"address": r.address, "params": list(r.params), "reply": r.reply} for r in tx.recipients],
        "data_reply": tx.data_reply, "data_size": None if tx.data is None else len(tx.data),
        "started": tx.started, "ended": tx.ended,
        "began_after_seconds": after(tx.started), "arrived_after_seconds": after(tx.ended),
        "harness_transcript": list(tx.transcript),
    }


def message_entries(case_id: str, messages: list[Transaction], started: float,
                    transcript: str) -> list[dict[str, Any]]:
    """The captured messages as a case record carries them to the process that writes the reports."""
    labels = judged_as(transcript)
    entries = []
    for number, tx in enumerate(messages, start=1):
        entries.append({
            "eml": message_path(case_id, number) if tx.data is not None else None,
            "json": message_path(case_id, number, ".json"),
            "data": None if tx.data is None else base64.b64encode(tx.data).decode("ascii"),
            "envelope": envelope(tx, case_id, number, started, labels.get(tx.id, "")),
        })
    return entries


def captured_files(entries: list[dict[str, Any]]) -> list[str]:
    """The files a case's captured messages are saved as, relative to the report folder."""
    return [path for entry in entries for path in (entry["eml"], entry["json"]) if path]


def clear(report_dir: Path) -> None:
    """Remove the captured messages of an earlier run (only the files this module writes)."""
    folder = report_dir / FOLDER
    if not folder.is_dir():
        return
    for case_dir in folder.iterdir():
        if not case_dir.is_dir() or case_dir.is_symlink():
            continue
        for path in case_dir.iterdir():
            if path.suffix in (".eml", ".json") and path.stem.isdigit() and path.is_file():
                path.unlink()
        if not any(case_dir.iterdir()):
            case_dir.rmdir()
    if not any(folder.iterdir()):
        folder.rmdir()


def write_captured(report_dir: Path, entries: list[dict[str, Any]]) -> None:
    """Write one case's captured messages (``.eml`` exactly as received, ``.json`` its envelope)."""
    for entry in entries:
        json_path = report_dir / entry["json"]
        json_path.parent.mkdir(parents=True, exist_ok=True)
        if entry["eml"] and entry["data"] is not None:
            (report_dir / entry["eml"]).write_bytes(base64.b64decode(entry["data"]))
        json_path.write_text(json.dumps(entry["envelope"], indent=1, ensure_ascii=True) + "\n", encoding="ascii")
