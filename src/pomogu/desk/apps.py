from django.apps import AppConfig


class DeskConfig(AppConfig):
    name = "pomogu.desk"
    label = "desk"
