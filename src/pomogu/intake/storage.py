"""Attachment files: outside any served directory, under generated names, written and synced to
disk before the transaction that references them commits (REL-1, SEC-5)."""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from django.conf import settings

from pomogu.cases.models import Message
from pomogu.intake.models import Attachment
from pomogu.intake.parsing import ParsedAttachment


def root() -> Path:
    return Path(settings.DATA_DIR) / "attachments"


def path_of(storage_name: str) -> Path:
    # storage_name is ours (hex), never a customer's file name: no path can escape the root.
    return root() / storage_name[:2] / storage_name


# Only the desk's own user may list, read or change what customers sent (SC-7). The modes are set
# explicitly after creation because mkdir's and open's are filtered by the umask: under a umask
# of 0 the attachments folder came out world-writable, under a strict one a file unreadable.
DIRECTORY_MODE = 0o700
FILE_MODE = 0o600


def _private_directory(path: Path) -> None:
    """Create ``path`` with DIRECTORY_MODE; one that already exists is left as it is."""
    try:
        path.mkdir(mode=DIRECTORY_MODE)
    except FileExistsError:
        return
    os.chmod(path, DIRECTORY_MODE)


def save_attachment(message: Message, part: ParsedAttachment) -> Attachment:
    storage_name = secrets.token_hex(16)
    path = path_of(storage_name)
    root().parent.mkdir(parents=True, exist_ok=True)  # the data directory, made at start-up
    _private_directory(root())
    _private_directory(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        # os.write may write only part of the bytes (a nearly full disk does exactly that) and
        # says so only in its return value: keep writing until all is down or the disk refuses.
        view = memoryview(part.content)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        path.unlink(missing_ok=True)  # never leave a truncated file behind
        raise
    else:
        os.close(fd)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return Attachment.objects.create(
        message=message,
        filename=part.filename[:255],
        content_type=part.content_type[:255],
        size=len(part.content),
        sha256=hashlib.sha256(part.content).hexdigest(),
        storage_name=storage_name,
        inline=part.inline,
    )
