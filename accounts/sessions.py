"""A database session engine that stores only the SHA-256 digest of each session key.

Django's database engine keeps the session key itself as the primary key of
``django_session``: anyone who reads the table (a backup, a replica, a dump) can put a key
in a cookie and be signed in as that user. This engine keeps the same behaviour (the
cookie holds a random 32-character key, about 165 bits) but the row's primary key is
``sha256(key)`` (``accounts.HashedSession``). A request's cookie is hashed and looked up;
a digest taken from the table is hashed again and matches nothing. SHA-256 needs no salt
or stretching here: the key is random, not a password, so it cannot be guessed.

Selected by ``SESSION_ENGINE = "accounts.sessions"``. Every method of Django's engine that
takes a key to the database is overridden; the rest (signing, expiry, cycling the key at
sign-in) is Django's.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib.sessions.backends import db
from django.utils import timezone


def session_key_digest(session_key: str) -> str:
    """The stored form of a session key."""
    return hashlib.sha256(session_key.encode()).hexdigest()


class SessionStore(db.SessionStore):
    @classmethod
    def get_model_class(cls) -> Any:
        from accounts.models import HashedSession

        return HashedSession

    def _get_session_from_db(self) -> Any:
        key = self.session_key
        if key is None:
            return None
        try:
            return self.model.objects.get(
                session_key=session_key_digest(key), expire_date__gt=timezone.now()
            )
        except self.model.DoesNotExist:
            self._session_key = None
            return None

    async def _aget_session_from_db(self) -> Any:
        key = self.session_key
        if key is None:
            return None
        try:
            return await self.model.objects.aget(
                session_key=session_key_digest(key), expire_date__gt=timezone.now()
            )
        except self.model.DoesNotExist:
            self._session_key = None
            return None

    def exists(self, session_key: str) -> bool:
        return self.model.objects.filter(session_key=session_key_digest(session_key)).exists()

    async def aexists(self, session_key: str) -> bool:
        return await self.model.objects.filter(
            session_key=session_key_digest(session_key)
        ).aexists()

    def create_model_instance(self, data: dict[str, Any]) -> Any:
        key = self._get_or_create_session_key()  # type: ignore[attr-defined]
        return self.model(
            session_key=session_key_digest(key),
            session_data=self.encode(data),
            expire_date=self.get_expiry_date(),
        )

    async def acreate_model_instance(self, data: dict[str, Any]) -> Any:
        key = await self._aget_or_create_session_key()  # type: ignore[attr-defined]
        return self.model(
            session_key=session_key_digest(key),
            session_data=self.encode(data),
            expire_date=await self.aget_expiry_date(),
        )

    def delete(self, session_key: str | None = None) -> None:
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        self.model.objects.filter(session_key=session_key_digest(session_key)).delete()

    async def adelete(self, session_key: str | None = None) -> None:
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        await self.model.objects.filter(session_key=session_key_digest(session_key)).adelete()
