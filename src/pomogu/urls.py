from django.contrib import admin
from django.urls import include, path

from pomogu.api import api
from pomogu.contact.views import answer as survey_answer
from pomogu.core.views import healthz
from pomogu.intake.views import request_form

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("contact/", request_form, name="request_form"),
    path("survey/<str:token>/", survey_answer, name="survey"),
    path("register/", include("pomogu.failures.urls")),
    path("kb/", include("pomogu.kb.urls")),
    path("help/", include("pomogu.kb.public_urls")),
    path("my/", include("pomogu.portal.urls")),
    path("", include("pomogu.desk.urls")),
]
