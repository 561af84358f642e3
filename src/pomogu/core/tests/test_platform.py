"""Settings fail loudly on bad values; the health probe tells the truth; private pages are not
cached; the admin cannot change a case behind the services' back."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from pomogu.core.testing import PASSWORD, Cast


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("POMOGU_DEBUG", "maybe", "POMOGU_DEBUG='maybe' is not a boolean"),
        ("POMOGU_SMTP_PORT", "twenty-five", "POMOGU_SMTP_PORT='twenty-five' is not a whole number"),
        ("DATABASE_URL", "mysql://x@y/z", "DATABASE_URL must be a postgres:// or sqlite:// URL"),
    ],
)
def test_bad_setting_stops_start_up_with_a_clear_message(
    tmp_path: Path, variable: str, value: str, message: str
) -> None:
    env = {**os.environ, "POMOGU_DATA_DIR": str(tmp_path), variable: value}
    result = subprocess.run(
        [sys.executable, "-m", "pomogu", "check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert message in result.stderr


def test_healthz_answers_ok_when_the_database_does(db: Any, client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_healthz_answers_503_when_the_database_does_not(
    db: Any, client: Client, monkeypatch: Any
) -> None:
    from pomogu.core import views

    class Unreachable:
        def cursor(self) -> Any:
            raise ConnectionError("database is gone")

    monkeypatch.setattr(views, "connection", Unreachable())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "error"


def test_api_answers_are_never_cached(cast: Cast, api: Any) -> None:
    response = api("bob").get("/cases")
    assert "no-store" in response["Cache-Control"]
    assert response["X-Content-Type-Options"] == "nosniff"


def test_admin_shows_cases_but_cannot_change_them(cast: Cast, client: Client) -> None:
    case = cast.open_case()
    assert client.login(username="root", password=PASSWORD)
    assert client.get(f"/admin/cases/case/{case.pk}/change/").status_code == 200
    response = client.post(f"/admin/cases/case/{case.pk}/change/", {"subject": "forged"})
    assert response.status_code == 403
    assert client.post(f"/admin/cases/case/{case.pk}/delete/", {"post": "yes"}).status_code == 403
    case.refresh_from_db()
    assert case.subject != "forged"


def test_openapi_document_is_served(cast: Cast, client: Client) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/v1/cases",
        "/api/v1/cases/{case_id}/handoffs",
        "/api/v1/handoffs/{handoff_id}/accept",
        "/api/v1/cases/{case_id}/resolve",
    ):
        assert path in paths


def test_pages_forbid_inline_script_and_style(cast: Cast, client: Client) -> None:
    """SEC-2: every page says scripts and styles come from our origin only; the admin alone
    may use inline styles, never inline scripts."""
    assert client.login(username="bob", password=PASSWORD)
    policy = client.get("/")["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'self'"
    assert "'self'" in client.get("/login/")["Content-Security-Policy"]
    client.logout()
    assert client.login(username="root", password=PASSWORD)
    admin = client.get("/admin/")["Content-Security-Policy"]
    assert "style-src 'self' 'unsafe-inline'" in admin
    assert "script-src 'self';" in admin


def test_no_template_carries_inline_script_or_style() -> None:
    """The policy above would break such a template silently in the browser: catch it here."""
    import re
    from pathlib import Path

    import pomogu

    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|\sstyle\s*=", re.I)
    root = Path(pomogu.__file__).parent
    offenders = [
        f"{path.relative_to(root)}: {match.group(0)}"
        for path in root.glob("*/templates/**/*.html")
        for match in inline.finditer(path.read_text())
    ]
    assert offenders == []


def test_admin_never_shows_a_personal_link_from_the_outbox(cast: Cast, client: Client) -> None:
    """A portal sign-in link or a survey link in an outbox row works for whoever reads it."""
    from django.db import transaction

    from pomogu.contact.models import OutboxKind, OutboxMessage
    from pomogu.contact.services import enqueue_email

    with transaction.atomic():
        link = enqueue_email(
            to_email="dave@customer.test",
            subject="Sign in",
            body="https://desk.test/my/link/SECRET-TOKEN/",
            kind=OutboxKind.SIGN_IN,
        )
        reply = enqueue_email(
            to_email="dave@customer.test", subject="Re", body="VISIBLE TEXT", kind=OutboxKind.REPLY
        )
    assert client.login(username="root", password=PASSWORD)
    page = client.get(f"/admin/contact/outboxmessage/{link.pk}/change/").content.decode()
    assert "SECRET-TOKEN" not in page
    assert "personal link" in page
    shown = client.get(f"/admin/contact/outboxmessage/{reply.pk}/change/").content.decode()
    assert "VISIBLE TEXT" in shown
    assert OutboxMessage.objects.count() == 2


def test_every_page_that_changes_state_is_under_csrf() -> None:
    """SEC-2: no view is exempt from CSRF except the bearer-token API, which reads no cookie."""
    from django.urls import URLPattern, URLResolver, get_resolver

    def walk(patterns: list[Any], prefix: str = "") -> list[tuple[str, Any]]:
        found: list[tuple[str, Any]] = []
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                found += walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                found.append((prefix + str(pattern.pattern), pattern.callback))
        return found

    routes = walk(get_resolver().url_patterns)
    assert len(routes) > 50
    exempt = [
        route
        for route, view in routes
        if getattr(view, "csrf_exempt", False) and not route.startswith("api/v1/")
    ]
    assert exempt == []
