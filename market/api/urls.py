from django.urls import path

from . import views

app_name = "api"

urlpatterns = [
    path("auth/token/", views.TokenView.as_view(), name="auth-token"),
    path("auth/register/", views.RegisterView.as_view(), name="auth-register"),
    path("service-items/", views.ServiceItemListView.as_view(), name="service-item-list"),
    path("service-items/<str:code>/", views.ServiceItemDetailView.as_view(), name="service-item-detail"),
]
