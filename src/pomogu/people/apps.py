from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "pomogu.people"
    label = "people"
