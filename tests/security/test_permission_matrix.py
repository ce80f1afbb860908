"""Who may do what: every write route of the API against every role (anonymous, another agency,
another owner, the right agency's staff, the right owner's staff, a regulator). Exactly the roles in
ALLOWED succeed; every other role gets a 4xx and changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from rest_framework.test import APIClient

from bids import services as bid_services
from bids.models import Bid, ResultObjection
from market.requests import services as request_services
from market.accounts import services
from market.accounts.models import Membership
from market.requests.models import RequestQuestion
from tests.factories import make_owner, make_regulator, make_user, org_admin
from tests.request_factories import (active_agency, agency_admin, agency_member_add, freeze, item_with_qualification,
                                     published_request)

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "other_agency", "other_owner", "agency_staff", "owner_staff", "regulator"]


class World:
    def __init__(self):
        item = item_with_qualification()
        self.owner = make_owner(verified=True)
        self.owner_staff = make_user()
        services.membership_add(actor=org_admin(self.owner), organization=self.owner, user=self.owner_staff, role="staff")
        self.agency = active_agency(item=item)
        self.agency_staff = make_user()
        agency_member_add(self.agency, self.agency_staff)
        self.other_agency = agency_admin(active_agency(item=item))
        self.other_owner = org_admin(make_owner(verified=True))
        self.regulator = make_regulator()
        self.request = published_request(owner=self.owner, item=item)
        self.bid = bid_services.bid_submit(actor=agency_admin(self.agency), request=self.request, agency=self.agency,
                                           price_fen=5_000_000)
        self.question = request_services.question_ask(actor=agency_admin(self.agency), request=self.request,
                                                      organization=self.agency.organization, question="是否需要现场踏勘？")
        self.draft = request_services.request_create(
            actor=org_admin(self.owner), owner=self.owner, required_qualifications=[],
            **{k: v for k, v in __import__("tests.request_factories", fromlist=["x"]).request_fields(item).items()})
        # A result in publicity with an open objection, for the regulator's ruling.
        self.selected = published_request(owner=self.owner, item=item, fiscal_share=0, social_share=100)
        win = bid_services.bid_submit(actor=agency_admin(self.agency), request=self.selected, agency=self.agency,
                                      price_fen=3_000_000)
        loser_agency = active_agency(item=item)
        loser = bid_services.bid_submit(actor=agency_admin(loser_agency), request=self.selected, agency=loser_agency,
                                        price_fen=4_000_000)
        self.after = self.selected.bid_deadline + dt.timedelta(minutes=1)
        with freeze(self.after):
            bid_services.selection_run(actor=None, request=self.selected)
            self.objection = bid_services.objection_lodge(actor=agency_admin(loser_agency), request=self.selected,
                                                          bid=loser, reason="中选机构业绩不实")
        assert win.pk

    def user(self, role):
        return {"anonymous": None, "other_agency": self.other_agency, "other_owner": self.other_owner,
                "agency_staff": self.agency_staff, "owner_staff": self.owner_staff, "regulator": self.regulator}[role]


def _call(user, method, url, data=None, at=None):
    api = APIClient()
    if user is not None:
        api.force_authenticate(user)
    if at is not None:
        with freeze(at):
            return getattr(api, method)(url, data or {}, format="json")
    return getattr(api, method)(url, data or {}, format="json")


# route: (allowed roles, how to call it, how to see that nothing changed)
ROUTES = {
    "draft a request": ({"owner_staff"}, lambda w, u: _call(u, "post", "/api/v1/requests/", {
        "owner": w.owner.pk, "project_name": "矩阵测试项目", "service_item": w.request.service_item.code,
        "fiscal_share": 100, "budget_fen": 1_000_000, "service_term_days": 10, "selection_method": "random",
        "bid_deadline": (w.request.bid_deadline + dt.timedelta(days=1)).isoformat(), "contact_name": "张三",
        "contact_phone": "1"}), lambda w: not type(w.request).objects.filter(project_name="矩阵测试项目").exists()),
    "publish a draft": ({"owner_staff"}, lambda w, u: _call(u, "post", f"/api/v1/requests/{w.draft.pk}/publish/"),
                        lambda w: type(w.draft).objects.get(pk=w.draft.pk).status == "draft"),
    "cancel a request": ({"owner_staff"}, lambda w, u: _call(u, "post", f"/api/v1/requests/{w.request.pk}/cancel/",
                                                             {"reason": "项目取消"}),
                         lambda w: type(w.request).objects.get(pk=w.request.pk).status == "published"),
    "answer a question": ({"owner_staff"}, lambda w, u: _call(
        u, "post", f"/api/v1/requests/{w.request.pk}/questions/{w.question.pk}/answer/", {"answer": "需要"}),
        lambda w: RequestQuestion.objects.get(pk=w.question.pk).answer == ""),
    "change a bid": ({"agency_staff"}, lambda w, u: _call(u, "patch", f"/api/v1/bids/{w.bid.pk}/", {"price_fen": 4_000_000}),
                     lambda w: Bid.objects.get(pk=w.bid.pk).price_fen == 5_000_000),
    "withdraw a bid": ({"agency_staff"}, lambda w, u: _call(u, "delete", f"/api/v1/bids/{w.bid.pk}/"),
                       lambda w: Bid.objects.get(pk=w.bid.pk).status == "active"),
    "run the selection": ({"owner_staff"}, lambda w, u: _call(u, "post", f"/api/v1/requests/{w.request.pk}/select/",
                                                              at=w.request.bid_deadline + dt.timedelta(minutes=1)),
                          lambda w: not w.request.selection_runs.exists()),
    "record a breach": ({"regulator"}, lambda w, u: _call(u, "post", "/api/v1/credit/breaches/", {
        "agency": w.agency.pk, "rule": "OVERCHARGE", "evidence": "超标准收费"}), lambda w: not w.agency.breaches.exists()),
    "rule on an objection": ({"regulator"}, lambda w, u: _call(u, "post", f"/api/v1/objections/{w.objection.pk}/rule/",
                                                               {"decision": "dismiss", "ruling": "理由不成立"}, at=w.after),
                             lambda w: ResultObjection.objects.get(pk=w.objection.pk).status == "open"),
}


@pytest.fixture
def world():
    return World()


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", sorted(ROUTES))
def test_permission_matrix(world, route, role):
    allowed, call, unchanged = ROUTES[route]
    response = call(world, world.user(role))
    if role in allowed:
        assert response.status_code < 300, (route, role, response.status_code, response.content[:300])
    else:
        assert 400 <= response.status_code < 500, (route, role, response.status_code, response.content[:300])
        assert unchanged(world), (route, role, "state changed")


def test_staff_roles_are_memberships():
    world = World()
    assert Membership.objects.get(user=world.owner_staff).role == "staff"
    assert Membership.objects.get(user=world.agency_staff).role == "staff"
