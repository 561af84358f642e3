from django.apps import AppConfig


class ContactConfig(AppConfig):
    name = "pomogu.contact"
    label = "contact"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from pomogu.cases.models import TimelineEvent
        from pomogu.contact.governor import check_configuration
        from pomogu.contact.surveys import on_event

        # A bad POMOGU_CONTACT_BUDGET, QUIET_HOURS or CONTACT_HOLIDAYS stops the desk starting.
        check_configuration()
        post_save.connect(on_event, sender=TimelineEvent, dispatch_uid="surveys-on-event")
