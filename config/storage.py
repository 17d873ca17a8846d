"""Where uploaded and generated files are kept: ``STORAGES["default"]`` from the environment.

The file system under ``MEDIA_ROOT`` unless ``JICAI_S3_BUCKET`` is set; then S3-compatible
object storage through django-storages (``storages.backends.s3.S3Storage``, boto3).
Credentials come from boto3's usual chain (``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``,
a profile, an instance role), never from the settings. Files are private: the app streams
each download after its own access checks and hands out no public or pre-signed links.
README.md ("Configuration") lists the variables.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def default_storage(environ: Mapping[str, str]) -> dict[str, Any]:
    """The ``STORAGES["default"]`` entry the environment asks for."""
    bucket = environ.get("JICAI_S3_BUCKET", "")
    if not bucket:
        return {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": environ.get("JICAI_S3_ENDPOINT_URL") or None,
            "region_name": environ.get("JICAI_S3_REGION") or None,
            "location": environ.get("JICAI_S3_PREFIX", ""),
            # "path" for most S3-compatible servers (MinIO, Ceph); "virtual" for AWS.
            "addressing_style": environ.get("JICAI_S3_ADDRESSING_STYLE") or None,
            "signature_version": "s3v4",
            "default_acl": "private",
            "file_overwrite": False,  # a taken name gets a suffix, as on the file system
            "querystring_auth": True,
        },
    }
