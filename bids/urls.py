from django.urls import path

from . import views

app_name = "bids"
urlpatterns = [
    # Public results (a request's own pages are market.requests.urls, under the same prefix).
    path("requests/<int:pk>/result/", views.result_detail, name="result-detail"),
    path("results/", views.result_list, name="result-list"),
    # Owner.
    path("requests/<int:pk>/evaluators/", views.evaluators, name="evaluators"),
    path("requests/<int:pk>/scores/", views.scores, name="scores"),
    path("requests/<int:pk>/select/", views.select, name="select"),
    # Agency.
    path("requests/<int:pk>/bid/", views.bid_submit, name="bid-submit"),
    path("requests/<int:pk>/objections/", views.objection_lodge, name="objection-lodge"),
    path("bids/<int:bid_id>/change/", views.bid_change, name="bid-change"),
    path("bids/<int:bid_id>/withdraw/", views.bid_withdraw, name="bid-withdraw"),
    # Regulator.
    path("regulator/objections/", views.regulator_objections, name="regulator-objections"),
    path("regulator/objections/<int:objection_id>/rule/", views.objection_rule, name="objection-rule"),
]
