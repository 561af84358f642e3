from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FailuresConfig(AppConfig):
    name = "pomogu.failures"
    label = "failures"
    verbose_name = _("Failure register")

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from pomogu.cases.models import TimelineEvent
        from pomogu.failures.services import check_configuration, on_event

        # Bad POMOGU_TIER_VALUES or POMOGU_FAILURE_RISK_SHARE stop the desk from starting.
        check_configuration()
        post_save.connect(on_event, sender=TimelineEvent, dispatch_uid="failures-on-event")
