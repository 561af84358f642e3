"""Side by side with django-helpdesk (issue 9): the same work for both, in the same run, on the
same machine and the same PostgreSQL server, as a ratio.

    .venv/bin/python bench/peer/run.py --quick     # smoke run: small counts, ~5 minutes
    .venv/bin/python bench/peer/run.py             # the figures: ~40 minutes, more to build data
    .venv/bin/python bench/peer/run.py --only api  # one part again, merged into the last results

Parts: ``api`` (case/ticket creation through the REST API, gunicorn with 4 workers each, wrk at
8 connections, bounded in time and count; memory of the workers after it; a py-spy profile of
pomogu's workers), ``mail`` (the peer kit's 2,000-message corpus: the peer's ``get_email``,
pomogu's LMTP and IMAP through bench/intake), ``pages`` (list/queue, keyword search and
dashboard at 100,000 cases for both), ``pages1m`` (pomogu at 1,000,000 cases).

Writes bench/results/side_by_side.json and .md. Method and figures: bench/peer/README.md and
docs/benchmarks.md ("Side by side with django-helpdesk").
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402
import peer_side  # noqa: E402
import pomogu_side  # noqa: E402

from common import log, machine  # noqa: E402

RESULTS = ROOT / "bench" / "results"
PARTS = ("api", "api_peer_tuned", "mail", "pages", "pages1m")
TARGET_RATIO = 10.0
TARGET_P95_MS_1M = 150.0
SIDES = ("peer", "pomogu")
# Beside RSS, which counts the pages a worker shares with its master and siblings once in every
# worker (harness.memory): PSS divides each shared page among the processes that map it, USS
# counts only a worker's own pages, and the server's PSS is what the whole server costs.
MEMORY_SHARES = (
    ("max_pss_mib", "PSS of one web worker", " (largest of 4)"),
    ("max_uss_mib", "USS (private pages) of one web worker", " (largest of 4)"),
    ("total_pss_mib", "PSS of the whole web server", " (master and 4 workers)"),
)


def settings(quick: bool) -> dict[str, Any]:
    if quick:
        return {
            "rounds": 1,
            "seconds": 5,
            "per_thread": 500,
            "pages_size": 10_000,
            "warm": 1,
            "reps": 5,
            "max_wait": 0,
            "profile_seconds": 8,
            "api_list": False,
        }
    return {
        "rounds": 3,
        "seconds": 30,
        "per_thread": 10_000,
        "pages_size": 100_000,
        "warm": 3,
        "reps": 20,
        "max_wait": 600,
        "profile_seconds": 20,
        "api_list": True,
    }


def versions(base: str) -> dict[str, Any]:
    import importlib.metadata as meta

    found = {name: meta.version(name) for name in ("django", "django-ninja", "gunicorn", "psycopg")}
    found["postgresql"] = harness.psql(base, "SHOW server_version")
    found["postgresql_settings"] = {
        name: harness.psql(base, f"SHOW {name}")
        for name in ("shared_buffers", "work_mem", "synchronous_commit", "max_connections")
    }
    commit = subprocess.run(
        ["uname", "-sr"], capture_output=True, text=True, check=False
    ).stdout.strip()
    found["kernel"] = commit
    return found


def code_version() -> dict[str, Any]:
    """Which pomogu was measured: the checkout is shared and changes while a run goes on."""
    import hashlib

    digest = hashlib.sha256()
    newest = (0.0, "")
    for path in sorted((ROOT / "src" / "pomogu").rglob("*.py")):
        digest.update(path.read_bytes())
        newest = max(newest, (path.stat().st_mtime, str(path.relative_to(ROOT))))
    return {
        "src_sha256": digest.hexdigest()[:16],
        "newest_file": newest[1],
        "newest_at": dt.datetime.fromtimestamp(newest[0], dt.UTC).isoformat(timespec="seconds"),
    }


# --- the parts -------------------------------------------------------------------------------


def run_api(base: str, workdir: Path, s: dict[str, Any], connections: int) -> dict[str, Any]:
    rounds = []
    for index in range(s["rounds"]):
        log(f"API round {index + 1}/{s['rounds']}: peer, then pomogu")
        peer = peer_side.api(
            base,
            seconds=s["seconds"],
            per_thread=s["per_thread"],
            connections=connections,
            max_wait=s["max_wait"],
        )
        last = index == s["rounds"] - 1
        ours = pomogu_side.api(
            base,
            workdir,
            seconds=s["seconds"],
            per_thread=s["per_thread"],
            connections=connections,
            max_wait=s["max_wait"],
            profile_seconds=s["profile_seconds"] if last else 0,
        )
        rounds.append({"peer": peer, "pomogu": ours})
    return {"connections": connections, "rounds": rounds}


def run_mail(base: str, workdir: Path, s: dict[str, Any], quick: bool) -> dict[str, Any]:
    corpus = peer_side.corpus(workdir / "corpus", quick)
    manifest = json.loads((corpus / "manifest_wave1.json").read_text())
    peer = peer_side.mail(base, corpus, s["max_wait"])
    ours = pomogu_side.mail(base, workdir, quick=quick, imap=True, max_wait=s["max_wait"])
    return {"corpus_wave1": len(manifest), "peer": peer, "pomogu": ours}


def run_pages(base: str, workdir: Path, s: dict[str, Any], rebuild: bool) -> dict[str, Any]:
    size = s["pages_size"]
    common = {"warm": s["warm"], "reps": s["reps"], "rebuild": rebuild, "max_wait": s["max_wait"]}
    peer = peer_side.pages(base, size, api_list=s["api_list"], **common)
    ours = pomogu_side.pages(base, size, workdir, api_list=s["api_list"], **common)
    return {"size": size, "peer": peer, "pomogu": ours}


def run_pages_1m(base: str, workdir: Path, s: dict[str, Any], rebuild: bool) -> dict[str, Any]:
    """Over HTTP as at 100,000, on this bench's own 1,000,000-case database (built once, the
    way bench/pages builds its own); and, when the kept ``pomogu_bench_pages`` exists, through
    bench/pages itself (in process, read only)."""
    common = {"warm": s["warm"], "reps": s["reps"], "rebuild": rebuild, "max_wait": s["max_wait"]}
    result = pomogu_side.pages(base, 1_000_000, workdir, api_list=s["api_list"], **common)
    if harness.database_exists(base, "pomogu_bench_pages"):
        result["bench_pages"] = pomogu_side.pages_in_process(base, s["reps"], s["max_wait"])
    return result


# --- the table -------------------------------------------------------------------------------


def median_of(rounds: list[dict[str, Any]], side: str, key: str) -> float:
    return round(statistics.median(r[side][key] for r in rounds), 1)


def loads(items: list[dict[str, Any]]) -> str:
    """The 1-minute load average before each measurement (and after, in brackets)."""
    return ", ".join(
        f"{i['load_1min_before']:.2f}"
        + (f"→{i['load_1min_after']:.2f}" if "load_1min_after" in i else "")
        for i in items
    )


def writes(counted: dict[str, Any]) -> int:
    kinds = counted["statement_kinds"]
    return int(kinds.get("INSERT", 0) + kinds.get("UPDATE", 0) + kinds.get("DELETE", 0))


def row(
    figure: str,
    peer: Any,
    pomogu: Any,
    *,
    ratio: float | None = None,
    target: str = "",
    met: bool | None = None,
    load: str = "",
    unit: str = "",
) -> dict[str, Any]:
    return {
        "figure": figure,
        "unit": unit,
        "peer": peer,
        "pomogu": pomogu,
        "ratio": round(ratio, 1) if ratio is not None else None,
        "target": target,
        "met": met,
        "load": load,
    }


def figures(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    api = results.get("api")
    if api:
        rounds = api["rounds"]
        n = api["connections"]
        peer_rate, our_rate = (median_of(rounds, side, "per_second") for side in ("peer", "pomogu"))
        ratio = our_rate / peer_rate
        load = (
            f"peer {loads([r['peer'] for r in rounds])}; "
            f"pomogu {loads([r['pomogu'] for r in rounds])}"
        )
        rows.append(
            row(
                f"API case/ticket creation, {n} connections (median of {len(rounds)} rounds)",
                peer_rate,
                our_rate,
                ratio=ratio,
                unit="per s",
                target="≥ 10×",
                met=ratio >= TARGET_RATIO,
                load=load,
            )
        )
        for key, label in (("p50_ms", "p50"), ("p99_ms", "p99")):
            peer_ms, our_ms = median_of(rounds, "peer", key), median_of(rounds, "pomogu", key)
            rows.append(
                row(
                    f"API creation latency {label}",
                    peer_ms,
                    our_ms,
                    ratio=peer_ms / our_ms,
                    unit="ms",
                )
            )
        last = rounds[-1]
        if all("in_process" in r[side] for r in rounds for side in ("peer", "pomogu")):
            p, o = last["peer"]["in_process"], last["pomogu"]["in_process"]
            peer_ms, our_ms = (
                statistics.median(r[side]["in_process"]["ms_median"] for r in rounds)
                for side in ("peer", "pomogu")
            )
            rows.append(
                row(
                    "one creation in process, no HTTP, one at a time (median of 30 a round, "
                    "median of the rounds)",
                    peer_ms,
                    our_ms,
                    ratio=peer_ms / our_ms,
                    unit="ms",
                )
            )
            rows.append(
                row(
                    "SQL statements per creation (writes)",
                    f"{p['statements_median']:g} ({writes(p)}, each its own commit)",
                    f"{o['statements_median']:g} ({writes(o)}, one transaction)",
                )
            )
        peer_mem = statistics.median(r["peer"]["memory_after_load"]["max_rss_mib"] for r in rounds)
        our_mem = statistics.median(r["pomogu"]["memory_after_load"]["max_rss_mib"] for r in rounds)
        rows.append(
            row(
                "RSS of one web worker after the API load (largest of 4)",
                peer_mem,
                our_mem,
                ratio=peer_mem / our_mem,
                unit="MiB",
            )
        )
        for key, what, which in MEMORY_SHARES:
            if all(key in r[side]["memory_after_load"] for r in rounds for side in SIDES):
                peer_mem, our_mem = (
                    statistics.median(r[side]["memory_after_load"][key] for r in rounds)
                    for side in SIDES
                )
                rows.append(
                    row(
                        f"{what} after the API load{which}",
                        peer_mem,
                        our_mem,
                        ratio=peer_mem / our_mem,
                        unit="MiB",
                    )
                )
    tuned = results.get("api_peer_tuned")
    if api and tuned:
        our_rate = median_of(api["rounds"], "pomogu", "per_second")
        rows.append(
            row(
                "API creation, the peer with persistent connections (CONN_MAX_AGE=60; its "
                "kit and Django default to 0), against pomogu's median",
                tuned["per_second"],
                our_rate,
                ratio=our_rate / tuned["per_second"],
                unit="per s",
                target="≥ 10×",
                met=our_rate / tuned["per_second"] >= TARGET_RATIO,
                load=f"peer {loads([tuned])}",
            )
        )
    mail = results.get("mail")
    if mail:
        peer, ours = mail["peer"], mail["pomogu"]
        ratio = ours["messages_per_second_lmtp"] / peer["messages_per_second_wave1_rerun"]
        load = f"peer {loads([peer])}; pomogu {loads([ours])}"
        rows.append(
            row(
                f"mail ingestion, {peer['sent']} messages: peer get_email, pomogu LMTP "
                f"({ours['lmtp_processes']} processes)",
                peer["messages_per_second_wave1_rerun"],
                ours["messages_per_second_lmtp"],
                ratio=ratio,
                unit="messages/s",
                target="≥ 10×",
                met=ratio >= TARGET_RATIO,
                load=load,
            )
        )
        if ours.get("messages_per_second_imap"):
            ratio = ours["messages_per_second_imap"] / peer["messages_per_second_wave1_rerun"]
            imap = ours.get("imap") or {}
            workers = imap.get("processes", 1)
            checked = (
                f"; lost {imap['lost']}, duplicated {imap['duplicated']}, follow-ups "
                f"misthreaded {imap['follow_ups_misthreaded']}"
                if "lost" in imap
                else ""
            )
            rows.append(
                row(
                    "mail ingestion: peer get_email, pomogu IMAP (one `fetchmail --processes "
                    f"{workers}` run, wave 1{checked})",
                    peer["messages_per_second_wave1_rerun"],
                    ours["messages_per_second_imap"],
                    ratio=ratio,
                    unit="messages/s",
                    target="≥ 10×",
                    met=ratio >= TARGET_RATIO,
                    load=load,
                )
            )
        for key, label in (
            ("lost", "lost"),
            ("duplicated", "duplicated"),
            ("bodies_mangled", "bodies mangled"),
            ("attachments_dropped", "attachments dropped"),
        ):
            total = {"attachments_dropped": "attachments"}.get(key, "sent")
            rows.append(
                row(
                    f"mail: {label}",
                    f"{peer[key]} / {peer[total]}",
                    f"{ours[key]} / {ours[total]}",
                    target="0",
                    met=ours[key] == 0,
                )
            )
        for key, total, label in (
            ("follow_ups_threaded", "follow_ups", "follow-ups on the right case"),
            ("ack_replies_threaded", "ack_replies", "replies to acknowledgements threaded"),
        ):
            rows.append(
                row(
                    f"mail: {label}",
                    f"{peer[key]} / {peer[total]}",
                    f"{ours[key]} / {ours[total]}",
                    target="all",
                    met=ours[key] == ours[total],
                )
            )
    pages = results.get("pages")
    if pages:
        size = pages["size"]
        peer, ours = pages["peer"]["pages"], pages["pomogu"]["pages"]
        peer_load = loads([pages["peer"]["load"]])
        load = f"peer {peer_load}; pomogu {loads([pages['pomogu']['load']])}"
        cold_load = f"peer {peer_load}; pomogu {loads([pages['pomogu']['load_cold']])}"
        pairs = [
            ("queue", "queue", "agent's list: peer open tickets (page + rows), pomogu team queue"),
            ("search_common", "search_common", "keyword search, common word ('refund')"),
            ("search_rare", "search_rare", "keyword search, rare word ('zeppelin')"),
            (
                "search_common",
                "search_common_all",
                "search 'refund', pomogu as manager (every case)",
            ),
            ("search_rare", "search_rare_all", "search 'zeppelin', pomogu as manager (every case)"),
            ("dashboard", "dashboard", "dashboard, computed on each request"),
            ("dashboard", "dashboard_warm", "dashboard, pomogu's figures kept (5 min cache)"),
        ]
        for peer_key, our_key, label in pairs:
            if peer_key not in peer or our_key not in ours:
                continue
            p, o = peer[peer_key], ours[our_key]
            ratio = p["median_ms"] / o["median_ms"]
            rows.append(
                row(
                    f"{label}, {size:,} cases, median (p95)",
                    f"{p['median_ms']} ({p['p95_ms']})",
                    f"{o['median_ms']} ({o['p95_ms']})",
                    ratio=ratio,
                    unit="ms",
                    target="≥ 10× faster",
                    met=ratio >= TARGET_RATIO,
                    load=cold_load if our_key == "dashboard" else load,
                )
            )
        for key in ("queue_poll", "case_page"):
            if key in ours:
                o = ours[key]
                rows.append(
                    row(
                        f"{o['label']}, {size:,} cases, median (p95)",
                        "—",
                        f"{o['median_ms']} ({o['p95_ms']})",
                        unit="ms",
                        load=load,
                    )
                )
        if "api_list_first_page" in pages["peer"] and "api_list_first_page" in pages["pomogu"]:
            p = pages["peer"]["api_list_first_page"]
            o = pages["pomogu"]["api_list_first_page"]
            peer_ms = p.get("ms")
            rows.append(
                row(
                    f"API list, first page, {size:,} cases",
                    peer_ms if peer_ms is not None else f"failed: {p}",
                    o["median_ms"],
                    ratio=(peer_ms / o["median_ms"]) if peer_ms else None,
                    unit="ms",
                )
            )
        peer_mem = pages["peer"]["memory_after_pages"]["max_hwm_mib"]
        our_mem = pages["pomogu"]["memory_after_pages"]["max_hwm_mib"]
        rows.append(
            row(
                f"peak RSS of one web worker after the pages at {size:,} (VmHWM)",
                peer_mem,
                our_mem,
                ratio=peer_mem / our_mem,
                unit="MiB",
            )
        )
        for key, what, which in MEMORY_SHARES:
            if all(key in pages[side]["memory_after_pages"] for side in SIDES):
                peer_mem, our_mem = (pages[side]["memory_after_pages"][key] for side in SIDES)
                rows.append(
                    row(
                        f"{what} after the pages at {size:,}{which}",
                        peer_mem,
                        our_mem,
                        ratio=peer_mem / our_mem,
                        unit="MiB",
                    )
                )
    big = results.get("pages1m")
    if big:
        load = f"pomogu {loads([big['load']])}"
        for key, label in (
            ("queue", "team queue"),
            ("search_common", "search 'refund'"),
            ("search_rare", "search 'zeppelin'"),
            ("search_common_all", "search 'refund' (manager)"),
            ("search_rare_all", "search 'zeppelin' (manager)"),
            ("dashboard", "dashboard, computed"),
            ("dashboard_warm", "dashboard, figures kept"),
            ("queue_poll", "team queue's live poll (204)"),
            ("case_page", "case page, an active case"),
        ):
            if key not in big["pages"]:
                continue
            o = big["pages"][key]
            informational = key in ("queue_poll", "case_page")
            rows.append(
                row(
                    f"{label}, 1,000,000 cases, median (p95)",
                    "not measured",
                    f"{o['median_ms']} ({o['p95_ms']})",
                    unit="ms",
                    target="" if informational else "p95 < 150 ms",
                    met=None if informational else o["p95_ms"] < TARGET_P95_MS_1M,
                    load=load if key != "dashboard" else f"pomogu {loads([big['load_cold']])}",
                )
            )
        if "api_list_first_page" in big:
            o = big["api_list_first_page"]
            rows.append(
                row(
                    "API list, first page, 1,000,000 cases, median (p95)",
                    "not measured",
                    f"{o['median_ms']} ({o['p95_ms']})",
                    unit="ms",
                    load=load,
                )
            )
        kept = big.get("bench_pages")
        if kept:
            load = f"pomogu {loads([kept['load']])}"
            for page in kept["pages"].values():
                rows.append(
                    row(
                        f"bench/pages on pomogu_bench_pages (in process, no HTTP): "
                        f"{page['label']}, median (p95)",
                        "not measured",
                        f"{page['median_ms']} ({page['p95_ms']})",
                        unit="ms",
                        target="p95 < 150 ms",
                        met=page["p95_ms"] < TARGET_P95_MS_1M,
                        load=load,
                    )
                )
    return rows


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    v = results["versions"]
    peer = results.get("peer_versions", {})
    lines = [
        "# pomogu side by side with django-helpdesk",
        "",
        f"Measured {results['finished_at']} ({results['mode']} mode) on {m['cpu']}, {m['cores']} "
        f"cores, {m['memory_gib']} GiB, {v['kernel']}, Python {m['python']}, PostgreSQL "
        f"{v['postgresql']} (shared_buffers {v['postgresql_settings']['shared_buffers']}, "
        f"synchronous_commit {v['postgresql_settings']['synchronous_commit']}). "
        f"pomogu: Django {v['django']}, gunicorn {v['gunicorn']}; peer: django-helpdesk "
        f"{peer.get('django_helpdesk')}, Django {peer.get('django')}, gunicorn "
        f"{peer.get('gunicorn')}; load from {peer.get('wrk')} on the same machine.",
        "",
        "| figure | unit | django-helpdesk | pomogu | ratio | target | met | load average |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results["figures"]:
        met = "" if r["met"] is None else ("yes" if r["met"] else "**no**")
        ratio = f"{r['ratio']}×" if r["ratio"] is not None else ""
        lines.append(
            f"| {r['figure']} | {r['unit']} | {r['peer']} | {r['pomogu']} | {ratio} | "
            f"{r['target']} | {met} | {r['load']} |"
        )
    api = results.get("api")
    if api:
        lines += [
            "",
            "API rounds (each side on a fresh database; the peer first):",
            "",
            "| round | django-helpdesk per s (p50 / p99 ms) | load | pomogu per s (p50 / p99 ms) "
            "| load | ratio |",
            "|---|---|---|---|---|---|",
        ]
        for n, r in enumerate(api["rounds"], 1):
            p, o = r["peer"], r["pomogu"]
            lines.append(
                f"| {n} | {p['per_second']} ({p['p50_ms']} / {p['p99_ms']}) | {loads([p])} | "
                f"{o['per_second']} ({o['p50_ms']} / {o['p99_ms']}) | {loads([o])} | "
                f"{o['per_second'] / p['per_second']:.1f}× |"
            )
    lines += [
        "",
        "Ratio: pomogu ÷ peer for rates, peer ÷ pomogu for times and memory. Load average: the "
        "1-minute figure before each measurement (→ after it). Every raw figure, the rounds, the "
        "CPU per request and the profile are in side_by_side.json.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--quick", action="store_true", help="a smoke run with small counts")
    parser.add_argument("--only", help=f"comma-separated parts of {','.join(PARTS)}")
    parser.add_argument("--rounds", type=int, help="API rounds (default 3; --quick 1)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--max-wait", type=float, help="seconds to wait for load < 1.0")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the kept page databases")
    parser.add_argument("--json", type=Path, default=RESULTS / "side_by_side.json")
    parser.add_argument("--report", action="store_true", help="only write the .md from the JSON")
    args = parser.parse_args()
    if args.report:
        results = json.loads(args.json.read_text())
        results["figures"] = figures(results)
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str) + "\n")
        args.json.with_suffix(".md").write_text(markdown(results))
        print(markdown(results))
        return
    s = settings(args.quick)
    if args.rounds:
        s["rounds"] = args.rounds
    if args.max_wait is not None:
        s["max_wait"] = args.max_wait
    parts = (
        args.only.split(",")
        if args.only
        else [p for p in PARTS if p != "pages1m" or not args.quick]
    )
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise SystemExit(f"unknown parts: {sorted(unknown)}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    pomogu_side.OUTPUT = args.json.with_suffix("")
    results: dict[str, Any] = {}
    if args.only and args.json.exists():
        results = json.loads(args.json.read_text())  # one part again, the others kept
    mode = "quick" if args.quick else "full"
    if results.get("mode") not in (None, mode):
        results = {}
    results.update(
        {
            "mode": mode,
            "settings": s,
            "machine": {
                **machine(),
                "arch": subprocess.run(
                    ["uname", "-m"], capture_output=True, text=True, check=False
                ).stdout.strip(),
            },
            "versions": versions(args.pg),
            "peer_versions": peer_side.setup(args.pg),
        }
    )
    results.setdefault("measured_at", {})

    def save() -> None:
        results["finished_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        results["figures"] = figures(results)
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str) + "\n")
        args.json.with_suffix(".md").write_text(markdown(results))

    with tempfile.TemporaryDirectory(prefix="bench-peer-") as tmp:
        workdir = Path(tmp)
        for part in parts:
            log(f"== {part}")
            results.setdefault("code", {})[part] = code_version()
            if part == "api":
                results["api"] = run_api(args.pg, workdir, s, args.connections)
            elif part == "api_peer_tuned":
                log("API: the peer once more, with persistent connections (CONN_MAX_AGE=60)")
                results["api_peer_tuned"] = peer_side.api(
                    args.pg,
                    seconds=s["seconds"],
                    per_thread=s["per_thread"],
                    connections=args.connections,
                    max_wait=s["max_wait"],
                    conn_max_age=60,
                )
            elif part == "mail":
                results["mail"] = run_mail(args.pg, workdir, s, args.quick)
            elif part == "pages":
                results["pages"] = run_pages(args.pg, workdir, s, args.rebuild)
            elif part == "pages1m":
                results["pages1m"] = run_pages_1m(args.pg, workdir, s, args.rebuild)
            results["measured_at"][part] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            save()
    print(args.json.with_suffix(".md").read_text())
    print(f"written to {args.json} and {args.json.with_suffix('.md')}")


if __name__ == "__main__":
    main()
