from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "pomogu.core"
    label = "core"
