from django.urls import path

from market.requests import api as request_api

from . import api

app_name = "bids_api"

urlpatterns = [
    path("requests/", request_api.RequestListCreateView.as_view(), name="request-list"),
    path("requests/<int:pk>/", request_api.RequestDetailView.as_view(), name="request-detail"),
    path("requests/<int:pk>/publish/", request_api.RequestPublishView.as_view(), name="request-publish"),
    path("requests/<int:pk>/amend/", request_api.RequestAmendView.as_view(), name="request-amend"),
    path("requests/<int:pk>/cancel/", request_api.RequestCancelView.as_view(), name="request-cancel"),
    path("requests/<int:pk>/reissue/", request_api.RequestReissueView.as_view(), name="request-reissue"),
    path("requests/<int:pk>/questions/", request_api.QuestionCreateView.as_view(), name="request-questions"),
    path("requests/<int:pk>/questions/<int:qid>/answer/", request_api.QuestionAnswerView.as_view(), name="request-answer"),
    path("requests/<int:pk>/bids/", api.RequestBidsView.as_view(), name="request-bids"),
    path("bids/<int:bid_id>/", api.BidDetailView.as_view(), name="bid-detail"),
    path("requests/<int:pk>/evaluators/", api.EvaluatorsView.as_view(), name="request-evaluators"),
    path("requests/<int:pk>/scores/", api.ScoresView.as_view(), name="request-scores"),
    path("requests/<int:pk>/select/", api.SelectView.as_view(), name="request-select"),
    path("requests/<int:pk>/selection/", api.SelectionView.as_view(), name="request-selection"),
    path("requests/<int:pk>/objections/", api.ObjectionCreateView.as_view(), name="request-objections"),
    path("objections/<int:objection_id>/rule/", api.ObjectionRuleView.as_view(), name="objection-rule"),
]
