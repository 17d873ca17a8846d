"""Pages of rounds, rule sets and demand declaration, by sub-domain (``procurement/urls.py``
maps each URL to its module). Thin: access, form, one service."""
