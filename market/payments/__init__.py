"""Payment of contracts through Stripe PaymentIntents, and Stripe's webhooks.

The package: models.py (Payment, PaymentRefund, StripeEvent), stripe_client.py (the client, Stripe's
objects parsed, re-reads), mirror.py (applying Stripe's objects by version), selectors.py (reads),
services.py (start, sync, capture, refund, release, settle), webhooks.py, jobs.py (the deadline job),
receivers.py (what payments do when a contract is accepted, cancelled or about to close), and the
payment routes: views.py, urls.py, api.py, admin.py.

- The owner pays the contract amount (integer fen, currency CNY). When the contract says
  pay-on-acceptance the PaymentIntent uses manual capture: the money is held and captured at
  acceptance. Otherwise it is captured at once.
- A cancelled contract releases a held payment, or refunds a captured one, whole or in part.
- Every write to Stripe carries an idempotency key derived from the contract, the action and the
  amount, so a retried request never charges or refunds twice.
- Webhooks are verified by signature, stored once by event id (a unique constraint) and applied
  once, in whatever order they arrive (below). The events handled are webhooks.WEBHOOK_EVENT_TYPES; others
  are stored and ignored.
- Without STRIPE_SECRET_KEY the site runs as before and payment shows as "offline".

The payment is Stripe's object
------------------------------
A Payment mirrors its PaymentIntent and a PaymentRefund mirrors its Refund: status, amounts held and
received, the last error and a refund's status are what Stripe's object says, not a ladder that only
climbs (a processing SEPA debit can fail and a refused 3-D Secure check ends a requires_action: both
go back to requires_payment_method). The refunded total is recomputed from the refunds on every
change, never added up: a refund counts while its own status is pending or succeeded
(REFUND_COUNTED), not once it has failed or was canceled.

Order
-----
Stripe's objects carry no version (their `created` is when they were made, not changed), so each
mirrored object keeps `stripe_version`, the Unix second as of which it is true:

- for an event's object, the event's `created` (Stripe's clock, on every event);
- for an object read from Stripe's API (payment_sync, a capture, a cancel, a refund, a re-read),
  the server second at which the answer arrived or, if later, the newest version held for the
  payment and its refunds when the question was asked: everything held had been received by then, so
  the answer is at least as new (a version held can be ahead of the server's clock).

An event's object is applied when it is newer than the version held. Seconds are coarse — Stripe
stamps several events of one object in the same second — and the server's clock is not Stripe's, so
an event that is not newer but *disagrees* with what is held is ambiguous: the object is then re-read
from Stripe and that answer applied (one API call, only for a late or same-second event that
disagrees; events in order need none). If Stripe cannot be reached for that read the event is
refused (400, code payment_unavailable, nothing stored) and Stripe delivers it again later.
Stripe's own state machine settles the rest without a read: a PaymentIntent never leaves succeeded
or canceled and a Refund never leaves failed or canceled, so an object in such a final status is
newer than any object that is not, and nothing moves a final one.

Why the order cannot matter: take the newest event of an object. When it is handled it is either
newer than what is held (applied), or not newer and agreeing, or not newer and disagreeing (re-read:
Stripe's current object, at least as new); in each case the object held is then Stripe's newest, with
a version at least the newest event's (an agreeing event still raises the version), so every event
handled afterwards is not newer and can only agree or cause a re-read. A `charge.refunded` event
carries the charge with its refunds (each applied as above) and the charge's `amount_refunded`; if
the recomputed total differs from it, the refunds are re-read.

Malformed events
----------------
A correctly signed event can still be malformed (a NUL character in a string, which PostgreSQL
cannot store; an amount that is not an integer, negative, beyond what the payment could hold or not
the payment's; a missing field; a wrong type; an unknown status). It is refused with a 400 JSON error
(code bad_payload, naming the field) before anything is stored, so it changes nothing.
"""
