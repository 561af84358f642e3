"""The Celery app: background work at scale (docs/decisions/0002-background-runner.md).

Celery drives the same steps as the in-process runner (``pomogu.core.runner``); it is a driver,
never the record. Durable work is rows with a due time and a state, claimed by a conditional
UPDATE, and every effect is unique in the database. So the broker may lose a message (a Redis
restart or flush: the next sweep finds the row still due) or deliver one twice (``acks_late``
redelivery, a duplicate enqueue: the claim and the row lock make the second run a no-op).

The policy here follows RELIABILITY.md §5:
- ``acks_late`` and ``task_reject_on_worker_lost``: a task is acknowledged after it ran, so the
  task of a worker killed mid-run is delivered again (at least once), never lost;
- prefetch multiplier 1: a dead worker holds back at most one message per process;
- a task is stopped at 90 % of the Redis ``visibility_timeout``
  (``POMOGU_CELERY_VISIBILITY_TIMEOUT``), so no live task is handed to a second worker for
  running too long (kombu #337, celery #7918); the rows it did not finish stay due;
- no results (``ignore_result``) and no ETA or countdown tasks: business time is in the
  database, and beat only says "look now".

Run it with ``pomogu worker`` (``--beat`` in exactly one of them, or one ``--beat-only``); the
plain ``celery -A pomogu.core.celery worker`` works too.
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery, signals  # type: ignore[import-untyped]
from kombu import Exchange, Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pomogu.settings")

# The runner's steps other than the clocks (which fan out per deadline: ``clocks.sweep_due``),
# each a periodic task of its own calling the same function; see ``pomogu.core.tasks``.
STEP_TASKS = {
    "contacts": "contacts.release_due",
    "surveys": "surveys.send_due",
    "outbox": "outbox.send_due",
    "imap": "imap.fetch_due",
    "router": "router.retrain_due",
    "register": "register.warm",
}
# Two queues, which every worker consumes in turn: the periodic tasks have their own, so that a
# backlog of per-row tasks (10,000 deadlines due at once) never holds up the next sweep or the
# outbox, and a periodic task never waits past its period (when it would be dropped).
QUEUE = "pomogu"
PERIODIC_QUEUE = "pomogu.periodic"
PERIODIC_TASKS = ["clocks.sweep_due", *STEP_TASKS.values()]


def celery_config() -> dict[str, Any]:
    """Celery's configuration, from the Django settings (themselves from the environment)."""
    from django.conf import settings

    visibility = int(settings.POMOGU["CELERY_VISIBILITY_TIMEOUT"])
    sweep = float(settings.POMOGU["SWEEP_SECONDS"])
    interval = float(settings.POMOGU["RUNNER_INTERVAL"])
    # A periodic task that waited longer than its period is dropped: the next one is coming.
    schedule: dict[str, dict[str, Any]] = {
        "clocks.sweep_due": {
            "task": "clocks.sweep_due",
            "schedule": sweep,
            "options": {"expires": sweep},
        },
    }
    for task in STEP_TASKS.values():
        schedule[task] = {"task": task, "schedule": interval, "options": {"expires": interval}}
    return {
        "broker_url": settings.CELERY_BROKER_URL or None,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {
            "visibility_timeout": visibility,
            # Look for messages of dead workers often enough to hand them on soon after the
            # visibility timeout (kombu's default looks every 100 s).
            "unacked_restore_interval": max(1, min(10, visibility // 5)),
            "unacked_restore_throttle": 1,
        },
        "task_default_queue": QUEUE,
        "task_queues": [
            Queue(QUEUE, exchange=Exchange(QUEUE, type="direct"), routing_key=QUEUE),
            Queue(
                PERIODIC_QUEUE, exchange=Exchange(QUEUE, type="direct"), routing_key=PERIODIC_QUEUE
            ),
        ],
        "task_default_exchange": QUEUE,
        "task_default_routing_key": QUEUE,
        "task_routes": {task: {"queue": PERIODIC_QUEUE} for task in PERIODIC_TASKS},
        "result_backend": None,
        "task_ignore_result": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_time_limit": max(1, visibility * 9 // 10),
        "worker_prefetch_multiplier": 1,
        # On a lost broker connection, stop the late-acknowledged tasks: they are delivered
        # again, and their claims make that harmless.
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "worker_hijack_root_logger": False,  # Django's LOGGING (POMOGU_LOG_LEVEL) stays in charge
        # Celery's Django fixup closes the database connection around every task unless this is
        # set: a new PostgreSQL backend per task costs more than most tasks. Connections are
        # kept as Django keeps them for requests instead (``_fresh_connections``).
        "CELERY_DB_REUSE_MAX": 1000,
        "task_serializer": "json",
        "accept_content": ["json"],
        "timezone": settings.TIME_ZONE,
        "enable_utc": True,
        "beat_schedule": schedule,
        "beat_schedule_filename": str(settings.DATA_DIR / "celerybeat-schedule"),
    }


app = Celery("pomogu")
app.conf.update(celery_config())
app.autodiscover_tasks()


@signals.task_prerun.connect
@signals.task_postrun.connect
def _fresh_connections(**kwargs: Any) -> None:
    """What Django does around a request: drop a connection that failed or is older than
    ``CONN_MAX_AGE``, so a task never runs on a dead one (after a PostgreSQL restart)."""
    from django.db import close_old_connections

    close_old_connections()
