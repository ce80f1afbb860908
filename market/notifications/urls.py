from django.urls import path

from . import views

app_name = "notifications"
urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/<int:pk>/", views.inbox_open, name="inbox-open"),
    path("inbox/read/", views.inbox_read, name="inbox-read"),
    path("preferences/", views.preferences, name="preferences"),
]
