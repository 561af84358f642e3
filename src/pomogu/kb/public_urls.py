from django.urls import path

from pomogu.kb import public_views

app_name = "help"

urlpatterns = [
    path("", public_views.help_list, name="list"),
    path("<slug:slug>/", public_views.help_article, name="article"),
]
