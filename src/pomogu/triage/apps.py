from django.apps import AppConfig


class TriageConfig(AppConfig):
    name = "pomogu.triage"
    label = "triage"

    def ready(self) -> None:
        from pomogu.cases.signals import team_changed
        from pomogu.triage import services

        team_changed.connect(services.learn_from_team_change, dispatch_uid="triage-team-changed")
