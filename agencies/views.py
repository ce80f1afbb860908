"""Agency pages: the public directory and publicity, the registration in steps, the agency's desk
and staff, and the regulators' review. Thin: they parse input, call services, render."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from market.accounts import permissions as market_permissions
from market.accounts.forms import MemberForm
from market.accounts.models import Membership, Organization, User
from market.accounts.views import apply_validation_error
from market.calendar import services as calendar_services
from market.calendar.models import CalendarDay, HolidayYear
from market.calendar.workdays import years_missing_holidays
from market.search.api import facet_counts

from . import forms, permissions, selectors, services
from .files import private_file_get, private_file_response
from .models import (Agency, AgencyInvitation, AgencyServiceItem, AgencyStatus, LicenceFile, Practitioner,
                     PublicityObjection, Qualification)
from .search import agency_directory_search

PAGE_SIZE = 20

# The registration steps, in order: (slug, title)
STEPS = [
    ("organization", gettext_lazy("Organization")),
    ("licences", gettext_lazy("Licence files")),
    ("items", gettext_lazy("Service items")),
    ("qualifications", gettext_lazy("Qualifications")),
    ("practitioners", gettext_lazy("Practitioners")),
    ("submit", gettext_lazy("Check and submit")),
]
STEP_SLUGS = [slug for slug, _title in STEPS]
# Steps an active (or suspended) agency may still use to keep its certificates and people current.
RENEWAL_STEPS = {"qualifications", "practitioners"}


def apply_errors(form, exc: ValidationError, rename: dict[str, str] | None = None) -> None:
    """Put a service's ValidationError on the form's fields (or the form)."""
    rename = rename or {}
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            field = rename.get(field, field)
            for error in errors:
                for message in error.messages:
                    form.add_error(field if field in form.fields else None, message)
    else:
        for message in exc.messages:
            form.add_error(None, message)


def _data(request):
    """The POST data for a form, even when empty (an empty POST must still be validated)."""
    return request.POST if request.method == "POST" else None


def _status(form_or_forms) -> int:
    forms_ = form_or_forms if isinstance(form_or_forms, (list, tuple)) else [form_or_forms]
    return 400 if any(f is not None and f.is_bound and f.errors for f in forms_) else 200


# --- Public ----------------------------------------------------------------------------------------


@require_GET
def directory(request):
    """The directory is a search (market.search): words, filters, facet counts, red list first."""
    filters = selectors.AgencyFilters.from_params(request.GET)
    today = timezone.localdate()
    page, result = agency_directory_search(filters=filters, page=request.GET.get("page"), page_size=PAGE_SIZE, today=today)
    facets = selectors.directory_facets()
    counts = facet_counts(result)
    for name, objects, key in (("service_item", facets["service_items"], "code"), ("region", facets["regions"], "code"),
                               ("qualification", facets["qualification_types"], "code")):
        for obj in objects:
            obj.facet_count = counts.get(name, {}).get(getattr(obj, key), 0)
    return render(request, "agencies/directory.html", {
        "page_obj": page, "filters": filters, "facets": facets, "grade_counts": result.facets.get("grade", []),
        "search_fallback": result.fallback, "querystring": filters.querystring(), "today": today,
    })


@require_GET
def agency_detail(request, pk: int):
    agency = selectors.agency_public_get(pk=pk, user=request.user)
    if agency is None:
        raise Http404(_("No active agency has this number."))
    return render(request, "agencies/agency_detail.html", {
        "agency": agency, "today": timezone.localdate(),
        "can_see_private": request.user.is_authenticated and permissions.can_see_private(request.user, agency),
    })


@require_GET
def publicity_list(request):
    page = Paginator(selectors.agency_publicity_list(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "agencies/publicity_list.html", {"page_obj": page, "now": timezone.now()})


@require_http_methods(["GET", "POST"])
def publicity_detail(request, pk: int):
    agency = selectors.agency_publicity_list().filter(pk=pk).first()
    if agency is None:
        raise Http404(_("This registration is not in publicity."))
    initial = {}
    if request.user.is_authenticated:
        initial = {"contact_name": request.user.get_full_name() or request.user.username, "contact_phone": request.user.phone}
    form = forms.ObjectionForm(_data(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.objection_lodge(agency=agency, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Your objection is recorded. A regulator will rule on it; the agency is not "
                                        "activated until then."))
            return redirect("agencies:publicity-detail", pk=agency.pk)
    return render(request, "agencies/publicity_detail.html", {"agency": agency, "form": form, "now": timezone.now()},
                  status=_status(form))


# --- Registration ------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def register_start(request):
    form = forms.AgencyOrganizationForm(_data(request),
                                        initial={"contact_email": request.user.email})
    if request.method == "POST" and form.is_valid():
        try:
            agency = services.agency_register(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Draft saved. Next, upload the business licence."))
            return redirect("agencies:register-step", pk=agency.pk, step="licences")
    return render(request, "agencies/register_organization.html", {
        "form": form, "steps": STEPS, "step": "organization", "agency": None,
    }, status=_status(form))


def _editable_agency(request, pk: int, step: str) -> Agency:
    agency = selectors.agency_private_get(pk=pk)
    if agency is None:
        raise Http404
    permissions.require_edit(request.user, agency)
    allowed = services.EDITABLE_STATUSES | (services.CERTIFICATE_EDITABLE_STATUSES if step in RENEWAL_STEPS else set())
    if agency.status not in allowed:
        raise _Redirect(reverse("agencies:desk", kwargs={"pk": agency.pk}),
                        _("The registration is “%(status)s” and cannot be changed now.") % {"status": agency.get_status_display()})
    return agency


class _Redirect(Exception):
    def __init__(self, url: str, message: str):
        self.url, self.message = url, message


def _next_step(step: str) -> str:
    return STEP_SLUGS[min(STEP_SLUGS.index(step) + 1, len(STEP_SLUGS) - 1)]


@login_required
@require_http_methods(["GET", "POST"])
def register_step(request, pk: int, step: str):
    if step not in STEP_SLUGS:
        raise Http404
    try:
        agency = _editable_agency(request, pk, step)
    except _Redirect as r:
        messages.info(request, r.message)
        return HttpResponseRedirect(r.url)
    handler = STEP_HANDLERS[step]
    response = handler(request, agency)
    return response


def _step_context(agency: Agency, step: str, **extra) -> dict:
    return {"agency": agency, "steps": STEPS, "step": step, "step_index": STEP_SLUGS.index(step) + 1,
            "renewal": agency.status not in services.EDITABLE_STATUSES, "today": timezone.localdate(), **extra}


def _advance(request, agency: Agency, step: str):
    nxt = _next_step(step)
    if agency.status in services.EDITABLE_STATUSES:
        services.agency_draft_step_set(actor=request.user, agency=agency, step=STEP_SLUGS.index(nxt) + 1)
        return redirect("agencies:register-step", pk=agency.pk, step=nxt)
    return redirect("agencies:desk", pk=agency.pk)


def _step_organization(request, agency: Agency):
    org = agency.organization
    initial = {"name": org.name, "uscc": org.uscc, "agency_type": agency.agency_type, "region": org.region_id,
               "address": org.address, "legal_representative": org.legal_representative, "contact_name": org.contact_name,
               "contact_phone": org.contact_phone, "contact_email": org.contact_email, "introduction": agency.introduction}
    form = forms.AgencyOrganizationForm(_data(request), initial=initial, fixed_uscc=True)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "uscc"}
        try:
            services.agency_update_profile(actor=request.user, agency=agency, **data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return _advance(request, agency, "organization")
    return render(request, "agencies/register_organization.html", _step_context(agency, "organization", form=form),
                  status=_status(form))


def _post_action(request) -> str:
    return request.POST.get("action", "") if request.method == "POST" else ""


def _step_licences(request, agency: Agency):
    action, step_error = _post_action(request), ""
    form = forms.LicenceFileForm(request.POST if action == "add" else None, request.FILES if action == "add" else None)
    if action == "add" and form.is_valid():
        try:
            services.licence_file_add(actor=request.user, agency=agency, upload=form.cleaned_data["file"],
                                      kind=form.cleaned_data["kind"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Document uploaded."))
            return redirect("agencies:register-step", pk=agency.pk, step="licences")
    elif action == "remove":
        doc = get_object_or_404(LicenceFile, pk=request.POST.get("id"), agency=agency)
        services.licence_file_remove(actor=request.user, licence_file=doc)
        messages.success(request, _("Document removed."))
        return redirect("agencies:register-step", pk=agency.pk, step="licences")
    elif action == "next":
        if not agency.licence_files.all():
            step_error = _("Upload the business licence before you continue.")
        else:
            return _advance(request, agency, "licences")
    elif action and action != "add":
        raise Http404
    return render(request, "agencies/register_licences.html",
                  _step_context(agency, "licences", form=form, step_error=step_error),
                  status=400 if form.errors or step_error else 200)


def _step_items(request, agency: Agency):
    action, step_error = _post_action(request), ""
    form = forms.OfferedItemForm(request.POST if action == "add" else None)
    if action == "add" and form.is_valid():
        d = form.cleaned_data
        try:
            services.agency_item_set(actor=request.user, agency=agency, service_item=d["service_item"], fee_quote=d["fee_quote"],
                                     fee_quote_fen=d["fee_quote_yuan"], commitment=d["commitment"])
        except ValidationError as exc:
            apply_errors(form, exc, rename={"fee_quote_fen": "fee_quote_yuan"})
        else:
            messages.success(request, _("Service item saved."))
            return redirect("agencies:register-step", pk=agency.pk, step="items")
    elif action == "remove":
        offer = get_object_or_404(AgencyServiceItem.objects.select_related("service_item"), pk=request.POST.get("id"),
                                  agency=agency)
        services.agency_item_remove(actor=request.user, offered_item=offer)
        messages.success(request, _("Service item removed."))
        return redirect("agencies:register-step", pk=agency.pk, step="items")
    elif action == "next":
        if not agency.offered_items.all():
            step_error = _("Offer at least one service item before you continue.")
        else:
            return _advance(request, agency, "items")
    elif action and action != "add":
        raise Http404
    return render(request, "agencies/register_items.html",
                  _step_context(agency, "items", form=form, gaps=selectors.qualification_gaps(agency=agency),
                                step_error=step_error),
                  status=400 if form.errors or step_error else 200)


def _step_qualifications(request, agency: Agency):
    action = _post_action(request)
    form = forms.QualificationForm(request.POST if action == "add" else None, request.FILES if action == "add" else None)
    if action == "add" and form.is_valid():
        d = form.cleaned_data
        try:
            services.qualification_add(actor=request.user, agency=agency, qualification_type=d["qualification_type"],
                                       certificate_number=d["certificate_number"], issuer=d["issuer"], level=d["level"],
                                       valid_from=d["valid_from"], valid_to=d["valid_to"], upload=d.get("file"))
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Certificate saved."))
            return redirect("agencies:register-step", pk=agency.pk, step="qualifications")
    elif action == "remove":
        qual = get_object_or_404(Qualification, pk=request.POST.get("id"), agency=agency)
        services.qualification_remove(actor=request.user, qualification=qual)
        messages.success(request, _("Certificate removed."))
        return redirect("agencies:register-step", pk=agency.pk, step="qualifications")
    elif action == "next":
        return _advance(request, agency, "qualifications")
    elif action and action != "add":
        raise Http404
    return render(request, "agencies/register_qualifications.html",
                  _step_context(agency, "qualifications", form=form, gaps=selectors.qualification_gaps(agency=agency)),
                  status=400 if form.errors else 200)


def _step_practitioners(request, agency: Agency):
    action = _post_action(request)
    form = forms.PractitionerForm(request.POST if action == "add" else None)
    if action == "add" and form.is_valid():
        try:
            services.practitioner_add(actor=request.user, agency=agency, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Practitioner saved."))
            return redirect("agencies:register-step", pk=agency.pk, step="practitioners")
    elif action == "remove":
        person = get_object_or_404(Practitioner, pk=request.POST.get("id"), agency=agency)
        services.practitioner_remove(actor=request.user, practitioner=person)
        messages.success(request, _("Practitioner removed."))
        return redirect("agencies:register-step", pk=agency.pk, step="practitioners")
    elif action == "next":
        return _advance(request, agency, "practitioners")
    elif action and action != "add":
        raise Http404
    return render(request, "agencies/register_practitioners.html", _step_context(agency, "practitioners", form=form),
                  status=400 if form.errors else 200)


def _step_submit(request, agency: Agency):
    form = forms.SubmitForm(_data(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.agency_transition(agency=agency, to=AgencyStatus.SUBMITTED, actor=request.user)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The registration is submitted. A regulator will review it."))
            return redirect("agencies:desk", pk=agency.pk)
    return render(request, "agencies/register_submit.html",
                  _step_context(agency, "submit", form=form, gaps=selectors.qualification_gaps(agency=agency)),
                  status=_status(form))


STEP_HANDLERS = {
    "organization": _step_organization, "licences": _step_licences, "items": _step_items,
    "qualifications": _step_qualifications, "practitioners": _step_practitioners, "submit": _step_submit,
}


# --- The agency's desk, staff and files ---------------------------------------------------------------


@login_required
@require_GET
def desk(request, pk: int):
    agency = selectors.agency_private_get(pk=pk)
    if agency is None:
        raise Http404
    permissions.require_see_private(request.user, agency)
    today = timezone.localdate()
    return render(request, "agencies/desk.html", {
        "agency": agency, "today": today, "steps": STEPS,
        "expiring": selectors.qualifications_expiring(agencies=[agency], today=today),
        "gaps": selectors.qualification_gaps(agency=agency, today=today),
        "can_edit": permissions.can_edit(request.user, agency),
        "can_manage": permissions.can_manage(request.user, agency),
        "editable": agency.status in services.EDITABLE_STATUSES,
        "renewable": agency.status in services.CERTIFICATE_EDITABLE_STATUSES,
        "can_withdraw": (agency.status, AgencyStatus.WITHDRAWN) in services.TRANSITIONS,
        "next_step": STEP_SLUGS[min(agency.draft_step, len(STEP_SLUGS)) - 1],
    })


@login_required
@require_http_methods(["GET", "POST"])
def withdraw(request, pk: int):
    agency = get_object_or_404(Agency.objects.select_related("organization"), pk=pk)
    permissions.require_manage(request.user, agency)
    form = forms.WithdrawForm(_data(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.agency_transition(agency=agency, to=AgencyStatus.WITHDRAWN, actor=request.user,
                                       comment=form.cleaned_data["reason"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The registration is withdrawn."))
            return redirect("agencies:desk", pk=agency.pk)
    return render(request, "agencies/withdraw.html", {"agency": agency, "form": form}, status=_status(form))


@login_required
@require_http_methods(["GET", "POST"])
def staff(request, pk: int):
    agency = get_object_or_404(Agency.objects.select_related("organization"), pk=pk)
    permissions.require_manage(request.user, agency)
    action = _post_action(request)
    invite_form = forms.InvitationForm(request.POST if action == "invite" else None)
    if action == "invite" and invite_form.is_valid():
        try:
            services.invitation_create(actor=request.user, agency=agency, email=invite_form.cleaned_data["email"],
                                       role=invite_form.cleaned_data["role"],
                                       accept_url_base=request.build_absolute_uri("/"))
        except ValidationError as exc:
            apply_errors(invite_form, exc)
        else:
            messages.success(request, _("Invitation sent to %(email)s.") % {"email": invite_form.cleaned_data["email"]})
            return redirect("agencies:staff", pk=agency.pk)
    elif action in ("role", "remove"):
        member = get_object_or_404(Membership.objects.select_related("user"), organization=agency.organization,
                                   user_id=request.POST.get("user"))
        try:
            if action == "role":
                role_form = forms.StaffRoleForm(request.POST)
                if not role_form.is_valid():
                    raise ValidationError(_("Choose a role."))
                services.staff_role_set(actor=request.user, agency=agency, user=member.user,
                                        role=role_form.cleaned_data["role"])
                messages.success(request, _("Role changed."))
            else:
                services.staff_remove(actor=request.user, agency=agency, user=member.user)
                messages.success(request, _("%(user)s no longer acts for the agency.") % {"user": member.user.username})
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return redirect("agencies:staff", pk=agency.pk)
    elif action == "revoke":
        invitation = get_object_or_404(AgencyInvitation, pk=request.POST.get("id"), agency=agency)
        try:
            services.invitation_revoke(actor=request.user, invitation=invitation)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Invitation withdrawn."))
        return redirect("agencies:staff", pk=agency.pk)
    elif action and action != "invite":
        raise Http404
    return render(request, "agencies/staff.html", {
        "agency": agency, "invite_form": invite_form, "members": selectors.agency_staff(agency=agency),
        "invitations": selectors.agency_invitations_pending(agency=agency), "roles": Membership.Role.choices,
    }, status=_status(invite_form))


def organization_members(request, org: Organization):
    """The members page of an agency's organization (/accounts/organizations/<pk>/members/: the accounts
    view checks the actor manages the organization, then hands agency organizations over here, as
    agencies/apps.py registers). An agency's people are the agency's act: refused to a black-listed
    agency, and a person joins only by accepting an invitation (services.invitation_create), never by
    being added."""
    refusal = permissions.standing_refusal(uscc=org.uscc)
    if refusal:
        raise PermissionDenied(refusal.message)
    agency = selectors.agency_current_registration(organization=org)
    if agency is None:
        raise PermissionDenied(_("This agency has no registration whose staff could be managed."))
    form = MemberForm(request.POST or None)
    if request.method != "POST":
        return redirect("agencies:staff", pk=agency.pk)
    if form.is_valid():
        user = User.objects.filter(username=form.cleaned_data["username"]).first()
        if user is None:
            form.add_error("username", _("No account has this user name."))
        elif not user.email:
            form.add_error("username", _("This account has no e-mail address to send the invitation to."))
        else:
            try:
                services.invitation_create(actor=request.user, agency=agency, email=user.email,
                                           role=form.cleaned_data["role"],
                                           accept_url_base=request.build_absolute_uri("/"))
            except ValidationError as exc:
                apply_validation_error(form, exc)
            else:
                messages.success(request, _("Invitation sent to %(email)s: the person joins the agency when they "
                                            "accept it.") % {"email": user.email})
                return redirect("agencies:staff", pk=agency.pk)
    return render(request, "market/member_form.html", {"form": form, "org": org}, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def invitation_accept(request, token: str):
    try:
        invitation = services.invitation_from_token(token)
    except ValidationError as exc:
        return render(request, "agencies/invitation.html", {"error": " ".join(exc.messages)}, status=400)
    if request.method == "POST":
        try:
            services.invitation_accept(user=request.user, token=token)
        except ValidationError as exc:
            return render(request, "agencies/invitation.html", {"invitation": invitation, "error": " ".join(exc.messages)},
                          status=400)
        messages.success(request, _("You now act for %(agency)s.") % {"agency": invitation.agency.name})
        return redirect("agencies:desk", pk=invitation.agency_id)
    return render(request, "agencies/invitation.html", {"invitation": invitation})


@login_required
@require_GET
def file_download(request, kind: str, pk: int):
    return private_file_response(private_file_get(kind=kind, pk=pk, user=request.user))


# --- Regulators -------------------------------------------------------------------------------------------


def _require_regulator(request) -> None:
    market_permissions.require_regulator(request.user)


@login_required
@require_GET
def review_queue(request):
    _require_regulator(request)
    return render(request, "agencies/review_queue.html", {
        "agencies": selectors.agency_review_queue(), "counts": selectors.regulator_desk_counts(),
    })


@login_required
@require_GET
def review_all(request):
    _require_regulator(request)
    status = request.GET.get("status", "")
    q = (request.GET.get("q") or "").strip()[:100]
    page = Paginator(selectors.agency_regulator_list(status=status, q=q), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "agencies/review_all.html", {
        "page_obj": page, "status": status, "q": q, "statuses": AgencyStatus.choices,
        "querystring": urlencode({k: v for k, v in (("status", status), ("q", q)) if v}),
    })


@login_required
@require_http_methods(["GET", "POST"])
def review_detail(request, pk: int):
    _require_regulator(request)
    agency = selectors.agency_private_get(pk=pk)
    if agency is None:
        raise Http404
    action = _post_action(request)
    review_form = forms.ReviewForm(request.POST if action == "review" else None)
    status_form = forms.StatusForm(request.POST if action in ("suspend", "reinstate") else None)
    if action == "review" and review_form.is_valid():
        try:
            services.agency_review(actor=request.user, agency=agency, decision=review_form.cleaned_data["decision"],
                                   comment=review_form.cleaned_data["comment"])
        except ValidationError as exc:
            apply_errors(review_form, exc)
        else:
            messages.success(request, _("Decision saved."))
            return redirect("agencies:review-queue")
    elif action in ("suspend", "reinstate") and status_form.is_valid():
        to = AgencyStatus.SUSPENDED if action == "suspend" else AgencyStatus.ACTIVE
        try:
            services.agency_transition(agency=agency, to=to, actor=request.user, comment=status_form.cleaned_data["reason"])
        except ValidationError as exc:
            apply_errors(status_form, exc, rename={"comment": "reason"})
        else:
            messages.success(request, _("The agency is now “%(status)s”.") % {"status": AgencyStatus(to).label})
            return redirect("agencies:review-detail", pk=agency.pk)
    elif action and action not in ("review", "suspend", "reinstate"):
        raise Http404
    today = timezone.localdate()
    return render(request, "agencies/review_detail.html", {
        "agency": agency, "review_form": review_form, "status_form": status_form, "today": today,
        "gaps": selectors.qualification_gaps(agency=agency, today=today),
        "staff": selectors.agency_staff(agency=agency),
    }, status=_status([review_form, status_form]))


@login_required
@require_GET
def objections(request):
    _require_regulator(request)
    return render(request, "agencies/objections.html", {"objections": selectors.objections_open(), "now": timezone.now()})


@login_required
@require_http_methods(["GET", "POST"])
def objection_rule(request, pk: int):
    _require_regulator(request)
    objection = get_object_or_404(PublicityObjection.objects.select_related("agency", "agency__organization"), pk=pk)
    form = forms.RulingForm(_data(request))
    if request.method == "POST" and form.is_valid():
        decision = form.cleaned_data["decision"]
        try:
            services.objection_rule(actor=request.user, objection=objection, upheld=decision != "dismiss",
                                    ruling=form.cleaned_data["ruling"],
                                    outcome=decision if decision != "dismiss" else "returned")
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Ruling saved."))
            return redirect("agencies:objections")
    return render(request, "agencies/objection_rule.html", {"objection": objection, "form": form},
                  status=_status(form))


@login_required
@require_http_methods(["GET", "POST"])
def calendar(request):
    """Regulators keep the official calendar: public holidays on weekdays and adjusted workdays."""
    _require_regulator(request)
    action = _post_action(request)
    day_form = forms.CalendarDayForm(request.POST if action == "day" else None)
    year_form = forms.HolidayYearForm(request.POST if action in ("year", "unyear") else None)
    try:
        if action == "day" and day_form.is_valid():
            calendar_services.calendar_day_set(actor=request.user, **day_form.cleaned_data)
            messages.success(request, _("Calendar day saved."))
            return redirect(f"{reverse('agencies:calendar')}?year={day_form.cleaned_data['day'].year}")
        if action == "delete":
            try:
                day = dt.date.fromisoformat(request.POST.get("day", ""))
            except ValueError:
                raise ValidationError(_("Enter a valid date."))
            calendar_services.calendar_day_delete(actor=request.user, day=day)
            messages.success(request, _("Calendar day removed."))
            return redirect(f"{reverse('agencies:calendar')}?year={day.year}")
        if action in ("year", "unyear") and year_form.is_valid():
            year = year_form.cleaned_data["year"]
            if action == "year":
                calendar_services.holiday_year_confirm(actor=request.user, year=year)
                messages.success(request, _("%(year)s is marked as entered.") % {"year": year})
            else:
                calendar_services.holiday_year_withdraw(actor=request.user, year=year)
                messages.success(request, _("%(year)s is no longer marked as entered.") % {"year": year})
            return redirect(f"{reverse('agencies:calendar')}?year={year}")
    except ValidationError as exc:
        target = year_form if action in ("year", "unyear") else day_form
        if action == "delete":
            messages.error(request, " ".join(exc.messages))
        else:
            apply_errors(target, exc, rename={"day": "day"})
    if action and action not in ("day", "delete", "year", "unyear"):
        raise Http404
    try:
        year = int(request.GET.get("year") or timezone.localdate().year)
    except ValueError:
        year = timezone.localdate().year
    return render(request, "agencies/calendar.html", {
        "year": year, "days": CalendarDay.objects.filter(date__year=year).order_by("date"),
        "years": HolidayYear.objects.order_by("-year"), "missing": years_missing_holidays(),
        "day_form": day_form, "year_form": year_form,
        "year_entered": HolidayYear.objects.filter(year=year).exists(),
    }, status=_status([day_form, year_form]))

