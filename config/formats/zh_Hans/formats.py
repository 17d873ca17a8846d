"""Simplified Chinese number formats.

Django's own zh_Hans formats have no thousands separator, so 12000000 would show as
"12000000". Procurement figures (volumes, yuan) are read with separators in Chinese
documents too, so use "," every three digits, as the published announcements do.
"""

DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
