"""One breach, limited everywhere: every URL pattern and API route that lets an agency act refuses
a banned agency, with the reason.

The route table below must name every URL pattern of the site (agency-acting, exempt with a reason,
or not an agency's act). A new path fails `test_every_route_is_classified` until someone decides
which it is; an agency-acting path is then exercised by `test_banned_agency_is_refused_on_every_agency_route`
with a payload that succeeds for an agency in good standing (the control), so the check cannot be
forgotten or passed vacuously."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from agencies.models import Agency, AgencyStatus
from bids import services as bid_services
from credit import services as credit_services
from credit.models import BreachRule
from market.accounts.models import Organization
from market.requests.models import RequestStatus
from tests.factories import make_regulator, make_user, next_uscc, org_admin
from tests.request_factories import active_agency, agency_admin, freeze, published_request

pytestmark = pytest.mark.django_db

# --- the route table -------------------------------------------------------------------------------

# Routes by which an agency acts in the market: each must refuse a banned agency.
AGENCY_ROUTES = {
    "bids:bid-submit", "bids_api:request-bids", "bids:bid-change", "bids_api:bid-detail",
    "requests:question-ask", "bids_api:request-questions", "bids:objection-lodge", "bids_api:request-objections",
    "contracts:confirm", "api:contract-confirm",
    "agencies:register", "agencies_api:agency-list", "agencies:register-step", "agencies_api:agency-detail",
    "agencies_api:agency-submit", "agencies:staff", "agencies_api:qualification-list", "agencies_api:licence-file-list",
    "organization-members",
}
# Routes an agency uses that stay open to a banned one, and why.
EXEMPT = {
    "bids:bid-withdraw": "withdrawing a bid takes the agency out of a competition",
    "agencies:withdraw": "withdrawing the registration takes the agency off the platform",
    "agencies_api:agency-withdraw": "as above, through the API",
    "credit:appeal-new": "the appeal is the way out of a wrong ban",
    "credit:repair-new": "credit repair is the way out of a ban",
    "credit_api:breach-appeal": "the appeal, through the API",
    "contracts:refuse": "declining a contract creates no business",
    "api:contract-refuse": "as above, through the API",
    "contracts:delivery-create": "delivering on a contract signed before the ban protects the owner",
    "api:contract-deliveries": "as above, through the API",
    "api:contract-extensions": "asking for time on an existing contract protects the owner",
    "contracts:extension-create": "as above, through the pages",
    "contracts:deliverable-file": "reading a delivered file",
    "api:contract-file": "reading a delivered file through the API",
    "supervision:complaint-new": "anyone signed in may complain",
    "supervision_api:complaints": "as above, through the API",
    "agencies:invitation-accept": "a person joining an agency's staff acts for no agency yet",
    "agencies:file": "reading the agency's own files",
    "agencies_api:qualification-file": "reading a certificate scan",
    "agencies_api:licence-file": "reading a licence file",
    "agencies:desk": "the agency's own desk (shows the ban)",
}
# Everything else: public pages, owners', regulators' and everyone's own account pages.
NOT_AGENCY_ACTS = {
    "schema", "api-docs", "api:auth-token", "api:auth-register", "api:service-item-list", "api:service-item-detail",
    "api:ocds-releases", "api:ocds-record", "api:contract-list", "api:contract-detail", "api:contract-delivery-accept",
    "api:contract-delivery-return", "api:contract-extension-decide", "api:contract-payment", "api:stripe-webhook",
    "api:evaluation-list", "api:evaluation-summary", "agencies_api:agency-review",
    "bids_api:request-list", "bids_api:request-detail", "bids_api:request-publish", "bids_api:request-amend",
    "bids_api:request-cancel", "bids_api:request-reissue", "bids_api:request-answer", "bids_api:request-evaluators",
    "bids_api:request-scores", "bids_api:request-select", "bids_api:request-selection", "bids_api:objection-rule",
    "credit_api:standing", "credit_api:blacklist", "credit_api:breach-create", "supervision_api:plans",
    "supervision_api:plan", "agencies:directory", "agencies:detail", "agencies:publicity", "agencies:publicity-detail",
    "agencies:review-queue", "agencies:review-all", "agencies:objections", "agencies:objection-rule", "agencies:calendar",
    "agencies:review-detail", "requests:request-list", "requests:request-new", "requests:request-detail",
    "requests:request-edit", "requests:request-publish", "requests:request-amend", "requests:request-cancel",
    "requests:request-reissue", "requests:question-answer", "bids:result-detail", "bids:result-list",
    "bids:evaluators", "bids:scores", "bids:select",
    "bids:regulator-objections", "bids:objection-rule", "credit:index", "credit:blacklist-csv", "credit:redlist-csv",
    "credit:breach-new", "credit:breach", "credit:appeal-decide", "credit:repair-decide", "search:search",
    "supervision:dashboard", "supervision:figure-csv", "supervision:warnings", "supervision:warnings-refresh",
    "supervision:warning", "supervision:warning-dismiss", "supervision:warning-escalate", "supervision:complaint-queue",
    "supervision:complaint-handle", "supervision:plan-new", "supervision:plan-publish", "supervision:plan-draw",
    "supervision:inspection-result", "supervision:complaints", "supervision:plans", "supervision:plan",
    "supervision:plan-json", "supervision:complaint-mine", "notifications:inbox", "notifications:inbox-open",
    "notifications:inbox-read", "notifications:preferences", "signup", "login", "logout", "password_reset",
    "password_reset_done", "password_reset_confirm", "password_reset_complete", "dashboard", "organization-new",
    "organization-detail", "regulator-verifications", "regulator-verify", "regulator-new",
    "healthz", "healthz-db", "contracts:list", "contracts:detail", "contracts:for-request", "contracts:terms",
    "contracts:delivery-review", "set_language", "contracts:cancel", "contracts:close", "contracts:evaluation-create",
    "contracts:evaluation-hide", "contracts:extension-decide", "contracts:new-round", "contracts:pay",
    "contracts:payment-refund", "contracts:payment-sync", "contracts:runner-up",
}
SKIPPED_PREFIXES = ("admin/", "django-admin/", "documents/", "__debug__")  # Wagtail/Django admin: see test_admin below


def _route_names() -> set[str]:
    names: set[str] = set()

    def walk(resolver, prefix="", namespace=""):
        for p in resolver.url_patterns:
            if isinstance(p, URLResolver):
                if str(p.pattern).startswith(SKIPPED_PREFIXES) or (prefix + str(p.pattern)).startswith(SKIPPED_PREFIXES):
                    continue
                ns = f"{namespace}:{p.namespace}".strip(":") if p.namespace else namespace
                walk(p, prefix + str(p.pattern), ns)
            elif isinstance(p, URLPattern) and p.name:
                if (prefix + str(p.pattern)).startswith(SKIPPED_PREFIXES) or str(p.pattern).startswith("^"):
                    continue  # Wagtail's page-serving catch-all
                if not p.name.startswith("wagtail"):  # Wagtail's own page-serving routes (password-protected pages)
                    names.add(f"{namespace}:{p.name}" if namespace else p.name)

    walk(get_resolver())
    return names


def test_every_route_is_classified():
    unclassified = _route_names() - AGENCY_ROUTES - set(EXEMPT) - NOT_AGENCY_ACTS
    assert not unclassified, f"classify these routes for the black-list rule: {sorted(unclassified)}"


# Calls that change an agency's people or registration: a view that makes one is an agency act.
AGENCY_PEOPLE_CALLS = ("membership_add", "membership_remove", "invitation_create", "invitation_revoke",
                       "staff_role_set", "staff_remove", "_agency_members", "agency_update", "agency_submit",
                       "qualification_add", "licence_file_add", "practitioner_")


def _views_by_route() -> dict[str, object]:
    views: dict[str, object] = {}

    def walk(resolver, prefix="", namespace=""):
        for p in resolver.url_patterns:
            if isinstance(p, URLResolver):
                if (prefix + str(p.pattern)).startswith(SKIPPED_PREFIXES):
                    continue
                ns = f"{namespace}:{p.namespace}".strip(":") if p.namespace else namespace
                walk(p, prefix + str(p.pattern), ns)
            elif isinstance(p, URLPattern) and p.name:
                views[f"{namespace}:{p.name}" if namespace else p.name] = p.callback

    walk(get_resolver())
    return views


def _source_of(callback) -> str:
    import inspect

    target = getattr(callback, "view_class", None) or getattr(callback, "cls", None) or inspect.unwrap(callback)
    try:
        return inspect.getsource(target)
    except (OSError, TypeError):
        return ""


def test_routes_that_change_an_agencys_people_or_registration_are_agency_acts():
    """The route table cannot call such a route "not an agency act": a view whose code changes an
    agency's members, invitations or registration must be checked against the black list (or be
    exempt with a reason)."""
    views = _views_by_route()
    wrong = sorted(name for name in NOT_AGENCY_ACTS if name in views
                   and any(call in _source_of(views[name]) for call in AGENCY_PEOPLE_CALLS))
    assert not wrong, f"these routes change an agency's people or registration but are not agency acts: {wrong}"
    for name in ("organization-members", "agencies:staff"):
        assert name in AGENCY_ROUTES


def test_an_agency_takes_on_people_only_by_invitation(client, world):
    """The agency's administrator names an existing account: an invitation goes to its e-mail address,
    and the account is a member only once it accepts."""
    from django.core import mail

    from agencies import services as agency_services
    from agencies.models import AgencyInvitation
    from market.accounts.models import Membership

    before = Membership.objects.filter(organization=world.agency.organization).count()
    response = _cases()["organization-members"](client, world)
    assert response.status_code == 302 and response["Location"].endswith(f"/agencies/{world.agency.pk}/staff/")
    assert Membership.objects.filter(organization=world.agency.organization).count() == before
    invitation = AgencyInvitation.objects.get(agency=world.agency, email=world.newcomer.email)
    assert any(world.newcomer.email in m.to for m in mail.outbox)
    agency_services.invitation_accept(user=world.newcomer, token=agency_services.invitation_token(invitation))
    assert Membership.objects.filter(organization=world.agency.organization, user=world.newcomer).exists()


def test_the_membership_service_refuses_to_add_people_to_an_agency_directly(world):
    from django.core.exceptions import ValidationError

    from market.accounts import services as market_services

    with pytest.raises(ValidationError) as exc:
        market_services.membership_add(actor=world.user, organization=world.agency.organization, user=world.newcomer,
                                       role="staff")
    assert exc.value.error_dict["user"][0].code == "invitation_required"


# --- the world each route is tried in -----------------------------------------------------------------------------


def _ban(agency: Agency) -> None:
    credit_services.breach_record(actor=make_regulator(), agency=agency, rule=BreachRule.objects.get(code="COLLUSION"),
                                  evidence="与其他机构串通报价")


class World:
    """An open request, a request in result publicity, an agency with a bid on each, a contract to sign."""

    def __init__(self):
        far = timezone.now() + dt.timedelta(days=60)  # stays open while the other requests run their course
        self.open_request = published_request(bid_deadline=far, selection_time=far)
        item = self.open_request.service_item
        self.agency = active_agency(item=item)
        self.user = agency_admin(self.agency)
        self.open_bid = bid_services.bid_submit(actor=self.user, request=self.open_request, agency=self.agency,
                                                price_fen=5_000_000)
        # A contract it won, waiting for its signature …
        self.contract_request = published_request(item=item, selection_method="lowest", fiscal_share=0, social_share=100)
        bid_services.bid_submit(actor=self.user, request=self.contract_request, agency=self.agency, price_fen=4_000_000)
        with freeze(self.contract_request.bid_deadline + dt.timedelta(minutes=1)):
            bid_services.selection_run(actor=None, request=self.contract_request)
        from market.contracts.services import contract_draft
        from market.core.deadlines import run_due

        self.contract_request.refresh_from_db()
        ends = self.contract_request.publicity_ends_at
        with freeze(ends):
            run_due(now=ends)
        self.contract_request.refresh_from_db()
        assert self.contract_request.status == RequestStatus.AWARDED
        self.contract = self.contract_request.contracts.first() or contract_draft(request=self.contract_request)
        self.sign_time = ends + dt.timedelta(minutes=1)
        # … and a result in publicity (later) where this agency lost: it may object.
        later = timezone.now() + dt.timedelta(days=30)
        self.result_request = published_request(item=item, selection_method="lowest", bid_deadline=later,
                                                selection_time=later)
        others = [active_agency(item=item) for _ in range(3)]
        for a, p in zip(others, [1_000_000, 2_000_000, 3_000_000]):
            bid_services.bid_submit(actor=agency_admin(a), request=self.result_request, agency=a, price_fen=p)
        self.losing_bid = bid_services.bid_submit(actor=self.user, request=self.result_request, agency=self.agency,
                                                  price_fen=9_000_000)
        with freeze(later + dt.timedelta(minutes=1)):
            bid_services.selection_run(actor=None, request=self.result_request)
        self.result_request.refresh_from_db()
        assert self.result_request.status == RequestStatus.PUBLICITY
        self.objection_time = self.result_request.publicity_ends_at - dt.timedelta(minutes=1)
        # A second registration the same person administers, complete and still a draft.
        from tests.factories import make_agency

        self.draft = make_agency(status="draft", admin=self.user, service_items=[item])


def _web(client, user, method, url, data=None, at=None):
    if at is not None:
        with freeze(at):  # log in at the moved time too (sessions last 12 hours)
            client.force_login(user)
            return getattr(client, method)(url, data or {})
    client.force_login(user)
    return getattr(client, method)(url, data or {})


def _api(user, method, url, data=None, at=None, fmt="json"):
    api = APIClient()
    api.force_authenticate(user)
    call = getattr(api, method)
    if at is not None:
        with freeze(at):
            return call(url, data or {}, format=fmt)
    return call(url, data or {}, format=fmt)


def _new_uscc_payload(world, uscc):
    return {"name": "重新入驻的中介", "uscc": uscc, "agency_type": "company", "region": "440106",
            "address": "广州市天河区1号", "legal_representative": "李四", "contact_name": "李四",
            "contact_phone": "13900000000"}


def _withdraw_for_reregistration(world) -> str:
    """The banned agency withdraws; the same USCC then tries to register again."""
    Agency.objects.filter(pk=world.agency.pk).update(status=AgencyStatus.WITHDRAWN)
    return world.agency.organization.uscc


# route → (who acts, how); each returns the response. `target(world)` names the banned agency.
def _cases():
    return {
        "bids:bid-submit": lambda c, w: _web(c, agency_admin(w.twin), "post", f"/requests/{w.open_request.pk}/bid/",
                                             {"bid-agency": str(w.twin.pk), "bid-price_fen": "30000"}),
        "bids_api:request-bids": lambda c, w: _api(agency_admin(w.twin), "post",
                                                   f"/api/v1/requests/{w.open_request.pk}/bids/", {"price_fen": 3_000_000}),
        "bids:bid-change": lambda c, w: _web(c, w.user, "post", f"/bids/{w.open_bid.pk}/change/",
                                             {"change-price_fen": "45000"}),
        "bids_api:bid-detail": lambda c, w: _api(w.user, "patch", f"/api/v1/bids/{w.open_bid.pk}/", {"price_fen": 4_500_000}),
        "requests:question-ask": lambda c, w: _web(c, w.user, "post", f"/requests/{w.open_request.pk}/questions/",
                                                   {"ask-organization": str(w.agency.organization_id),
                                                    "ask-question": "成果是否需要纸质版？"}),
        "bids_api:request-questions": lambda c, w: _api(w.user, "post", f"/api/v1/requests/{w.open_request.pk}/questions/",
                                                        {"question": "成果是否需要纸质版？",
                                                         "organization": w.agency.organization_id}),
        "bids:objection-lodge": lambda c, w: _web(c, w.user, "post", f"/requests/{w.result_request.pk}/objections/",
                                                  {"objection-bid": str(w.losing_bid.pk), "objection-reason": "中选价格异常"},
                                                  at=w.objection_time),
        "bids_api:request-objections": lambda c, w: _api(w.user, "post", f"/api/v1/requests/{w.result_request.pk}/objections/",
                                                         {"bid": w.losing_bid.pk, "reason": "中选价格异常"}, at=w.objection_time),
        "contracts:confirm": lambda c, w: _web(c, w.user, "post", f"/contracts/{w.contract.pk}/confirm/", {}, at=w.sign_time),
        "api:contract-confirm": lambda c, w: _api(w.user, "post", f"/api/v1/contracts/{w.contract.pk}/confirm/", {},
                                                  at=w.sign_time),
        "agencies:register": lambda c, w: _web(c, w.user, "post", "/agencies/register/",
                                               _new_uscc_payload(w, _withdraw_for_reregistration(w))),
        "agencies_api:agency-list": lambda c, w: _api(w.user, "post", "/api/v1/agencies/",
                                                      _new_uscc_payload(w, _withdraw_for_reregistration(w))),
        "agencies:register-step": lambda c, w: _web(c, w.user, "post", f"/agencies/register/{w.draft.pk}/practitioners/",
                                                    {"name": "王五", "title": "工程师", "certificate_number": "P-1"}),
        "agencies_api:agency-detail": lambda c, w: _api(w.user, "patch", f"/api/v1/agencies/{w.draft.pk}/",
                                                        {"introduction": "更新简介"}),
        "agencies_api:agency-submit": lambda c, w: _api(w.user, "post", f"/api/v1/agencies/{w.draft.pk}/submit/", {}),
        "organization-members": lambda c, w: _web(c, w.user, "post",
                                                  f"/accounts/organizations/{w.agency.organization_id}/members/",
                                                  {"username": w.newcomer.username, "role": "staff"}),
        "agencies:staff": lambda c, w: _web(c, w.user, "post", f"/agencies/{w.agency.pk}/staff/",
                                            {"email": "new.staff@example.com", "role": "staff"}),
        "agencies_api:qualification-list": lambda c, w: _api(w.user, "post", f"/api/v1/agencies/{w.agency.pk}/qualifications/", {
            "qualification_type": w.open_request.service_item.qualification_types.first().code,
            "certificate_number": "NEW-1", "level": "甲级", "issuer": "广东省自然资源厅",
            "valid_from": "2026-01-01", "valid_to": "2028-01-01"}),
        "agencies_api:licence-file-list": lambda c, w: _api(w.user, "post", f"/api/v1/agencies/{w.draft.pk}/licence-files/", {
            "kind": "other", "file": _pdf()}, fmt="multipart"),
    }


def _pdf():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("licence.pdf", b"%PDF-1.4\n%%EOF\n", content_type="application/pdf")


REFUSAL_WORDS = ("黑名单", "black list")


@pytest.fixture
def world(settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "private": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                                          "OPTIONS": {"location": str(tmp_path)}}}
    w = World()
    w.twin = active_agency(item=w.open_request.service_item)  # bids through w.twin when the route creates a bid
    w.newcomer = make_user("newcomer")  # an existing account an agency tries to take on
    return w


def test_route_table_and_cases_agree():
    assert set(_cases()) == AGENCY_ROUTES


@pytest.mark.parametrize("route", sorted(AGENCY_ROUTES))
def test_banned_agency_is_refused_on_every_agency_route(route, client, world):
    for agency in (world.agency, world.twin, world.draft):
        _ban(agency)
    response = _cases()[route](client, world)
    body = response.content.decode()
    assert response.status_code in (400, 403, 409), (route, response.status_code, body[:300])
    assert any(word in body for word in REFUSAL_WORDS), (route, body[:500])


@pytest.mark.parametrize("route", sorted(AGENCY_ROUTES - {"agencies:register", "agencies_api:agency-list"}))
def test_the_same_requests_succeed_for_an_agency_in_good_standing(route, client, world):
    """The control: the payloads above are valid, so the refusals are the ban's doing."""
    response = _cases()[route](client, world)
    assert response.status_code < 400, (route, response.status_code, response.content.decode()[:500])


def test_reregistration_of_a_withdrawn_agency_in_good_standing_succeeds(client, world):
    response = _cases()["agencies_api:agency-list"](client, world)
    assert response.status_code == 201, response.content.decode()[:500]


def test_ban_ends_at_its_date_and_the_agency_may_bid_again(world):
    _ban(world.twin)
    breach = world.twin.breaches.get()
    # Shorten the ban so it ends before the deadline: refused a second before, accepted from that instant.
    ends = world.open_request.bid_deadline - dt.timedelta(minutes=1)
    type(breach).objects.filter(pk=breach.pk).update(ban_until=ends)
    refused = _api(agency_admin(world.twin), "post", f"/api/v1/requests/{world.open_request.pk}/bids/",
                   {"price_fen": 3_000_000}, at=ends - dt.timedelta(seconds=1))
    assert refused.status_code == 403 and refused.json()["code"] == "banned"
    response = _api(agency_admin(world.twin), "post", f"/api/v1/requests/{world.open_request.pk}/bids/",
                    {"price_fen": 3_000_000}, at=ends)
    assert response.status_code == 201


def test_admin_cannot_activate_a_banned_registration(world):
    """The admin path: a regulator (or the superuser in the Django admin) moving a banned agency back
    to active goes through agency_transition, which refuses."""
    from django.core.exceptions import PermissionDenied

    from agencies.services import agency_transition

    _ban(world.agency)
    Agency.objects.filter(pk=world.agency.pk).update(status=AgencyStatus.SUSPENDED, status_reason="调查中")
    with pytest.raises(PermissionDenied) as exc:
        agency_transition(agency=world.agency, to=AgencyStatus.ACTIVE, actor=make_regulator(), comment="恢复")
    assert any(word in str(exc.value) for word in REFUSAL_WORDS)
