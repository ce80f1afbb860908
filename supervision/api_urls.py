from django.urls import path

from . import api

app_name = "supervision_api"

urlpatterns = [
    path("supervision/complaints/", api.ComplaintListView.as_view(), name="complaints"),
    path("supervision/inspection-plans/", api.PlanListView.as_view(), name="plans"),
    path("supervision/inspection-plans/<int:pk>/", api.PlanDetailView.as_view(), name="plan"),
]
