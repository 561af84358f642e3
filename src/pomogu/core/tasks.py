"""Periodic Celery tasks for the runner's steps other than the clocks (``pomogu.core.runner``).

Each calls the very step function the in-process runner calls. A step claims its rows with a
conditional UPDATE (the outbox row, the IMAP mailbox) or checks before it trains (the router),
so running it twice at once, again after a crash, or on several workers is harmless: that is
why each task is safe to re-run. Beat sends them every ``POMOGU_RUNNER_INTERVAL`` seconds.
"""

from __future__ import annotations

from pomogu.core.celery import STEP_TASKS, app


def run_step(name: str) -> int:
    """Run one of the runner's steps by its name; returns what the step returns."""
    from pomogu.core.runner import steps

    for step in steps():
        if step.name == name:
            return step.run()
    raise LookupError(f"no runner step named {name!r}")


@app.task(name=STEP_TASKS["contacts"])
def release_due() -> int:
    """Decide the deferred contacts whose moment has come (``contact.governor.release_due``)."""
    return run_step("contacts")


@app.task(name=STEP_TASKS["surveys"])
def send_due_surveys() -> int:
    """Send or skip the surveys whose resolution has stood (``contact.surveys.send_due``)."""
    return run_step("surveys")


@app.task(name=STEP_TASKS["outbox"])
def send_due() -> int:
    """Send the outbox messages that are due (``contact.services.send_due``)."""
    return run_step("outbox")


@app.task(name=STEP_TASKS["imap"])
def fetch_due() -> int:
    """Poll the IMAP mailboxes that are due (``intake.imap.fetch_due``)."""
    return run_step("imap")


@app.task(name=STEP_TASKS["router"])
def retrain_due() -> int:
    """Retrain the team router when enough decisions have arrived (``triage.services``)."""
    return run_step("router")


@app.task(name=STEP_TASKS["register"])
def warm_register() -> int:
    """Compute the failure register's default figures again (``failures.figures.warm``)."""
    return run_step("register")
