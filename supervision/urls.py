from django.urls import path

from . import views

app_name = "supervision"
urlpatterns = [
    # Regulators.
    path("", views.dashboard, name="dashboard"),
    path("figures/<slug:key>.csv", views.figure_csv, name="figure-csv"),
    path("warnings/", views.warning_list, name="warnings"),
    path("warnings/refresh/", views.warning_refresh, name="warnings-refresh"),
    path("warnings/<int:pk>/", views.warning_detail, name="warning"),
    path("warnings/<int:pk>/dismiss/", views.warning_dismiss, name="warning-dismiss"),
    path("warnings/<int:pk>/escalate/", views.warning_escalate, name="warning-escalate"),
    path("complaints/queue/", views.complaint_queue, name="complaint-queue"),
    path("complaints/<int:pk>/handle/", views.complaint_handle, name="complaint-handle"),
    path("inspections/new/", views.plan_new, name="plan-new"),
    path("inspections/<int:pk>/publish/", views.plan_publish, name="plan-publish"),
    path("inspections/<int:pk>/draw/", views.plan_draw, name="plan-draw"),
    path("inspections/<int:pk>/results/<int:inspection_id>/", views.inspection_result, name="inspection-result"),
    # Public.
    path("complaints/", views.complaint_list, name="complaints"),
    path("inspections/", views.plan_list, name="plans"),
    path("inspections/<int:pk>/", views.plan_detail, name="plan"),
    path("inspections/<int:pk>/draw.json", views.plan_json, name="plan-json"),
    # Signed in.
    path("complaints/new/", views.complaint_new, name="complaint-new"),
    path("complaints/mine/", views.complaint_mine, name="complaint-mine"),
]
