"""The outbox: a channel that writes each message to a folder instead of sending it.

It is the embedded default (a first run sends nothing by accident) and the test double. One
file per message, named after `Message.key`, so a retry overwrites instead of duplicating:

    <key>.eml    email, a complete RFC 5322 message (open it in any mail client)
    <key>.json   SMS: {"to", "from", "body", "key", "encoding", "segments", ...}

When a client is forgotten (G1), :meth:`OutboxChannel.forget` rewrites their files in place
without recipient, subject, body or unsubscribe link (an email keeps From, Date and Message-ID,
an SMS its sender, key, encoding and segments). Rewritten, not deleted: the outbox stands for a
provider's log, so the message stays counted, and `lookup` still knows it was written (a
reconciler must not send it again).

Errors::

    ChannelError
     ├── DeliveryError
     │    └── TransientDeliveryError   the folder cannot be written (disk full, permissions)
     └── ConfigurationError            the email sender has no domain
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import re
import tempfile
from collections.abc import Iterable
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

import gsm0338  # noqa: F401 - registers the "gsm03.38" codec

from channels.base import Channel, Message, Receipt
from channels.email import compose_email
from channels.errors import TransientDeliveryError

DEFAULT_EMAIL_SENDER = "Salonpost <no-reply@salonpost.invalid>"
DEFAULT_SMS_SENDER = "Salonpost"
SUFFIXES = (".eml", ".json")
# Only names this channel writes: never a path, never a hidden or temporary file.
_OWN_FILE = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*\.(eml|json)")
FORGOTTEN = "G1"
FORGOTTEN_NOTE = "The recipient was forgotten (G1): address, subject and content are removed."
_KEPT_SMS = ("from", "key", "encoding", "segments")
_KEPT_EMAIL = ("From", "Date", "Message-ID")


class OutboxChannel(Channel):
    """Write messages to `directory`; safe to share between threads (each write is atomic)."""

    name = "outbox"
    kinds = frozenset({"sms", "email"})

    def __init__(
        self,
        directory: str | Path,
        *,
        default_sender: str = DEFAULT_EMAIL_SENDER,
        default_sms_sender: str = DEFAULT_SMS_SENDER,
    ) -> None:
        self.directory = Path(directory)
        self.default_sender = default_sender
        self.default_sms_sender = default_sms_sender

    def send(self, message: Message) -> Receipt:
        self._check_kind(message)
        if message.channel == "email":
            email_message = compose_email(message, default_sender=self.default_sender)
            name, data = file_stem(message.key) + ".eml", email_message.as_bytes()
        else:
            name, data = file_stem(message.key) + ".json", self._sms_json(message)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            write_atomically(self.directory / name, data)
        except OSError as exc:
            raise TransientDeliveryError(f"cannot write outbox file {name}: {exc}") from exc
        return Receipt(provider_id=name, status="sent")

    def lookup(self, message: Message, *, since: dt.datetime) -> Receipt | None:
        """The file named by the message key exists, or the message was never written."""
        suffix = ".eml" if message.channel == "email" else ".json"
        name = file_stem(message.key) + suffix
        return (
            Receipt(provider_id=name, status="sent") if (self.directory / name).exists() else None
        )

    def path_for(self, receipt: Receipt) -> Path:
        """Where the message of `receipt` was written."""
        return self.directory / receipt.provider_id

    def forget(self, names: Iterable[str]) -> list[str]:
        """Rewrite these messages without anything that names the person (G1).

        ``names``: file names as in ``Receipt.provider_id``, or message keys (both suffixes
        are looked for). Names of other providers, and files not there, are passed over.
        Returns the file names rewritten.
        """
        rewritten = []
        for name in sorted(_own_files(names)):
            path = self.directory / name
            if path.is_file():  # OSError (permissions, disk full) is the caller's to report
                write_atomically(path, _forgotten(path))
                rewritten.append(name)
        return rewritten

    def _sms_json(self, message: Message) -> bytes:
        encoding, segments = sms_encoding(message.body)
        record: dict[str, Any] = {
            "to": message.to,
            "from": message.sender or self.default_sms_sender,
            "body": message.body,
            "key": message.key,
            "encoding": encoding,
            "segments": segments,
        }
        if message.status_callback:
            record["status_callback"] = message.status_callback
        return (json.dumps(record, ensure_ascii=False, indent=2) + "\n").encode()


def _own_files(names: Iterable[str]) -> set[str]:
    files: set[str] = set()
    for name in names:
        if not name:
            continue
        stem = file_stem(name)
        candidates = [name] if name.endswith(SUFFIXES) else [stem + s for s in SUFFIXES]
        files.update(c for c in candidates if _OWN_FILE.fullmatch(c))
    return files


def _forgotten(path: Path) -> bytes:
    """The file's content once its recipient is forgotten."""
    if path.suffix == ".json":
        try:
            record = json.loads(path.read_bytes())
        except ValueError:
            record = {}
        kept = {k: record[k] for k in _KEPT_SMS if isinstance(record, dict) and k in record}
        kept.update(key=kept.get("key", path.stem), forgotten=FORGOTTEN)
        return (json.dumps(kept, ensure_ascii=False, indent=2) + "\n").encode()
    with path.open("rb") as file:
        headers = BytesHeaderParser().parse(file)
    lines = [f"{name}: {headers[name]}" for name in _KEPT_EMAIL if headers[name]]
    lines += [f"X-Salonpost-Forgotten: {FORGOTTEN}", "", FORGOTTEN_NOTE, ""]
    return "\r\n".join(lines).encode("utf-8")


def file_stem(key: str) -> str:
    """A safe file name for `key`: the key itself when it is safe, else a cleaned key + hash."""
    if not key:
        raise ValueError("message key must not be empty")
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "_", key).lstrip(".")
    if cleaned == key:
        return key
    # Why the hash: two different keys must never clean up to the same file name.
    return f"{cleaned[:100]}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def write_atomically(path: Path, data: bytes) -> None:
    """Write via a temporary file and rename, so a reader never sees half a message."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def sms_encoding(body: str) -> tuple[str, int]:
    """("GSM-7" or "UCS-2", number of SMS segments) as a carrier would bill `body`."""
    try:
        septets = len(body.encode("gsm03.38"))  # extension characters take two septets
    except UnicodeEncodeError:
        units = len(body.encode("utf-16-le")) // 2
        return "UCS-2", 1 if units <= 70 else math.ceil(units / 67)
    return "GSM-7", 1 if septets <= 160 else math.ceil(septets / 153)
