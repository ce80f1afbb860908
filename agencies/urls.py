from django.urls import path

from . import views

app_name = "agencies"
urlpatterns = [
    path("", views.directory, name="directory"),
    path("<int:pk>/", views.agency_detail, name="detail"),
    path("publicity/", views.publicity_list, name="publicity"),
    path("publicity/<int:pk>/", views.publicity_detail, name="publicity-detail"),
    path("register/", views.register_start, name="register"),
    path("register/<int:pk>/<slug:step>/", views.register_step, name="register-step"),
    path("<int:pk>/desk/", views.desk, name="desk"),
    path("<int:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("<int:pk>/staff/", views.staff, name="staff"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation-accept"),
    path("files/<slug:kind>/<int:pk>/", views.file_download, name="file"),
    path("review/", views.review_queue, name="review-queue"),
    path("review/all/", views.review_all, name="review-all"),
    path("review/objections/", views.objections, name="objections"),
    path("review/objections/<int:pk>/", views.objection_rule, name="objection-rule"),
    path("review/calendar/", views.calendar, name="calendar"),
    path("review/<int:pk>/", views.review_detail, name="review-detail"),
]
