"""A TCP relay between the bot and PostgreSQL that reads the client's side of the protocol:
how many times the bot asked the server for an answer (a round trip each)."""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator

from sqlalchemy import make_url

# The messages after which the client waits for the server: Sync ends an extended-protocol
# exchange (prepare, or bind and execute), Query is the simple protocol's one statement.
_ASKING = {b"S", b"Q"}
_UNTYPED_CODES = {80877103, 80877102, 80877104}  # SSLRequest, CancelRequest, GSSENCRequest


class Wire:
    """Listens on 127.0.0.1 and relays each connection to the server at `host:port`."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._server: asyncio.Server | None = None
        self._relays: set[asyncio.Task[None]] = set()
        self.round_trips = 0
        self.connections = 0

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    def url(self, url: str) -> str:
        """`url` through this relay."""
        return (
            make_url(url)
            .set(host="127.0.0.1", port=self.port)
            .render_as_string(hide_password=False)
        )

    async def __aenter__(self) -> Wire:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for relay in list(self._relays):
            relay.cancel()
        await asyncio.gather(*self._relays, return_exceptions=True)
        await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        up_reader, up_writer = await asyncio.open_connection(*self._target)
        relays = (
            asyncio.create_task(self._from_client(reader, up_writer)),
            asyncio.create_task(_pipe(up_reader, writer)),
        )
        self._relays.update(relays)
        try:
            await asyncio.gather(*relays, return_exceptions=True)
        finally:
            self._relays.difference_update(relays)
            for w in (writer, up_writer):
                w.close()
                with contextlib.suppress(OSError):
                    await w.wait_closed()

    async def _from_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            # Untyped messages first (a length, then a code): SSLRequest, then StartupMessage.
            while True:
                head = await reader.readexactly(8)
                length, code = struct.unpack("!ii", head)
                writer.write(head + await reader.readexactly(length - 8))
                if code not in _UNTYPED_CODES:
                    break
            while True:
                head = await reader.readexactly(5)
                kind, length = head[:1], struct.unpack("!i", head[1:])[0]
                writer.write(head + await reader.readexactly(length - 4))
                if kind in _ASKING:
                    self.round_trips += 1
                await writer.drain()
        except asyncio.IncompleteReadError:
            pass
        finally:
            writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


@contextlib.asynccontextmanager
async def wire_to(url: str) -> AsyncIterator[Wire]:
    parsed = make_url(url)
    async with Wire(parsed.host or "127.0.0.1", parsed.port or 5432) as wire:
        yield wire
