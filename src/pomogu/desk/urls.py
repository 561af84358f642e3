from django.contrib.auth import views as auth_views
from django.urls import path
from django.views.generic import RedirectView

from pomogu.desk import lists, search, views

app_name = "desk"

urlpatterns = [
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.home, name="home"),
    path("language/", views.set_language, name="set_language"),
    path("desk/", RedirectView.as_view(pattern_name="desk:home"), name="desk"),
    path("team/<slug:slug>/", lists.team_queue, name="team"),
    path("team/<slug:slug>/changes/", lists.team_changes, name="team_changes"),
    path("team/<slug:slug>/bulk/", lists.bulk, name="bulk"),
    path("team/<slug:slug>/views/", lists.save_view, name="save_view"),
    path("views/<int:view_id>/delete/", lists.delete_view, name="delete_view"),
    path("cases/<int:number>/changes/", lists.case_changes, name="case_changes"),
    path("cases/<int:number>/related/", search.related, name="related"),
    path("cases/<int:number>/forms/<slug:name>/", views.case_form, name="case_form"),
    path("search/", search.search, name="search"),
    path("cases/new/", views.new_case, name="new_case"),
    path(
        "escalations/<int:escalation_id>/acknowledge/",
        views.acknowledge_escalation,
        name="acknowledge_escalation",
    ),
    path(
        "notifications/<int:notification_id>/seen/",
        views.notification_seen,
        name="notification_seen",
    ),
    path("cases/<int:number>/", views.case_detail, name="case"),
    path("cases/<int:number>/reply/", views.reply, name="reply"),
    path("cases/<int:number>/reply/check/", views.check_reply, name="check_reply"),
    path("cases/<int:number>/routing/", views.settle_routing, name="settle_routing"),
    path("cases/<int:number>/note/", views.note, name="note"),
    path("cases/<int:number>/handoff/", views.request_handoff, name="request_handoff"),
    path(
        "cases/<int:number>/handoffs/<int:handoff_id>/accept/",
        views.accept_handoff,
        name="accept_handoff",
    ),
    path(
        "cases/<int:number>/handoffs/<int:handoff_id>/decline/",
        views.decline_handoff,
        name="decline_handoff",
    ),
    path(
        "cases/<int:number>/handoffs/<int:handoff_id>/cancel/",
        views.cancel_handoff,
        name="cancel_handoff",
    ),
    path("cases/<int:number>/tasks/", views.add_task, name="add_task"),
    path("cases/<int:number>/promises/", views.add_promise, name="add_promise"),
    path(
        "cases/<int:number>/promises/<int:promise_id>/kept/",
        views.keep_promise,
        name="keep_promise",
    ),
    path("cases/<int:number>/appointments/", views.add_appointment, name="add_appointment"),
    path(
        "cases/<int:number>/appointments/<int:appointment_id>/report/",
        views.report_appointment,
        name="report_appointment",
    ),
    path("cases/<int:number>/tasks/<int:task_id>/finish/", views.finish_task, name="finish_task"),
    path("cases/<int:number>/resolve/", views.resolve, name="resolve"),
    path("cases/<int:number>/reopen/", views.reopen, name="reopen"),
    path("cases/<int:number>/recurrence/", views.recurrence, name="recurrence"),
    path(
        "cases/<int:number>/attachments/<int:attachment_id>/",
        views.attachment,
        name="attachment",
    ),
    path(
        "cases/<int:number>/messages/<int:message_id>/html/",
        views.message_html,
        name="message_html",
    ),
]
