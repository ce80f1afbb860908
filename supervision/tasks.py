"""Background work of notifications, through Django's task framework (django_tasks). In development
the ImmediateBackend runs a task at once; a deployment sets TASKS to a worker backend, so a slow
mail server never holds up a page."""

from __future__ import annotations

from django_tasks import task


@task()
def deliver_event(kind: str, payload: dict) -> int:
    """Make the inbox messages of one domain event and queue their e-mails; returns how many."""
    from .notifications import notify

    return len(notify(kind, payload))


@task()
def send_notification_email(notification_id: int) -> bool:
    """E-mail one inbox message (a failure marks it failed and fails the task, for the backend to retry)."""
    from .models import Notification
    from .notifications import email_send

    notification = Notification.objects.select_related("recipient").filter(pk=notification_id).first()
    if notification is None:
        return False
    return email_send(notification)
