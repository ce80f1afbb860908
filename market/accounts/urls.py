from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from market.accounts import views

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password-reset/", auth_views.PasswordResetView.as_view(
        template_name="registration/password_reset.html",
        email_template_name="registration/password_reset_email.txt",
        subject_template_name="registration/password_reset_subject.txt",
        success_url=reverse_lazy("password_reset_done")), name="password_reset"),
    path("password-reset/sent/", auth_views.PasswordResetDoneView.as_view(
        template_name="registration/password_reset_sent.html"), name="password_reset_done"),
    path("reset/<uidb64>/<token>/", auth_views.PasswordResetConfirmView.as_view(
        template_name="registration/password_reset_confirm.html",
        success_url=reverse_lazy("password_reset_complete")), name="password_reset_confirm"),
    path("reset/done/", auth_views.PasswordResetCompleteView.as_view(
        template_name="registration/password_reset_complete.html"), name="password_reset_complete"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("organizations/new/", views.organization_new, name="organization-new"),
    path("organizations/<int:pk>/", views.organization_detail, name="organization-detail"),
    path("organizations/<int:pk>/members/", views.organization_members, name="organization-members"),
    path("regulator/organizations/", views.regulator_verifications, name="regulator-verifications"),
    path("regulator/organizations/<int:pk>/verify/", views.regulator_verify, name="regulator-verify"),
    path("regulator/regulators/new/", views.regulator_new, name="regulator-new"),
]
