"""{% load once %}{% once_token %} inside a POST form whose view is decorated with
market.core.once.submit_once: a hidden one-time token, so that sending the form twice creates one object."""

from django import template
from django.utils.html import format_html

from market.core.once import FIELD, new_token

register = template.Library()


@register.simple_tag
def once_token():
    return format_html('<input type="hidden" name="{}" value="{}">', FIELD, new_token())
