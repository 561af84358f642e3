from django.urls import path

from pomogu.portal import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("sign-in/", views.request_link, name="request_link"),
    path("sign-in/sent/", views.link_sent, name="link_sent"),
    path("link/", views.use_link, name="use_link"),
    path("link/<str:token>/", views.link, name="link"),
    path("sign-out/", views.sign_out, name="sign_out"),
    path("cases/<int:number>/", views.case_page, name="case"),
    path("cases/<int:number>/reply/", views.reply, name="reply"),
    path("cases/<int:number>/rating/", views.rate, name="rating"),
    path(
        "cases/<int:number>/attachments/<int:attachment_id>/",
        views.attachment,
        name="attachment",
    ),
]
