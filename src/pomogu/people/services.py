"""Every write about people: staff, teams, customers, absences and API tokens."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from email.errors import HeaderParseError
from email.headerregistry import Address

import phonenumbers
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from pomogu.cases.choices import ACTIVE_STATES
from pomogu.core import clock
from pomogu.core.errors import DomainError, InvalidInput, NotFound
from pomogu.people.choices import AbsenceKind, StaffRole, TeamRole
from pomogu.people.models import (
    Absence,
    ApiToken,
    Customer,
    Membership,
    Organisation,
    Team,
    User,
)

TOKEN_PREFIX = "pmg_"  # noqa: S105 - a public prefix that marks our tokens, not a secret
_EMAIL_RE = re.compile(r"^[^@\s<>()\[\],;:\"\\]+@[A-Za-z0-9.-]+\.[A-Za-z0-9-]{2,}$")


def normalise_email(raw: str) -> str:
    """Return the address in a canonical form, or raise DomainError.

    Strict: one bare addr-spec, no display name, no comments, no second address. The domain is
    lower-cased; the local part is kept as written (it may be case-sensitive) but lookups are
    case-insensitive.
    """
    value = (raw or "").strip()
    if not value or not _EMAIL_RE.match(value):
        raise InvalidInput(
            _("%(value)s is not a valid email address") % {"value": value or "''"},
            code="invalid_email",
        )
    try:
        address = Address(addr_spec=value)
    except (HeaderParseError, ValueError, IndexError):
        raise InvalidInput(
            _("%(value)s is not a valid email address") % {"value": value}, code="invalid_email"
        ) from None
    return f"{address.username}@{address.domain.lower()}"


def normalise_phone(raw: str) -> str:
    """A phone number in E.164 form (+79120000000), or InvalidInput. Numbers written without a
    country code are read in the desk's region (POMOGU_PHONE_REGION, default RU), so
    "8 (912) 000-00-00" and "+7 912 000 00 00" are the same customer."""
    value = (raw or "").strip()
    try:
        number = phonenumbers.parse(value, settings.PHONE_REGION)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_possible_number(number):
        raise InvalidInput(
            _("%(value)s is not a phone number we can call back.") % {"value": value or "''"},
            code="invalid_phone",
        )
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def find_or_create_customer(
    *, email: str = "", name: str = "", phone: str = "", language: str = ""
) -> Customer:
    """Identify a customer by email (case-insensitive) or phone; create one if unknown.

    A new customer is attached to the organisation that claims their email domain. No
    transaction of its own: the lookup, the one update of a known customer and the insert of a
    new one are single statements, and the insert has the savepoint a race needs.
    """
    return identify_customer(email=email, name=name, phone=phone, language=language)[0]


def identify_customer(
    *, email: str = "", name: str = "", phone: str = "", language: str = ""
) -> tuple[Customer, bool]:
    """``find_or_create_customer``, and whether the customer is new: unknown until now, so
    with no history to look at (no solved case that could have come back, R5)."""
    email = normalise_email(email) if email else ""
    phone = normalise_phone(phone) if phone.strip() else ""
    if not email and not phone:
        raise InvalidInput(
            _("A customer needs an email address or a phone number."),
            code="customer_contact_missing",
        )
    existing = None
    if email:
        existing = by_email(email)
    if existing is None and phone:
        existing = Customer.objects.filter(phone=phone).first()
    if existing is not None:
        fill_in_customer(existing, name=name, phone=phone)
        return existing, False
    return create_customer(email=email, name=name, phone=phone, language=language), True


def fill_in_customer(customer: Customer, *, name: str = "", phone: str = "") -> None:
    """Add what we did not know about a known customer (never overwrite what we did)."""
    changed = []
    if name.strip() and not customer.name:
        customer.name = name.strip()
        changed.append("name")
    if phone and not customer.phone:
        customer.phone = phone
        changed.append("phone")
    if changed:
        customer.save(update_fields=changed)


def create_customer(
    *, email: str = "", name: str = "", phone: str = "", language: str = ""
) -> Customer:
    """A customer nobody has written as yet, with an address (or a phone) already normalised
    and just looked up (``find_or_create_customer``; mail intake looks its sender up itself).
    If another request created the same customer a moment ago, that one is returned."""
    organisation = organisation_of(email) if email else None
    try:
        with transaction.atomic():
            return Customer.objects.create(
                email=email,
                name=name.strip(),
                phone=phone,
                organisation=organisation,
                language=language,
            )
    except IntegrityError:
        found = by_email(email) if email else Customer.objects.filter(phone=phone).first()
        if found is None:
            raise
        return found


def organisation_of(email: str) -> Organisation | None:
    """The organisation that claims the address's domain. The database narrows the search to
    organisations whose domain list mentions it; the exact match is checked here."""
    domain = email.rsplit("@", 1)[-1].lower()
    candidates = Organisation.objects.filter(domains__icontains=f'"{domain}"').order_by("id")
    return next((org for org in candidates if domain in (org.domains or [])), None)


def by_email(email: str) -> Customer | None:
    """Case-insensitive lookup through the LOWER(email) unique index (``iexact`` compiles to
    UPPER(...) on PostgreSQL, which that index cannot serve). The index is partial (addresses
    that are not empty): the query must say so too, or PostgreSQL scans every customer."""
    if not email:
        return None
    return (
        Customer.objects.alias(email_lower=Lower("email"))
        .filter(email_lower=email.lower())
        .exclude(email="")
        .first()
    )


def create_staff(
    username: str,
    *,
    name: str = "",
    email: str = "",
    password: str | None = None,
    role: StaffRole = StaffRole.AGENT,
    language: str = "",
) -> User:
    first, _sep, last = name.partition(" ")
    user = User(
        username=username,
        first_name=first,
        last_name=last,
        email=email,
        role=role,
        language=language,
        is_staff=role == StaffRole.ADMIN,
        is_superuser=role == StaffRole.ADMIN,
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    return user


@transaction.atomic
def create_team(
    name: str,
    *,
    slug: str,
    lead: User | None = None,
    description: str = "",
    keywords: str = "",
    email: str = "",
    is_default: bool = False,
) -> Team:
    if is_default:
        Team.objects.filter(is_default=True).update(is_default=False)
    team = Team.objects.create(
        name=name,
        slug=slug,
        lead=lead,
        description=description,
        keywords=keywords,
        email=email,
        is_default=is_default,
    )
    if lead is not None:
        Membership.objects.create(team=team, user=lead, role=TeamRole.LEAD)
    return team


def add_member(team: Team, user: User, *, role: TeamRole = TeamRole.MEMBER) -> Membership:
    membership, _created = Membership.objects.update_or_create(
        team=team, user=user, defaults={"role": role}
    )
    return membership


def add_absence(
    user: User,
    *,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    deputy: User | None = None,
    kind: AbsenceKind = AbsenceKind.VACATION,
    note: str = "",
) -> Absence:
    if ends_at <= starts_at:
        raise DomainError(_("An absence must end after it starts."), code="absence_dates")
    if deputy is not None and deputy.pk == user.pk:
        raise DomainError(_("Nobody can deputise for themselves."), code="absence_deputy")
    return Absence.objects.create(
        user=user, starts_at=starts_at, ends_at=ends_at, deputy=deputy, kind=kind, note=note
    )


def default_team() -> Team:
    team = Team.objects.filter(is_default=True).first() or Team.objects.order_by("id").first()
    if team is None:
        raise DomainError(_("The desk has no team yet."), code="no_team")
    return team


# --- availability ---------------------------------------------------------------------------


def absent_user_ids(at: dt.datetime | None = None) -> set[int]:
    moment = at or clock.now()
    return set(
        Absence.objects.filter(starts_at__lte=moment, ends_at__gt=moment).values_list(
            "user_id", flat=True
        )
    )


class Presence:
    """Who is away at one moment, read in one query: answers "who stands in for X" and "who is
    away" for any number of people without asking the database again. For a batch of decisions
    taken at the same moment (the escalations of one sweep)."""

    def __init__(self, at: dt.datetime | None = None) -> None:
        self.at = at or clock.now()
        self._absence: dict[int, Absence] = {}
        absences = (
            Absence.objects.filter(starts_at__lte=self.at, ends_at__gt=self.at)
            .select_related("deputy")
            .order_by("user_id", "-ends_at", "-id")
        )
        for absence in absences:
            self._absence.setdefault(absence.user_id, absence)  # the one that ends last

    @property
    def absent_ids(self) -> set[int]:
        return set(self._absence)

    def stand_in_for(self, user: User) -> User:
        """See ``stand_in_for``."""
        seen: set[int] = set()
        current = user
        while current.pk not in seen:
            seen.add(current.pk)
            absence = self._absence.get(current.pk)
            if absence is None:
                return current
            if absence.deputy is None or not absence.deputy.is_active:
                break
            current = absence.deputy
        return user

    def present_stand_in(self, user: User) -> User | None:
        """The user, or the deputy who stands in for them; None if nobody in that chain of
        deputies is present."""
        if not user.is_active:
            return None
        stand_in = self.stand_in_for(user)
        if stand_in.pk in self._absence or not stand_in.is_active:
            return None
        return stand_in


def stand_in_for(user: User, at: dt.datetime | None = None) -> User:
    """Who answers for ``user`` now: the user if present, else their deputy (following a chain
    of deputies, never looping). If nobody in the chain is present, the user themselves, so that
    an owner is never missing; escalation deals with absence (R4)."""
    return Presence(at).stand_in_for(user)


def pick_owner(team: Team, at: dt.datetime | None = None) -> User:
    """Choose the accountable owner for a new case on ``team`` (R2).

    The present member with the fewest active cases; if every member is away, the lead's
    stand-in; failing a lead, the stand-in of any member; failing members, an administrator.
    """
    moment = at or clock.now()
    # Who is away, as a subquery: one statement for the usual case.
    away = Absence.objects.filter(starts_at__lte=moment, ends_at__gt=moment).values("user_id")
    candidates = (
        User.objects.filter(memberships__team=team, is_active=True)
        .exclude(pk__in=away)
        .annotate(load=Count("owned_cases", filter=Q(owned_cases__state__in=ACTIVE_STATES)))
        .order_by("load", "id")
    )
    owner = candidates.first()
    if owner is not None:
        return owner
    if team.lead is not None and team.lead.is_active:
        return stand_in_for(team.lead, moment)
    member = User.objects.filter(memberships__team=team, is_active=True).order_by("id").first()
    if member is not None:
        return stand_in_for(member, moment)
    admin = User.objects.filter(is_active=True, is_superuser=True).order_by("id").first()
    if admin is not None:
        return admin
    raise DomainError(
        _("Team %(team)s has nobody who could own a case.") % {"team": team.name},
        code="team_unstaffed",
    )


def is_team_lead(user: User, team: Team) -> bool:
    return (
        team.lead_id == user.pk
        or Membership.objects.filter(team=team, user=user, role=TeamRole.LEAD).exists()
    )


def is_member(user: User, team: Team) -> bool:
    return Membership.objects.filter(team=team, user=user).exists()


# --- API tokens -----------------------------------------------------------------------------


def create_token(user: User, *, name: str = "") -> str:
    """Create an API token and return it. Only its digest is kept: it cannot be shown again."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    ApiToken.objects.create(
        user=user, name=name, prefix=token[:12], digest=ApiToken.digest_of(token)
    )
    return token


@transaction.atomic
def revoke_token(ref: str) -> ApiToken:
    """Revoke the one active token given whole or by its prefix (as ``token list`` shows it)."""
    ref = ref.strip()
    if not ref.startswith(TOKEN_PREFIX):
        raise InvalidInput(
            _("A token or its prefix starts with %(prefix)s.") % {"prefix": TOKEN_PREFIX},
            code="invalid_token_ref",
        )
    active = ApiToken.objects.select_for_update().filter(revoked_at__isnull=True)
    if len(ref) > len(TOKEN_PREFIX) + 8:
        rows = list(active.filter(digest=ApiToken.digest_of(ref)))
    else:
        rows = list(active.filter(prefix=ref))
    if not rows:
        raise NotFound(_("No active token %(ref)s.") % {"ref": ref})
    if len(rows) > 1:
        raise DomainError(
            _("%(n)s active tokens start with %(ref)s; give the whole token.")
            % {"n": len(rows), "ref": ref},
            code="ambiguous_token",
        )
    row = rows[0]
    row.revoked_at = clock.now()
    row.save(update_fields=["revoked_at"])
    return row


def create_organisation(
    name: str, *, domains: list[str] | None = None, value: float = 0
) -> Organisation:
    """An organisation whose people are recognised by their email domains."""
    clean = sorted({d.strip().lower().lstrip("@") for d in (domains or []) if d.strip()})
    return Organisation.objects.create(name=name.strip(), domains=clean, value=value)


def user_for_token(token: str) -> User | None:
    """The active staff member a token belongs to, or None. Looks the token up by its SHA-256
    digest, so the secret itself is never compared byte by byte."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    row = (
        ApiToken.objects.select_related("user")
        .filter(digest=ApiToken.digest_of(token), revoked_at__isnull=True)
        .first()
    )
    if row is None or not row.user.is_active:
        return None
    now = clock.now()
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
    return row.user


def get_user(username: str) -> User:
    try:
        return User.objects.get(username=username)
    except User.DoesNotExist:
        raise NotFound(_("No staff member %(name)s.") % {"name": username}) from None
