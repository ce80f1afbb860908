"""The complaint workflow: legal and illegal transitions, deadlines on working days, the audit,
and a public list without personal data."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from market.core.models import AuditEvent
from market.calendar.workdays import add_working_days
from supervision import services
from supervision.models import Complaint, ComplaintOutcome, ComplaintStatus, SubjectType
from tests.factories import make_owner, make_regulator, make_user

from .helpers import active_agency, published_request

pytestmark = pytest.mark.django_db
S = ComplaintStatus


def lodge(user=None, **kw):
    agency = kw.pop("agency", None) or active_agency()
    return services.complaint_lodge(actor=user or make_user(first_name="小明", last_name="李"),
                                    subject_type=SubjectType.AGENCY, agency=agency,
                                    grounds="该机构在服务中超标准收取费用，并拒绝出具正式发票。", contact_phone="13912345678", **kw)


def move(complaint, to, regulator=None, **kw):
    return services.complaint_transition(actor=regulator or make_regulator(), complaint=complaint, to=to, **kw)


def test_a_complaint_is_received_with_a_deadline_of_five_working_days():
    complaint = lodge()
    assert complaint.status == S.RECEIVED
    assert complaint.number == f"TS{timezone.localtime(complaint.lodged_at).year}{complaint.pk:06d}"
    assert complaint.accept_by == add_working_days(complaint.lodged_at, 5)
    assert AuditEvent.objects.filter(action="complaint.lodge", object_id=str(complaint.pk)).exists()


def test_the_full_workflow_received_accepted_investigating_decided():
    regulator = make_regulator()
    complaint = lodge()
    complaint = move(complaint, S.ACCEPTED, regulator)
    assert complaint.decide_by == add_working_days(complaint.accepted_at, 30)
    complaint = move(complaint, S.INVESTIGATING, regulator)
    complaint = move(complaint, S.DECIDED, regulator, outcome=ComplaintOutcome.UPHELD,
                     text="经调查，该机构超出政府指导价收费，责令退还多收费用并记录失信行为。")
    assert complaint.status == S.DECIDED and complaint.decided_at and complaint.outcome == ComplaintOutcome.UPHELD
    actions = list(AuditEvent.objects.filter(object_type="supervision.complaint", object_id=str(complaint.pk))
                   .order_by("id").values_list("action", flat=True))
    assert actions == ["complaint.lodge", "complaint.accepted", "complaint.investigating", "complaint.decided"]


def test_a_complaint_may_be_rejected_with_a_published_reason():
    complaint = move(lodge(), S.REJECTED, text="投诉事项不属于本平台监管范围。")
    assert complaint.status == S.REJECTED and complaint.rejected_at
    with pytest.raises(ValidationError) as exc:
        move(lodge(), S.REJECTED, text="")
    assert "text" in exc.value.error_dict


@pytest.mark.parametrize("path,illegal", [
    ([], S.DECIDED),
    ([], S.INVESTIGATING),
    ([S.ACCEPTED], S.REJECTED),
    ([S.ACCEPTED], S.DECIDED),
    ([S.REJECTED], S.ACCEPTED),
    ([S.ACCEPTED, S.INVESTIGATING, S.DECIDED], S.INVESTIGATING),
    ([S.ACCEPTED, S.INVESTIGATING], S.RECEIVED),
])
def test_illegal_transitions_are_refused(path, illegal):
    regulator = make_regulator()
    complaint = lodge()
    for step in path:
        complaint = move(complaint, step, regulator, text="处理意见：依规办理。", outcome=ComplaintOutcome.NOT_UPHELD)
    with pytest.raises(ValidationError) as exc:
        move(complaint, illegal, regulator, text="处理意见：依规办理。", outcome=ComplaintOutcome.NOT_UPHELD)
    assert exc.value.code == "illegal_transition"
    complaint.refresh_from_db()
    assert complaint.status == (path[-1] if path else S.RECEIVED)


def test_only_regulators_move_complaints():
    complaint = lodge()
    with pytest.raises(PermissionDenied):
        services.complaint_transition(actor=complaint.complainant, complaint=complaint, to=S.ACCEPTED)


def test_a_decision_needs_an_outcome():
    regulator = make_regulator()
    complaint = move(move(lodge(), S.ACCEPTED, regulator), S.INVESTIGATING, regulator)
    with pytest.raises(ValidationError) as exc:
        move(complaint, S.DECIDED, regulator, text="经调查，投诉不成立。")
    assert "outcome" in exc.value.error_dict


@pytest.mark.parametrize("text", [
    "经调查，投诉人李小明反映的情况属实。",
    "请联系13912345678了解详情。",
    "投诉人邮箱 someone@example.com",
    "身份证号 44010619900101123X 的投诉人",
])
def test_a_published_decision_may_not_contain_personal_data(text):
    regulator = make_regulator()
    complaint = move(move(lodge(), S.ACCEPTED, regulator), S.INVESTIGATING, regulator)
    with pytest.raises(ValidationError) as exc:
        move(complaint, S.DECIDED, regulator, text=text, outcome=ComplaintOutcome.UPHELD)
    assert exc.value.error_dict["text"][0].code == "personal_data"


def test_complaints_about_requests_and_owners():
    request = published_request()
    by_request = services.complaint_lodge(actor=make_user(), subject_type=SubjectType.REQUEST, request=request,
                                          grounds="采购公告设置了与项目无关的地域限制条件。")
    assert by_request.subject_label == request.project_name
    owner = make_owner(verified=True)
    by_owner = services.complaint_lodge(actor=make_user(), subject_type=SubjectType.OWNER, owner=owner,
                                        grounds="项目业主无正当理由拒绝签订合同。")
    assert by_owner.owner_id == owner.pk
    with pytest.raises(ValidationError):
        services.complaint_lodge(actor=make_user(), subject_type=SubjectType.OWNER, owner=active_agency().organization,
                                 grounds="这不是一个项目业主，应当被拒绝。")


def test_lodging_needs_grounds_and_a_signed_in_user():
    with pytest.raises(ValidationError):
        services.complaint_lodge(actor=make_user(), subject_type=SubjectType.AGENCY, agency=active_agency(), grounds="短")
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(PermissionDenied):
        services.complaint_lodge(actor=AnonymousUser(), subject_type=SubjectType.AGENCY, agency=active_agency(),
                                 grounds="匿名用户不能投诉，必须先登录。")


def test_overdue_follows_the_deadlines():
    complaint = lodge()
    assert not complaint.is_overdue_at(complaint.lodged_at)
    assert complaint.is_overdue_at(complaint.accept_by)
    complaint = move(complaint, S.ACCEPTED)
    assert not complaint.is_overdue_at(complaint.accept_by + dt.timedelta(days=1))
    assert complaint.is_overdue_at(complaint.decide_by)


# --- pages ------------------------------------------------------------------------------------------------------


def test_the_public_list_shows_subject_dates_status_and_decision_but_no_personal_data(client):
    regulator = make_regulator()
    complainant = make_user(username="li_xiaoming", first_name="小明", last_name="李", email="lxm@example.com")
    complaint = lodge(complainant)
    complaint = move(complaint, S.ACCEPTED, regulator)
    complaint = move(complaint, S.INVESTIGATING, regulator)
    move(complaint, S.DECIDED, regulator, outcome=ComplaintOutcome.PARTLY_UPHELD, text="责令该机构退还多收费用。")
    html = client.get(reverse("supervision:complaints")).content.decode()
    assert complaint.number in html and complaint.subject_label in html and "责令该机构退还多收费用。" in html
    for private in ("li_xiaoming", "李小明", "小明", "lxm@example.com", "13912345678", "拒绝出具正式发票"):
        assert private not in html
    api = client.get("/api/v1/supervision/complaints/").json()
    text = str(api)
    assert complaint.number in text and "li_xiaoming" not in text and "13912345678" not in text


def test_lodging_through_the_page_and_handling_through_the_queue(client):
    agency = active_agency()
    user = make_user()
    client.force_login(user)
    response = client.post(reverse("supervision:complaint-new"), {
        "subject_type": "agency", "reference": agency.organization.uscc, "grounds": "该机构承诺的服务期限严重超期。"})
    assert response.status_code == 302
    complaint = Complaint.objects.get(complainant=user)
    assert complaint.agency_id == agency.pk
    assert client.get(reverse("supervision:complaint-handle", args=[complaint.pk])).status_code == 403
    regulator = make_regulator()
    client.force_login(regulator)
    assert complaint.number in client.get(reverse("supervision:complaint-queue")).content.decode()
    response = client.post(reverse("supervision:complaint-handle", args=[complaint.pk]), {"to": "accepted"})
    assert response.status_code == 302
    complaint.refresh_from_db()
    assert complaint.status == S.ACCEPTED
    response = client.post(reverse("supervision:complaint-handle", args=[complaint.pk]), {"to": "decided"})
    assert response.status_code == 400  # not allowed from accepted
