"""Catalogues kept in Redis: one instance's fetch serves every instance.

Services are stored as the fields the panel model already validated and rebuilt without
validating again: validation unescapes names, and a name unescaped twice would change.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

from bot.panel.models import Service
from bot.shared.connection import SharedRedis

# Kept well past the TTL: while the panel is down, an old catalogue beats none.
KEEP_SECONDS = 24 * 3600


class RedisCatalogues:
    def __init__(self, shared: SharedRedis) -> None:
        self._shared = shared

    async def load(self, label: str) -> tuple[float, tuple[Service, ...]] | None:
        raw = await self._shared.client.get(self._key(label))
        if raw is None:
            return None
        kept = json.loads(raw)
        services = tuple(_service(fields) for fields in kept["services"])
        return max(0.0, time.time() - float(kept["at"])), services

    async def save(self, label: str, services: tuple[Service, ...]) -> None:
        kept = {"at": time.time(), "services": [_fields(service) for service in services]}
        await self._shared.client.set(self._key(label), json.dumps(kept), ex=KEEP_SECONDS)

    async def forget(self, label: str) -> None:
        await self._shared.client.delete(self._key(label))

    def _key(self, label: str) -> str:
        # A label is "shared" or a key's fingerprint, never a key.
        return self._shared.key("catalogue", label)


def _fields(service: Service) -> dict[str, Any]:
    fields = service.model_dump()
    fields["rate"] = str(service.rate)
    return fields


def _service(fields: dict[str, Any]) -> Service:
    return Service.model_construct(**{**fields, "rate": Decimal(fields["rate"])})
