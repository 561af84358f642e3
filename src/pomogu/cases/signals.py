"""Signals other apps listen to. Sent inside the transaction of the change."""

from django.dispatch import Signal

# A case moved to another team by a person (a handoff accepted, or a re-route). Arguments:
# case, from_team, to_team, actor, teach (False when the sender records its own lesson).
team_changed = Signal()
