"""ASGI entry point."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_asgi_application()

# The same key check as config.wsgi (bidding.checks): never serve with a malformed master
# key or one that did not wrap the stored keys.
from bidding.checks import require_keys  # noqa: E402

require_keys()
