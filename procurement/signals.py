"""Events of the procurement app that higher apps receive (they never import upward).

``round_published``: a round's procurement document is published, i.e. bidding has just
opened (``procurement.services.round_open_bidding``). Sent inside the opening's
transaction with ``round_`` (the round, now bidding), ``by`` (the user, or None for the
schedule) and ``at`` (the moment). The tender app records the document's first version.
"""

from django.dispatch import Signal

round_published = Signal()
