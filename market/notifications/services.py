"""Notifications: an in-site inbox and e-mail, in each recipient's language.

The path of an event:
1. A service calls `market.core.events.emit(kind, **ids)` in its transaction (or a post_save receiver in
   market.notifications.receivers does it for contracts, deliveries, breaches and qualifications).
2. After the commit, `domain_event` reaches `receivers.on_domain_event`, which enqueues the task
   `tasks.deliver_event` (Django's task framework: in the background, so no page waits for it).
3. `deliver_event` calls `notify`: the kind's resolver below names the recipients and the facts;
   each recipient gets one inbox Notification (once per event: a unique key), rendered from
   `supervision/notifications/<language>/<kind>.txt` (first line: the subject).
4. Recipients who want this kind by e-mail (NotificationPreference) get it through the task
   `tasks.send_notification_emails` (queued by `tasks.deliver_event`), one task per event over one connection.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from typing import Callable, Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
from django.template import Context, Engine
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from agencies.models import Agency, AgencyStatus, Qualification
from bids.models import Bid, BidStatus, ResultObjection, SelectionRun
from credit.models import Breach
from market.accounts.models import Organization, User
from market.contracts.models import Contract, DeliveryRound
from market.core.money import fen_to_yuan
from market.requests.models import RequestAmendment, RequestQuestion, SelectionMethod, ServiceRequest

from supervision.conf import setting
from supervision.models import (
    Complaint,
    ComplaintOutcome,
    ComplaintStatus,
    EmailStatus,
    Notification,
    NotificationKind,
    NotificationPreference,
    SubjectType,
)

logger = logging.getLogger(__name__)
K = NotificationKind
HEADER = "X-Market-Notification"


# --- preferences ------------------------------------------------------------------------------------


def language_codes() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


def preference_for(user: User) -> NotificationPreference:
    """The user's preference, or the default (site language, every kind by e-mail) if none is saved."""
    pref = NotificationPreference.objects.filter(user=user).first()
    return pref or NotificationPreference(user=user)


def preference_set(*, user: User, language: str, email_kinds: Iterable[str]) -> NotificationPreference:
    if language not in language_codes():
        raise ValidationError({"language": [_("Choose one of the site's languages.")]})
    kinds = sorted(set(email_kinds))
    unknown = set(kinds) - set(K.values)
    if unknown:
        raise ValidationError({"email_kinds": [_("Unknown kinds: %(k)s") % {"k": ", ".join(sorted(unknown))}]})
    pref, _created = NotificationPreference.objects.update_or_create(
        user=user, defaults={"language": language, "email_kinds": kinds})
    return pref


def email_sent_by_service(kind: str) -> bool:
    """The originating service still e-mails this kind itself (see conf.EMAIL_SENT_BY_SERVICE)."""
    return kind in setting("EMAIL_SENT_BY_SERVICE")


# --- recipients ----------------------------------------------------------------------------------------


def members_of(org_ids: Iterable[int]) -> list[User]:
    ids = {i for i in org_ids if i is not None}
    if not ids:
        return []
    return list(User.objects.filter(is_active=True, memberships__organization_id__in=ids).distinct().order_by("pk"))


def regulators() -> list[User]:
    return list(User.objects.filter(is_active=True, memberships__organization__kind=Organization.Kind.REGULATOR,
                                    memberships__organization__status=Organization.Status.VERIFIED)
                .distinct().order_by("pk"))


def _bidder_org_ids(request_id: int) -> set[int]:
    return set(Bid.objects.filter(request_id=request_id, status=BidStatus.ACTIVE)
               .values_list("agency__organization_id", flat=True))


def _when(value: dt.datetime | None) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


@dataclasses.dataclass
class Delivery:
    """Who hears about one event, what they read, where the link goes, and the event's unique key."""

    users: list[User]
    context: dict
    url: str
    key: str


def _request_published(p: dict) -> Delivery | None:
    r = ServiceRequest.objects.select_related("owner", "service_item", "region").get(pk=p["request_id"])
    org_ids = (Agency.objects.filter(status=AgencyStatus.ACTIVE, offered_items__service_item_id=r.service_item_id)
               .exclude(avoided_in__request=r).values_list("organization_id", flat=True))
    return Delivery(members_of(org_ids), {
        "project": r.project_name, "owner": r.owner.name, "item": r.service_item.name, "region": str(r.region),
        "budget": fen_to_yuan(r.budget_fen), "deadline": _when(r.bid_deadline), "method": SelectionMethod(r.selection_method).label,
    }, reverse("requests:request-detail", args=[r.pk]), f"request.published:{r.pk}")


def _question_answered(p: dict) -> Delivery | None:
    q = RequestQuestion.objects.select_related("request").get(pk=p["question_id"])
    org_ids = {q.asked_by_id} | _bidder_org_ids(q.request_id)
    return Delivery(members_of(org_ids), {"project": q.request.project_name, "question": q.question, "answer": q.answer},
                    reverse("requests:request-detail", args=[q.request_id]),
                    f"question.answered:{q.pk}:{q.answered_at.isoformat() if q.answered_at else ''}")


def _request_amended(p: dict) -> Delivery | None:
    a = RequestAmendment.objects.select_related("request").get(pk=p["amendment_id"])
    return Delivery(members_of(_bidder_org_ids(a.request_id)), {
        "project": a.request.project_name, "reason": a.reason, "deadline": _when(a.request.bid_deadline),
        "material": a.material}, reverse("requests:request-detail", args=[a.request_id]), f"request.amended:{a.pk}")


def _deadline_approaching(p: dict) -> Delivery | None:
    r = ServiceRequest.objects.get(pk=p["request_id"])
    agency = Agency.objects.select_related("organization").get(pk=p["agency_id"])
    return Delivery(members_of([agency.organization_id]), {
        "project": r.project_name, "agency": agency.name, "deadline": _when(r.bid_deadline)},
        reverse("requests:request-detail", args=[r.pk]), f"deadline.approaching:{r.pk}:{agency.pk}")


def _selection_result(p: dict) -> Delivery | None:
    run = SelectionRun.objects.select_related("request", "winner__agency__organization").get(pk=p["run_id"])
    r = run.request
    org_ids = {r.owner_id} | _bidder_org_ids(r.pk)
    return Delivery(members_of(org_ids), {
        "project": r.project_name, "failed": run.outcome == SelectionRun.Outcome.FAILED,
        "winner": run.winner.agency.name if run.winner_id else "",
        "price": fen_to_yuan(run.winner.price_fen) if run.winner_id else "",
        "reason": run.published.get("failed_reason", ""), "publicity_ends": _when(r.publicity_ends_at)},
        reverse("bids:result-detail", args=[r.pk]), f"selection.result:{run.pk}")


def _objection_lodged(p: dict) -> Delivery | None:
    o = ResultObjection.objects.select_related("request", "bid__agency__organization").get(pk=p["objection_id"])
    users = {u.pk: u for u in regulators() + members_of([o.request.owner_id])}
    return Delivery(sorted(users.values(), key=lambda u: u.pk), {
        "project": o.request.project_name, "agency": o.bid.agency.name, "reason": o.reason},
        reverse("bids:result-detail", args=[o.request_id]), f"objection.lodged:{o.pk}")


def _objection_ruled(p: dict) -> Delivery | None:
    o = ResultObjection.objects.select_related("request", "bid__agency__organization").get(pk=p["objection_id"])
    return Delivery(members_of([o.bid.agency.organization_id, o.request.owner_id]), {
        "project": o.request.project_name, "agency": o.bid.agency.name, "upheld": o.status == ResultObjection.Status.UPHELD,
        "status": ResultObjection.Status(o.status).label, "ruling": o.ruling},
        reverse("bids:result-detail", args=[o.request_id]), f"objection.ruled:{o.pk}")


def _contract_to_confirm(p: dict) -> Delivery | None:
    c = Contract.objects.select_related("request", "owner", "agency__organization").get(pk=p["contract_id"])
    return Delivery(members_of([c.owner_id, c.agency.organization_id]), {
        "number": c.number, "project": c.request.project_name, "owner": c.owner.name, "agency": c.agency.name,
        "amount": fen_to_yuan(c.amount_fen), "confirm_by": _when(c.confirm_deadline)},
        _contract_url(c), f"contract.to_confirm:{c.pk}")


def _contract_url(contract) -> str:
    for name in ("contracts:detail", "contract-detail"):
        try:
            return reverse(name, args=[contract.pk])
        except NoReverseMatch:
            continue
    return reverse("requests:request-detail", args=[contract.request_id])


def _deliverable_returned(p: dict) -> Delivery | None:
    d = DeliveryRound.objects.select_related("contract__request", "contract__agency__organization").get(pk=p["round_id"])
    return Delivery(members_of([d.contract.agency.organization_id]), {
        "number": d.contract.number, "project": d.contract.request.project_name, "round": d.number,
        "reason": d.decision_reason}, _contract_url(d.contract), f"deliverable.returned:{d.pk}")


def _breach_recorded(p: dict) -> Delivery | None:
    b = Breach.objects.select_related("rule", "agency__organization").get(pk=p["breach_id"])
    return Delivery(members_of([b.agency.organization_id]), {
        "agency": b.agency.name, "rule": b.rule.name, "points": b.points, "date": _when(b.recorded_at),
        "ban_until": _when(b.ban_until), "appeal_by": _when(b.appeal_deadline), "evidence": b.evidence},
        reverse("credit:breach", args=[b.pk]), f"breach.recorded:{b.pk}")


def _qualification_expiring(p: dict) -> Delivery | None:
    q = Qualification.objects.select_related("agency__organization", "qualification_type").get(pk=p["qualification_id"])
    today = timezone.localdate()
    return Delivery(members_of([q.agency.organization_id]), {
        "agency": q.agency.name, "type": q.qualification_type.name, "number": q.certificate_number,
        "valid_to": q.valid_to.isoformat(), "days": (q.valid_to - today).days},
        reverse("agencies:desk", args=[q.agency_id]), f"qualification.expiring:{q.pk}:{q.valid_to.isoformat()}")


def _complaint_lodged(p: dict) -> Delivery | None:
    c = Complaint.objects.get(pk=p["complaint_id"])
    return Delivery(regulators(), {
        "number": c.number, "subject": c.subject_label, "about": SubjectType(c.subject_type).label,
        "about_code": c.subject_type,
        "accept_by": _when(c.accept_by)}, reverse("supervision:complaint-handle", args=[c.pk]), f"complaint.lodged:{c.pk}")


def _complaint_status(p: dict) -> Delivery | None:
    c = Complaint.objects.select_related("complainant").get(pk=p["complaint_id"])
    if c.complainant is None or not c.complainant.is_active:
        return None
    status = p.get("status", c.status)
    return Delivery([c.complainant], {
        "number": c.number, "subject": c.subject_label, "status": status,
        "status_label": ComplaintStatus(status).label, "decision": c.decision,
        "outcome": ComplaintOutcome(c.outcome).label if c.outcome else "", "outcome_code": c.outcome,
        "accept_days": setting("COMPLAINT_ACCEPT_WORKING_DAYS"),
        "decide_by": _when(c.decide_by)},
        reverse("supervision:complaint-mine"), f"complaint.status:{c.pk}:{status}")


RESOLVERS: dict[str, Callable[[dict], Delivery | None]] = {
    K.REQUEST_PUBLISHED: _request_published,
    K.QUESTION_ANSWERED: _question_answered,
    K.REQUEST_AMENDED: _request_amended,
    K.DEADLINE_APPROACHING: _deadline_approaching,
    K.SELECTION_RESULT: _selection_result,
    K.OBJECTION_LODGED: _objection_lodged,
    K.OBJECTION_RULED: _objection_ruled,
    K.CONTRACT_TO_CONFIRM: _contract_to_confirm,
    K.DELIVERABLE_RETURNED: _deliverable_returned,
    K.BREACH_RECORDED: _breach_recorded,
    K.QUALIFICATION_EXPIRING: _qualification_expiring,
    K.COMPLAINT_LODGED: _complaint_lodged,
    K.COMPLAINT_STATUS: _complaint_status,
}


# --- rendering --------------------------------------------------------------------------------------------

_engine: Engine | None = None


def _template_engine() -> Engine:
    """Plain-text templates: no HTML escaping (the text goes to an e-mail body and an inbox <p>,
    which escapes on display)."""
    global _engine
    if _engine is None:
        _engine = Engine(app_dirs=True, autoescape=False, libraries={"i18n": "django.templatetags.i18n"})
    return _engine


def render(kind: str, language: str, context: dict) -> tuple[str, str]:
    """(subject, body) of `kind` in `language`, from supervision/notifications/<language>/<kind>.txt."""
    if language not in language_codes():
        language = settings.LANGUAGE_CODE
    with translation.override(language):
        template = _template_engine().get_template(f"supervision/notifications/{language}/{kind}.txt")
        text = template.render(Context({**context, "site_name": settings.WAGTAIL_SITE_NAME}))
    lines = text.strip().splitlines()
    subject = " ".join(lines[0].split())[:255] if lines else kind
    body = "\n".join(lines[1:]).strip()
    return subject, body


def absolute(url: str) -> str:
    base = getattr(settings, "WAGTAILADMIN_BASE_URL", "").rstrip("/")
    return f"{base}{url}" if url.startswith("/") else url


# --- delivery ------------------------------------------------------------------------------------------------


def notify(kind: str, payload: dict) -> list[Notification]:
    """Make the inbox messages of one event (once per recipient) and queue their e-mails.
    Returns the messages made now (none if the event was already delivered)."""
    resolver = RESOLVERS.get(kind)
    if resolver is None:
        return []
    delivery = resolver(payload)
    if delivery is None or not delivery.users:
        return []
    users = {u.pk: u for u in delivery.users}
    prefs = {p.user_id: p for p in NotificationPreference.objects.filter(user_id__in=users)}
    already = set(Notification.objects.filter(recipient_id__in=users, dedupe_key=delivery.key)
                  .values_list("recipient_id", flat=True))
    rendered: dict[str, tuple[str, str]] = {}
    now = timezone.now()
    rows = []
    for user_id, user in users.items():
        if user_id in already:
            continue
        pref = prefs.get(user_id) or NotificationPreference(user=user)
        if pref.language not in rendered:
            rendered[pref.language] = render(kind, pref.language, delivery.context)
        subject, body = rendered[pref.language]
        wants_mail = bool(user.email) and kind in (pref.email_kinds or []) and not email_sent_by_service(kind)
        rows.append(Notification(recipient=user, kind=kind, subject=subject, body=body, url=delivery.url,
                                 dedupe_key=delivery.key, created_at=now,
                                 email_status=EmailStatus.QUEUED if wants_mail else EmailStatus.NONE))
    if not rows:
        return []
    # A concurrent delivery of the same event may have made some: the unique key keeps one each.
    Notification.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    made = list(Notification.objects.filter(dedupe_key=delivery.key, recipient_id__in=[n.recipient_id for n in rows],
                                            created_at=now).order_by("pk"))
    return made


def _message(notification: Notification, connection) -> EmailMessage:
    link = absolute(notification.url) if notification.url else ""
    body = notification.body + (f"\n\n{link}" if link else "")
    return EmailMessage(subject=notification.subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL,
                        to=[notification.recipient.email], headers={HEADER: notification.kind}, connection=connection)


def emails_send(notification_ids: Iterable[int]) -> int:
    """E-mail the queued inbox messages over one connection. Idempotent: a sent message is not sent
    again. A failure marks that message failed and, after the others, raises for the task to retry."""
    notes = list(Notification.objects.filter(pk__in=list(notification_ids)).exclude(email_status=EmailStatus.SENT)
                 .select_related("recipient").order_by("pk"))
    sent, failures = 0, []
    if not notes:
        return 0
    with get_connection(fail_silently=False) as connection:
        for note in notes:
            if not note.recipient.email:
                continue
            try:
                _message(note, connection).send(fail_silently=False)
            except Exception as exc:  # one bad address or a dropped connection must not stop the others
                logger.warning("notification %s not e-mailed: %r", note.pk, exc)
                Notification.objects.filter(pk=note.pk).update(email_status=EmailStatus.FAILED)
                failures.append(exc)
                continue
            Notification.objects.filter(pk=note.pk).update(email_status=EmailStatus.SENT, emailed_at=timezone.now())
            sent += 1
    if failures:
        raise RuntimeError(f"{len(failures)} of {len(notes)} notification e-mails failed") from failures[0]
    return sent


# --- the inbox ---------------------------------------------------------------------------------------------------


def unread_count(user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def mark_read(*, user: User, notification_ids: Iterable[int] | None = None) -> int:
    """Mark the user's messages read (all unread ones when no ids are given)."""
    qs = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if notification_ids is not None:
        qs = qs.filter(pk__in=list(notification_ids))
    return qs.update(read_at=timezone.now())


__all__ = ["RESOLVERS", "Delivery", "notify", "render", "emails_send", "preference_for", "preference_set",
           "unread_count", "mark_read", "members_of", "regulators", "HEADER"]
