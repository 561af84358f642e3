from django.db import models
from django.utils.translation import gettext_lazy as _


class CaseState(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    WAITING_CUSTOMER = "waiting_customer", _("Waiting on customer")
    WAITING_CONTRACTOR = "waiting_contractor", _("Waiting on contractor")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


# States in which somebody must be working on the case. An owner is required in every state
# (the resolver stays answerable for a repair, R5), but these are the ones a queue shows.
ACTIVE_STATES = (
    CaseState.NEW,
    CaseState.OPEN,
    CaseState.WAITING_CUSTOMER,
    CaseState.WAITING_CONTRACTOR,
)

# The state machine (R2): which moves are legal. Reopening is the only way back from resolved
# or closed; "not our department" is no state at all.
TRANSITIONS: dict[str, frozenset[str]] = {
    CaseState.NEW: frozenset(
        {
            CaseState.OPEN,
            CaseState.WAITING_CUSTOMER,
            CaseState.WAITING_CONTRACTOR,
            CaseState.RESOLVED,
        }
    ),
    CaseState.OPEN: frozenset(
        {CaseState.WAITING_CUSTOMER, CaseState.WAITING_CONTRACTOR, CaseState.RESOLVED}
    ),
    CaseState.WAITING_CUSTOMER: frozenset(
        {CaseState.OPEN, CaseState.WAITING_CONTRACTOR, CaseState.RESOLVED}
    ),
    # Waiting on a contractor means their work is open: it must finish (the case goes back to
    # open) before the case can be resolved.
    CaseState.WAITING_CONTRACTOR: frozenset({CaseState.OPEN, CaseState.WAITING_CUSTOMER}),
    CaseState.RESOLVED: frozenset({CaseState.OPEN, CaseState.CLOSED}),
    CaseState.CLOSED: frozenset({CaseState.OPEN}),
}


class Priority(models.IntegerChoices):
    LOW = 1, _("Low")
    NORMAL = 2, _("Normal")
    HIGH = 3, _("High")
    URGENT = 4, _("Urgent")


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    WEB = "web", _("Web form")
    PORTAL = "portal", _("Portal")
    API = "api", _("API")
    PHONE = "phone", _("Phone")
    CHAT = "chat", _("Chat")
    IN_PERSON = "in_person", _("In person")


class MessageKind(models.TextChoices):
    INBOUND = "inbound", _("From the customer")
    REPLY = "reply", _("Reply to the customer")
    NOTE = "note", _("Internal note")
    HELD = "held", _("Held: from someone not on the case")


class HandoffState(models.TextChoices):
    REQUESTED = "requested", _("Waiting for acceptance")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    TIMED_OUT = "timed_out", _("Timed out")
    CANCELLED = "cancelled", _("Cancelled")


class ContractorTaskState(models.TextChoices):
    OPEN = "open", _("In progress")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class Resolution(models.TextChoices):
    """How a case was resolved. There is deliberately no "wrong department" (R2): a request
    that belongs elsewhere is handed off, not closed."""

    SOLVED = "solved", _("Solved")
    WORKAROUND = "workaround", _("Solved with a workaround")
    ANSWERED = "answered", _("Question answered")
    DUPLICATE = "duplicate", _("Duplicate of another case")
    WITHDRAWN = "withdrawn", _("Withdrawn by the customer")


class EventKind(models.TextChoices):
    OPENED = "opened", _("Case opened")
    MESSAGE = "message", _("Message from the customer")
    REPLY = "reply", _("Reply sent")
    NOTE = "note", _("Note added")
    STATE = "state", _("State changed")
    ASSIGNED = "assigned", _("Owner changed")
    PRIORITY = "priority", _("Priority changed")
    HANDOFF_REQUESTED = "handoff_requested", _("Handoff requested")
    HANDOFF_ACCEPTED = "handoff_accepted", _("Handoff accepted")
    HANDOFF_DECLINED = "handoff_declined", _("Handoff declined")
    HANDOFF_CANCELLED = "handoff_cancelled", _("Handoff cancelled")
    HANDOFF_TIMED_OUT = "handoff_timed_out", _("Handoff timed out")
    TEAM = "team", _("Team changed")
    CONTRACTOR_TASK = "contractor_task", _("Contractor task added")
    CONTRACTOR_TASK_DONE = "contractor_task_done", _("Contractor task finished")
    RESOLVED = "resolved", _("Resolved")
    REOPENED = "reopened", _("Reopened")
    CLOSED = "closed", _("Closed")
    OUTBOUND_FAILED = "outbound_failed", _("Outbound message failed")
    HELD = "held", _("Message held for an agent")
    ROUTED = "routed", _("Routed")
    ROUTING_SETTLED = "routing_settled", _("Routing decided by a person")
    ANGER = "anger", _("Anger noticed")
    DEADLINE_MISSED = "deadline_missed", _("Deadline missed")
    ESCALATED = "escalated", _("Escalated")
    ESCALATION_ACKNOWLEDGED = "escalation_ack", _("Escalation acknowledged")
    APPOINTMENT = "appointment", _("Appointment made")
    APPOINTMENT_KEPT = "appointment_kept", _("Appointment kept")
    APPOINTMENT_MISSED = "appointment_missed", _("Appointment missed")
    PROMISE = "promise", _("Promise made")
    PROMISE_KEPT = "promise_kept", _("Promise kept")
    CONTACT_HELD = "contact_held", _("Contact held back")
    CONTACT_MADE = "contact_made", _("Customer contacted")
    SURVEY_ANSWERED = "survey_answered", _("Survey answered")
    GUARD_OVERRIDDEN = "guard_overridden", _("Reply guard overridden")
    RECURRENCE = "recurrence", _("Possible recurrence linked")
    RECURRENCE_SETTLED = "recurrence_settled", _("Possible recurrence decided")
    MERGED = "merged", _("Cases merged")
    SPLIT = "split", _("Case split")
