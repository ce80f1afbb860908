from django.urls import path

from . import api

app_name = "agencies_api"
urlpatterns = [
    path("agencies/", api.AgencyListView.as_view(), name="agency-list"),
    path("agencies/<int:pk>/", api.AgencyDetailView.as_view(), name="agency-detail"),
    path("agencies/<int:pk>/submit/", api.AgencySubmitView.as_view(), name="agency-submit"),
    path("agencies/<int:pk>/review/", api.AgencyReviewView.as_view(), name="agency-review"),
    path("agencies/<int:pk>/withdraw/", api.AgencyWithdrawView.as_view(), name="agency-withdraw"),
    path("agencies/<int:pk>/qualifications/", api.QualificationListView.as_view(), name="qualification-list"),
    path("agencies/<int:pk>/qualifications/<int:qid>/file/", api.QualificationFileView.as_view(), name="qualification-file"),
    path("agencies/<int:pk>/licence-files/", api.LicenceFileListView.as_view(), name="licence-file-list"),
    path("agencies/<int:pk>/licence-files/<int:fid>/", api.LicenceFileView.as_view(), name="licence-file"),
]
