from django.urls import path

from . import views

app_name = "credit"

urlpatterns = [
    path("", views.credit_index, name="index"),
    path("blacklist.csv", views.blacklist_csv, name="blacklist-csv"),
    path("redlist.csv", views.redlist_csv, name="redlist-csv"),
    path("breaches/new/", views.breach_new, name="breach-new"),
    path("breaches/<int:pk>/", views.breach_detail, name="breach"),
    path("breaches/<int:pk>/appeal/", views.appeal_new, name="appeal-new"),
    path("breaches/<int:pk>/repair/", views.repair_new, name="repair-new"),
    path("appeals/<int:appeal_id>/decide/", views.appeal_decide, name="appeal-decide"),
    path("repairs/<int:repair_id>/decide/", views.repair_decide, name="repair-decide"),
]
