"""Forms of the bid and selection pages: a bid, the evaluation panel and its scores, the selection,
an objection and its ruling. They parse what people type (yuan, percent) into what the services take
(fen, basis points); the rules live in the services. The request's own forms are in market.requests.forms."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from agencies.models import Agency
from market.core.money import fen_to_yuan
from market.requests.forms import PercentField, YuanField
from market.requests.models import QuoteMode, SelectionMethod


class AgencyChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Agency) -> str:
        return obj.organization.name


def _agency_field(form: forms.Form, agencies: list[Agency], name: str = "agency") -> None:
    form.fields[name].queryset = Agency.objects.filter(pk__in=[a.pk for a in agencies]).select_related("organization")
    if len(agencies) == 1:
        form.fields[name].initial = agencies[0].pk
        form.fields[name].widget = forms.HiddenInput()


class BidForm(forms.Form):
    """A bid: a price in yuan, or a discount rate in percent for discount requests."""

    agency = AgencyChoiceField(label=_("Bidding agency"), queryset=Agency.objects.none())
    price_fen = YuanField(label=_("Price (yuan)"), required=False)
    discount_bp = PercentField(label=_("Discount rate on the budget (%)"), required=False)
    nonce = forms.RegexField(
        label=_("Nonce (optional)"), regex=r"^[0-9a-fA-F]{32,128}$", required=False, max_length=128,
        help_text=_("16 to 64 random bytes in hexadecimal, chosen by you; it enters the public draw. "
                    "Empty: the platform draws one for you."),
        error_messages={"invalid": _("The nonce must be 32 to 128 hexadecimal digits.")})
    proposal = forms.CharField(label=_("Proposal"), required=False, max_length=5000,
                               widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args, service_request, agencies: list[Agency] | None = None, change: bool = False, **kwargs):
        super().__init__(*args, prefix="change" if change else "bid", **kwargs)
        self.service_request = service_request
        if change:
            del self.fields["agency"]
            self.fields["nonce"].help_text = _("Empty: keep the present nonce.")
        else:
            _agency_field(self, agencies or [])
        if service_request.quote_mode == QuoteMode.DISCOUNT:
            del self.fields["price_fen"]
            self.fields["discount_bp"].required = True
        else:
            del self.fields["discount_bp"]
            self.fields["price_fen"].required = True

    def quote(self) -> dict:
        d = self.cleaned_data
        return {"price_fen": d.get("price_fen"), "discount_bp": d.get("discount_bp"), "nonce": d.get("nonce") or None,
                "proposal": d.get("proposal", "")}


class EvaluatorsForm(forms.Form):
    names = forms.CharField(label=_("Evaluators (one name a line)"), widget=forms.Textarea(attrs={"rows": 4}),
                            max_length=5000)

    def clean_names(self):
        names = [n.strip() for n in self.cleaned_data["names"].splitlines() if n.strip()]
        if any(len(n) > 64 for n in names):
            raise ValidationError(_("A name has at most %(n)d characters.") % {"n": 64}, code="max_length")
        return names


class ScoresForm(forms.Form):
    """One score field per evaluator, bid and criterion."""

    def __init__(self, *args, evaluators, bids, criteria, **kwargs):
        super().__init__(*args, **kwargs)
        self.cells = []  # (evaluator, bid, [(criterion, field name)])
        for ev in evaluators:
            for bid in bids:
                names = []
                for i, c in enumerate(criteria):
                    name = f"s_{ev.pk}_{bid.pk}_{i}"
                    self.fields[name] = forms.DecimalField(
                        label=_("%(evaluator)s, bid %(bid)s, %(criterion)s (0–%(weight)s)")
                        % {"evaluator": ev.name, "bid": bid.pk, "criterion": c["name"], "weight": c["weight"]},
                        min_value=0, max_value=int(c["weight"]), decimal_places=2, max_digits=6)
                    names.append((c["name"], name))
                self.cells.append((ev, bid, names))

    def rows(self):
        """(evaluator, bid, bound fields) for the page's table."""
        return [(ev, bid, [self[name] for _c, name in names]) for ev, bid, names in self.cells]

    def scores(self):
        for ev, bid, names in self.cells:
            yield ev, bid, {criterion: self.cleaned_data[name] for criterion, name in names}


class SelectForm(forms.Form):
    """Run the selection; for direct choice, the chosen bid and the published reason."""

    bid = forms.TypedChoiceField(label=_("Chosen bid"), coerce=int, widget=forms.RadioSelect, choices=[])
    reason = forms.CharField(label=_("Reason for the direct choice (published)"),
                             widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)

    def __init__(self, *args, service_request, bids, **kwargs):
        super().__init__(*args, **kwargs)
        # Too few bids: the round fails whatever is chosen, so there is nothing to choose.
        self.too_few = len(bids) < service_request.effective_min_bidders
        if service_request.selection_method == SelectionMethod.DIRECT and not self.too_few:
            self.fields["bid"].choices = [
                (b.pk, f"#{b.pk} {b.agency.organization.name} ¥{fen_to_yuan(b.price_fen)}") for b in bids]
        else:
            del self.fields["bid"], self.fields["reason"]


class ObjectionForm(forms.Form):
    bid = forms.TypedChoiceField(label=_("Your bid"), coerce=int, choices=[])
    reason = forms.CharField(label=_("Grounds of the objection"), widget=forms.Textarea(attrs={"rows": 4}),
                             max_length=5000)

    def __init__(self, *args, bids, **kwargs):
        super().__init__(*args, prefix="objection", **kwargs)
        self.fields["bid"].choices = [(b.pk, f"#{b.pk} {b.agency.organization.name}") for b in bids]
        if len(bids) == 1:
            self.fields["bid"].initial = bids[0].pk
            self.fields["bid"].widget = forms.HiddenInput()


class RulingForm(forms.Form):
    decision = forms.ChoiceField(label=_("Decision"), widget=forms.RadioSelect,
                                 choices=[("uphold", _("Uphold: void the result and select again without the winner")),
                                          ("dismiss", _("Dismiss: the result stands"))])
    ruling = forms.CharField(label=_("Ruling (published)"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)
