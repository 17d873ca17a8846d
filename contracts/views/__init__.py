"""The contracts' pages, by sub-domain (``contracts.urls`` routes them)."""
