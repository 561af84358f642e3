from django.apps import AppConfig


class ContactConfig(AppConfig):
    name = "pomogu.contact"
    label = "contact"
