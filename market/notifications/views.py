"""Everyone's inbox and notification preferences (under /supervision/, where they have always been)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from market.accounts.views import apply_validation_error
from supervision.conf import setting
from supervision.models import Notification, NotificationKind

from . import services
from .forms import PreferenceForm


@login_required
def inbox(request):
    qs = Notification.objects.filter(recipient=request.user)
    if request.GET.get("unread"):
        qs = qs.filter(read_at__isnull=True)
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    return render(request, "notifications/inbox.html", {
        "page": page, "unread": services.unread_count(request.user), "only_unread": bool(request.GET.get("unread"))})


@login_required
def inbox_open(request, pk: int):
    """Mark the message read and follow its link."""
    note = get_object_or_404(Notification, pk=pk, recipient=request.user)
    services.mark_read(user=request.user, notification_ids=[note.pk])
    if note.url and url_has_allowed_host_and_scheme(note.url, allowed_hosts={request.get_host()}):
        return redirect(note.url)
    return redirect("notifications:inbox")


@login_required
@require_POST
def inbox_read(request):
    ids = [int(x) for x in request.POST.getlist("ids") if x.isdigit()] or None
    count = services.mark_read(user=request.user, notification_ids=ids)
    messages.success(request, _("%(n)d message(s) marked read.") % {"n": count})
    return redirect("notifications:inbox")


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request):
    pref = services.preference_for(request.user)
    form = PreferenceForm(request.POST or None, initial={"language": pref.language, "email_kinds": pref.email_kinds})
    if request.method == "POST" and form.is_valid():
        try:
            services.preference_set(user=request.user, language=form.cleaned_data["language"],
                                         email_kinds=form.cleaned_data["email_kinds"])
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("Notification preferences saved."))
            return redirect("notifications:preferences")
    by_service = [NotificationKind(k).label for k in setting("EMAIL_SENT_BY_SERVICE") if k in NotificationKind.values]
    return render(request, "notifications/preferences.html", {"form": form, "by_service": by_service,
                                                             "has_email": bool(request.user.email)},
                  status=400 if form.errors else 200)
