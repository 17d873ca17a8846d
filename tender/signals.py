"""Events of the tender app for higher apps (the bidding app may connect to them).

``amendment_published``: a numbered amendment is published, sent inside its transaction
with ``amendment`` and ``touched``: the (round item id, specification id or None) lines
whose bids must be re-confirmed (``tender.selectors.reconfirmation_required_since`` gives
the moment for each).
"""

from django.dispatch import Signal

amendment_published = Signal()
