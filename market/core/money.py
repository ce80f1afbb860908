"""Money is integer fen everywhere; yuan only at the edges (forms, pages, exports).

Every amount that comes in — a budget, a price, a fee, a refund — is a whole number of fen from 0 (or 1)
to MAX_FEN: forms parse yuan with `yuan_to_fen`, API serializers take fen with `market.api.serializers.FenField`.
"""

import re
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# The largest amount the platform accepts anywhere: ¥1,000,000,000,000 (10^14 fen). Far above any
# intermediary service's price, far below what a bigint column holds (about 9.2 × 10^18).
MAX_FEN = 10**14

# Plain decimal notation only: digits, an optional point and decimals ("1e5", "1E+30", "Infinity" are refused).
_YUAN = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_MAX_YUAN_CHARS = 30  # more characters than any amount up to MAX_FEN needs, with its separators


def fen_to_yuan(fen: int) -> str:
    """Format fen as yuan with two decimals and thousands separators: 123456 -> '1,234.56'."""
    sign = "-" if fen < 0 else ""
    fen = abs(int(fen))
    return f"{sign}{fen // 100:,}.{fen % 100:02d}"


def yuan_to_fen(value: str | Decimal | int, *, min_fen: int = 0, max_fen: int = MAX_FEN) -> int:
    """Parse a yuan amount ('1234.5', '1,234.50') into integer fen from `min_fen` to `max_fen`.

    Refuses more than two decimals, exponents ('1e5'), non-numbers and amounts out of bounds, each with
    a ValidationError (code "invalid_amount"), never an arithmetic error."""
    text = str(value).replace(",", "").strip()
    if len(text) > _MAX_YUAN_CHARS or not _YUAN.fullmatch(text):
        raise ValidationError(_("Enter an amount in yuan, such as 1234.50."), code="invalid_amount")
    try:
        amount = Decimal(text)
    except (InvalidOperation, ValueError):  # pragma: no cover - the pattern admits only decimals
        raise ValidationError(_("Enter an amount in yuan, such as 1234.50."), code="invalid_amount")
    out_of_bounds = ValidationError(
        _("Enter an amount from ¥%(min)s to ¥%(max)s.") % {"min": fen_to_yuan(min_fen), "max": fen_to_yuan(max_fen)},
        code="invalid_amount")
    # Bounds first, on the yuan (exact): what passes has at most 13 digits before the point, so the
    # rounding and scaling below stay within the decimal context's 28 digits.
    if not Decimal(min_fen) / 100 - 1 < amount < Decimal(max_fen) / 100 + 1:
        raise out_of_bounds
    if amount != amount.quantize(Decimal("0.01")):
        raise ValidationError(_("An amount has at most two decimals (fen)."), code="invalid_amount")
    fen_amount = amount * 100
    fen = int(fen_amount)
    if not min_fen <= fen <= max_fen:
        raise out_of_bounds
    return fen
