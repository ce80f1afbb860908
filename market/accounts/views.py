"""Account and organization pages. Thin: they parse input, call services, render."""

from __future__ import annotations

from typing import Callable

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from market.accounts import permissions, selectors, services
from market.core import ratelimit
from market.api.throttling import register_rate
from market.core.client_address import client_address
from market.accounts.forms import (
    LoginForm,
    MemberForm,
    OrganizationForm,
    RegulatorForm,
    SignupForm,
    VerifyForm,
)
from market.accounts.models import Organization, User


def favicon(request):
    return HttpResponsePermanentRedirect(staticfiles_storage.url("market/favicon.svg"))


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def apply_validation_error(form, exc: ValidationError) -> None:
    """Put a service's ValidationError on the form's fields (or the form)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            for error in errors:
                form.add_error(field if field in form.fields else None, error)
    else:
        for message in exc.messages:
            form.add_error(None, message)


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    authentication_form = LoginForm


@require_http_methods(["GET", "POST"])
def signup(request):
    form = SignupForm(request.POST or None)
    if request.method == "POST" and ratelimit.hit("register", client_address(request), register_rate()) is not None:
        form.is_valid()
        form.add_error(None, _("Too many sign-ups from your address. Try again in an hour."))
        return render(request, "registration/signup.html", {"form": form}, status=429)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_register(username=form.cleaned_data["username"], email=form.cleaned_data["email"],
                                          password=form.cleaned_data["password1"])
        except ValidationError as exc:
            if hasattr(exc, "error_dict") and "password" in exc.error_dict:
                exc.error_dict["password1"] = exc.error_dict.pop("password")
            apply_validation_error(form, exc)
        else:
            login(request, user, backend="market.core.lockout.LockoutBackend")
            messages.success(request, _("Your account is ready. Register your organization to start."))
            return redirect("dashboard")
    return render(request, "registration/signup.html", {"form": form}, status=400 if form.errors else 200)


@login_required
def dashboard(request):
    memberships = selectors.user_memberships(user=request.user)
    return render(request, "market/dashboard.html", {
        "memberships": memberships,
        "pending_count": selectors.organization_pending_verification().count() if permissions.is_regulator(request.user) else 0,
    })


@login_required
@require_http_methods(["GET", "POST"])
def organization_new(request):
    form = OrganizationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            org = services.organization_register(actor=request.user, kind=Organization.Kind.OWNER, **form.cleaned_data)
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("Your organization is registered and awaits a regulator's verification."))
            return redirect("organization-detail", pk=org.pk)
    return render(request, "market/organization_form.html", {"form": form}, status=400 if form.errors else 200)


@login_required
def organization_detail(request, pk: int):
    org = get_object_or_404(Organization.objects.select_related("region"), pk=pk)
    if not (permissions.can_act_for(request.user, org) or permissions.is_regulator(request.user)):
        raise PermissionDenied(_("You may not see this organization's private page."))
    return render(request, "market/organization_detail.html", {
        "org": org, "members": selectors.organization_members(organization=org),
        "can_manage": permissions.can_manage(request.user, org),
    })


# The members page of organizations of a kind a higher domain owns: an agency's people join only by
# invitation, so agencies/apps.py registers agencies.views.organization_members for agency organizations
# (which the membership service refuses to add people to directly in any case).
MemberPage = Callable[[HttpRequest, Organization], HttpResponse]
_member_pages: dict[str, MemberPage] = {}


def member_page_register(*, kind: str, page: MemberPage) -> None:
    """Hand the members page of organizations of `kind` to `page` (called once the actor is known
    to manage the organization)."""
    _member_pages[kind] = page


@login_required
@require_http_methods(["GET", "POST"])
def organization_members(request, pk: int):
    org = get_object_or_404(Organization, pk=pk)
    permissions.require_manage(request.user, org)
    page = _member_pages.get(org.kind)
    if page is not None:
        return page(request, org)
    form = MemberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = User.objects.filter(username=form.cleaned_data["username"]).first()
        if user is None:
            form.add_error("username", _("No account has this user name."))
        else:
            services.membership_add(actor=request.user, organization=org, user=user, role=form.cleaned_data["role"])
            messages.success(request, _("Member saved."))
            return redirect("organization-detail", pk=org.pk)
    return render(request, "market/member_form.html", {"form": form, "org": org}, status=400 if form.errors else 200)


@login_required
def regulator_verifications(request):
    permissions.require_regulator(request.user)
    return render(request, "market/regulator_verifications.html",
                  {"orgs": selectors.organization_pending_verification()})


@login_required
@require_http_methods(["GET", "POST"])
def regulator_verify(request, pk: int):
    permissions.require_regulator(request.user)
    org = get_object_or_404(Organization.objects.select_related("region"), pk=pk)
    form = VerifyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.organization_verify(actor=request.user, organization=org,
                                         approve=form.cleaned_data["decision"] == "approve",
                                         comment=form.cleaned_data["comment"])
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("Decision saved."))
            return redirect("regulator-verifications")
    return render(request, "market/regulator_verify.html", {"form": form, "org": org},
                  status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def regulator_new(request):
    permissions.require_regulator(request.user)
    form = RegulatorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.regulator_user_create(actor=request.user, organization=d["organization"], username=d["username"],
                                           email=d["email"], password=d["password"], role=d["role"])
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("Regulator account created."))
            return redirect("dashboard")
    return render(request, "market/regulator_form.html", {"form": form}, status=400 if form.errors else 200)
