"""The security gates of RELIABILITY.md §7.7 that are tests (docs/security-gates.md).

- SC-1: `pomogu check --deploy --fail-level WARNING` passes with production-like settings and
  fails with the trial's, and POMOGU_HTTPS derives what it should.
- SC-7: headers on a sample of routes over HTTPS; attachments kept out of every URL space and
  readable by the desk's own user alone, whatever the umask.
- SC-3: the bandit configuration gates src on HIGH findings and leaves out only tests.
- SC-2: the waiver rules of scripts/audit-deps, fed pip-audit-like reports (no network).
"""

from __future__ import annotations

import datetime as dt
import importlib.machinery
import importlib.util
import json
import os
import runpy
import secrets
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.urls import reverse

from pomogu.core.testing import PASSWORD, Cast
from pomogu.intake import storage
from pomogu.intake.models import Attachment
from pomogu.intake.parsing import ParsedAttachment
from pomogu.people.services import create_token

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_FILE = ROOT / "src" / "pomogu" / "settings.py"
YEAR = 365 * 24 * 3600


# --- SC-1: the deploy check -----------------------------------------------------------------


def _environment(data_dir: Path, **variables: str) -> dict[str, str]:
    """This process's environment without any POMOGU_ variable, plus ``variables``: what a
    fresh installation configured only by them would see. The browser tests' switch that lets
    Playwright's event loop share the test database (DJANGO_ALLOW_ASYNC_UNSAFE) is the test
    run's, not a deployment's, and goes too."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("POMOGU_") and name != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    env["POMOGU_DATA_DIR"] = str(data_dir)
    env.update(variables)
    return env


def _production(data_dir: Path, **variables: str) -> dict[str, str]:
    return _environment(
        data_dir,
        POMOGU_SECRET_KEY=secrets.token_urlsafe(64),
        POMOGU_HTTPS="1",
        POMOGU_ALLOWED_HOSTS="desk.example.com",
        POMOGU_CSRF_TRUSTED_ORIGINS="https://desk.example.com",
        POMOGU_SITE_URL="https://desk.example.com",
        POMOGU_DEBUG="0",
        **variables,
    )


def _deploy_check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pomogu", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_deploy_check_passes_with_production_settings(tmp_path: Path) -> None:
    result = _deploy_check(_production(tmp_path))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # Exactly the one documented silenced id (security.W021); a new one shows up here.
    assert "System check identified no issues (1 silenced)." in output
    assert "WARNING" not in output


@pytest.mark.parametrize(
    ("what", "variables", "expected"),
    [
        (
            "the trial's defaults",
            {},
            {"security.W004", "security.W008", "security.W012", "security.W016"},
        ),
        ("debug on", {"POMOGU_HTTPS": "1", "POMOGU_DEBUG": "1"}, {"security.W018"}),
        (
            "a weak secret key",
            {"POMOGU_HTTPS": "1", "POMOGU_SECRET_KEY": "django-insecure-" + "x" * 50},
            {"security.W009"},
        ),
        (
            "HSTS switched off behind HTTPS",
            {"POMOGU_HTTPS": "1", "POMOGU_HSTS_SECONDS": "0"},
            {"security.W004"},
        ),
    ],
)
def test_deploy_check_fails_on_settings_unfit_for_production(
    tmp_path: Path, what: str, variables: dict[str, str], expected: set[str]
) -> None:
    result = _deploy_check(_environment(tmp_path, **variables))
    output = result.stdout + result.stderr
    assert result.returncode != 0, f"{what}: the gate let it through\n{output}"
    for check_id in expected:
        assert f"({check_id})" in output, f"{what}: {check_id} missing\n{output}"


def test_every_silenced_check_is_documented_with_its_reason() -> None:
    assert django_settings.SILENCED_SYSTEM_CHECKS == ["security.W021"]
    doc = (ROOT / "docs" / "security-gates.md").read_text()
    silenced = doc.split("**Silenced checks**", 1)[1].split("\n## ", 1)[0]
    for check_id in django_settings.SILENCED_SYSTEM_CHECKS:
        assert f"`{check_id}`" in silenced


def _settings_from(monkeypatch: pytest.MonkeyPatch, data_dir: Path, **variables: str) -> Any:
    """The settings module as a fresh process with ``variables`` would compute it."""
    for name in list(os.environ):
        if name.startswith("POMOGU_"):
            monkeypatch.delenv(name)
    for name, value in {"POMOGU_DATA_DIR": str(data_dir), **variables}.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS_FILE), run_name="pomogu_settings_probe")


def test_https_makes_cookies_secure_redirects_and_sends_a_year_of_hsts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    on = _settings_from(monkeypatch, tmp_path, POMOGU_HTTPS="1")
    assert on["SESSION_COOKIE_SECURE"] is on["CSRF_COOKIE_SECURE"] is True
    assert on["LANGUAGE_COOKIE_SECURE"] is True
    assert on["SECURE_SSL_REDIRECT"] is True
    assert on["SECURE_REDIRECT_EXEMPT"] == [r"^healthz$"]
    assert on["SECURE_HSTS_SECONDS"] == YEAR
    assert on["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert on["SECURE_HSTS_PRELOAD"] is False
    assert on["SECURE_CROSS_ORIGIN_OPENER_POLICY"] == "same-origin"
    assert "SECURE_PROXY_SSL_HEADER" not in on  # nobody's X-Forwarded-Proto is believed

    off = _settings_from(monkeypatch, tmp_path)
    assert off["SESSION_COOKIE_SECURE"] is off["SECURE_SSL_REDIRECT"] is False
    assert off["SECURE_HSTS_SECONDS"] == 0


def test_secure_cookies_alone_still_work_and_cannot_contradict_https(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cookies_only = _settings_from(monkeypatch, tmp_path, POMOGU_SECURE_COOKIES="1")
    assert cookies_only["SESSION_COOKIE_SECURE"] is cookies_only["CSRF_COOKIE_SECURE"] is True
    assert cookies_only["SECURE_SSL_REDIRECT"] is False
    with pytest.raises(ImproperlyConfigured, match="contradicts POMOGU_HTTPS"):
        _settings_from(monkeypatch, tmp_path, POMOGU_HTTPS="1", POMOGU_SECURE_COOKIES="0")
    with pytest.raises(ImproperlyConfigured, match="POMOGU_HSTS_SECONDS"):
        _settings_from(monkeypatch, tmp_path, POMOGU_HTTPS="1", POMOGU_HSTS_SECONDS="-1")


def test_forwarded_proto_is_believed_only_behind_a_declared_proxy(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    proxied = _settings_from(monkeypatch, tmp_path, POMOGU_HTTPS="1", POMOGU_TRUSTED_PROXY="1")
    assert proxied["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")


# --- SC-7: headers on a sample of routes ------------------------------------------------------

HTTPS_SETTINGS = (
    "SECURE_SSL_REDIRECT",
    "SECURE_REDIRECT_EXEMPT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "SECURE_REFERRER_POLICY",
    "SECURE_CROSS_ORIGIN_OPENER_POLICY",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "LANGUAGE_COOKIE_SECURE",
)


@pytest.fixture
def https(settings: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """This test's Django runs with what POMOGU_HTTPS=1 derives (SecurityMiddleware reads its
    settings when a client first loads the middleware, after this)."""
    derived = _settings_from(monkeypatch, tmp_path / "probe", POMOGU_HTTPS="1")
    for name in HTTPS_SETTINGS:
        setattr(settings, name, derived[name])
    settings.DATA_DIR = tmp_path


@pytest.fixture
def case_with_attachment(cast: Cast, https: None) -> tuple[Any, Attachment]:
    case = cast.open_case()
    message = case.messages.get()
    part = ParsedAttachment("scan.pdf", "application/pdf", b"%PDF-1.4\n...", False, "")
    return case, storage.save_attachment(message, part)


def _assert_hardened(response: Any, route: str) -> None:
    assert response.status_code == 200, (route, response.status_code)
    assert response["X-Content-Type-Options"] == "nosniff", route
    assert "frame-ancestors" in response["Content-Security-Policy"], route
    assert response["Referrer-Policy"] == "same-origin", route
    assert response["Cross-Origin-Opener-Policy"] == "same-origin", route
    assert "no-store" in response["Cache-Control"], route
    assert response["Strict-Transport-Security"] == f"max-age={YEAR}; includeSubDomains", route


def test_private_routes_carry_the_security_headers_over_https(
    cast: Cast, case_with_attachment: tuple[Any, Attachment]
) -> None:
    case, item = case_with_attachment
    desk = Client()
    assert desk.login(username="bob", password=PASSWORD)
    routes = {
        "desk home": desk.get("/", secure=True),
        "case page": desk.get(f"/cases/{case.number}/", secure=True),
        "attachment": desk.get(
            reverse("desk:attachment", kwargs={"number": case.number, "attachment_id": item.pk}),
            secure=True,
        ),
        "portal sign-in": Client().get("/my/", secure=True),
        "API": Client().get(
            "/api/v1/cases",
            headers={"Authorization": f"Bearer {create_token(cast.bob)}"},
            secure=True,
        ),
    }
    for route, response in routes.items():
        _assert_hardened(response, route)
    assert routes["attachment"]["Content-Disposition"].startswith("attachment;")


def test_sign_in_over_https_sets_only_secure_cookies(cast: Cast, https: None) -> None:
    response = Client().post("/login/", {"username": "bob", "password": PASSWORD}, secure=True)
    assert response.status_code == 302
    assert {"sessionid", "csrftoken"} <= set(response.cookies)
    for name, cookie in response.cookies.items():
        assert cookie["secure"] is True, name
    assert response.cookies["sessionid"]["httponly"] is True


def test_plain_http_is_redirected_except_the_health_probe(db: Any, https: None) -> None:
    client = Client()
    page = client.get("/my/")
    assert page.status_code == 301
    assert page["Location"] == "https://testserver/my/"
    probe = client.get("/healthz")
    assert probe.status_code == 200
    assert probe.json() == {"status": "ok"}
    # HSTS means something only on a response that came over HTTPS.
    assert "Strict-Transport-Security" not in probe


def test_forwarded_proto_counts_only_when_the_proxy_is_declared(
    db: Any, https: None, settings: Any
) -> None:
    forwarded = {"X-Forwarded-Proto": "https"}
    assert Client().get("/my/", headers=forwarded).status_code == 301
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    response = Client().get("/my/", headers=forwarded)
    assert response.status_code == 200
    assert "Strict-Transport-Security" in response


# --- SC-7: where attachments live -------------------------------------------------------------


@pytest.fixture
def umask() -> Iterator[Any]:
    """``umask(0o077)`` sets the process's umask for this test only."""
    previous = os.umask(0o022)
    os.umask(previous)
    yield os.umask
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("mask", [0o000, 0o022, 0o277])
def test_attachment_files_are_private_whatever_the_umask(
    cast: Cast, settings: Any, tmp_path: Path, umask: Any, mask: int
) -> None:
    settings.DATA_DIR = tmp_path
    message = cast.open_case().messages.get()
    umask(mask)
    item = storage.save_attachment(
        message, ParsedAttachment("a.txt", "text/plain", b"secret", False, "")
    )
    path = storage.path_of(item.storage_name)
    assert _mode(path) == 0o600  # neither world-readable (umask 0) nor unreadable (umask 277)
    assert _mode(path.parent) == 0o700
    assert _mode(storage.root()) == 0o700
    assert path.read_bytes() == b"secret"


def test_attachments_are_outside_static_files_and_every_url(
    cast: Cast, settings: Any, tmp_path: Path, client: Client
) -> None:
    # As configured: attachments and static files are two folders side by side in the data
    # directory, and nothing is configured to serve media files.
    configured, static_root = storage.root(), Path(settings.STATIC_ROOT)
    assert configured.parent == Path(settings.DATA_DIR) == static_root.parent
    assert configured != static_root
    assert not settings.MEDIA_ROOT
    # The same layout in a fresh data directory, with a stored file to ask for by every path a
    # static or media server might map to it.
    settings.DATA_DIR = tmp_path
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STATIC_ROOT.mkdir()
    message = cast.open_case().messages.get()
    item = storage.save_attachment(
        message, ParsedAttachment("a.txt", "text/plain", b"canary", False, "")
    )
    relative = storage.path_of(item.storage_name).relative_to(tmp_path).as_posix()
    assert client.login(username="root", password=PASSWORD)
    for url in (
        f"/{relative}",
        f"/static/{relative}",
        f"/static/../{relative}",
        f"/static/%2e%2e/{relative}",
        f"/media/{relative}",
    ):
        assert client.get(url).status_code == 404, url


# --- SC-3: bandit's configuration --------------------------------------------------------------


def test_bandit_gate_fails_on_a_high_finding_in_src_but_not_in_tests(tmp_path: Path) -> None:
    shell = "import subprocess\n\n\ndef run(command):\n    subprocess.call(command, shell=True)\n"
    for where in ("src/pomogu/bad.py", "src/pomogu/tests/bad.py", "src/pomogu/migrations/x.py"):
        (tmp_path / where).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / where).write_text(shell)
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "bandit"),
            "-c",
            str(ROOT / "pyproject.toml"),
            "-r",
            str(tmp_path / "src"),
            "-lll",
            "-q",
            "-f",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    found = {(Path(r["filename"]).name, r["test_id"]) for r in json.loads(result.stdout)["results"]}
    assert found == {("bad.py", "B602")}
    assert all("/tests/" not in r["filename"] for r in json.loads(result.stdout)["results"])


# --- SC-2: pip-audit and its waivers -----------------------------------------------------------


def _load_audit_deps() -> ModuleType:
    loader = importlib.machinery.SourceFileLoader("audit_deps", str(ROOT / "scripts/audit-deps"))
    spec = importlib.util.spec_from_loader("audit_deps", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["audit_deps"] = module  # dataclasses look their module up while being made
    loader.exec_module(module)
    return module


audit = _load_audit_deps()
TODAY = dt.date(2026, 11, 24)
OWN = {"name": "pomogu", "skip_reason": "distribution marked as editable"}
CLEAN = {
    "dependencies": [{"name": "django", "version": "5.2.8", "vulns": []}, OWN],
    "fixes": [],
}
VULNERABLE = {
    "dependencies": [
        {
            "name": "django",
            "version": "5.2.8",
            "vulns": [
                {
                    "id": "PYSEC-2099-1",
                    "fix_versions": ["5.2.9"],
                    "aliases": ["CVE-2099-0001"],
                    "description": "...",
                }
            ],
        },
        {"name": "nh3", "version": "0.3.2", "vulns": []},
        OWN,
    ],
    "fixes": [],
}
UNREACHABLE = {
    "dependencies": [
        {
            "name": name,
            "skip_reason": f"Dependency not found on PyPI and could not be audited: {name} (1.0)",
        }
        for name in ("django", "nh3", "celery")
    ]
    + [OWN],
    "fixes": [],
}


def waiver(wid: str, granted: dt.date = TODAY, days: int = 90) -> Any:
    return audit.Waiver(wid, granted, granted + dt.timedelta(days=days), "a reason long enough")


def test_clean_report_passes_without_waivers() -> None:
    verdict = audit.judge(CLEAN, [], TODAY)
    assert verdict.ok, verdict.lines
    assert "pass: every package audited, no known vulnerabilities" in verdict.lines


def test_unknown_vulnerability_fails() -> None:
    verdict = audit.judge(VULNERABLE, [waiver("PYSEC-2000-9")], TODAY)
    assert not verdict.ok
    assert any(line.startswith("FAIL: PYSEC-2099-1") for line in verdict.lines)


def test_vulnerability_waived_by_id_or_alias_passes_until_the_waiver_expires() -> None:
    assert audit.judge(VULNERABLE, [waiver("PYSEC-2099-1")], TODAY).ok
    by_alias = [waiver("cve-2099-0001")]
    assert audit.judge(VULNERABLE, by_alias, TODAY + dt.timedelta(days=90)).ok
    expired = audit.judge(VULNERABLE, by_alias, TODAY + dt.timedelta(days=91))
    assert not expired.ok
    assert any("expired on 2027-02-22" in line for line in expired.lines)


def test_unreachable_service_never_passes_as_clean() -> None:
    bare = audit.judge(UNREACHABLE, [], TODAY)
    assert not bare.ok
    assert any(line.startswith("NOTHING WAS AUDITED") for line in bare.lines)
    # A waiver for a vulnerability does not cover not having looked at all.
    assert not audit.judge(UNREACHABLE, [waiver("PYSEC-2099-1")], TODAY).ok
    waived = audit.judge(UNREACHABLE, [waiver("service-unreachable")], TODAY)
    assert waived.ok
    assert any(line.startswith("NOTHING WAS AUDITED") for line in waived.lines)
    assert not any(line.startswith("pass: every package") for line in waived.lines)
    late = audit.judge(UNREACHABLE, [waiver("service-unreachable")], dt.date(2027, 2, 23))
    assert not late.ok


def test_pip_audit_giving_up_on_the_network_counts_as_unreachable_and_nothing_else_does() -> None:
    dns = "requests.exceptions.ConnectionError: ... NameResolutionError(...api.osv.dev...)"
    assert audit.judge(None, [waiver("service-unreachable")], TODAY, failure=dns).ok
    assert not audit.judge(None, [], TODAY, failure=dns).ok
    crash = "Traceback ...\nKeyError: 'version'"
    assert not audit.judge(None, [waiver("service-unreachable")], TODAY, failure=crash).ok


def test_one_unaudited_package_among_audited_ones_fails_unless_waived_by_name() -> None:
    report = json.loads(json.dumps(CLEAN))
    report["dependencies"].append(
        {"name": "inhouse", "skip_reason": "Dependency not found on PyPI and could not be audited"}
    )
    assert not audit.judge(report, [waiver("service-unreachable")], TODAY).ok
    assert audit.judge(report, [waiver("not-audited:inhouse")], TODAY).ok


def test_expired_waiver_fails_even_when_nothing_needs_it() -> None:
    old = waiver("PYSEC-2000-9", granted=dt.date(2026, 6, 1))
    verdict = audit.judge(CLEAN, [old], TODAY)
    assert not verdict.ok
    assert any("PYSEC-2000-9 expired" in line for line in verdict.lines)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[[waiver]]\nid = "X-1"\ngranted = 2026-11-24\nexpires = 2027-02-23\n'
            'reason = "a reason long enough to read"\n',
            "more than 90 days",
        ),
        ('[[waiver]]\nid = "X-1"\ngranted = 2026-11-24\nexpires = 2027-01-01\n', "exactly"),
        (
            '[[waiver]]\nid = "X-1"\ngranted = "2026-11-24"\nexpires = 2027-01-01\n'
            'reason = "a reason long enough to read"\n',
            "must be a date",
        ),
        (
            '[[waiver]]\nid = "X-1"\ngranted = 2026-11-24\nexpires = 2027-01-01\nreason = "ok"\n',
            "must say why",
        ),
    ],
)
def test_malformed_waivers_are_refused(text: str, message: str) -> None:
    with pytest.raises(audit.WaiverError, match=message):
        audit.load_waivers(text)


def test_the_projects_waivers_are_valid_and_dated() -> None:
    waivers = audit.load_waivers((ROOT / "security" / "waivers.toml").read_text())
    unreachable = {w.id: w for w in waivers}["service-unreachable"]
    assert unreachable.granted == dt.date(2026, 11, 24)
    assert unreachable.expires == dt.date(2027, 2, 22)


def test_the_command_exits_non_zero_on_failure(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    report.write_text(json.dumps(VULNERABLE))
    waivers = tmp_path / "waivers.toml"
    waivers.write_text(
        '[[waiver]]\nid = "PYSEC-2099-1"\ngranted = 2026-11-24\nexpires = 2026-12-24\n'
        'reason = "no fixed release yet; we do not call the affected function"\n'
    )
    common = ["--report", str(report), "--waivers", str(waivers)]
    assert audit.main([*common, "--today", "2026-12-01"]) == 0
    assert audit.main([*common, "--today", "2026-12-25"]) == 1
