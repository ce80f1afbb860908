from django import template

from market.notifications.services import unread_count as _unread_count

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_count(context) -> int:
    """The signed-in user's unread notifications (0 for anonymous visitors)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if not (user and user.is_authenticated):
        return 0
    return _unread_count(user)
