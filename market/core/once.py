"""A double-clicked form creates one object.

A form that creates something carries a one-time token — `{% once_token %}` (market/templatetags/
once.py) next to its `{% csrf_token %}` — and its view is decorated with `@submit_once`. The first
POST with a token claims it: a FormSubmission row, unique per user and token, inserted in the
transaction that runs the view. When the view succeeds (it redirects, as every form view here does
after a write) the row records where it led and commits with whatever the view created; when it
does not (the form re-rendered with errors, a refusal) the row is removed, so the corrected form can
be sent again with the same token; when it fails, everything rolls back together.

A second POST with the same token — a double click, a reload, a retry after a lost response — finds
the claim and is redirected to the first POST's result instead of running the view again. If it
arrives while the first is still running it waits for it: on PostgreSQL its insert blocks on the
unique index until the first commits (or rolls back, and then the second runs itself); SQLite
serialises the two writers. A POST without a token (the API, an old page) runs as before.

market/static/market/js/forms.js also disables submit buttons after the first submit; that only
spares the second round trip — this module is what guarantees one object.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import secrets

from django.contrib import messages
from django.db import IntegrityError, transaction
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _

from market.core.models import FormSubmission

FIELD = "form_token"
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,64}")
KEEP = dt.timedelta(days=2)  # a user's older tokens are forgotten when they claim a new one
REDIRECTS = (301, 302, 303)


def new_token() -> str:
    return secrets.token_urlsafe(24)


def _token_of(request) -> str | None:
    if request.method != "POST" or not request.user.is_authenticated:
        return None
    token = request.POST.get(FIELD, "")
    return token if TOKEN_PATTERN.fullmatch(token) else None


def submit_once(view):
    """Run a form view at most once per form token (see the module's docstring)."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        token = _token_of(request)
        if token is None:
            return view(request, *args, **kwargs)
        with transaction.atomic():
            now = timezone.now()
            try:
                with transaction.atomic():
                    claim = FormSubmission.objects.create(user=request.user, token=token, path=request.path[:255],
                                                          created_at=now)
            except IntegrityError:
                prior = FormSubmission.objects.filter(user=request.user, token=token).first()
                if prior is not None and prior.result_url:
                    messages.info(request, _("This form was already sent; here is its result."))
                    return redirect(prior.result_url)
                return view(request, *args, **kwargs)  # not expected: the claim is gone again
            FormSubmission.objects.filter(user=request.user, created_at__lt=now - KEEP).exclude(pk=claim.pk).delete()
            response = view(request, *args, **kwargs)
            if response.status_code in REDIRECTS and response.get("Location"):
                claim.result_url = response["Location"][:500]
                claim.save(update_fields=["result_url"])
            else:
                claim.delete()
        return response

    return wrapped
