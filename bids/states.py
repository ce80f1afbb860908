"""The state machines of bids (market.core.statemachine): a bid is withdrawn by its agency while
bidding is open; an objection (质疑) to a result is upheld or dismissed by a regulator."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from market.accounts import permissions
from market.core.statemachine import Machine, Move, Who, guard, register
from market.requests.models import RequestStatus

from .models import Bid, BidStatus, ResultObjection

AGENCY_MEMBER = Who("agency member", lambda actor, bid: permissions.can_act_for(actor, bid.agency.organization))
REGULATOR = Who("regulator", lambda actor, obj: permissions.is_regulator(actor))


@guard("bidding is open")
def bidding_open(bid: Bid, now: dt.datetime) -> str | None:
    request = bid.request
    if request.status != RequestStatus.PUBLISHED or now >= request.bid_deadline:
        return _("This request is not open for bids.")
    return None


BID = Machine(
    name="bid",
    model="bids.Bid",
    states=BidStatus,
    description="A sealed bid on a request.",
    moves=(
        Move("withdraw", BidStatus.ACTIVE, BidStatus.WITHDRAWN, AGENCY_MEMBER, guards=(bidding_open,)),
    ),
)

O = ResultObjection.Status

OBJECTION = Machine(
    name="objection",
    model="bids.ResultObjection",
    states=ResultObjection.Status,
    reason_param="ruling",
    reason_missing=gettext_lazy("Write the ruling."),
    description="An objection (质疑) to a selection result during its publicity.",
    moves=(
        Move("uphold", O.OPEN, O.UPHELD, REGULATOR, reason_required=True, audit_action="objection.upheld",
             refusal=gettext_lazy("This objection has already been ruled on."), refusal_code="already_ruled"),
        Move("dismiss", O.OPEN, O.DISMISSED, REGULATOR, reason_required=True, audit_action="objection.dismissed",
             refusal=gettext_lazy("This objection has already been ruled on."), refusal_code="already_ruled"),
    ),
)

register(BID, OBJECTION)
