"""Deployment checks (`manage.py check --deploy`) for development defaults that must not reach a
production host. The missing or public SECRET_KEY is refused earlier, when the settings load."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Tags, Warning, register

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]", "testserver"}


def _public_hosts() -> list[str]:
    return [h for h in settings.ALLOWED_HOSTS if h.lstrip(".") not in LOOPBACK_HOSTS]


@register(Tags.security, deploy=True)
def development_defaults(app_configs=None, **kwargs):
    problems = []
    if settings.DEBUG:
        return problems  # Django's own check (security.W018) already says DEBUG must be off
    hosts = _public_hosts()
    if not hosts:
        problems.append(Warning(
            "ALLOWED_HOSTS names only the development hosts (127.0.0.1, localhost, testserver).",
            hint="Set ALLOWED_HOSTS to the site's own host names, e.g. ALLOWED_HOSTS=zjcs.example.gov.cn.",
            id="market.W001"))
    if "*" in settings.ALLOWED_HOSTS:
        problems.append(Warning(
            "ALLOWED_HOSTS accepts any host ('*'): forged Host headers reach password-reset and invitation links.",
            hint="Name the site's host names instead.", id="market.W002"))
    test_keys = [name for name in ("STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY")
                 if str(getattr(settings, name, "")).startswith(("sk_test_", "pk_test_", "rk_test_"))]
    if test_keys and hosts:
        problems.append(Warning(
            f"{', '.join(test_keys)} {'is a' if len(test_keys) == 1 else 'are'} Stripe test-mode key on a production "
            f"host ({', '.join(hosts)}): no payment would be real.",
            hint="Use the live keys (sk_live_…, pk_live_…) or unset them to run payment offline.", id="market.W003"))
    if settings.EMAIL_BACKEND.endswith(("console.EmailBackend", "locmem.EmailBackend", "dummy.EmailBackend")):
        problems.append(Warning(
            "E-mail goes to the console: invitations, password resets and notices would reach no one.",
            hint="Set EMAIL_HOST (and EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS).", id="market.W004"))
    return problems
