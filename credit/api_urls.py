from django.urls import path

from . import api

app_name = "credit_api"

urlpatterns = [
    path("credit/agencies/<str:uscc>/", api.StandingView.as_view(), name="standing"),
    path("credit/blacklist/", api.BlacklistView.as_view(), name="blacklist"),
    path("credit/breaches/", api.BreachCreateView.as_view(), name="breach-create"),
    path("credit/breaches/<int:breach_id>/appeal/", api.AppealCreateView.as_view(), name="breach-appeal"),
]
