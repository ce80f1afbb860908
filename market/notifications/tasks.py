"""Background work of notifications, through Django's task framework (django_tasks). In development
the ImmediateBackend runs a task at once; a deployment sets TASKS to a worker backend, so a slow
mail server never holds up a page."""

from __future__ import annotations

from django_tasks import task

from supervision.models import EmailStatus

from .services import emails_send, notify


@task()
def deliver_event(kind: str, payload: dict) -> int:
    """Make the inbox messages of one domain event and queue their e-mails; returns how many."""
    made = notify(kind, payload)
    queued = [n.pk for n in made if n.email_status == EmailStatus.QUEUED]
    if queued:
        send_notification_emails.enqueue(queued)
    return len(made)


@task()
def send_notification_emails(notification_ids: list[int]) -> int:
    """E-mail inbox messages (one event's, over one connection). A failure marks the message failed
    and fails the task, for a worker backend to retry; messages already sent are not sent again."""
    return emails_send(notification_ids)
