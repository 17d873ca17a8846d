"""The kernel below every app: no domain knowledge, only Django and libraries.

PDF rendering, spreadsheet reading and writing, the stored-upload preview/commit flow,
pagination, the bulk COPY writer, and money and number formatting. Nothing here imports
an app (``accounts``, ``catalog``, ...); the apps import from here.
"""
