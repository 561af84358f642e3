from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "pomogu.cases"
    label = "cases"
