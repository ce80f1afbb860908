from django import template

from market.core.money import fen_to_yuan

register = template.Library()


@register.filter
def yuan(fen) -> str:
    return "—" if fen in (None, "") else fen_to_yuan(int(fen))


@register.filter
def get_item(mapping, key):
    """mapping[str(key)]: JSON objects have string keys."""
    return (mapping or {}).get(str(key))
