from django.urls import path

from pomogu.failures import views

app_name = "register"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("failures/", views.failure_list, name="failures"),
    path("failures.csv", views.failure_csv, name="failures_csv"),
]
