"""Named fault points for the fault tests (RELIABILITY.md §8).

Code calls ``fault_point("imap.after_commit")`` at the places where a crash is interesting.
Nothing happens unless the environment variable ``POMOGU_FAULTS`` names that point, e.g.
``POMOGU_FAULTS=imap.after_commit:kill`` (the process dies at once, as with SIGKILL) or
``...:raise`` (an exception, as with a bug) or ``...:sleep=0.2`` (a slow step: a worker that
is still busy when the test kills it). Tests set it for a subprocess, or with
``monkeypatch.setenv`` in-process; production never sets it.
"""

from __future__ import annotations

import os
import signal
import time


class InjectedFault(RuntimeError):
    pass


def _armed() -> dict[str, str]:
    raw = os.environ.get("POMOGU_FAULTS", "")
    points: dict[str, str] = {}
    for item in raw.split(","):
        name, _sep, action = item.strip().partition(":")
        if name:
            points[name] = action or "raise"
    return points


def fault_point(name: str) -> None:
    action = _armed().get(name)
    if action is None:
        return
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if action.startswith("sleep="):
        time.sleep(float(action.removeprefix("sleep=")))
        return
    raise InjectedFault(f"fault injected at {name}")
