"""The registration state machine: every legal move, every illegal one, who may make each."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from agencies import services
from agencies.models import Agency, AgencyStatus, PublicityObjection
from market.core.models import AuditEvent
from market.accounts.models import Membership, Organization
from tests.factories import agency_admin, make_agency, make_regulator, make_user, next_uscc, region
from tests.request_factories import agency_member_add

pytestmark = pytest.mark.django_db
S = AgencyStatus
ALL = list(S.values)
LEGAL = set(services.TRANSITIONS)


def _actor_for(agency, to, regulator):
    move = services.TRANSITIONS[(agency.status, to)]
    if services.ADMIN in move.by or services.MEMBER in move.by:
        return agency_admin(agency)
    if services.REGULATOR in move.by:
        return regulator
    return None


def _prepare(agency, to, regulator):
    """Meet the guards of a legal move, as the real world would."""
    if agency.status == S.PUBLICITY and to == S.ACTIVE:
        Agency.objects.filter(pk=agency.pk).update(publicity_ends_at=timezone.now() - dt.timedelta(seconds=1))
    if agency.status == S.PUBLICITY and to in (S.RETURNED, S.REJECTED):
        objection = services.objection_lodge(agency=agency, contact_name="路人", reason="材料造假")
        PublicityObjection.objects.filter(pk=objection.pk).update(status=PublicityObjection.Status.UPHELD)


@pytest.mark.parametrize("frm,to", sorted(LEGAL))
def test_every_legal_transition_moves_and_is_audited(frm, to):
    regulator = make_regulator()
    agency = make_agency(status=frm)
    _prepare(agency, to, regulator)
    actor = _actor_for(agency, to, regulator)
    services.agency_transition(agency=agency, to=to, actor=actor, comment="理由说明")
    agency.refresh_from_db()
    assert agency.status == to
    verb = services.TRANSITIONS[(frm, to)].verb
    assert AuditEvent.objects.filter(action=f"agency.{verb}", object_id=str(agency.pk)).exists()


@pytest.mark.parametrize("frm", ALL)
def test_every_illegal_transition_is_refused_with_a_clear_message(frm):
    regulator = make_regulator()
    agency = make_agency(status=frm)
    for to in ALL:
        if (frm, to) in LEGAL:
            continue
        with pytest.raises(ValidationError) as err:
            services.agency_transition(agency=agency, to=to, actor=regulator, comment="试试")
        assert "cannot become" in str(err.value)
        agency.refresh_from_db()
        assert agency.status == frm


def test_unknown_status_is_refused():
    agency = make_agency(status="draft")
    with pytest.raises(ValidationError):
        services.agency_transition(agency=agency, to="flying", actor=agency_admin(agency))


def test_terminal_statuses_have_no_way_out():
    for status in (S.REJECTED, S.WITHDRAWN):
        assert not [to for (frm, to) in LEGAL if frm == status]


def test_agency_cannot_approve_its_own_registration():
    agency = make_agency(status="submitted")
    with pytest.raises(PermissionDenied):
        services.agency_transition(agency=agency, to=S.PUBLICITY, actor=agency_admin(agency))
    agency.refresh_from_db()
    assert agency.status == S.SUBMITTED


def test_regulator_cannot_submit_for_the_agency():
    agency = make_agency(status="draft")
    with pytest.raises(PermissionDenied):
        services.agency_transition(agency=agency, to=S.SUBMITTED, actor=make_regulator())


def test_another_agencys_admin_cannot_submit_or_withdraw():
    agency, other = make_agency(status="draft"), make_agency(status="draft")
    for to in (S.SUBMITTED, S.WITHDRAWN):
        with pytest.raises(PermissionDenied):
            services.agency_transition(agency=agency, to=to, actor=agency_admin(other))


def test_staff_may_submit_but_only_an_admin_may_withdraw():
    agency = make_agency(status="draft")
    staff = make_user()
    agency_member_add(agency, staff, actor=agency_admin(agency))
    with pytest.raises(PermissionDenied):
        services.agency_transition(agency=agency, to=S.WITHDRAWN, actor=staff)
    services.agency_transition(agency=agency, to=S.SUBMITTED, actor=staff)
    assert agency.status == S.SUBMITTED


def test_the_system_cannot_suspend_without_a_regulator():
    agency = make_agency(status="active")
    with pytest.raises(PermissionDenied):
        services.agency_transition(agency=agency, to=S.SUSPENDED, actor=None, comment="自动")


@pytest.mark.parametrize("frm,to", [("submitted", "returned"), ("submitted", "rejected"), ("active", "suspended"),
                                     ("active", "banned")])
def test_moves_that_need_a_reason_refuse_an_empty_one(frm, to):
    agency = make_agency(status=frm)
    with pytest.raises(ValidationError) as err:
        services.agency_transition(agency=agency, to=to, actor=make_regulator(), comment="  ")
    assert "comment" in err.value.message_dict
    agency.refresh_from_db()
    assert agency.status == frm


def test_incomplete_draft_cannot_be_submitted():
    admin = make_user()
    agency = services.agency_register(actor=admin, name="空壳中介有限公司", uscc=next_uscc(), region=region())
    with pytest.raises(ValidationError) as err:
        services.agency_transition(agency=agency, to=S.SUBMITTED, actor=admin)
    message = str(err.value)
    assert "legal representative" in message and "business licence" in message and "service item" in message


def test_publicity_cannot_end_early():
    agency = make_agency(status="publicity")
    with pytest.raises(ValidationError) as err:
        services.agency_transition(agency=agency, to=S.ACTIVE, actor=None)
    assert "not ended" in str(err.value)


def test_during_publicity_a_regulator_returns_only_by_upholding_an_objection():
    agency = make_agency(status="publicity")
    with pytest.raises(ValidationError):
        services.agency_transition(agency=agency, to=S.RETURNED, actor=make_regulator(), comment="直接退回")


def test_a_ban_on_a_never_active_registration_cannot_be_lifted_to_active():
    agency = make_agency(status="submitted")
    services.agency_transition(agency=agency, to=S.BANNED, actor=None, comment="信用惩戒")
    with pytest.raises(ValidationError):
        services.agency_transition(agency=agency, to=S.ACTIVE, actor=None)


def test_approval_starts_publicity_and_activation_verifies_the_organization():
    agency = make_agency(status="submitted")
    services.agency_transition(agency=agency, to=S.PUBLICITY, actor=make_regulator(), comment="同意")
    agency.refresh_from_db()
    assert agency.publicity_started_at and agency.publicity_ends_at > agency.publicity_started_at
    assert agency.review_comment == "同意"
    Agency.objects.filter(pk=agency.pk).update(publicity_ends_at=timezone.now())
    services.agency_transition(agency=agency, to=S.ACTIVE, actor=None)
    agency.refresh_from_db()
    assert agency.activated_at is not None
    assert agency.organization.status == Organization.Status.VERIFIED


def test_status_change_signal_is_sent():
    from agencies.signals import agency_status_changed

    seen = []

    def receiver(sender, agency, old_status, new_status, **kwargs):
        seen.append((old_status, new_status))

    agency_status_changed.connect(receiver)
    try:
        agency = make_agency(status="active")
        services.agency_transition(agency=agency, to=S.SUSPENDED, actor=make_regulator(), comment="调查")
    finally:
        agency_status_changed.disconnect(receiver)
    assert seen[-1] == (S.ACTIVE, S.SUSPENDED)
