"""pomogu's side: the same work as the peer's, on the same PostgreSQL server, served the way
docs/operations.md says (``pomogu web``: gunicorn, here with the peer's 4 workers)."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import harness
import peer_side

from common import log

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PY = sys.executable
WORKERS = 4
# The peer's five queues, as teams (the wrk script picks one by slug, as the peer's picks a
# queue by id); each with a lead and three agents, so that the owner choice has people.
TEAMS = [
    ("support", "Support"),
    ("billing", "Billing"),
    ("shipping", "Shipping"),
    ("returns", "Returns"),
    ("tech", "Technical"),
]


# Where the side files go: beside the results, named after them (run.py sets it).
OUTPUT = ROOT / "bench" / "results" / "side_by_side"


def output(suffix: str) -> Path:
    return OUTPUT.with_name(f"{OUTPUT.name}_{suffix}")


def env_for(database: str, base: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": f"{base}/{database}",
        "POMOGU_DATA_DIR": str(data_dir),
        "POMOGU_LOG_LEVEL": "WARNING",
        "POMOGU_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        **extra,
    }
    for name in ("POMOGU_FAULTS", "CELERY_BROKER_URL", "POMOGU_REDIS_URL", "POMOGU_DEBUG"):
        env.pop(name, None)
    return env


def pomogu(*args: str, env: dict[str, str], timeout: float = 3600) -> str:
    done = subprocess.run(
        [PY, "-m", "pomogu", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"pomogu {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr}")
    return done.stdout


def web(env: dict[str, str], log_path: Path) -> harness.Server:
    """``pomogu web`` as an operator runs it (it replaces itself with gunicorn, so the PID is
    gunicorn's master)."""
    port = harness.free_port()
    argv = [PY, "-m", "pomogu", "web", "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--workers", str(WORKERS)]
    return harness.Server(argv, env=env, ready_path="/healthz", port=port, log_path=log_path)


# --- 1. case creation through the REST API --------------------------------------------------

SEED_API = f"""
from pomogu.people import services as p
from pomogu.people.choices import StaffRole
p.create_staff('bench', name='Bench Manager', email='bench@desk.test', role=StaffRole.MANAGER)
for index, (slug, name) in enumerate({TEAMS!r}):
    lead = p.create_staff(f'lead-{{slug}}', name=f'{{name}} Lead', email=f'lead-{{slug}}@desk.test')
    team = p.create_team(name, slug=slug, lead=lead, is_default=index == 0,
                         email=f'{{slug}}@desk.test')
    for i in range(3):
        p.add_member(team, p.create_staff(f'{{slug}}-{{i}}', name=f'{{name}} Agent {{i}}',
                                          email=f'{{slug}}-{{i}}@desk.test'))
"""


def case_body(i: int) -> bytes:
    words = peer_side.WORDS
    w1, w2 = words[i % len(words)], words[(i * 7) % len(words)]
    return json.dumps(
        {
            "team": TEAMS[i % 5][0],
            "subject": f"Problem with {w1} and {w2} (warm-up {i})",
            "body": f"Hello, my {w1} has a problem: the {w2} is not working.",
            "customer": {"email": f"customer{i}@example.test"},
        }
    ).encode()


def fresh_api(base: str, workdir: Path) -> tuple[dict[str, str], str]:
    database = f"{harness.PREFIX}pomogu_api"
    harness.fresh_database(base, database)
    data_dir = workdir / "pomogu-api-data"
    data_dir.mkdir(parents=True, exist_ok=True)
    env = env_for(database, base, data_dir)
    pomogu("migrate", "-v0", env=env)
    pomogu("shell", "-c", SEED_API, env=env)
    token = pomogu("token", "create", "bench", "--name", "bench", env=env).strip().splitlines()[-1]
    return env, token


def api(
    base: str,
    workdir: Path,
    *,
    seconds: int,
    per_thread: int,
    connections: int,
    max_wait: float,
    profile_seconds: int = 0,
) -> dict[str, Any]:
    env, token = fresh_api(base, workdir)
    auth = f"Bearer {token}"
    with harness.serving_server(web(env, workdir / "pomogu-web-api.log")) as server:
        harness.warm_up(server.base + "/api/v1/cases", {"Authorization": auth}, case_body)
        before = server.worker_memory()
        quiet = harness.wait_quiet(max_wait, label="pomogu API")
        meter = harness.CpuMeter(server.workers(), base, env["DATABASE_URL"].rsplit("/", 1)[1])
        load = harness.wrk(
            server.base + "/",
            HERE / "post_case.lua",
            {"POMOGU_AUTH": auth, "POMOGU_MAX_PER_THREAD": str(per_thread)},
            connections=connections,
            seconds=seconds,
        )
        load["cpu_per_created"] = meter.per_request(load["created"])
        load.update(quiet, load_1min_after=harness.load_now())
        load["memory_before_load"] = before
        load["memory_after_load"] = server.worker_memory()
        if profile_seconds:
            load["profile"] = profile(server, auth, connections, profile_seconds, workdir)
    database = env["DATABASE_URL"].rsplit("/", 1)[1]
    done = subprocess.run(
        [PY, str(HERE / "in_process.py"), "pomogu"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    load["in_process"] = json.loads(done.stdout.strip().splitlines()[-1])
    if profile_seconds:
        text = output("api_pyinstrument.txt")
        done = subprocess.run(
            [PY, str(HERE / "profile_api.py"), "--n", "300", "--text", str(text)],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=True,
        )
        load["pyinstrument"] = json.loads(done.stdout.strip().splitlines()[-1])
    load["rows"] = int(harness.psql(base, "SELECT count(*) FROM cases_case", database))
    load["outbox_rows"] = int(
        harness.psql(base, "SELECT count(*) FROM contact_outboxmessage", database)
    )
    load["database"] = database
    log(
        f"pomogu API: {load['per_second']} cases/s, p50 {load['p50_ms']} ms, "
        f"p99 {load['p99_ms']} ms (load {load['load_1min_before']})"
    )
    return load


def profile(
    server: harness.Server, auth: str, connections: int, seconds: int, workdir: Path
) -> dict[str, Any]:
    """py-spy samples every worker while the same load runs again (not the measured run:
    sampling slows the workers down a little)."""
    raw = workdir / "api-profile.txt"
    spy = subprocess.Popen(
        [
            str(Path(PY).parent / "py-spy"),
            "record",
            "--pid",
            str(server.pid),
            "--subprocesses",
            "--nonblocking",
            "--rate",
            "200",
            "--duration",
            str(seconds),
            "--format",
            "raw",
            "--output",
            str(raw),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(2)
    harness.wrk(
        server.base + "/",
        HERE / "post_case.lua",
        {"POMOGU_AUTH": auth, "POMOGU_MAX_PER_THREAD": "100000"},
        connections=connections,
        seconds=max(seconds - 4, 3),
    )
    _out, err = spy.communicate(timeout=seconds + 60)
    if spy.returncode != 0 or not raw.exists():
        return {"error": err[-2000:]}
    summary = summarize_profile(raw)
    kept = output("api_profile.txt")
    kept.write_text(raw.read_text())
    summary["raw"] = kept.name
    return summary


# Where the time of one POST /api/v1/cases goes: inclusive shares of these frames.
PROFILE_FRAMES = {
    "whole request in Django (WSGIHandler.__call__)": "__call__ (django/core/handlers/wsgi.py",
    "bearer token check (core.api_support)": "pomogu/core/api_support.py",
    "create_case endpoint": "create_case (pomogu/cases/api.py",
    "open_case_for (service)": "open_case_for (pomogu/cases/services.py",
    "find_or_create_customer": "find_or_create_customer (",
    "recurrence: customer's solved cases (R5)": "find_safely (",
    "pick_owner": "pick_owner (",
    "open_case: Case insert + events": "open_case (pomogu/cases/services.py",
    "customer's words: message, language, anger": "_record_customer_words (",
    "deadlines (clocks.on_event)": "on_event (pomogu/clocks/",
    "reading the new case back + JSON (ninja)": "with_pending_handoff (",
    "transaction commit": "commit (",
    "SQL: psycopg execute (waiting on PostgreSQL included)": "execute (psycopg/cursor.py",
    "Django ORM: compiling SQL": "as_sql (django/db/models/sql/compiler.py",
    "ninja: parsing and validating the request": "_get_values (ninja/",
    "gunicorn: reading the request, writing the answer": "handle_request (gunicorn/",
}


def summarize_profile(raw: Path) -> dict[str, Any]:
    """py-spy's raw format: one line per distinct stack, ``frame;frame;...;frame count``."""
    total = 0
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    by_library: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        for label, needle in PROFILE_FRAMES.items():
            if any(needle in frame for frame in frames):
                inclusive[label] += count
        leaf = frames[-1]
        own[leaf] += count
        by_library[library(leaf)] += count
    share = {label: round(100 * inclusive[label] / total, 1) for label in PROFILE_FRAMES if total}
    return {
        "samples": total,
        "inclusive_percent": share,
        "own_time_percent_by_library": {
            name: round(100 * n / total, 1) for name, n in by_library.most_common()
        },
        "top_own_time": [
            {"frame": frame, "percent": round(100 * n / total, 1)}
            for frame, n in own.most_common(15)
        ],
    }


def library(frame: str) -> str:
    for name in (
        "pomogu/",
        "django/template",
        "django/db",
        "django/",
        "ninja/",
        "pydantic",
        "psycopg",
        "gunicorn/",
        "snowballstemmer",
        "json/",
        "re/",
    ):
        if name in frame:
            return name.rstrip("/")
    return "other (stdlib, C)"


# --- 2. mail ingestion -------------------------------------------------------------------------


def mail(base: str, workdir: Path, *, quick: bool, imap: bool, max_wait: float) -> dict[str, Any]:
    """bench/intake/run.py's LMTP (and IMAP) runs over the same corpus, through the adapter."""
    out = workdir / "pomogu-intake.json"
    argv = [PY, str(HERE / "intake_adapter.py"), "--pg", base, "--json", str(out)]
    argv += ["--quick"] if quick else []
    argv += [] if imap else ["--skip-imap"]
    quiet = harness.wait_quiet(max_wait, label="pomogu mail")
    done = subprocess.run(argv, capture_output=True, text=True, timeout=3600, check=False)
    if done.returncode != 0:
        raise SystemExit(f"intake adapter failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    result = json.loads(out.read_text())
    lmtp = result["lmtp"]
    summary = {
        "messages_per_second_lmtp": lmtp["messages_per_second"],
        "lmtp_processes": lmtp["processes"],
        "lmtp_connections": lmtp["connections"],
        "messages_per_second_imap": result.get("imap", {}).get("messages_per_second"),
        "sent": lmtp["sent"],
        "lost": lmtp["lost"],
        "duplicated": lmtp["duplicated"],
        "bodies_mangled": lmtp["bodies_mangled"],
        "attachments": lmtp["attachments"],
        "attachments_dropped": lmtp["attachments_dropped"],
        "follow_ups": lmtp["follow_ups"],
        "follow_ups_threaded": lmtp["follow_ups"] - lmtp["follow_ups_misthreaded"],
        "ack_replies": lmtp["ack_replies"],
        "ack_replies_threaded": lmtp["ack_replies"] - lmtp["ack_replies_misthreaded"],
        "quarantined": lmtp["quarantined"],
        "cpu_ms_per_message": lmtp.get("cpu_ms_per_message"),
        "redelivery_messages_per_second": lmtp.get("redelivery_messages_per_second"),
        "corpus_messages": result.get("corpus_messages"),
        "imap": result.get("imap"),
        **quiet,
        "load_1min_after": harness.load_now(),
    }
    log(
        f"pomogu mail: {summary['messages_per_second_lmtp']} msg/s (LMTP), "
        f"IMAP {summary['messages_per_second_imap']}; lost {summary['lost']}"
    )
    return summary


# --- 3. queue, search and dashboard pages ------------------------------------------------------


def pages_database(base: str, size: int, rebuild: bool) -> tuple[str, dict[str, Any]]:
    """bench/pages' build at ``size`` cases into ``bench_peer_pages_<size>``; kept and reused."""
    database = f"{harness.PREFIX}pages_{size}"
    if not rebuild and harness.database_exists(base, database):
        info = harness.psql(
            base,
            "SELECT info::text FROM bench_pages_build WHERE to_regclass('bench_pages_build') "
            "IS NOT NULL",
            database,
        )
        if info and json.loads(info).get("parameters", {}).get("cases") == size:
            return database, {"reused": True, **json.loads(info)}
    log(f"pomogu: building {size} cases into {database} (bench/pages' build)")
    done = subprocess.run(
        [
            PY,
            str(HERE / "build_pages.py"),
            "--pg",
            base,
            "--cases",
            str(size),
            "--database",
            database,
        ],
        capture_output=True,
        text=True,
        timeout=7200,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"build failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return database, {"reused": False, **json.loads(done.stdout.strip().splitlines()[-1])}


SESSIONS = """
from django.test import Client
from pomogu.people.models import User
from pomogu.people.services import create_token
for name in ('lead-support', 'manager'):
    client = Client()
    client.force_login(User.objects.get(username=name))
    print(name, client.cookies['sessionid'].value)
print('token', create_token(User.objects.get(username='manager'), name='bench-peer'))
"""


def pages(
    base: str,
    size: int,
    workdir: Path,
    *,
    warm: int,
    reps: int,
    rebuild: bool,
    max_wait: float,
    api_list: bool,
) -> dict[str, Any]:
    import httpx

    database, built = pages_database(base, size, rebuild)
    data_dir = Path(tempfile.mkdtemp(prefix="bench-peer-pages-", dir=workdir))
    env = env_for(database, base, data_dir)
    found = {
        name: value
        for name, _, value in (
            line.partition(" ") for line in pomogu("shell", "-c", SESSIONS, env=env).splitlines()
        )
        if name in ("lead-support", "manager", "token")
    }
    result: dict[str, Any] = {"cases": size, "database": database, "build": built}
    counts = harness.psql(
        base,
        "SELECT count(*), count(*) FILTER (WHERE t.slug = 'support'), count(*) FILTER (WHERE "
        "t.slug = 'support' AND c.state IN ('new', 'open', 'waiting_customer', "
        "'waiting_contractor')) FROM cases_case c JOIN people_team t ON t.id = c.team_id",
        database,
    ).split("|")
    result["data"] = dict(
        zip(["cases", "team_cases", "team_active"], map(int, counts), strict=True)
    )

    def client(server: harness.Server, user: str) -> httpx.Client:
        return httpx.Client(
            base_url=server.base, timeout=120, headers={"Cookie": f"sessionid={found[user]}"}
        )

    def get(c: httpx.Client, path: str, status: int = 200) -> Any:
        return lambda: {"page": timed(c, path, status)}

    with harness.serving_server(web(env, workdir / f"pomogu-web-pages-{size}.log")) as server:
        lead, manager = client(server, "lead-support"), client(server, "manager")
        for _ in range(8):
            lead.get("/team/support/")
            manager.get("/register/")
        queue_page = lead.get("/team/support/").text
        poll = html.unescape(LIVE_RE.search(queue_page).group(1))
        cases = [f"/cases/{n}/" for n in active_numbers(base, database)]
        turn = iter(range(10**9))
        kinds = [
            ("queue", "team queue, first page (team lead)", get(lead, "/team/support/")),
            ("queue_poll", "team queue's live poll, nothing changed (204)", get(lead, poll, 204)),
            (
                "case_page",
                "case page, an active case (team lead)",
                lambda: {"page": timed(lead, cases[next(turn) % len(cases)])},
            ),
            ("search_common", "search 'refund' (team lead)", get(lead, "/search/?q=refund")),
            ("search_rare", "search 'zeppelin' (team lead)", get(lead, "/search/?q=zeppelin")),
            (
                "search_common_all",
                "search 'refund' (manager: every case)",
                get(manager, "/search/?q=refund"),
            ),
            (
                "search_rare_all",
                "search 'zeppelin' (manager: every case)",
                get(manager, "/search/?q=zeppelin"),
            ),
            ("dashboard_warm", "dashboard, figures kept (manager)", get(manager, "/register/")),
        ]
        result["load"] = harness.wait_quiet(max_wait, label=f"pomogu pages {size}")
        result["pages"] = harness.time_pages(
            kinds,
            warm=warm,
            reps=reps,
            meter=lambda: harness.CpuMeter(server.workers(), base, database),
        )
        result["load"]["load_1min_after"] = harness.load_now()
        if api_list:
            api = httpx.Client(
                base_url=server.base,
                timeout=90,
                headers={"Authorization": f"Bearer {found['token']}"},
            )
            result["api_list_first_page"] = harness.time_pages(
                [("api_list", "GET /api/v1/cases", lambda: {"page": timed(api, "/api/v1/cases")})],
                warm=1,
                reps=5,
            )["api_list"]
        result["memory_after_pages"] = server.worker_memory()
        for c in (lead, manager):
            c.close()
    # The dashboard as the peer serves it: computed on every request.
    cold_env = {**env, "POMOGU_DASHBOARD_CACHE_SECONDS": "0"}
    with harness.serving_server(web(cold_env, workdir / f"pomogu-web-cold-{size}.log")) as server:
        manager = client(server, "manager")
        for _ in range(4):
            manager.get("/register/")
        kinds = [
            ("dashboard", "dashboard, computed (manager, cache off)", get(manager, "/register/"))
        ]
        result["load_cold"] = harness.wait_quiet(max_wait, label=f"pomogu dashboard {size}")
        result["pages"].update(
            harness.time_pages(
                kinds,
                warm=warm,
                reps=reps,
                meter=lambda: harness.CpuMeter(server.workers(), base, database),
            )
        )
        result["load_cold"]["load_1min_after"] = harness.load_now()
        manager.close()
    log(
        f"pomogu pages {size}: "
        + ", ".join(f"{k} {v['median_ms']}/{v['p95_ms']} ms" for k, v in result["pages"].items())
    )
    return result


def timed(client: Any, path: str, status: int = 200) -> float:
    started = time.perf_counter()
    answer = client.get(path)
    ms = (time.perf_counter() - started) * 1000
    assert answer.status_code == status, (path, answer.status_code, answer.text[:300])
    return ms


LIVE_RE = re.compile(r'id="live"[^>]*hx-get="([^"]+)"')


def active_numbers(base: str, database: str, count: int = 40) -> list[int]:
    """The team's most recent active cases (the ones agents open)."""
    found = harness.psql(
        base,
        "SELECT c.number FROM cases_case c JOIN people_team t ON t.id = c.team_id WHERE "  # noqa: S608
        "t.slug = 'support' AND c.state IN ('new', 'open', 'waiting_customer') "
        f"ORDER BY c.id DESC LIMIT {int(count)}",
        database,
    )
    return [int(n) for n in found.split()]


def pages_in_process(base: str, reps: int, max_wait: float) -> dict[str, Any]:
    """The kept ``pomogu_bench_pages`` (1,000,000 cases), read through bench/pages itself."""
    out = output("pages_1m.json")
    quiet = harness.wait_quiet(max_wait, label="pomogu pages 1M (bench/pages)")
    argv = [PY, str(ROOT / "bench/pages/run.py"), "--pg", base, "--reuse", "--json", str(out)]
    argv += ["--only", "queue_first,search_common,search_rare,dashboard", "--requests", str(reps)]
    subprocess.run(argv, check=True, capture_output=True, timeout=3600)
    got = json.loads(out.read_text())["pages"]
    names = {
        "queue_first": "queue",
        "search_common": "search_common",
        "search_rare": "search_rare",
        "dashboard": "dashboard_warm",
    }
    labels = {
        "queue_first": "team queue, first page (team lead)",
        "search_common": "search, common words in turn (интернет, роутер, счёт, refund, ...)",
        "search_rare": "search, the rare word (цеппелин, zeppelin, Цеппелин)",
        "dashboard": "dashboard, figures kept (manager)",
    }
    return {
        "cases": 1_000_000,
        "database": "pomogu_bench_pages (bench/pages, in process)",
        "load": {**quiet, "load_1min_after": harness.load_now()},
        "pages": {
            names[k]: {
                "label": labels[k],
                **{m: v[m] for m in ("median_ms", "p95_ms", "max_ms", "queries_median")},
            }
            for k, v in got.items()
            if k in names
        },
    }
