from django.urls import path

from . import views

app_name = "requests"
urlpatterns = [
    # Public announcements and a request's page.
    path("requests/", views.request_list, name="request-list"),
    path("requests/new/", views.request_new, name="request-new"),
    path("requests/<int:pk>/", views.request_detail, name="request-detail"),
    # Owner.
    path("requests/<int:pk>/edit/", views.request_edit, name="request-edit"),
    path("requests/<int:pk>/publish/", views.request_publish, name="request-publish"),
    path("requests/<int:pk>/amend/", views.request_amend, name="request-amend"),
    path("requests/<int:pk>/cancel/", views.request_cancel, name="request-cancel"),
    path("requests/<int:pk>/reissue/", views.request_reissue, name="request-reissue"),
    path("requests/<int:pk>/questions/<int:qid>/answer/", views.question_answer, name="question-answer"),
    # Agency.
    path("requests/<int:pk>/questions/", views.question_ask, name="question-ask"),
]
