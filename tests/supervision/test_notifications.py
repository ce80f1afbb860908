"""Each event sends exactly one notification to exactly the right people: one inbox message per
recipient, and one e-mail (in the recipient's language, through Django's task framework) to each
recipient who wants that kind by e-mail."""

import datetime as dt
from collections import Counter
from types import SimpleNamespace

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from agencies import services as agency_services
from agencies.models import Qualification
from bids import services as bid_services
from credit import services as credit_services
from credit.models import BreachRule
from market.requests import services as request_services
from market.contracts import services as contract_services
from market.core.deadlines import run_due
from market.core.events import domain_event, emit
from market.requests.models import ServiceRequest
from market.notifications import services as notifications
from supervision import services
from supervision.models import Notification, NotificationKind, NotificationPreference, SubjectType
from tests.factories import PDF_BYTES, make_regulator, make_user, org_admin
from tests.request_factories import request_fields

from .helpers import (active_agency, agency_admin, award, bid, freeze, item_with_qualification, mails, make_owner,
                      members, offering, published_request, regulator_ids, select)

pytestmark = pytest.mark.django_db
K = NotificationKind


def received(kind) -> Counter:
    """How many inbox messages of `kind` each user received."""
    return Counter(Notification.objects.filter(kind=kind).values_list("recipient_id", flat=True))


def assert_exactly(kind, user_ids, *, emailed=True):
    """Exactly one message of `kind` to each of `user_ids` and to nobody else; as many e-mails."""
    user_ids = set(user_ids)
    assert user_ids, "the test must expect someone"
    assert received(kind) == Counter({u: 1 for u in user_ids})
    from market.accounts.models import User

    emails = Counter(to for m in mails(kind) for to in m.to)
    expected = Counter({e: 1 for e in User.objects.filter(pk__in=user_ids).exclude(email="").values_list("email", flat=True)})
    assert emails == (expected if emailed else Counter())


def bidding_request(n_bidders=3, prices=(4_000_000, 4_500_000, 5_000_000)):
    item = item_with_qualification()
    request = published_request(item=item, selection_method="lowest")
    agencies = [active_agency(item=item) for _ in range(n_bidders)]
    bids = [bid(request, a, p) for a, p in zip(agencies, prices)]
    return request, agencies, bids


def test_new_request_reaches_the_agencies_offering_its_item(django_capture_on_commit_callbacks):
    item = item_with_qualification()
    offers, also_offers = offering(item), offering(item)
    avoided = offering(item)
    active_agency(item=item)  # holds the qualification but does not offer the item
    owner = make_owner(verified=True)
    request = request_services.request_create(
        actor=org_admin(owner), owner=owner, required_qualifications=list(item.qualification_types.all()),
        avoidances=[(avoided, "与业主存在关联关系")],
        **request_fields(item))
    with django_capture_on_commit_callbacks(execute=True):
        request_services.request_publish(actor=org_admin(owner), request=request)
    assert_exactly(K.REQUEST_PUBLISHED, members(offers.organization) | members(also_offers.organization))
    note = Notification.objects.filter(kind=K.REQUEST_PUBLISHED).first()
    assert note.url == reverse("requests:request-detail", args=[request.pk])
    assert request.project_name in note.subject


def test_clarification_answer_reaches_the_asker_and_the_bidders(django_capture_on_commit_callbacks):
    request, agencies, _bids = bidding_request(2, (4_000_000, 4_500_000))
    asker = active_agency(item=request.service_item)
    question = request_services.question_ask(actor=agency_admin(asker), request=request,
                                             organization=asker.organization, question="是否需要提供纸质成果？")
    with django_capture_on_commit_callbacks(execute=True):
        request_services.question_answer(actor=org_admin(request.owner), question=question, answer="需要，一式五份。")
    assert_exactly(K.QUESTION_ANSWERED, members(asker.organization) | members(agencies[0].organization)
                   | members(agencies[1].organization))


def test_amendment_reaches_the_bidders_once(django_capture_on_commit_callbacks, settings):
    request, agencies, _bids = bidding_request(2, (4_000_000, 4_500_000))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        request_services.request_amend(actor=org_admin(request.owner), request=request, reason="延长服务期限",
                                       service_term_days=60)
    bidders = members(agencies[0].organization) | members(agencies[1].organization)
    # request_amend still e-mails the bidders itself: the notification goes to the inbox only, so
    # each bidder receives exactly one e-mail about the amendment.
    assert_exactly(K.REQUEST_AMENDED, bidders, emailed=False)
    assert sorted(to for m in mail.outbox for to in m.to) == sorted(agency_admin(a).email for a in agencies)


def test_amendment_is_emailed_here_once_the_service_leaves_it(django_capture_on_commit_callbacks,
                                                               every_kind_emailed_here):
    request, agencies, _bids = bidding_request(2, (4_000_000, 4_500_000))
    with django_capture_on_commit_callbacks(execute=True):
        request_services.request_amend(actor=org_admin(request.owner), request=request, reason="延长服务期限",
                                       service_term_days=60)
    assert_exactly(K.REQUEST_AMENDED, members(agencies[0].organization) | members(agencies[1].organization))


def test_deadline_reminder_goes_once_per_request_per_bidder(django_capture_on_commit_callbacks):
    request, agencies, _bids = bidding_request(2, (4_000_000, 4_500_000))
    other = published_request(item=request.service_item)  # no bids: nobody to remind
    assert other.pk
    with django_capture_on_commit_callbacks(execute=True):
        assert run_due(now=request.bid_deadline - dt.timedelta(days=2))["supervision.deadline_reminders"] == 0
        assert run_due(now=request.bid_deadline - dt.timedelta(hours=3))["supervision.deadline_reminders"] == 2
        assert run_due(now=request.bid_deadline - dt.timedelta(hours=1))["supervision.deadline_reminders"] == 0
    assert_exactly(K.DEADLINE_APPROACHING, members(agencies[0].organization) | members(agencies[1].organization))


def test_selection_result_reaches_the_owner_and_every_bidder(django_capture_on_commit_callbacks):
    request, agencies, _bids = bidding_request()
    bystander = active_agency(item=request.service_item)
    with django_capture_on_commit_callbacks(execute=True):
        select(request)
    expected = members(request.owner).union(*(members(a.organization) for a in agencies))
    assert_exactly(K.SELECTION_RESULT, expected)
    assert not members(bystander.organization) & set(received(K.SELECTION_RESULT))


def test_a_failed_round_is_a_selection_result_too(django_capture_on_commit_callbacks):
    request, agencies, _bids = bidding_request(1, (4_000_000,))
    with django_capture_on_commit_callbacks(execute=True):
        select(request)
    request.refresh_from_db()
    assert request.status == "failed"
    assert_exactly(K.SELECTION_RESULT, members(request.owner) | members(agencies[0].organization))
    assert "流标" in Notification.objects.get(kind=K.SELECTION_RESULT, recipient=org_admin(request.owner)).subject


def test_objection_reaches_regulators_and_owner_and_its_ruling_the_objector_and_owner(django_capture_on_commit_callbacks):
    request, agencies, bids = bidding_request()
    select(request)
    with freeze(request.bid_deadline + dt.timedelta(minutes=5)), django_capture_on_commit_callbacks(execute=True):
        objection = bid_services.objection_lodge(actor=agency_admin(agencies[1]), request=request, bid=bids[1],
                                                 reason="中选机构资质证书已过期")
    assert_exactly(K.OBJECTION_LODGED, regulator_ids() | members(request.owner))
    with freeze(request.bid_deadline + dt.timedelta(minutes=10)), django_capture_on_commit_callbacks(execute=True):
        bid_services.objection_rule(actor=make_regulator(), objection=objection, uphold=False, ruling="经核查证书在有效期内")
    assert_exactly(K.OBJECTION_RULED, members(agencies[1].organization) | members(request.owner))


def test_contract_to_confirm_reaches_both_parties(django_capture_on_commit_callbacks):
    request, agencies, _bids = bidding_request()
    select(request)
    award(request)
    with django_capture_on_commit_callbacks(execute=True):
        contract = contract_services.contract_draft(request=request)
    assert contract.agency_id == agencies[0].pk
    assert_exactly(K.CONTRACT_TO_CONFIRM, members(request.owner) | members(agencies[0].organization))


def test_returned_deliverable_reaches_the_agency(django_capture_on_commit_callbacks):
    request, agencies, _bids = bidding_request()
    select(request)
    award(request)
    contract = contract_services.contract_draft(request=request)
    contract_services.contract_confirm(actor=agency_admin(agencies[0]), contract=contract)
    contract_services.contract_confirm(actor=org_admin(request.owner), contract=contract)
    contract.refresh_from_db()
    upload = SimpleUploadedFile("成果报告.pdf", PDF_BYTES, content_type="application/pdf")
    delivery = contract_services.deliverable_upload(actor=agency_admin(agencies[0]), contract=contract,
                                                    note="测绘成果报告", files=[upload])
    with django_capture_on_commit_callbacks(execute=True):
        contract_services.deliverable_return(actor=org_admin(request.owner), delivery_round=delivery,
                                             reason="图件比例尺不符合要求")
    assert_exactly(K.DELIVERABLE_RETURNED, members(agencies[0].organization))
    assert "图件比例尺不符合要求" in Notification.objects.get(kind=K.DELIVERABLE_RETURNED).body


def test_breach_reaches_the_agency(django_capture_on_commit_callbacks, every_kind_emailed_here):
    agency = active_agency()
    with django_capture_on_commit_callbacks(execute=True):
        credit_services.breach_record(actor=make_regulator(), agency=agency, rule=BreachRule.objects.get(code="OVERCHARGE"),
                                      evidence="超出政府指导价收费")
    assert_exactly(K.BREACH_RECORDED, members(agency.organization))


def test_qualification_expiring_reaches_the_agency(django_capture_on_commit_callbacks, every_kind_emailed_here):
    item = item_with_qualification()
    soon = active_agency(item=item, valid_to=timezone.localdate() + dt.timedelta(days=10))
    active_agency(item=item, valid_to=timezone.localdate() + dt.timedelta(days=200))
    with django_capture_on_commit_callbacks(execute=True):
        agency_services.qualification_expiry_warn(now=timezone.now())
        agency_services.qualification_expiry_warn(now=timezone.now())  # a second run warns nobody again
    assert Qualification.objects.filter(agency=soon, expiry_warned_at__isnull=False).exists()
    assert_exactly(K.QUALIFICATION_EXPIRING, members(soon.organization))


def test_complaint_reaches_the_regulators_and_its_status_the_complainant(django_capture_on_commit_callbacks):
    complainant = make_user()
    agency = active_agency()
    make_regulator(), make_regulator()
    with django_capture_on_commit_callbacks(execute=True):
        complaint = services.complaint_lodge(actor=complainant, subject_type=SubjectType.AGENCY, agency=agency,
                                             grounds="该机构未按合同约定期限提交成果。")
    assert_exactly(K.COMPLAINT_LODGED, regulator_ids())
    assert_exactly(K.COMPLAINT_STATUS, {complainant.pk})
    with django_capture_on_commit_callbacks(execute=True):
        services.complaint_transition(actor=make_regulator(), complaint=complaint, to="accepted")
    assert received(K.COMPLAINT_STATUS) == Counter({complainant.pk: 2})
    assert not members(agency.organization) & set(received(K.COMPLAINT_STATUS))


# --- languages, preferences, background, idempotence ----------------------------------------------------------


def test_each_recipient_reads_it_in_their_language(django_capture_on_commit_callbacks):
    item = item_with_qualification()
    chinese, english = offering(item), offering(item)
    notifications.preference_set(user=agency_admin(english), language="en", email_kinds=[K.REQUEST_PUBLISHED])
    with django_capture_on_commit_callbacks(execute=True):
        request = published_request(item=item)
    zh = Notification.objects.get(recipient=agency_admin(chinese), kind=K.REQUEST_PUBLISHED)
    en = Notification.objects.get(recipient=agency_admin(english), kind=K.REQUEST_PUBLISHED)
    assert zh.subject.startswith("新采购公告") and en.subject.startswith("New request for your service items")
    assert request.project_name in zh.subject and request.project_name in en.subject
    [en_mail] = [m for m in mails(K.REQUEST_PUBLISHED) if m.to == [agency_admin(english).email]]
    assert en_mail.subject == en.subject and "Bid deadline" in en_mail.body
    assert en_mail.body.rstrip().endswith(reverse("requests:request-detail", args=[request.pk]))


def test_kinds_not_chosen_for_email_reach_the_inbox_only(django_capture_on_commit_callbacks):
    item = item_with_qualification()
    quiet = offering(item)
    notifications.preference_set(user=agency_admin(quiet), language="zh-hans", email_kinds=[K.SELECTION_RESULT])
    with django_capture_on_commit_callbacks(execute=True):
        published_request(item=item)
    assert received(K.REQUEST_PUBLISHED) == Counter({agency_admin(quiet).pk: 1})
    assert mails(K.REQUEST_PUBLISHED) == []
    assert Notification.objects.get(kind=K.REQUEST_PUBLISHED).email_status == "none"


def test_nothing_is_sent_for_a_rolled_back_change(django_capture_on_commit_callbacks):
    item = item_with_qualification()
    offering(item)
    owner = make_owner(verified=True)
    request = request_services.request_create(actor=org_admin(owner), owner=owner,
                                              required_qualifications=list(item.qualification_types.all()),
                                              **request_fields(item))
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                request_services.request_publish(actor=org_admin(owner), request=request)
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
    assert not Notification.objects.exists() and not mails(K.REQUEST_PUBLISHED)
    assert ServiceRequest.objects.get(pk=request.pk).status == "draft"


def test_the_same_event_delivered_twice_reaches_each_person_once(django_capture_on_commit_callbacks):
    item = item_with_qualification()
    agency = offering(item)
    with django_capture_on_commit_callbacks(execute=True):
        request = published_request(item=item)
        emit("request.published", request_id=request.pk)  # a retried delivery
    assert_exactly(K.REQUEST_PUBLISHED, members(agency.organization))


def test_events_go_through_the_task_framework(django_capture_on_commit_callbacks, monkeypatch):
    from market.notifications import receivers

    calls = []
    monkeypatch.setattr(receivers, "deliver_event", SimpleNamespace(enqueue=lambda *a, **kw: calls.append(a)))
    item = item_with_qualification()
    offering(item)
    with django_capture_on_commit_callbacks(execute=True):
        request = published_request(item=item)
    assert calls == [("request.published", {"request_id": request.pk})]
    assert not Notification.objects.exists()  # the page did not do the work itself


def test_a_failing_receiver_does_not_break_the_service(django_capture_on_commit_callbacks):
    def broken(sender, **kwargs):
        raise RuntimeError("mail server down")

    domain_event.connect(broken, dispatch_uid="test.broken")
    try:
        item = item_with_qualification()
        agency = offering(item)
        with django_capture_on_commit_callbacks(execute=True):
            published_request(item=item)
    finally:
        domain_event.disconnect(dispatch_uid="test.broken")
    assert_exactly(K.REQUEST_PUBLISHED, members(agency.organization))


# --- pages ---------------------------------------------------------------------------------------------------------


def test_inbox_shows_the_unread_count_and_marks_messages_read(client, django_capture_on_commit_callbacks):
    item = item_with_qualification()
    agency = offering(item)
    with django_capture_on_commit_callbacks(execute=True):
        request = published_request(item=item)
    user = agency_admin(agency)
    client.force_login(user)
    html = client.get(reverse("notifications:inbox")).content.decode()
    assert request.project_name in html and 'class="unread-count"' in html
    assert notifications.unread_count(user) == 1
    note = Notification.objects.get(recipient=user)
    response = client.get(reverse("notifications:inbox-open", args=[note.pk]))
    assert response.status_code == 302 and response["Location"] == note.url
    assert notifications.unread_count(user) == 0
    other = make_user()
    client.force_login(other)
    assert client.get(reverse("notifications:inbox-open", args=[note.pk])).status_code == 404


def test_preferences_page_saves_language_and_email_kinds(client):
    user = make_user()
    client.force_login(user)
    assert client.get(reverse("notifications:preferences")).status_code == 200
    response = client.post(reverse("notifications:preferences"),
                           {"language": "en", "email_kinds": [K.SELECTION_RESULT, K.CONTRACT_TO_CONFIRM]})
    assert response.status_code == 302
    pref = NotificationPreference.objects.get(user=user)
    assert pref.language == "en" and pref.email_kinds == sorted([K.SELECTION_RESULT, K.CONTRACT_TO_CONFIRM])


def test_every_kind_has_templates_in_both_languages():
    context = {"project": "P", "status": "received", "failed": False}
    for kind in K.values:
        for language in ("zh-hans", "en"):
            subject, body = notifications.render(kind, language, context)
            assert subject and body, (kind, language)



class DownBackend:
    """A mail server that refuses every message."""

    def __init__(self, *args, **kwargs):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def open(self):
        return True

    def close(self):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("mail server down")


def test_a_mail_server_failure_leaves_the_inbox_and_marks_the_email_failed(django_capture_on_commit_callbacks, settings):
    settings.EMAIL_BACKEND = "tests.supervision.test_notifications.DownBackend"
    item = item_with_qualification()
    agency = offering(item)
    with django_capture_on_commit_callbacks(execute=True):
        request = published_request(item=item)
    note = Notification.objects.get(kind=K.REQUEST_PUBLISHED, recipient=agency_admin(agency))
    assert note.email_status == "failed" and request.status == "published"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert notifications.emails_send([note.pk]) == 1  # a retry sends it
    note.refresh_from_db()
    assert note.email_status == "sent" and len(mails(K.REQUEST_PUBLISHED)) == 1
