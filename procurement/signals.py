"""Events of the procurement app that higher apps receive (they never import upward).

``round_published``: a round's procurement document is published, i.e. bidding has just
opened (``procurement.services.round_open_bidding``). Sent inside the opening's
transaction with ``round_`` (the round, now bidding), ``by`` (the user, or None for the
schedule) and ``at`` (the moment). The tender app records the document's first version;
the bidding app creates the round's empty bid log head.

``bidding_closed``: a round's bidding has just closed (the deadline sweep, the office, or
the opening itself). Sent inside the closing transaction, after the round row's update
(which waited for every bid transaction in flight), with ``round_``, ``by`` and ``at``.
The bidding app publishes the final head of the round's bid log.
"""

from django.dispatch import Signal

round_published = Signal()
bidding_closed = Signal()
