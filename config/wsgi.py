"""WSGI entry point (gunicorn config.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# Refuse to serve with a malformed master key or one that did not wrap the stored keys
# (bidding.checks; runserver and manage.py check run the same system check).
from bidding.checks import require_keys  # noqa: E402

require_keys()
