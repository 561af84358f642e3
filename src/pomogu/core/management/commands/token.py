"""``pomogu token``: create, list and revoke API tokens from the command line."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.timezone import localtime

from pomogu.core.errors import DomainError, NotFound
from pomogu.people import services as people
from pomogu.people.models import ApiToken, User
from pomogu.people.services import create_token, get_user


def _user(username: str) -> User:
    try:
        return get_user(username)
    except NotFound as error:
        raise CommandError(error.detail) from None


def revoke_token(ref: str) -> ApiToken:
    try:
        return people.revoke_token(ref)
    except DomainError as error:
        raise CommandError(error.detail) from None


def _when(moment: dt.datetime | None) -> str:
    return f"{localtime(moment):%Y-%m-%d %H:%M}" if moment else "never"


def _describe(row: ApiToken) -> str:
    status = f"revoked {_when(row.revoked_at)}" if row.revoked_at else "active"
    return (
        f"{row.prefix}  {status:<24} created {_when(row.created_at)}  "
        f"last used {_when(row.last_used_at)}  {row.name}"
    ).rstrip()


class Command(BaseCommand):
    help = (
        "API tokens. `token create USERNAME [--name NAME]` prints a new token as its last line "
        "(it cannot be shown again); `token list USERNAME` lists a person's tokens by prefix; "
        "`token revoke PREFIX` stops a token working."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        create = actions.add_parser("create", help="Create a token for a staff member.")
        create.add_argument("username")
        create.add_argument("--name", default="", help="What the token is for.")
        listing = actions.add_parser("list", help="List a staff member's tokens.")
        listing.add_argument("username")
        revoke = actions.add_parser("revoke", help="Revoke a token by its prefix.")
        revoke.add_argument("prefix", help="The first 12 characters (as `token list` shows).")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "create":
            user = _user(options["username"])
            if not user.is_active:
                raise CommandError(f"{user.username} is disabled; a token would not work.")
            token = create_token(user, name=options["name"])
            self.stdout.write(
                f"API token for {user.username} (prefix {token[:12]}). "
                "Keep it secret; it cannot be shown again:"
            )
            self.stdout.write(token)
        elif action == "list":
            user = _user(options["username"])
            rows = ApiToken.objects.filter(user=user).order_by("created_at", "id")
            if not rows:
                self.stdout.write(f"{user.username} has no API tokens.")
            for row in rows:
                self.stdout.write(_describe(row))
        else:
            row = revoke_token(options["prefix"])
            self.stdout.write(f"Revoked {row.prefix} ({row.user.username}).")
