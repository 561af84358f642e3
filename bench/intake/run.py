"""Intake benchmark (issue 3): 2,000 mixed messages through the LMTP endpoint and through IMAP,
on PostgreSQL, with the same corpus the peer benchmark uses (../shared/bench-peer/mkmail.py:
1,000 new threads and 800 follow-ups in Russian, English, German and French, legacy charsets,
HTML, attachments; then 200 customer replies to pomogu's own acknowledgements).

It reports messages per second and checks the result against the corpus manifest: messages
lost, duplicated, replies not threaded into their case, bodies mangled, attachments dropped.

    .venv/bin/python bench/intake/run.py [--connections 4] [--json out.json]

Needs PostgreSQL (DATABASE_URL base, default postgres://postgres@127.0.0.1:5432) and dovecot.
It creates and drops its own databases (pomogu_bench_lmtp, pomogu_bench_imap).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from common import machine  # noqa: E402

SHARED = ROOT.parent / "shared"
MKMAIL = SHARED / "bench-peer" / "mkmail.py"
PYTHON = sys.executable


def sh(*args: str, env: dict[str, str] | None = None, check: bool = True) -> str:
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def fresh_database(base: str, name: str) -> str:
    admin = f"{base}/postgres"
    sh("psql", admin, "-qc", f"DROP DATABASE IF EXISTS {name}")
    sh("psql", admin, "-qc", f"CREATE DATABASE {name}")
    return f"{base}/{name}"


PLAIN_DESK = (
    "from pomogu.people import services as p\n"
    "lead = p.create_staff('lead', name='Team Lead')\n"
    "team = p.create_team('Support', slug='support', lead=lead, is_default=True)\n"
    "for i in range(5): p.add_member(team, p.create_staff(f'agent{i}', name=f'Agent {i}'))\n"
    "from pomogu.intake.models import Mailbox\n"
    "Mailbox.objects.create(name='Support', address='support@example.test', team=team)\n"
)

# A desk as it runs in production: three teams described in both languages, a trained router,
# business hours with the Russian holidays, and an SLA policy, so every new case is routed by
# the model and gets its first-response and resolution deadlines, every reply its next-response
# deadline.
FULL_DESK = (
    PLAIN_DESK
    + "billing = p.create_team('Billing', slug='billing', lead=p.create_staff('blead'),\n"
    "    description='Refunds, invoices, payments, charges and subscriptions',\n"
    "    keywords='refund for invoice\\nmy card was charged twice\\nswitch subscription to "
    "yearly billing\\nвозврат денег по счёту\\nсписали деньги дважды\\nRückerstattung "
    "Rechnung\\nremboursement facture')\n"
    "for i in range(3): p.add_member(billing, p.create_staff(f'billing{i}'))\n"
    "accounts = p.create_team('Accounts', slug='accounts', lead=p.create_staff('alead'),\n"
    "    description='Signing in, passwords and account access',\n"
    "    keywords='cannot log in to my account\\ninvalid password after reset\\nне могу войти "
    "в личный кабинет\\nпароль не подходит\\nAnmeldung funktioniert nicht\\nimpossible de "
    "me connecter')\n"
    "for i in range(3): p.add_member(accounts, p.create_staff(f'accounts{i}'))\n"
    "from pomogu.people.models import Team\n"
    "Team.objects.filter(pk=team.pk).update(\n"
    "    description='Orders, deliveries, wrong or damaged items, returns',\n"
    "    keywords='order has not arrived\\nwrong item delivered\\nзаказ не пришёл\\n"
    "доставка задерживается\\nBestellung nicht angekommen\\ncommande pas arrivée')\n"
    "from pomogu.clocks.models import Calendar, SlaPolicy\n"
    "office = Calendar.objects.create(name='Moscow office', is_default=True, config={\n"
    "    'timezone': 'Europe/Moscow', 'country': 'RU',\n"
    "    'hours': {d: [['09:00', '18:00']] for d in ('mon', 'tue', 'wed', 'thu', 'fri')}})\n"
    "SlaPolicy.objects.create(name='standard', calendar=office, first_response_minutes=240,\n"
    "    next_response_minutes=480, resolution_minutes=2400)\n"
    "from pomogu.triage import services as triage\n"
    "triage.train(reason='bench')\n"
)


def prepare(url: str, data_dir: Path, desk: str = "plain") -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "POMOGU_DATA_DIR": str(data_dir),
        "POMOGU_LOG_LEVEL": "WARNING",
        "POMOGU_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
    }
    env.pop("POMOGU_FAULTS", None)
    sh(PYTHON, "-m", "pomogu", "migrate", "-v0", env=env)
    sh(PYTHON, "-m", "pomogu", "shell", "-c", FULL_DESK if desk == "full" else PLAIN_DESK, env=env)
    return env


def corpus(workdir: Path) -> tuple[list[Path], list[dict[str, Any]]]:
    out = workdir / "corpus"
    sh(PYTHON, str(MKMAIL), "--out", str(out), "--new", "1000", "--follow", "800")
    manifest = json.loads((out / "manifest_wave1.json").read_text())
    files = [out / "wave1" / m["file"] for m in manifest]
    return files, manifest


# --- CPU accounting ------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU a live process has used (Linux /proc), 0 once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_tree(pid: int) -> list[int]:
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            for child in task.read_text().split():
                pids += process_tree(int(child))
    return pids


def backend_pids() -> list[int]:
    """The PostgreSQL backends serving this database (the LMTP processes' connections)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
        return [int(row[0]) for row in cursor.fetchall()]


def machine_busy_seconds() -> float:
    """CPU time the whole machine has spent busy (all cores, all processes: /proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- LMTP ----------------------------------------------------------------------------------


def send_all(port: int, raws: list[bytes], connections: int) -> tuple[float, list[int]]:
    from pomogu.intake.tests.lmtp_client import LmtpClient

    codes: list[int] = [0] * len(raws)

    def worker(offset: int) -> None:
        client = LmtpClient("127.0.0.1", port, timeout=120)
        try:
            for index in range(offset, len(raws), connections):
                [reply] = client.send("customer@example.net", ["support@example.test"], raws[index])
                codes[index] = reply.code
        finally:
            client.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, codes


class Endpoint:
    def __init__(self, env: dict[str, str], processes: int = 1) -> None:
        from pomogu.core.smtp_sink import free_port
        from pomogu.intake.tests.lmtp_client import LmtpClient

        self.port = free_port()
        self.process = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "pomogu",
                "lmtp",
                "--port",
                str(self.port),
                "--processes",
                str(processes),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        banner = self.process.stdout.readline()  # printed once every process listens
        assert "LMTP endpoint" in banner, banner
        LmtpClient("127.0.0.1", self.port, timeout=5).close()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(15)


def ack_replies(limit: int) -> list[tuple[bytes, str, int]]:
    """Customer replies to pomogu's own acknowledgements (the peer's "wave 3"): (raw, the
    reply's Message-ID, the case of the acknowledgement it answers)."""
    from pomogu.contact.models import OutboxKind, OutboxMessage

    acks = list(
        OutboxMessage.objects.filter(kind=OutboxKind.ACKNOWLEDGEMENT)
        .order_by("id")
        .values_list("rfc_message_id", "to_email", "subject", "case_id")[:limit]
    )
    replies = []
    for n, (ack_id, to, subject, case_id) in enumerate(acks):
        message = EmailMessage()
        message["From"] = to
        message["To"] = "support@example.test"
        message["Subject"] = "Re: " + subject
        reply_id = make_msgid(idstring=f"ackreply{n}", domain="mail.example.net")
        message["Message-ID"] = reply_id
        message["In-Reply-To"] = ack_id
        message["References"] = ack_id
        message.set_content(
            f"Thanks for the quick acknowledgement. Order {10000 + n}, paid by card.\n\n"
            f"> Thank you for writing.\n"
        )
        replies.append((message.as_bytes(), reply_id, case_id))
    return replies


def check(manifest: list[dict[str, Any]], replies: list[tuple[bytes, str, int]]) -> dict[str, int]:
    """Compare the database with what was sent."""
    from pomogu.cases.models import Message
    from pomogu.intake.models import Attachment, InboundMessage

    stored = dict(InboundMessage.objects.values_list("rfc_message_id", "case_id"))
    per_id: dict[str, int] = {}
    for message_id in Message.objects.exclude(message_id="").values_list("message_id", flat=True):
        per_id[message_id] = per_id.get(message_id, 0) + 1
    expected = [m["msgid"] for m in manifest]
    lost = sum(1 for mid in expected if mid not in stored)
    duplicated = sum(1 for count in per_id.values() if count > 1)
    thread_case: dict[int, int] = {}
    for m in manifest:
        if m["kind"] == "new" and m["msgid"] in stored:
            thread_case[m["tid"]] = stored[m["msgid"]]
    follows = [m for m in manifest if m["kind"] == "follow"]
    misthreaded = sum(1 for m in follows if stored.get(m["msgid"]) != thread_case.get(m["tid"]))
    ack_misthreaded = 0
    for _raw, reply_id, case_id in replies:
        if stored.get(reply_id) != case_id:
            ack_misthreaded += 1
    bodies = {
        mid: (body + "\n" + quoted)
        for mid, body, quoted in Message.objects.values_list("message_id", "body", "quoted")
    }

    def norm(text: str) -> str:
        return " ".join(text.split())

    mangled = sum(
        1
        for m in manifest
        if m["msgid"] in bodies and norm(m["new_text"]) not in norm(bodies[m["msgid"]])
    )
    stored_files = set(Attachment.objects.values_list("message__message_id", "sha256"))
    wanted = [(m["msgid"], a["sha256"]) for m in manifest for a in m["attachments"]]
    dropped = sum(1 for key in wanted if key not in stored_files)
    return {
        "sent": len(manifest) + len(replies),
        "lost": lost,
        "duplicated": duplicated,
        "follow_ups": len(follows),
        "follow_ups_misthreaded": misthreaded,
        "ack_replies": len(replies),
        "ack_replies_misthreaded": ack_misthreaded,
        "bodies_mangled": mangled,
        "attachments": len(wanted),
        "attachments_dropped": dropped,
        "quarantined": InboundMessage.objects.filter(state="quarantined").count(),
    }


def run_lmtp(
    base: str,
    connections: int,
    processes: int,
    files: list[Path],
    manifest: list[dict[str, Any]],
    workdir: Path,
    desk: str = "plain",
) -> dict[str, Any]:
    url = fresh_database(base, "pomogu_bench_lmtp")
    env = prepare(url, workdir / "lmtp-data", desk)
    os.environ.update({"DATABASE_URL": url, "POMOGU_DATA_DIR": env["POMOGU_DATA_DIR"]})
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pomogu.settings")
    django.setup()
    endpoint = Endpoint(env, processes)
    try:
        raws = [path.read_bytes() for path in files]
        # CPU over the two measured waves: the LMTP processes, their PostgreSQL backends (they
        # connect on the first message, so they start from nothing) and this client.
        servers = process_tree(endpoint.process.pid)
        server_cpu_before = {pid: cpu_seconds(pid) for pid in servers}
        client_cpu_before = own_cpu_seconds()
        busy_before = machine_busy_seconds()
        wave1_seconds, codes = send_all(endpoint.port, raws, connections)
        print(f"lmtp: {len(raws)} messages in {wave1_seconds:.1f} s", file=sys.stderr)
        assert all(code == 250 for code in codes), set(codes)
        replies = ack_replies(200)
        wave3_seconds, codes3 = send_all(endpoint.port, [r[0] for r in replies], connections)
        assert all(code == 250 for code in codes3), set(codes3)
        busy = machine_busy_seconds() - busy_before
        client_cpu = own_cpu_seconds() - client_cpu_before
        server_cpu = [cpu_seconds(pid) - server_cpu_before[pid] for pid in servers]
        database_cpu = sum(cpu_seconds(pid) for pid in backend_pids())
        # A second delivery of everything (an MTA retrying after a lost 250) must add nothing.
        redelivery_seconds, codes_again = send_all(endpoint.port, raws[:500], connections)
        assert all(code == 250 for code in codes_again)
    finally:
        endpoint.stop()
    total = len(raws) + len(replies)
    result = check(manifest, replies)
    result.update(
        {
            "connections": connections,
            "processes": processes,
            "seconds": round(wave1_seconds + wave3_seconds, 2),
            "messages_per_second": round(total / (wave1_seconds + wave3_seconds), 1),
            "redelivery_messages_per_second": round(500 / redelivery_seconds, 1),
            # CPU milliseconds per message, and how the LMTP processes shared the work.
            "cpu_ms_per_message": {
                "lmtp": round(sum(server_cpu) * 1000 / total, 2),
                "postgresql_backends": round(database_cpu * 1000 / total, 2),
                "bench_client": round(client_cpu * 1000 / total, 2),
            },
            "lmtp_cpu_seconds_per_process": [round(s, 1) for s in server_cpu],
            # Both cores' capacity over the two waves, and how much of it went to this bench and
            # to everything else on the machine (other people's work disturbs a figure).
            "core_seconds": round((wave1_seconds + wave3_seconds) * (os.cpu_count() or 1), 1),
            "core_seconds_this_bench": round(sum(server_cpu) + database_cpu + client_cpu, 1),
            "core_seconds_everything_else": round(
                busy - sum(server_cpu) - database_cpu - client_cpu, 1
            ),
        }
    )
    return result


def run_imap(
    base: str,
    files: list[Path],
    workdir: Path,
    desk: str = "plain",
    processes: int = 1,
    manifest: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Same wave-1 corpus appended to a dovecot folder, then fetched by one `pomogu fetchmail
    --processes N` run (process start included). With a manifest (and Django set up by
    ``run_lmtp``), the database is then checked as the LMTP one is."""
    from pomogu.intake.tests.dovecot import running_dovecot

    url = fresh_database(base, "pomogu_bench_imap")
    env = prepare(url, workdir / "imap-data", desk)
    with running_dovecot() as server:
        server.append_many(path.read_bytes() for path in files)
        fields = server.mailbox_fields()
        setup = (
            "from pomogu.intake.models import Mailbox\n"
            f"Mailbox.objects.filter(address='support@example.test').update(**{fields!r})\n"
        )
        sh(PYTHON, "-m", "pomogu", "shell", "-c", setup, env=env)
        started = time.perf_counter()
        out = sh(
            PYTHON, "-m", "pomogu", "fetchmail", "--limit", "5000",
            "--processes", str(processes), env=env,
        )  # fmt: skip
        seconds = time.perf_counter() - started
        check_db = sh(
            PYTHON,
            "-m",
            "pomogu",
            "shell",
            "-c",
            "from pomogu.intake.models import InboundMessage as I; print(I.objects.count())",
            env=env,
        )
    checked: dict[str, Any] = {}
    if manifest is not None:
        from django.db import connections

        connection = connections["default"]
        connection.close()
        connection.settings_dict["NAME"] = url.rsplit("/", 1)[1]
        checked = check(manifest, [])
    return {
        **checked,
        "processes": processes,
        "messages": len(files),
        "stored": int(check_db.strip().splitlines()[-1]),
        "seconds": round(seconds, 2),
        "messages_per_second": round(len(files) / seconds, 1),
        "fetchmail_output": out.strip().splitlines()[-1:] if out else [],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument(
        "--processes", type=int, default=2, help="LMTP server processes, fetchmail's workers"
    )
    parser.add_argument("--skip-imap", action="store_true")
    parser.add_argument(
        "--desk",
        choices=["plain", "full"],
        default="plain",
        help="plain: one team, no router model, no SLA (the figures since issue 3); full: three "
        "teams, a trained router, business hours and an SLA policy",
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    with tempfile.TemporaryDirectory(prefix="pomogu-bench-") as tmp:
        workdir = Path(tmp)
        files, manifest = corpus(workdir)
        results: dict[str, Any] = {
            "machine": {"arch": platform.machine(), **machine()},
            "database": sh("psql", f"{args.pg}/postgres", "-tAc", "show server_version").strip(),
        }
        results["desk"] = args.desk
        results["lmtp"] = run_lmtp(
            args.pg, args.connections, args.processes, files, manifest, workdir, args.desk
        )
        if not args.skip_imap:
            results["imap"] = run_imap(args.pg, files, workdir, args.desk, args.processes, manifest)
    text = json.dumps(results, indent=2, ensure_ascii=False)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    with contextlib.suppress(Exception):
        for name in ("pomogu_bench_lmtp", "pomogu_bench_imap"):
            sh("psql", f"{args.pg}/postgres", "-qc", f"DROP DATABASE IF EXISTS {name}", check=False)


if __name__ == "__main__":
    main()
