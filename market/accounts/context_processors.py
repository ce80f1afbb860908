from django.conf import settings

from market.accounts.permissions import is_regulator


def site(request):
    user = getattr(request, "user", None)
    return {
        "SITE_NAME": settings.WAGTAIL_SITE_NAME,
        "user_is_regulator": is_regulator(user) if user is not None else False,
    }
