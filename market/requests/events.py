"""What a service request tells the domains above it (bids, open data), which requests never import.

Signals — sent with ``send`` inside the request's transaction, so a receiver's write commits or rolls
back with the change, and its exception reaches the sender:

- ``request_moved(request, to, actor, now)``: the request has just moved to status ``to`` (the row
  saved, the audit event written). Open data records the release the new status has.
- ``request_amended(request, amendment, actor)``: an amendment was saved. Open data records the
  amendment release; bids tell the agencies that bid.
- ``request_cancelled(request, reason, actor)``: the owner cancelled it (after ``request_moved``);
  bids tell the agencies that bid.

Receivers connect when the app is ready (market/apps.py for open data, bids/apps.py for bids).
"""

from __future__ import annotations

from django.dispatch import Signal

request_moved = Signal()
request_amended = Signal()
request_cancelled = Signal()
