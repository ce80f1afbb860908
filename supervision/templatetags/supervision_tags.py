from django import template

from supervision.notifications import unread_count as _unread_count

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_count(context) -> int:
    """The signed-in user's unread notifications (0 for anonymous visitors)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if not (user and user.is_authenticated):
        return 0
    return _unread_count(user)


@register.filter
def yuan(fen) -> str:
    from market.core.money import fen_to_yuan

    return "—" if fen in (None, "") else fen_to_yuan(int(fen))


@register.filter
def get_item(mapping, key):
    """mapping[str(key)]: JSON objects have string keys."""
    return (mapping or {}).get(str(key))
