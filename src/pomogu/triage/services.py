"""Routing requests to teams (R1): decide, record why, learn from people, retrain, roll back.

The router learns from the desk's own history: every case's final team, and every decision a
person makes about routing (a confirmation, a re-route, a handoff to another team, or "no team
owns this"). Until there is history, each team's description and typical requests (set by an
admin) are its examples. A decision below the model's threshold, or "not ours", goes to the
mailbox's team (or the default team) and waits for a person; what they decide trains the router.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils.translation import gettext as _

from pomogu.cases.choices import EventKind, MessageKind
from pomogu.cases.models import Case, Message, TimelineEvent
from pomogu.core import clock
from pomogu.core.errors import DomainError, PermissionDenied
from pomogu.people import services as people
from pomogu.people.models import Team, User
from pomogu.triage import router
from pomogu.triage.models import (
    FeedbackKind,
    RouterVersion,
    RoutingDecision,
    RoutingFeedback,
    RoutingSource,
)
from pomogu.triage.router import OOS, RouterModel

log = logging.getLogger(__name__)

# The newest cases the router learns from; older history adds little and costs training time.
MAX_TRAINING_CASES = 50_000


@dataclass(frozen=True)
class Route:
    team: Team
    source: RoutingSource
    prediction: router.Prediction | None = None
    version_id: int | None = None
    suggested: Team | None = None
    teams: dict[str, Team] = field(default_factory=dict)

    @property
    def needs_person(self) -> bool:
        p = self.prediction
        return p is not None and (p.unsure or p.label == OOS or self.suggested is None)


# --- the active model, cached per process -------------------------------------------------


@dataclass(frozen=True)
class _Active:
    key: tuple[int, str]  # version id, checksum
    model: RouterModel
    teams: dict[str, Team]  # the model's labels that are teams, read with each look
    checked: float  # time.monotonic() of the last look at which version is active


_cache_lock = threading.Lock()
_cached: _Active | None = None
# 0: look for the active version at every call (one indexed query). A process that only takes
# mail sets a few seconds (``keep_active_model``): a version trained or rolled back by another
# process reaches it within that time.
_keep_seconds = 0.0
# When the last look found no active version (time.monotonic()), kept as long as a model is.
_none_since: float | None = None


def keep_active_model(*, seconds: float) -> None:
    global _keep_seconds
    _keep_seconds = seconds


def _active() -> _Active | None:
    global _cached, _none_since
    cached, none_since = _cached, _none_since
    if cached is not None and time.monotonic() - cached.checked < _keep_seconds:
        return cached
    if none_since is not None and time.monotonic() - none_since < _keep_seconds:
        return None  # no router has been trained (a desk routes by mailbox until one is)
    row = RouterVersion.objects.filter(is_active=True).values_list("pk", "checksum").first()
    if row is None:
        with _cache_lock:
            _cached, _none_since = None, time.monotonic()
        return None
    key = (int(row[0]), str(row[1]))
    if cached is not None and cached.key == key:
        model = cached.model
    else:
        blob = RouterVersion.objects.filter(pk=key[0]).values_list("model", flat=True).first()
        if blob is None:
            return None
        model = RouterModel.loads(bytes(blob))
    wanted = [int(label) for label in model.labels if label != OOS]
    teams = {str(t.pk): t for t in Team.objects.filter(pk__in=wanted)}
    cached = _Active(key, model, teams, time.monotonic())
    with _cache_lock:
        _cached, _none_since = cached, None
    return cached


def _forget_active_model() -> None:
    """This process trained or switched versions: look again at the next call."""
    global _cached, _none_since
    with _cache_lock:
        _cached, _none_since = None, None


def active_model() -> tuple[int, RouterModel] | None:
    """The active router and its version id. Unless the process keeps it for a while
    (``keep_active_model``), one indexed query per call finds out whether the version changed
    (another process may have retrained or rolled back); the model is loaded once per version."""
    active = _active()
    return (active.key[0], active.model) if active is not None else None


def case_text(subject: str, body: str) -> str:
    return f"{subject}\n{body}"


def route(subject: str, body: str, *, mailbox_team: Team | None) -> Route:
    """Choose the team for a new request. Without a trained router the request goes where it
    was sent (the mailbox's team, else the default team)."""
    fallback = mailbox_team or people.default_team()
    active = _active()
    if active is None:
        return Route(team=fallback, source=RoutingSource.MAILBOX)
    prediction = active.model.predict(case_text(subject, body))
    wanted = {label for label, _ in prediction.ranked if label != OOS}
    # The teams were read with the model (at most as long ago as it is kept, see
    # ``keep_active_model``): a team deleted since is not suggested.
    teams = {label: team for label, team in active.teams.items() if label in wanted}
    suggested = teams.get(prediction.label)
    chosen = suggested if suggested is not None and not prediction.unsure else fallback
    return Route(
        team=chosen,
        source=RoutingSource.MODEL if chosen == suggested else RoutingSource.MAILBOX,
        prediction=prediction,
        version_id=active.key[0],
        suggested=suggested,
        teams=teams,
    )


def record(case: Case, chosen: Route) -> RoutingDecision:
    """Keep the decision with the case (call in the transaction that opened it)."""
    p = chosen.prediction
    ranked = []
    if p is not None:
        for label, confidence in p.ranked:
            team = chosen.teams.get(label)
            ranked.append(
                {
                    "team": team.pk if team else None,
                    "name": team.name if team else _("no team (not ours)"),
                    "confidence": confidence,
                }
            )
    decision = RoutingDecision.objects.create(
        case=case,
        team=chosen.team,
        source=chosen.source,
        version_id=chosen.version_id,
        suggested_team=chosen.suggested,
        confidence=round(p.confidence, 3) if p else None,
        unsure=bool(p and p.unsure),
        not_ours=bool(p and p.label == OOS and not p.unsure),
        evidence=[list(pair) for pair in p.evidence] if p else [],
        ranked=ranked,
        needs_person=chosen.needs_person,
    )
    TimelineEvent.objects.create(
        case=case,
        kind=EventKind.ROUTED,
        data={
            "team": chosen.team.name,
            "source": str(chosen.source),
            "confidence": decision.confidence,
            "unsure": decision.unsure,
            "not_ours": decision.not_ours,
            "words": [w for w, _ in decision.evidence],
            "version": chosen.version_id,
        },
    )
    return decision


# --- people decide, and the router learns -------------------------------------------------


@transaction.atomic
def settle(case_id: int, *, actor: User, team: Team | None = None, not_ours: bool = False) -> Case:
    """A person decides where a request belongs: this team (the same or another), or no team
    at all ("not ours": a person still answers the customer). The decision is training data."""
    from pomogu.cases import queries
    from pomogu.cases import services as cases

    if (team is None) == (not not_ours):
        raise DomainError(_("Choose a team, or say that no team owns it."), code="bad_choice")
    case = queries.get_visible_case(actor, case_id)  # NotFound for a case not theirs to see
    if not actor.is_active:
        raise PermissionDenied(_("This account is disabled."))
    case = Case.objects.select_for_update().get(pk=case.pk)
    if team is not None and team.pk != case.team_id:
        case = cases.move_to_team(case_id, actor=actor, team=team, teach=False)
    kind = (
        FeedbackKind.NOT_OURS
        if not_ours
        else (
            FeedbackKind.CONFIRMED
            if team and _first_team(case) == team.pk
            else FeedbackKind.CORRECTED
        )
    )
    RoutingFeedback.objects.create(case=case, kind=kind, team=team, actor=actor)
    now = clock.now()
    updated = RoutingDecision.objects.filter(case=case).update(
        needs_person=False, settled_by=actor, settled_at=now
    )
    if not updated:
        RoutingDecision.objects.create(
            case=case, team=case.team, source=RoutingSource.STAFF, settled_by=actor, settled_at=now
        )
    TimelineEvent.objects.create(
        case=case,
        kind=EventKind.ROUTING_SETTLED,
        actor=actor,
        data={"decision": str(kind), "team": team.name if team else None},
    )
    return case


def _first_team(case: Case) -> int:
    team_id = RoutingDecision.objects.filter(case=case).values_list("team_id", flat=True).first()
    return int(team_id or case.team_id)


def learn_from_team_change(
    sender: object,
    *,
    case: Case,
    from_team: Team,
    to_team: Team,
    actor: User | None,
    teach: bool = True,
    **kwargs: object,
) -> None:
    """A handoff to another team or a re-route is a correction of the routing."""
    if not teach:
        return
    RoutingFeedback.objects.create(
        case=case, kind=FeedbackKind.CORRECTED, team=to_team, actor=actor
    )
    decision = RoutingDecision.objects.filter(case=case).select_related("team").first()
    if decision is not None and decision.team_id == from_team.pk and not decision.needs_person:
        # The first routing sent the request to the wrong team (R8): recorded once per case.
        from pomogu.failures.services import record

        record(
            "misrouted",
            key=f"misrouted:case:{case.pk}",
            case=case,
            team=from_team,
            person=actor,
            detail={"from": from_team.slug, "to": to_team.slug, "source": decision.source},
            summary=_("Routed to %(from)s, but it belonged to %(to)s")
            % {"from": from_team.name, "to": to_team.name},
        )
    RoutingDecision.objects.filter(case=case, needs_person=True).update(
        needs_person=False, settled_by=actor, settled_at=clock.now()
    )


# --- training -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingSet:
    texts: list[str]
    labels: list[str]
    weights: list[float]
    feedback_until: int
    from_cases: int
    from_profiles: int


def training_set() -> TrainingSet:
    """Each team's description and typical requests, and the desk's cases with their final
    team (or "not ours"). A case a person decided about weighs more. Cases still waiting for a
    person's routing decision are left out: their label is not known yet."""
    texts: list[str] = []
    labels: list[str] = []
    weights: list[float] = []
    teams = list(Team.objects.all())
    for team in teams:
        lines = [team.description, *team.keywords.splitlines()]
        for line in lines:
            if line.strip():
                texts.append(line.strip())
                labels.append(str(team.pk))
                weights.append(1.0)
    profiles = len(texts)
    feedback_until = (
        RoutingFeedback.objects.order_by("-id").values_list("pk", flat=True).first() or 0
    )
    last_feedback = {
        case_id: (kind, team_id)
        for case_id, kind, team_id in RoutingFeedback.objects.order_by("id").values_list(
            "case_id", "kind", "team_id"
        )
    }
    first_body = (
        Message.objects.filter(case=OuterRef("pk"), kind=MessageKind.INBOUND)
        .order_by("created_at", "id")
        .values("body")[:1]
    )
    cases = (
        Case.objects.exclude(routing__needs_person=True)
        .annotate(first_body=Subquery(first_body))
        .order_by("-id")
        .values_list("pk", "subject", "team_id", "first_body")[:MAX_TRAINING_CASES]
    )
    from_cases = 0
    for case_id, subject, team_id, body in cases:
        if not body:
            continue
        feedback = last_feedback.get(case_id)
        label = str(team_id)
        weight = 1.0
        if feedback is not None:
            weight = 3.0
            if feedback[0] == FeedbackKind.NOT_OURS:
                label = OOS
        texts.append(case_text(subject, body))
        labels.append(label)
        weights.append(weight)
        from_cases += 1
    return TrainingSet(texts, labels, weights, int(feedback_until), from_cases, profiles)


def train(*, actor: User | None = None, reason: str = "") -> RouterVersion:
    """Train a router on the desk's data and make it the active version; keep the previous
    ones (up to ROUTER_KEEP_VERSIONS) for rollback."""
    data = training_set()
    if len(set(data.labels)) < 2:
        raise DomainError(
            _(
                "The router needs at least two teams with a description or typical requests, "
                "or cases of two teams, to learn from."
            ),
            code="too_little_data",
        )
    model = router.train(data.texts, data.labels, weights=data.weights)
    blob = model.dumps()
    with transaction.atomic():
        RouterVersion.objects.filter(is_active=True).update(is_active=False)
        version = RouterVersion.objects.create(
            is_active=True,
            examples=len(data.texts),
            feedback_until=data.feedback_until,
            metrics={
                **model.meta,
                "from_cases": data.from_cases,
                "from_profiles": data.from_profiles,
                "threshold": model.threshold,
                "labels": len(model.labels),
            },
            model=blob,
            checksum=hashlib.sha256(blob).hexdigest(),
            trained_by=actor,
            reason=reason[:200],
        )
        keep = max(2, int(settings.POMOGU.get("ROUTER_KEEP_VERSIONS", 3)))
        old = list(RouterVersion.objects.order_by("-id").values_list("pk", flat=True)[keep:])
        if old:
            RouterVersion.objects.filter(pk__in=old, is_active=False).delete()
    _forget_active_model()
    log.info("router v%s trained on %s examples", version.pk, version.examples)
    return version


@transaction.atomic
def activate(version_id: int) -> RouterVersion:
    """Make a kept version the active one (a rollback)."""
    version = RouterVersion.objects.select_for_update().filter(pk=version_id).first()
    if version is None:
        raise DomainError(_("There is no router version %(id)s.") % {"id": version_id})
    RouterVersion.objects.filter(is_active=True).exclude(pk=version.pk).update(is_active=False)
    RouterVersion.objects.filter(pk=version.pk).update(is_active=True)
    version.is_active = True
    _forget_active_model()
    return version


def rollback() -> RouterVersion:
    """Go back to the version before the active one."""
    active = RouterVersion.objects.filter(is_active=True).first()
    older = RouterVersion.objects.order_by("-id")
    if active is not None:
        older = older.filter(pk__lt=active.pk)
    previous = older.first()
    if previous is None:
        raise DomainError(_("There is no earlier router version to go back to."))
    return activate(previous.pk)


def new_feedback() -> int:
    """People's routing decisions since the active version was trained."""
    active = RouterVersion.objects.filter(is_active=True).first()
    since = active.feedback_until if active else 0
    return RoutingFeedback.objects.filter(pk__gt=since).count()


def retrain_due() -> int:
    """Runner step: retrain when enough new decisions have arrived, or when there is no router
    yet and the teams' profiles are enough to start one. Returns 1 when it trained."""
    threshold = int(settings.POMOGU.get("ROUTER_RETRAIN_AFTER", 20))
    active = RouterVersion.objects.filter(is_active=True).exists()
    if active and new_feedback() < threshold:
        return 0
    if not active and not Team.objects.exclude(keywords="", description="").exists():
        return 0
    try:
        train(reason="automatic" if active else "first training")
    except DomainError:
        return 0
    return 1
