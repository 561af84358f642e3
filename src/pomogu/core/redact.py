"""Keep the tokens of emailed links out of every log line (AZ-6).

A survey link (``/survey/<token>/``) and a portal sign-in link (``/my/link/<token>/``) carry
their capability in the path. Web-server access logs write the path (and the Referer, which
repeats it when the page posts to itself), and Django writes it for every answer of 400 and
more. Anyone who reads the logs must not be able to rate a case or sign in as a customer, so
those lines carry ``…`` instead of the token: in gunicorn's access log (``AccessLogger``, set
by ``pomogu web``) and in Django's request log (``RedactTokens``, set in LOGGING).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from gunicorn.glogging import Logger

HIDDEN = "…"
_TOKEN_PATH = re.compile(r"(/(?:survey|my/link)/)[^/?#\s\"]+")


def redact(text: str) -> str:
    return _TOKEN_PATH.sub(r"\1" + HIDDEN, text)


class RedactTokens(logging.Filter):
    """A logging filter: the message and its arguments without link tokens."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {
                k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()
            }
        return True


class AccessLogger(Logger):
    """gunicorn's logger, writing request lines, paths and referers without link tokens."""

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> Any:
        atoms = super().atoms(resp, req, environ, request_time)
        # Every atom a log format may name: the request line, the path, the referer, and each
        # request header ({name}i) and environ variable ({name}e).
        for key, value in atoms.items():
            if isinstance(value, str):
                atoms[key] = redact(value)
        return atoms
