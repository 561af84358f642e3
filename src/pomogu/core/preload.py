"""What gunicorn's master loads once, before it forks the web workers.

``pomogu web`` runs gunicorn with ``--preload`` on ``pomogu.core.preload:application()``: the
master builds the Django application and loads what every worker needs and what never changes
while the desk runs (the code of every view and what it imports, NumPy and SciPy, the language
identifier's model, the anger detector that ships with pomogu, the reply guard's lexicon). The
workers it forks then share those pages copy-on-write instead of each loading its own copy
(with 4 workers after 50 cases created through the API, a worker's private memory went from
about 187 MiB to 24 MiB, the whole server's from about 780 MiB to 300 MiB, counted as PSS).

Why a factory gunicorn calls rather than a gunicorn hook (``when_ready`` in a config file):
gunicorn calls it wherever it loads the application, in the master with ``--preload`` and in
each worker without it, so the same code is right in both cases; it needs no ``--config``,
which would stop gunicorn reading an operator's ``gunicorn.conf.py``; and a test can call
`warm` and check what it leaves behind.

What the master must not hold when it forks, because every worker would inherit the same one: a
database connection, a cache (Redis) connection, a thread, any other socket. `warm` reads only
files shipped with pomogu and checks this at its end. The team router's model is not loaded
here: it is read from the database and changes while the desk runs (``pomogu train``,
rollback), so each worker reads the active version itself.

Sharing survives Python's cyclic garbage collector only if it leaves the inherited objects
alone: a collection writes into the header of every object it examines, which copies that page
into the worker. So the master collects nothing while it loads (no freed holes among the pages
to share) and then moves everything it has into the collector's permanent generation
(``gc.freeze``), which collections never examine, as the documentation of ``gc.freeze`` says.
Measured: one full collection in each worker copies about 34 MiB into it without the freeze,
under 1 MiB with it (a worker's first 50 requests run none; a long-running worker does).
Reference counts still copy the pages of the objects a worker uses; the models' arrays, about
half of what is shared, are data buffers that no reference count touches.
"""

from __future__ import annotations

import contextlib
import gc
import os
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.core.handlers.wsgi import WSGIHandler

# A text that makes the language identifier load its model.
_SAMPLE = "Здравствуйте! Third time I write, nobody answers. Когда почините интернет?"


def application() -> WSGIHandler:
    """The Django application, with what every worker needs loaded (gunicorn's factory)."""
    held = _inheritable()
    collecting = gc.isenabled()
    gc.disable()
    try:
        from pomogu.wsgi import application as django_application

        warm(held_before=held)
    finally:
        if collecting:
            gc.enable()
    gc.freeze()
    return django_application


def warm(*, held_before: frozenset[str] | None = None) -> None:
    """Load what every web worker needs and what never changes while the desk runs; then close
    any database or cache connection that loading opened, and fail if a thread or a socket
    that was not there in ``held_before`` (default: at the call) is still there."""
    from django.urls import get_resolver

    from pomogu.contact.guard_phrases import builtin
    from pomogu.triage import anger
    from pomogu.triage.text import detect_language

    held = _inheritable() if held_before is None else held_before
    # The URLconf imports every view and API router, and with them most of pomogu (~23 MiB).
    get_resolver().url_patterns  # noqa: B018 - evaluated for its imports
    builtin()  # the reply guard's lexicon (pomogu.wsgi builds it too)
    detect_language(_SAMPLE)  # py3langid loads its model on first use (~73 MiB)
    anger.shipped_model()  # ~23 MiB
    _let_go(held)


def _let_go(held_before: frozenset[str]) -> None:
    """Close what a forked worker must not share with the master and its siblings."""
    from django.core.cache import caches
    from django.db import connections

    connections.close_all()
    for cache in caches.all(initialized_only=True):
        cache.close()
    for alias in caches:
        with contextlib.suppress(AttributeError):  # never created: nothing to forget
            del caches[alias]  # each worker creates its own
    still_open = [
        f"database {c.alias}" for c in connections.all(initialized_only=True) if c.connection
    ]
    left = still_open + sorted(_inheritable() - held_before)
    if left:
        raise RuntimeError(
            "gunicorn's master would hand these to every web worker: " + ", ".join(left)
        )


def _inheritable() -> frozenset[str]:
    """The threads besides the main one and the sockets (where /proc tells: Linux) this
    process has: a forked child would share them."""
    found = {
        f"thread {t.name} ({t.ident})"
        for t in threading.enumerate()
        if t is not threading.main_thread()
    }
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        names = []
    for name in names:
        try:
            target = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue  # the directory's own descriptor, closed by now
        if target.startswith("socket:"):
            found.add(target)
    return frozenset(found)
