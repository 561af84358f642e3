"""The peer's side: django-helpdesk 2.6.1 driven by the kit in ``../shared/bench-peer/``.

The kit's own set-up installs the package from PyPI into a virtual environment outside the
repository (``$PEER``, default ``~/peer``) and lays out its minimal site there; its scripts
(fixtures, seeding, the mail driver and checker, the wrk script) are run from the kit by path.
Nothing of django-helpdesk is in this repository. Databases: ``bench_peer_hd_*`` on the same
PostgreSQL server as pomogu's, owned by the kit's role ``helpdesk``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import harness

from common import log

ROOT = Path(__file__).resolve().parents[2]
KIT = ROOT.parent / "shared" / "bench-peer"
PEER = Path(os.environ.get("PEER", str(Path.home() / "peer")))
PY = PEER / "venv" / "bin" / "python"
SITE = PEER / "site"
WORKERS = 4  # as the peer's RESULTS.md: gunicorn, 4 sync workers, --preload --timeout 60
VERSION = "2.6.1"


def run(argv: list[str], env: dict[str, str], timeout: float = 3600) -> str:
    done = subprocess.run(
        argv, env=env, cwd=SITE, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout


def setup(base: str) -> dict[str, Any]:
    """The kit's setup.sh when the venv, the package, the site or wrk is missing (it is
    idempotent, but it runs apt-get and pip, so only when needed); then the kit's role."""
    probe = (
        "import importlib.metadata as m, django; "
        "print(m.version('django-helpdesk'), django.get_version(), m.version('gunicorn'), "
        "m.version('djangorestframework'))"
    )
    versions = ""
    if PY.exists():
        done = subprocess.run([str(PY), "-c", probe], capture_output=True, text=True, check=False)
        versions = done.stdout.strip() if done.returncode == 0 else ""
    if not (
        versions.startswith(VERSION + " ") and (SITE / "manage.py").exists() and shutil.which("wrk")
    ):
        log(f"peer: installing with {KIT / 'setup.sh'} into {PEER}")
        subprocess.run([str(KIT / "setup.sh")], env={**os.environ, "PEER": str(PEER)}, check=True)
        versions = subprocess.run(
            [str(PY), "-c", probe], capture_output=True, text=True, check=True
        ).stdout.strip()
    # The kit's settings log in as helpdesk/helpdesk (setup_pg.sh makes the role as the
    # postgres OS user; here the same through the server's own superuser connection).
    harness.psql(
        base,
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'helpdesk') THEN "
        "CREATE ROLE helpdesk LOGIN PASSWORD 'helpdesk' CREATEDB; END IF; END $$",
    )
    helpdesk, django, gunicorn, drf = versions.split()
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    return {
        "django_helpdesk": helpdesk,
        "django": django,
        "djangorestframework": drf,
        "gunicorn": gunicorn,
        "venv": str(PEER / "venv"),
        "wrk": (wrk.stdout or wrk.stderr).split("\n")[0].split(" Copyright")[0],
    }


def env_for(database: str, run_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PEER_DB": "pg",
        "PEER_PG_DB": database,
        "PEER_RUN_DIR": str(run_dir),
        "PEER_MAILDIR": str(run_dir / "maildir" / "new"),
        "PEER_BENCH_DIR": str(KIT),
        "PYTHONPATH": str(SITE),
        "DJANGO_SETTINGS_MODULE": "peer_site.settings",
    }


def fresh(base: str, phase: str) -> tuple[dict[str, str], Path]:
    """A new database and run folder for one phase, migrated, with the kit's fixtures (admin,
    5 queues, an API token, the local mail folder of queue ``support``)."""
    database = f"{harness.PREFIX}hd_{phase}"
    run_dir = PEER / "run" / database
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    harness.fresh_database(base, database, owner="helpdesk")
    env = env_for(database, run_dir)
    run([str(PY), "manage.py", "migrate", "-v0"], env)
    run([str(PY), str(KIT / "prepare_fixtures.py")], env)
    return env, run_dir


def gunicorn(env: dict[str, str], run_dir: Path) -> harness.Server:
    port = harness.free_port()
    argv = [
        str(PEER / "venv" / "bin" / "gunicorn"),
        "peer_site.wsgi:application",
        "-b",
        f"127.0.0.1:{port}",
        "-w",
        str(WORKERS),
        "--timeout",
        "60",
        "--preload",
        "--access-logfile",
        "/dev/null",
    ]
    return harness.Server(
        argv,
        env=env,
        cwd=SITE,
        ready_path="/login/",
        port=port,
        log_path=run_dir / "gunicorn.err",
    )


# --- 1. ticket creation through the REST API ------------------------------------------------

WORDS = [
    *("order", "refund", "delivery", "invoice", "password", "login", "broken", "late"),
    *("damaged", "account", "subscription", "cancel", "upgrade", "error", "payment"),
]


def ticket_body(i: int) -> bytes:
    w1, w2 = WORDS[i % len(WORDS)], WORDS[(i * 7) % len(WORDS)]
    return json.dumps(
        {
            "queue": 1 + i % 5,
            "title": f"Problem with {w1} and {w2} (warm-up {i})",
            "description": f"Hello, my {w1} has a problem: the {w2} is not working.",
            "submitter_email": f"customer{i}@example.test",
            "priority": 1 + i % 5,
        }
    ).encode()


def api(
    base: str,
    *,
    seconds: int,
    per_thread: int,
    connections: int,
    max_wait: float,
    conn_max_age: int = 0,
) -> dict[str, Any]:
    """``conn_max_age``: the kit's settings read ``PEER_CONN_MAX_AGE`` (default 0, Django's
    default: a new PostgreSQL connection for every request)."""
    env, run_dir = fresh(base, "api")
    env["PEER_CONN_MAX_AGE"] = str(conn_max_age)
    token = (run_dir / "token.txt").read_text().strip()
    auth = {"Authorization": f"Token {token}"}
    with harness.serving_server(gunicorn(env, run_dir)) as server:
        harness.warm_up(server.base + "/api/tickets/", auth, ticket_body)
        before = server.worker_memory()
        quiet = harness.wait_quiet(max_wait, label="peer API")
        meter = harness.CpuMeter(
            server.workers(), base, env["PEER_PG_DB"], persistent=conn_max_age > 0
        )
        load = harness.wrk(
            server.base + "/",
            KIT / "post_ticket.lua",
            {"PEER_AUTH": auth["Authorization"], "PEER_MAX_PER_THREAD": str(per_thread)},
            connections=connections,
            seconds=seconds,
        )
        load["cpu_per_created"] = meter.per_request(load["created"])
        load.update(quiet, load_1min_after=harness.load_now())
        load["memory_before_load"] = before
        load["memory_after_load"] = server.worker_memory()
    load["rows"] = int(
        harness.psql(base, "SELECT count(*) FROM helpdesk_ticket", env["PEER_PG_DB"])
    )
    load["database"] = env["PEER_PG_DB"]
    load["conn_max_age"] = conn_max_age
    load["in_process"] = json.loads(
        run([str(PY), str(Path(__file__).with_name("in_process.py")), "peer"], env)
    )
    log(
        f"peer API: {load['per_second']} tickets/s, p50 {load['p50_ms']} ms, "
        f"p99 {load['p99_ms']} ms (load {load['load_1min_before']})"
    )
    return load


# --- 2. mail ingestion -------------------------------------------------------------------------


def corpus(out: Path, quick: bool) -> Path:
    shutil.rmtree(out, ignore_errors=True)
    sizes = ["--new", "100", "--follow", "80"] if quick else []
    subprocess.run(
        [str(PY), str(KIT / "mkmail.py"), "--out", str(out), *sizes],
        check=True,
        capture_output=True,
    )
    return out


def mail(base: str, corpus_dir: Path, max_wait: float) -> dict[str, Any]:
    """``drive_mail.py backlog``: all of wave 1 in the queue's folder, ``get_email``, the
    operator's quarantine of what blocks the queue, again; then the 200 replies to the
    helpdesk's acknowledgements. ``check_mail.py`` compares the database with the manifest."""
    env, run_dir = fresh(base, "mail")
    quiet = harness.wait_quiet(max_wait, label="peer mail")
    started = time.perf_counter()
    summary = json.loads(
        run([str(PY), str(KIT / "drive_mail.py"), "backlog", str(corpus_dir)], env)
    )
    wall = time.perf_counter() - started
    load_after = harness.load_now()
    check_path = run_dir / "check.json"
    run([str(PY), str(KIT / "check_mail.py"), str(corpus_dir), "--json", str(check_path)], env)
    counts = json.loads(check_path.read_text())["counts"]
    reruns = [r for r in summary["runs"] if "rerun" in r["run"] and r["run"].startswith("wave1")]
    main_run = max(reruns or summary["runs"][1:2], key=lambda r: r.get("processed", 0))
    result = {
        "messages_per_second_wave1_rerun": main_run.get("msgs_per_s"),
        "wave1_rerun_processed": main_run.get("processed"),
        "messages_per_second_overall": summary["overall_msgs_per_s"],
        "processed": summary["total_processed"],
        "get_email_wall_s": summary["total_get_email_wall_s"],
        "driver_wall_s": round(wall, 1),
        "sent": counts.get("sent", 0),
        "lost": counts.get("lost", 0),
        "duplicated": counts.get("duplicated_messages", 0),
        "bodies_mangled": counts.get("body_mangled", 0),
        "attachments": counts.get("attachments_sent", 0),
        "attachments_dropped": counts.get("attachments_lost_or_altered", 0),
        "follow_ups": counts.get("sent_follow", 0),
        "follow_ups_threaded": counts.get("follow_threaded_ok", 0),
        "ack_replies": counts.get("sent_ack_reply", 0),
        "ack_replies_threaded": counts.get("ack_reply_threaded_ok", 0),
        "quarantined_by_operator": summary["quarantined"],
        "tickets_in_db": counts.get("tickets_in_db"),
        "runs": summary["runs"],
        **quiet,
        "load_1min_after": load_after,
    }
    log(
        f"peer mail: {result['messages_per_second_wave1_rerun']} msg/s (wave 1 rerun), "
        f"{result['messages_per_second_overall']} overall; lost {result['lost']}"
    )
    return result


# --- 3. list, search and dashboard pages ------------------------------------------------------


def pages_database(base: str, size: int, rebuild: bool) -> tuple[dict[str, str], Path, dict]:
    """The kit's ``seed_100k.py`` (``size`` tickets with 1-3 follow-ups each, through the ORM),
    then ``VACUUM ANALYZE``; kept between runs and reused when it holds ``size`` tickets."""
    database = f"{harness.PREFIX}hd_pages_{size}"
    run_dir = PEER / "run" / database
    if not rebuild and harness.database_exists(base, database):
        count = harness.psql(base, "SELECT count(*) FROM helpdesk_ticket", database)
        if count == str(size):
            run_dir.mkdir(parents=True, exist_ok=True)
            return env_for(database, run_dir), run_dir, {"reused": True, "tickets": size}
    env, run_dir = fresh(base, f"pages_{size}")
    started = time.perf_counter()
    seeded = run([str(PY), str(KIT / "seed_100k.py"), str(size)], env)
    harness.psql(base, "VACUUM ANALYZE", database)
    info = {
        "reused": False,
        "seed_output": seeded.strip(),
        "seconds": round(time.perf_counter() - started, 1),
    }
    log(f"peer: seeded {size} tickets in {info['seconds']} s")
    return env, run_dir, info


DT_PARAMS = "draw=1&start=0&length=25&search%5Bvalue%5D=&search%5Bregex%5D=false"
DT_RE = re.compile(r'"url": "([^"]*datatables_ticket_list[^"]*)"')


def login(client: Any) -> None:
    """As the kit's page_bench.py: the superuser through /login/ (a session cookie)."""
    page = client.get("/login/")
    csrf = client.cookies.get("csrftoken") or re.search(
        r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text
    ).group(1)
    answer = client.post(
        "/login/",
        data={
            "username": "admin",
            "password": "Pa33w0rd",
            "csrfmiddlewaretoken": csrf,
            "next": "/tickets/",
        },
        headers={"Referer": str(client.base_url) + "/login/"},
    )
    assert answer.status_code in (302, 303), f"peer login failed: {answer.status_code}"


def page_kinds(client: Any) -> list[tuple[str, str, Any]]:
    """What a browser fetches to show each page: the list and a search are the HTML page and
    then the DataTables JSON it asks for (both timed, as in the kit's page_bench.py)."""
    from html import unescape

    def with_rows(path: str) -> Any:
        page = client.get(path)
        assert page.status_code == 200, (path, page.status_code)
        rows = unescape(DT_RE.search(page.text).group(1)) + "?" + DT_PARAMS

        def fetch() -> dict[str, float]:
            return {"page": timed_get(client, path), "rows": timed_get(client, rows)}

        return fetch

    return [
        ("queue", "list of open tickets (page + rows)", with_rows("/tickets/")),
        (
            "search_common",
            "search 'refund' (page + rows)",
            with_rows("/tickets/?q=refund&search_type=header"),
        ),
        (
            "search_rare",
            "search 'zeppelin' (page + rows)",
            with_rows("/tickets/?q=zeppelin&search_type=header"),
        ),
        ("dashboard", "dashboard", lambda: {"page": timed_get(client, "/dashboard/")}),
    ]


def timed_get(client: Any, path: str, timeout: float = 120) -> float:
    started = time.perf_counter()
    answer = client.get(path, timeout=timeout)
    ms = (time.perf_counter() - started) * 1000
    assert answer.status_code == 200, (path, answer.status_code, answer.text[:200])
    return ms


def pages(
    base: str, size: int, *, warm: int, reps: int, rebuild: bool, max_wait: float, api_list: bool
) -> dict[str, Any]:
    import httpx

    env, run_dir, built = pages_database(base, size, rebuild)
    result: dict[str, Any] = {"tickets": size, "database": env["PEER_PG_DB"], "build": built}
    with harness.serving_server(gunicorn(env, run_dir)) as server:
        with httpx.Client(base_url=server.base, timeout=120) as client:
            login(client)
            for _ in range(8):  # every worker: templates, URL resolver, connection
                client.get("/tickets/")
            kinds = page_kinds(client)
            result["load"] = harness.wait_quiet(max_wait, label=f"peer pages {size}")
            result["pages"] = harness.time_pages(
                kinds,
                warm=warm,
                reps=reps,
                meter=lambda: harness.CpuMeter(
                    server.workers(), base, env["PEER_PG_DB"], persistent=False
                ),
            )
            result["load"]["load_1min_after"] = harness.load_now()
            if api_list:
                started = time.perf_counter()
                try:
                    answer = client.get("/api/tickets/", timeout=90)
                    result["api_list_first_page"] = {
                        "ms": round((time.perf_counter() - started) * 1000, 1),
                        "status": answer.status_code,
                    }
                except httpx.TimeoutException:
                    result["api_list_first_page"] = {"timeout_s": 90}
                except httpx.HTTPError as error:  # gunicorn's 60 s timeout kills the worker
                    result["api_list_first_page"] = {
                        "error": type(error).__name__,
                        "after_ms": round((time.perf_counter() - started) * 1000, 1),
                    }
        result["memory_after_pages"] = server.worker_memory()
    return result
