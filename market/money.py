"""Money is integer fen everywhere; yuan only at the edges (forms, pages, exports)."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


def fen_to_yuan(fen: int) -> str:
    """Format fen as yuan with two decimals and thousands separators: 123456 -> '1,234.56'."""
    sign = "-" if fen < 0 else ""
    fen = abs(int(fen))
    return f"{sign}{fen // 100:,}.{fen % 100:02d}"


def yuan_to_fen(value: str | Decimal | int | float) -> int:
    """Parse a yuan amount ('1234.5', '1,234.50') into integer fen; refuse more than 2 decimals."""
    try:
        amount = Decimal(str(value).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        raise ValidationError(_("Enter an amount in yuan, such as 1234.50."), code="invalid_amount")
    if not amount.is_finite():
        raise ValidationError(_("Enter an amount in yuan, such as 1234.50."), code="invalid_amount")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValidationError(_("An amount has at most two decimals (fen)."), code="invalid_amount")
    return int((amount * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))
