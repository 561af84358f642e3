from django.db import models
from django.utils.translation import gettext_lazy as _


class ArticleLanguage(models.TextChoices):
    RU = "ru", _("Russian")
    EN = "en", _("English")


class Visibility(models.TextChoices):
    """Who may read a published article: everyone (the public help pages and the customer
    portal) or staff only."""

    PUBLIC = "public", _("Public: customers and staff")
    INTERNAL = "internal", _("Internal: staff only")
