"""A real IMAP server for tests: Debian's Dovecot (package ``dovecot-imapd``), started per test
on a free loopback port with a throw-away configuration, mail directory and user.

``dovecot`` is a function-scoped fixture, so every test (and every pytest-xdist worker) has its
own server and nothing is shared. Starting one takes about 50 ms.

Running as root (CI containers), Dovecot refuses two things: login processes as root ("This
process must not be run as root") and mail access as UID 0 ("userdb returned 0 as uid"). So
the login processes run as ``dovenull`` and internal services as ``dovecot`` (both created by
the Debian package), and the mail belongs to ``nobody``; only ``auth`` runs as root, so it can
read the password file in our private directory. As any other user, every service runs as that
user with chroots disabled (Dovecot's documented non-root mode).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from imapclient import IMAPClient

from pomogu.core.smtp_sink import free_port

USER = "desk"
PASSWORD = "imap-secret"
START_TIMEOUT = 10.0


def dovecot_binary() -> str | None:
    return shutil.which("dovecot") or next(
        (p for p in ("/usr/sbin/dovecot", "/sbin/dovecot") if os.access(p, os.X_OK)), None
    )


def _accounts() -> dict[str, str]:
    """Who each part of Dovecot runs as (see the module docstring)."""
    if os.geteuid() == 0:
        for name in ("dovecot", "dovenull", "nobody"):
            pwd.getpwnam(name)  # KeyError: the dovecot-core package is not installed properly
        return {"internal": "dovecot", "login": "dovenull", "mail": "nobody", "auth": "root"}
    me = pwd.getpwuid(os.geteuid()).pw_name
    return {"internal": me, "login": me, "mail": me, "auth": me}


class Dovecot:
    """One Dovecot instance: ``start()``, ``stop()``, and helpers that act as another mail
    client would (APPEND, read flags, recreate a folder)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.host = "127.0.0.1"
        self.port = free_port()
        self.user = USER
        self.password = PASSWORD
        self.process: subprocess.Popen[bytes] | None = None
        self.config = root / "dovecot.conf"
        self.log = root / "dovecot.log"
        self._write_config()

    # --- server ---

    def _write_config(self) -> None:
        accounts = _accounts()
        mail_root = self.root / "mail"
        mail_root.mkdir()
        mail_user = pwd.getpwnam(accounts["mail"])
        root_mode = os.geteuid() == 0
        if root_mode:
            # The mail processes run as nobody: they must reach and own their directory.
            os.chmod(self.root, 0o711)  # noqa: S103 - traversable, not readable
            os.chown(mail_root, mail_user.pw_uid, mail_user.pw_gid)
        (self.root / "passwd").write_text(f"{self.user}:{{PLAIN}}{self.password}\n")
        os.chmod(self.root / "passwd", 0o600)
        no_chroot = "" if root_mode else "  chroot =\n"
        self.config.write_text(
            f"""# Throw-away Dovecot {self.port} for pomogu's tests
base_dir = {self.root}/run
state_dir = {self.root}/state
instance_name = pomogu-test-{self.port}
listen = {self.host}
protocols = imap
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
log_path = {self.log}
default_internal_user = {accounts["internal"]}
default_login_user = {accounts["login"]}
first_valid_uid = {min(mail_user.pw_uid, 500)}
first_valid_gid = {min(mail_user.pw_gid, 500)}
mail_location = maildir:{mail_root}/%u/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.root}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_user.pw_uid} gid={mail_user.pw_gid} home={mail_root}/%u
}}
service auth {{
  user = {accounts["auth"]}
}}
service imap-login {{
{no_chroot}  inet_listener imap {{
    address = {self.host}
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
{no_chroot}}}
"""
        )

    def start(self) -> None:
        binary = dovecot_binary()
        if binary is None:
            pytest.fail("dovecot is not installed: apt-get install dovecot-imapd")
        self.process = subprocess.Popen(
            [binary, "-F", "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            start_new_session=True,
            stderr=open(self.root / "dovecot.stderr", "ab"),  # noqa: SIM115 - child owns it
        )
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process.poll() is not None:
                pytest.fail(f"dovecot exited with {self.process.returncode}:\n{self.logs()}")
            try:
                with self.client():
                    return  # listening, and auth is ready
            except (OSError, IMAPClient.Error, IMAPClient.AbortError):
                if time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(f"dovecot did not answer within {START_TIMEOUT}s:\n{self.logs()}")
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop the server we started: SIGKILL to its process group (the master was started
        in a session of its own, so the group is exactly Dovecot's processes). A graceful
        SIGTERM costs a second per test; for a throw-away server, and for the "server went
        down" tests, an abrupt stop is what we want. Waits until the port is free again, so
        ``start()`` can reuse it."""
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex((self.host, self.port)) != 0:
                    return
            time.sleep(0.05)

    def logs(self) -> str:
        parts = [p.read_text(errors="replace") for p in (self.log, self.root / "dovecot.stderr")]
        return "\n".join(p for p in parts if p)[-4000:]

    # --- another mail client ---

    @contextlib.contextmanager
    def client(self) -> Iterator[Any]:
        imap = IMAPClient(self.host, port=self.port, ssl=False, timeout=10)
        try:
            imap.login(self.user, self.password)
            yield imap
        finally:
            with contextlib.suppress(Exception):
                imap.logout()

    def mailbox_fields(self, folder: str = "INBOX") -> dict[str, Any]:
        """The IMAP fields of a ``Mailbox`` that fetches from this server."""
        return {
            "imap_host": self.host,
            "imap_port": self.port,
            "imap_ssl": False,
            "imap_user": self.user,
            "imap_password": self.password,
            "imap_folder": folder,
        }

    def append(
        self, raw: bytes, *, folder: str = "INBOX", flags: Iterable[bytes | str] = ()
    ) -> int:
        """APPEND one message; returns its UID (from APPENDUID)."""
        return self.append_many([raw], folder=folder, flags=flags)[0]

    def append_many(
        self, messages: Iterable[bytes], *, folder: str = "INBOX", flags: Iterable[bytes | str] = ()
    ) -> list[int]:
        flag_list = list(flags)
        uids = []
        with self.client() as imap:
            if not imap.folder_exists(folder):
                imap.create_folder(folder)
            for raw in messages:
                answer = imap.append(folder, raw, flags=flag_list)
                # b"[APPENDUID <uidvalidity> <uid>] Append completed ..."
                uids.append(int(answer.split(b"]", 1)[0].split()[-1]))
        return uids

    def flags(self, folder: str = "INBOX") -> dict[int, set[bytes]]:
        with self.client() as imap:
            imap.select_folder(folder, readonly=True)
            uids = imap.search(["ALL"])
            if not uids:
                return {}
            return {uid: set(flags) for uid, flags in imap.get_flags(uids).items()}

    def messages(self, folder: str = "INBOX") -> dict[int, bytes]:
        """Every message of the folder by UID, as the server serves it (with PEEK)."""
        with self.client() as imap:
            imap.select_folder(folder, readonly=True)
            uids = imap.search(["ALL"])
            if not uids:
                return {}
            data = imap.fetch(uids, ["BODY.PEEK[]"])
            return {uid: bytes(data[uid][b"BODY[]"]) for uid in uids}

    def uidvalidity(self, folder: str = "INBOX") -> int:
        with self.client() as imap:
            return int(imap.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"])

    def recreate_folder(self, folder: str) -> None:
        """Delete and create the folder again: a new UIDVALIDITY epoch, UIDs from 1."""
        with self.client() as imap:
            imap.delete_folder(folder)
            imap.create_folder(folder)

    def folders(self) -> list[str]:
        with self.client() as imap:
            return [name for _flags, _delim, name in imap.list_folders()]


@contextlib.contextmanager
def running_dovecot() -> Iterator[Dovecot]:
    """A started server in a private directory; stopped and removed afterwards."""
    # Not pytest's tmp_path: its parents are private to root, and the mail processes (nobody)
    # must be able to reach their directory.
    root = Path(tempfile.mkdtemp(prefix="pomogu-dovecot-"))
    server = Dovecot(root)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    """A Dovecot of this test's own (import the fixture, or use ``running_dovecot()``)."""
    with running_dovecot() as server:
        yield server
