"""The award's pages, by sub-domain (``awards.urls`` routes them)."""
