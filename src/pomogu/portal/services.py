"""Every write of the customer portal: sign-in links (ask, use) and a customer's reply.

Signing in needs no password: a one-time link goes to the address the desk knows (SEC-6).
Asking always gets the same answer, whether the address is known or not; only the SHA-256 of
a link's token is stored; a link works once, for ``POMOGU_PORTAL_LINK_MINUTES``; the number of
links per address and of requests per client in an hour is capped.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Sequence

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from pomogu.cases import services as cases
from pomogu.cases.choices import Channel
from pomogu.cases.models import Case, Message
from pomogu.contact.models import OutboxKind
from pomogu.contact.services import enqueue_email
from pomogu.core import clock
from pomogu.intake import storage
from pomogu.intake.parsing import ParsedAttachment
from pomogu.people.services import by_email
from pomogu.portal.models import PortalReply, SignInLink, SignInRequest

log = logging.getLogger(__name__)

# Settings with their defaults; django.conf.settings may set any of them.
DEFAULTS = {
    "POMOGU_PORTAL_LINK_MINUTES": 15,
    "POMOGU_PORTAL_LINKS_PER_EMAIL": 5,  # an hour
    "POMOGU_PORTAL_LINKS_PER_CLIENT": 20,  # requests an hour, known addresses or not
    "POMOGU_PORTAL_SESSION_DAYS": 14,
    "POMOGU_PORTAL_MAX_FILES": 5,
}
# secrets.token_urlsafe(32) gives 43 characters; anything else is no token of ours.
TOKEN_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
NONCE_SALT = "pomogu.portal.reply"
NONCE_MAX_AGE = 24 * 3600


def setting(name: str) -> int:
    value = int(getattr(settings, name, DEFAULTS[name]))
    if value < 1:
        raise ValueError(f"{name} must be at least 1")
    return value


# --- signing in -------------------------------------------------------------------------------


@transaction.atomic
def request_link(email: str, *, client: str) -> bool:
    """Mail a sign-in link to ``email`` if a customer has that address (case-insensitive).

    The caller answers the same whatever this returns (no account enumeration); it returns
    whether a link went out, for the tests. Nothing is sent past the caps: links per address
    an hour, requests per ``client`` (a keyed hash of its network address) an hour. The link
    and its email are written in one transaction (REL-5); the token itself is only in the
    email, never stored and never logged."""
    now = clock.now()
    hour_ago = now - dt.timedelta(hours=1)
    # Old rows go as new ones come: nothing else needs them.
    SignInRequest.objects.filter(created_at__lt=now - dt.timedelta(days=1)).delete()
    SignInLink.objects.filter(expires_at__lt=now - dt.timedelta(days=7)).delete()
    asked = SignInRequest.objects.filter(client=client, created_at__gte=hour_ago).count()
    SignInRequest.objects.create(client=client, created_at=now)
    if asked >= setting("POMOGU_PORTAL_LINKS_PER_CLIENT"):
        log.info("portal sign-in: a client is over its hourly cap; nothing sent")
        return False
    customer = by_email(email) if email else None
    if customer is None:
        return False
    address = customer.email.lower()
    sent = SignInLink.objects.filter(email=address, created_at__gte=hour_ago).count()
    if sent >= setting("POMOGU_PORTAL_LINKS_PER_EMAIL"):
        log.info("portal sign-in: customer %s is over the hourly link cap", customer.pk)
        return False
    token = secrets.token_urlsafe(32)
    minutes = setting("POMOGU_PORTAL_LINK_MINUTES")
    SignInLink.objects.create(
        digest=SignInLink.digest_of(token),
        email=address,
        client=client,
        created_at=now,
        expires_at=now + dt.timedelta(minutes=minutes),
    )
    # The same way contact.services.case_link makes an address absolute.
    url = settings.SITE_URL + reverse("portal:link", kwargs={"token": token})
    language = customer.language or translation.get_language() or settings.LANGUAGE_CODE
    with translation.override(language):
        subject = _("Your sign-in link")
        body = "\n".join(
            [
                _("Hello%(name)s,") % {"name": f" {customer.name}" if customer.name else ""},
                "",
                _("Open this link to see your requests and write to us:"),
                url,
                "",
                _(
                    "The link works once and for %(minutes)s minutes. If you did not ask for "
                    "it, ignore this email: nobody can sign in without the link."
                )
                % {"minutes": minutes},
            ]
        )
    enqueue_email(
        to_email=customer.email,
        subject=subject,
        body=body,
        kind=OutboxKind.SIGN_IN,
        automated=True,
    )
    return True


def _digest(token: str) -> str | None:
    if not 20 <= len(token) <= 100 or not set(token) <= TOKEN_ALPHABET:
        return None
    return SignInLink.digest_of(token)


def usable_link(token: str) -> SignInLink | None:
    """The link of ``token`` if it can still sign someone in; reading it changes nothing
    (mail scanners open links)."""
    digest = _digest(token)
    if digest is None:
        return None
    return SignInLink.objects.filter(
        digest=digest, used_at__isnull=True, expires_at__gt=clock.now()
    ).first()


@transaction.atomic
def use_link(token: str) -> str | None:
    """Spend the link: returns the address it signs in, or None for an unknown, used or
    expired link. A conditional UPDATE (unused and unexpired → used) lets exactly one of two
    tabs through. The address's other unused links are spent with it."""
    digest = _digest(token)
    if digest is None:
        return None
    now = clock.now()
    spent = SignInLink.objects.filter(
        digest=digest, used_at__isnull=True, expires_at__gt=now
    ).update(used_at=now)
    if spent != 1:
        return None
    email = SignInLink.objects.values_list("email", flat=True).get(digest=digest)
    SignInLink.objects.filter(email=email, used_at__isnull=True).update(used_at=now)
    if by_email(email) is None:
        return None  # the customer was removed or changed address since
    return email


# --- the customer's reply ---------------------------------------------------------------------


def new_nonce(case: Case) -> str:
    """A one-time key for one reply form of this case, signed so it cannot be made up."""
    return signing.dumps({"case": case.pk, "nonce": secrets.token_hex(16)}, salt=NONCE_SALT)


def nonce_of(signed: str, case: Case) -> str | None:
    """The nonce of a form of this case, or None for a forged, foreign or day-old one."""
    try:
        value = signing.loads(signed, salt=NONCE_SALT, max_age=NONCE_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(value, dict) or value.get("case") != case.pk:
        return None
    nonce = value.get("nonce")
    return nonce if isinstance(nonce, str) and nonce else None


def send_reply(
    case: Case, *, body: str, files: Sequence[ParsedAttachment], nonce: str
) -> tuple[Message, bool]:
    """The customer's message from the portal with its files, in one transaction, through
    ``cases.services.add_customer_message`` (a case waiting on the customer opens again; a
    solved one reopens unless the message only says thank you). Attachment files are synced
    to disk before the commit (REL-1).

    The form's ``nonce`` is unique: the same form sent twice (a double click, a retry after a
    lost answer) makes one message. Returns the message and whether it is new."""
    try:
        with transaction.atomic():
            reply = PortalReply.objects.create(nonce=nonce, case=case)
            message = cases.add_customer_message(
                case.pk, customer=case.customer, body=body, channel=Channel.PORTAL
            )
            for part in files:
                storage.save_attachment(message, part)
            reply.message = message
            reply.save(update_fields=["message"])
    except IntegrityError:
        done = PortalReply.objects.select_related("message").filter(nonce=nonce).first()
        if done is None or done.message is None:
            raise
        return done.message, False
    return message, True
