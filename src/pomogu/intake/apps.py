from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "pomogu.intake"
    label = "intake"
