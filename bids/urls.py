from django.urls import path

from . import views

app_name = "bids"
urlpatterns = [
    # Public announcements and results.
    path("requests/", views.request_list, name="request-list"),
    path("requests/new/", views.request_new, name="request-new"),
    path("requests/<int:pk>/", views.request_detail, name="request-detail"),
    path("requests/<int:pk>/result/", views.result_detail, name="result-detail"),
    path("results/", views.result_list, name="result-list"),
    # Owner.
    path("requests/<int:pk>/edit/", views.request_edit, name="request-edit"),
    path("requests/<int:pk>/publish/", views.request_publish, name="request-publish"),
    path("requests/<int:pk>/amend/", views.request_amend, name="request-amend"),
    path("requests/<int:pk>/cancel/", views.request_cancel, name="request-cancel"),
    path("requests/<int:pk>/reissue/", views.request_reissue, name="request-reissue"),
    path("requests/<int:pk>/questions/<int:qid>/answer/", views.question_answer, name="question-answer"),
    path("requests/<int:pk>/evaluators/", views.evaluators, name="evaluators"),
    path("requests/<int:pk>/scores/", views.scores, name="scores"),
    path("requests/<int:pk>/select/", views.select, name="select"),
    # Agency.
    path("requests/<int:pk>/bid/", views.bid_submit, name="bid-submit"),
    path("requests/<int:pk>/questions/", views.question_ask, name="question-ask"),
    path("requests/<int:pk>/objections/", views.objection_lodge, name="objection-lodge"),
    path("bids/<int:bid_id>/change/", views.bid_change, name="bid-change"),
    path("bids/<int:bid_id>/withdraw/", views.bid_withdraw, name="bid-withdraw"),
    # Regulator.
    path("regulator/objections/", views.regulator_objections, name="regulator-objections"),
    path("regulator/objections/<int:objection_id>/rule/", views.objection_rule, name="objection-rule"),
]
