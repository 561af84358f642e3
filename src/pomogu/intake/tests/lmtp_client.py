"""A small LMTP client for tests and benchmarks that reads one reply per accepted recipient after
DATA (RFC 2033 §4.2). ``smtplib.LMTP`` reads only one (bpo-32803), so it cannot check this."""

from __future__ import annotations

import contextlib
import socket
from dataclasses import dataclass


@dataclass
class Reply:
    code: int
    text: str


class LmtpClient:
    def __init__(self, host: str, port: int, timeout: float = 30) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.file = self.sock.makefile("rb")
        self.greeting = self._reply()
        self._command(b"LHLO tests.localhost")

    def _reply(self) -> Reply:
        lines = []
        while True:
            line = self.file.readline()
            if not line:
                raise ConnectionError("the server closed the connection")
            lines.append(line.decode("utf-8", "replace").rstrip("\r\n"))
            if len(line) < 4 or line[3:4] != b"-":
                break
        return Reply(int(lines[-1][:3]), "\n".join(s[4:] for s in lines))

    def _command(self, line: bytes) -> Reply:
        self.sock.sendall(line + b"\r\n")
        return self._reply()

    def send(self, mail_from: str, recipients: list[str], raw: bytes) -> list[Reply]:
        """One transaction; returns the reply for each recipient (RCPT refusals included)."""
        self._command(b"RSET")
        reply = self._command(f"MAIL FROM:<{mail_from}>".encode())
        if reply.code != 250:
            return [reply] * len(recipients)
        accepted: list[int] = []
        results: list[Reply | None] = []
        for index, recipient in enumerate(recipients):
            rcpt = self._command(f"RCPT TO:<{recipient}>".encode())
            if rcpt.code == 250:
                accepted.append(index)
                results.append(None)
            else:
                results.append(rcpt)
        if not accepted:
            return [r for r in results if r is not None]
        data = self._command(b"DATA")
        if data.code != 354:
            return [data] * len(recipients)
        self.sock.sendall(dot_stuff(raw) + b".\r\n")
        for index in accepted:
            results[index] = self._reply()
        return [r for r in results if r is not None]

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._command(b"QUIT")
        self.file.close()
        self.sock.close()


def dot_stuff(raw: bytes) -> bytes:
    """CRLF line ends and a leading dot doubled, as SMTP's DATA needs; ends with CRLF."""
    text = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    lines = text.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return b"".join((b"." + line if line.startswith(b".") else line) + b"\r\n" for line in lines)
