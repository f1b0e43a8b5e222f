"""HTTP client of the SMM panel API v2.

The client holds no key: every method takes the key as its first argument, so one client (one
connection pool) serves every user. The key travels only in the POST body and is scrubbed from
every text that leaves this module.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import html
import json
import logging
import random
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import TracebackType
from typing import Any, Generic, Self, TypeVar
from urllib.parse import quote, quote_plus, unquote_plus, urlencode

import aiohttp
from pydantic import ValidationError
from yarl import URL

from bot.panel.errors import (
    InvalidKey,
    OrderOutcomeUnknown,
    PanelRejected,
    PanelUnavailable,
    known_error_code,
    rejection,
)
from bot.panel.models import (
    Balance,
    ItemError,
    NewOrder,
    OrderStatus,
    Service,
    parse_order_status,
)

log = logging.getLogger(__name__)

DEFAULT_USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0 Safari/537.36"
)
BATCH_SIZE = 100

# The largest answers read, by action. A big panel's catalogue is a few MB (10,000 services of
# about 400 bytes); every other answer is small: a 100-order status batch is about 15 KB, and
# 1 MB leaves room for long texts. Beyond the cap the answer is refused, never buffered whole.
CATALOGUE_CAP_BYTES = 16 * 2**20
ANSWER_CAP_BYTES = 2**20
_CAPS = {"services": CATALOGUE_CAP_BYTES}
# Above this size the JSON is parsed in a thread: a multi-MB catalogue would otherwise hold the
# event loop (every person's updates) for seconds.
THREAD_ABOVE_BYTES = 256 * 2**10
_CHUNK_BYTES = 64 * 2**10
# No answer of API v2 nests deeper than a multi answer's {id: {"error": {"message": ...}}};
# deeper is a broken or hostile panel, and would break what walks the answer.
MAX_DEPTH = 16
# Orders and refills are numbered from 1 and stored as SQLite 64-bit integers.
_ID_RANGE = range(1, 2**63)

T = TypeVar("T")


class _NotSent(PanelUnavailable):
    """The connection failed before the request could be written: safe to send again."""


class _RateLimited(PanelUnavailable):
    """HTTP 429: refused before being processed, so not an unknown outcome, but sending
    again at once would only prolong the limit."""


class _TooLarge(PanelUnavailable):
    """An answer over its action's cap: asking again would only bring the same flood."""


class PanelClient:
    def __init__(
        self,
        url: str,
        *,
        timeout: float = 30,
        user_agent: str = DEFAULT_USER_AGENT,
        read_retries: int = 3,
        retry_backoff: float = 0.5,
        interactive_deadline: float | None = None,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        """`interactive_deadline`: the longest a person waits for one of the reads they ask
        for (catalogue, balance, one order's status, refill, cancel), retries included. The
        multi-item reads the tracker makes (`statuses`, `refill_statuses`) are not bounded:
        nobody waits on them, and a slow panel is still worth asking."""
        self._url = URL(url)
        # Connect must time out before the total does: only a connect timeout proves that the
        # request was not sent, a total timeout during connect is indistinguishable.
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=timeout / 2)
        self._headers = {
            "User-Agent": user_agent,
            "Accept": "application/json, */*",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        self._read_retries = read_retries
        self._retry_backoff = retry_backoff
        self._deadline = interactive_deadline
        self._session = session
        self._owns_session = session is None

    def __repr__(self) -> str:
        return f"PanelClient(url={str(self._url)!r})"

    @property
    def url(self) -> str:
        return str(self._url)

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
        self._session = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # --- actions -------------------------------------------------------------------------

    async def services(self, key: str) -> list[Service]:
        answer = await self._call(key, "services", {}, after_send=None, deadline=self._deadline)
        if isinstance(answer, dict):  # a few panels key the catalogue by service ID
            answer = list(answer.values())
        if not isinstance(answer, list):
            raise PanelUnavailable(f"services: unexpected answer ({_shape(answer)})")
        if len(answer) * 400 > THREAD_ABOVE_BYTES:  # about 400 bytes an entry
            return await asyncio.to_thread(self._catalogue, answer)
        return self._catalogue(answer)

    def _catalogue(self, answer: list[Any]) -> list[Service]:
        """The services a person can order; the panel's malformed, impossible and duplicate
        entries left out, each kind logged in one line for the whole catalogue (a bad panel may
        send thousands of them)."""
        services: list[Service] = []
        seen: set[int] = set()
        skipped = duplicates = 0
        first_problem = first_duplicate = ""
        for entry in answer:
            try:
                if not isinstance(entry, dict):
                    raise ValueError(f"entry is {_shape(entry)}, not an object")
                service = Service.model_validate(entry)
            except ValueError as exc:  # ValidationError is a ValueError
                if not skipped:
                    ident = entry.get("service") if isinstance(entry, dict) else None
                    first_problem = f"service {ident!r}: {_problem(exc)}"
                skipped += 1
                continue
            if service.service in seen:
                # The first keeps its place: a button must open the service it showed.
                if not duplicates:
                    first_duplicate = str(service.service)
                duplicates += 1
                continue
            seen.add(service.service)
            services.append(service)
        if skipped and not services:
            raise PanelUnavailable(f"services: no readable service ({first_problem})")
        if skipped:
            log.warning(
                "panel %s: skipped %d malformed or impossible services (first: %s)",
                self._url.host,
                skipped,
                first_problem,
            )
        if duplicates:
            log.warning(
                "panel %s: skipped %d services listed again under the same ID (first: %s)",
                self._url.host,
                duplicates,
                first_duplicate,
            )
        return services

    async def add(self, key: str, order: NewOrder) -> int:
        answer = await self._call(key, "add", order.to_form(), after_send=OrderOutcomeUnknown)
        order_id = _id_or_none(answer.get("order") if isinstance(answer, dict) else answer)
        if order_id is None:
            # 0, -5 or 2**64 is no order anyone can follow: it may or may not have been placed.
            raise OrderOutcomeUnknown(f"add: answer without an order ID ({_shape(answer)})")
        return order_id

    async def status(self, key: str, order_id: int) -> OrderStatus:
        form = {"order": str(order_id)}
        answer = await self._call(key, "status", form, after_send=None, deadline=self._deadline)
        return _validate(parse_order_status, answer, "status")

    async def statuses(self, key: str, ids: Sequence[int]) -> dict[int, OrderStatus | ItemError]:
        return await self._statuses(key, _ORDER_STATUSES, ids)

    async def refill(self, key: str, order_id: int) -> int:
        answer = await self._call(key, "refill", {"order": str(order_id)}, deadline=self._deadline)
        return _single(answer, "refill", _parse_id, "refill", key)

    async def refills(self, key: str, ids: Sequence[int]) -> dict[int, int | ItemError]:
        result: dict[int, int | ItemError] = {}
        for batch in _batches(ids):
            form = {"orders": _joined(batch)}
            answer = await self._batch(key, "refill", form, batch, after_send=PanelUnavailable)
            if len(batch) == 1 and isinstance(answer, dict) and "refill" in answer:
                answer = {str(batch[0]): answer}
            _collect(result, answer, "order", batch, _parse_id, key, value_field="refill")
        return result

    async def refill_status(self, key: str, refill_id: int) -> str:
        form = {"refill": str(refill_id)}
        answer = await self._call(
            key, "refill_status", form, after_send=None, deadline=self._deadline
        )
        return _single(answer, "status", _parse_status_text, "refill_status", key)

    async def refill_statuses(self, key: str, ids: Sequence[int]) -> dict[int, str | ItemError]:
        return await self._statuses(key, _REFILL_STATUSES, ids)

    async def _statuses(
        self, key: str, kind: _StatusAction[T], ids: Sequence[int]
    ) -> dict[int, T | ItemError]:
        """The multi status of orders or refills, 100 IDs a request."""
        result: dict[int, T | ItemError] = {}
        for batch in _batches(ids):
            answer = await self._batch(key, kind.action, {kind.ids_field: _joined(batch)}, batch)
            if len(batch) == 1 and isinstance(answer, dict) and "status" in answer:
                answer = {str(batch[0]): answer}  # a panel answering one ID in the single form
            _collect(
                result, answer, kind.id_field, batch, kind.parse, key, value_field=kind.value_field
            )
        return result

    async def cancel(self, key: str, ids: Sequence[int]) -> dict[int, bool | ItemError]:
        result: dict[int, bool | ItemError] = {}
        for batch in _batches(ids):
            form = {"orders": _joined(batch)}
            answer = await self._call(key, "cancel", form, deadline=self._deadline)
            _collect(result, answer, "order", batch, _parse_accepted, key, value_field="cancel")
        return result

    async def balance(self, key: str, *, retries: int | None = None) -> Balance:
        """`retries` overrides the client's read retries, for a balance that is only a hint."""
        answer = await self._call(
            key, "balance", {}, after_send=None, retries=retries, deadline=self._deadline
        )
        return _validate(Balance.model_validate, answer, "balance")

    # --- transport -----------------------------------------------------------------------

    async def _batch(
        self,
        key: str,
        action: str,
        form: dict[str, str],
        batch: list[int],
        *,
        after_send: type[PanelUnavailable] | None = None,
    ) -> Any:
        """A multi answer. Some panels answer a one-ID multi request in the single form, so a
        bare {"error": ...} then belongs to that ID: the tracker can act on it item by item."""
        try:
            return await self._call(key, action, form, after_send=after_send)
        except InvalidKey:
            raise
        except PanelRejected as exc:
            if len(batch) != 1:
                raise
            return {str(batch[0]): {"error": exc.message}}

    async def _call(
        self,
        key: str,
        action: str,
        form: dict[str, str],
        *,
        after_send: type[PanelUnavailable] | None = PanelUnavailable,
        retries: int | None = None,
        deadline: float | None = None,
    ) -> Any:
        """One action with retries, all of them within `deadline` seconds when given.

        `after_send` is None for reads (every unavailability is retried); for state-changing
        actions it is the exception raised, without retry, once the request may have been sent.
        """
        try:
            async with asyncio.timeout(deadline):
                return await self._attempts(key, action, form, after_send, retries)
        except TimeoutError as exc:
            # Only the deadline's own timeout gets here: _post turns a request's into
            # PanelUnavailable. A state change cut off may have arrived, as with any timeout.
            reason = f"{action}: no answer within {deadline:g} s"
            log.debug("panel %s: %s", self._url.host, reason)
            raise (after_send or PanelUnavailable)(reason) from exc

    async def _attempts(
        self,
        key: str,
        action: str,
        form: dict[str, str],
        after_send: type[PanelUnavailable] | None,
        retries: int | None,
    ) -> Any:
        retries = self._read_retries if retries is None else retries
        attempt = 0
        while True:
            try:
                return await self._post(key, action, form)
            except PanelRejected as exc:
                log.info("panel %s: %s rejected: %s", self._url.host, action, exc.message)
                raise
            except _NotSent as exc:
                failure = PanelUnavailable(exc.reason)
            except _TooLarge as exc:
                # Not asked for again: the same flood would come. Logged by the caller, as any
                # unavailability (the tracker once per outage, a handler once per person).
                log.debug("panel %s: %s (not retried)", self._url.host, exc.reason)
                raise (after_send or PanelUnavailable)(exc.reason) from exc
            except _RateLimited as exc:
                # Asking again within seconds would only stretch the panel's limit; the caller
                # backs off (the tracker per account), a person tries again later.
                log.debug("panel %s: %s (not retried)", self._url.host, exc.reason)
                raise PanelUnavailable(exc.reason) from exc
            except PanelUnavailable as exc:
                if after_send is not None:
                    log.debug("panel %s: %s (not retried)", self._url.host, exc.reason)
                    raise after_send(exc.reason) from exc
                failure = exc
            final = attempt >= retries
            # Debug only: whoever called decides what a failure is worth (the tracker logs one
            # line per outage, a handler one per person affected).
            log.debug(
                "panel %s: %s (attempt %d/%d)",
                self._url.host,
                failure.reason,
                attempt + 1,
                retries + 1,
            )
            if final:
                raise failure
            await asyncio.sleep(self._backoff(attempt))
            attempt += 1

    def _backoff(self, attempt: int) -> float:
        base = self._retry_backoff * 2**attempt
        return base + random.uniform(0, base / 2)

    def _session_for_request(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
            self._owns_session = True
        return self._session

    async def _post(self, key: str, action: str, form: dict[str, str]) -> Any:
        data = _form_body({"key": key, "action": action, **form})
        try:
            async with self._session_for_request().post(
                self._url,
                data=data,
                headers=self._headers,
                timeout=self._timeout,
                allow_redirects=False,
            ) as response:
                status = response.status
                body = await _read_capped(response, action)
        except aiohttp.ConnectionTimeoutError as exc:
            raise _NotSent(f"{action}: connect timed out") from exc
        except aiohttp.ClientConnectorError as exc:
            raise _NotSent(f"{action}: cannot connect ({exc.strerror or 'error'})") from exc
        except TimeoutError as exc:
            raise PanelUnavailable(f"{action}: timed out") from exc
        except aiohttp.ClientError as exc:
            raise PanelUnavailable(_scrub(f"{action}: {_describe(exc)}", key)) from exc
        if len(body) > THREAD_ABOVE_BYTES:
            return await asyncio.to_thread(_decode, action, status, body, key)
        return _decode(action, status, body, key)


def _form_body(fields: dict[str, str]) -> bytes:
    """The form URL-encoded, as aiohttp would encode it but for commas, sent as they are (a
    form value needs no escape for them, and a panel reads both alike): urllib escapes a value
    with any character to escape byte by byte, and the 99 commas of a 100-ID list made that a
    quarter of a status request's CPU."""
    return urlencode(fields, safe=",").encode()


async def _read_capped(response: aiohttp.ClientResponse, action: str) -> bytes:
    """The body, read chunk by chunk and given up at the action's cap: a hostile panel's
    300 MB answer costs at most the cap in memory, and the connection is dropped."""
    cap = _CAPS.get(action, ANSWER_CAP_BYTES)
    too_large = _TooLarge(f"{action}: answer larger than {cap // 2**20} MB")
    if response.content_length is not None and response.content_length > cap:
        raise too_large
    body = bytearray()
    async for chunk in response.content.iter_chunked(_CHUNK_BYTES):
        body += chunk
        if len(body) > cap:
            raise too_large
    return bytes(body)


def _decode(action: str, status: int, body: bytes, key: str) -> Any:
    """The JSON answer, every text in it scrubbed of the key, or the exception the HTTP status
    and body amount to."""
    if status == 429:
        raise _RateLimited(f"{action}: HTTP 429 rate limited")
    text = body.decode("utf-8", errors="replace").lstrip("\ufeff").strip()
    try:
        answer, is_json = _loads(text), True
    except RecursionError as exc:
        raise PanelUnavailable(f"{action}: HTTP {status}, answer nested too deeply") from exc
    except ValueError:
        answer, is_json = None, False
    if is_json:
        if _nests_deeper(answer, MAX_DEPTH):
            raise PanelUnavailable(f"{action}: HTTP {status}, answer nested too deeply")
        answer = _without_key(answer, key, text)
    # Non-standard panels answer errors with 4xx and a JSON error body: read it first.
    if status < 500 and isinstance(answer, dict) and answer.get("error"):
        raise rejection(_error_text(answer["error"], key))
    if not 200 <= status < 300 or not is_json:
        # Scrubbed before _body_kind cuts the text: a cut could leave part of the key behind.
        kind = _body_kind(_scrub(text, key), is_json)
        raise PanelUnavailable(f"{action}: HTTP {status}{kind}")
    return answer


_DECODER = json.JSONDecoder(parse_float=Decimal)
_BLANK = re.compile(r"[ \t\n\r]*")


def _loads(text: str) -> Any:
    """json.loads, with money as Decimal. A big list (a catalogue) is read entry by entry: one
    call for all of it would hold the interpreter, and so the event loop, for its whole length
    even in a thread."""
    if len(text) <= THREAD_ABOVE_BYTES or not text.startswith("["):
        return _DECODER.decode(text)
    items: list[Any] = []
    end = _after_blanks(text, 1)
    if text.startswith("]", end):
        return _DECODER.decode(text)
    while True:
        item, end = _DECODER.raw_decode(text, end)
        items.append(item)
        end = _after_blanks(text, end)
        if text.startswith(",", end):
            end = _after_blanks(text, end + 1)
        elif text.startswith("]", end) and end + 1 == len(text):
            return items
        else:
            raise ValueError(f"not JSON: unexpected text at {end}")


def _after_blanks(text: str, start: int) -> int:
    blanks = _BLANK.match(text, start)
    return blanks.end() if blanks else start


# A tuple, not `dict | list`: isinstance builds that union anew at each call, twice as slow.
_CONTAINERS = (dict, list)


def _nests_deeper(answer: Any, limit: int) -> bool:
    """Whether the answer nests deeper than `limit` levels; level by level, without recursion
    (a deep answer is what would exhaust it)."""
    # Only containers are carried to the next level: a status answer's 500 scalars end there.
    level = [answer] if isinstance(answer, _CONTAINERS) else []
    for _ in range(limit):
        if not level:
            return False
        level = [
            item
            for value in level
            for item in (value.values() if isinstance(value, dict) else value)
            if isinstance(item, _CONTAINERS)
        ]
    return bool(level)


_PROBE_ENTRIES = 100


def _without_key(answer: Any, key: str, body: str) -> Any:
    """The answer parsed from `body`, with the key scrubbed from every string in it (names,
    statuses, errors, currencies, object keys), so that nothing leaving the client can show it.

    Searched first, as text: the body itself (without a backslash escape every string of the
    answer is in it as it is, so a body that shows no form of the key, nor an entity or a
    percent sign that could spell one, needs nothing more), then the answer's entries; the
    answer is rebuilt only when a panel echoed the key.
    """
    if not key or not ("\\" in body or "&" in body or "%" in body or _shows_key(body, key)):
        return answer
    # A hundred entries at a time: one dump of a whole catalogue would hold the interpreter (and
    # so the event loop, when this runs in a thread) for the whole of it, and one dump an entry
    # was a fifth of a status cycle's time. A chunk's dump holds each entry's dump whole.
    parts = [*answer, *answer.values()] if isinstance(answer, dict) else answer
    parts = parts if isinstance(parts, list) else [parts]
    for start in range(0, len(parts), _PROBE_ENTRIES):
        probe = json.dumps(parts[start : start + _PROBE_ENTRIES], ensure_ascii=False, default=str)
        if (
            _shows_key(probe, key)
            or ("&" in probe and _shows_key(html.unescape(probe), key))
            or ("%" in probe and _shows_key(unquote_plus(probe), key))
        ):
            return _scrubbed(answer, key)
    return answer


def _shows_key(text: str, key: str) -> bool:
    # Plain searches in the lowered text: a case-insensitive expression over a multi-MB answer
    # takes seconds.
    lowered = text.lower()
    return any(form in lowered for form in _key_forms(key)[0])


def _scrubbed(value: Any, key: str) -> Any:
    if isinstance(value, str):
        return _scrub(value, key)
    if isinstance(value, dict):
        return {_scrub(str(k), key): _scrubbed(v, key) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrubbed(v, key) for v in value]
    return value


def _body_kind(text: str, is_json: bool) -> str:
    if is_json:
        return ""
    if not text:
        return ", empty answer"
    if text.startswith("<"):
        return ", HTML instead of JSON"
    return f", not JSON: {text[:40]!r}"


def _error_text(error: Any, key: str) -> str:
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        error = error["message"]
    if isinstance(error, str):
        return _scrub(error, key).strip()
    return _scrub(json.dumps(error, default=str), key)[:200].strip()


def _scrub(text: str, key: str) -> str:
    """The text without the key, nor its URL-, HTML-, base64- or hex-encoded forms (any letter
    case): a panel echoing the request may encode what it echoes."""
    if not key:
        return text
    pattern = _key_forms(key)[1]
    text = pattern.sub("***", text)
    for marker, decode in (("&", html.unescape), ("%", unquote_plus)):
        if marker in text and _shows_key(decode(text), key):
            text = pattern.sub("***", decode(text))
    return text


@functools.lru_cache(maxsize=256)
def _key_forms(key: str) -> tuple[frozenset[str], re.Pattern[str]]:
    """The key's forms in lower case, and a case-insensitive expression finding any of them."""
    raw = key.encode()
    forms = {
        key,
        quote(key, safe=""),
        quote_plus(key),
        html.escape(key),
        raw.hex(),
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    }
    ordered = sorted(forms, key=len, reverse=True)
    pattern = re.compile("|".join(map(re.escape, ordered)), re.IGNORECASE)
    return frozenset(form.lower() for form in forms), pattern


def _problem(exc: ValueError) -> str:
    if isinstance(exc, ValidationError) and exc.errors():
        problem = exc.errors()[0]
        return f"{problem['loc']} {problem['msg']}"
    return str(exc)


def _describe(exc: BaseException) -> str:
    detail = str(exc)
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def _shape(answer: Any) -> str:
    if isinstance(answer, dict):
        return "object with " + ", ".join(sorted(map(str, answer))[:5])
    return type(answer).__name__


def _batches(ids: Sequence[int]) -> Iterator[list[int]]:
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), BATCH_SIZE):
        yield unique[start : start + BATCH_SIZE]


def _joined(ids: list[int]) -> str:
    return ",".join(map(str, ids))


def _collect(
    into: dict[int, T | ItemError],
    answer: Any,
    id_field: str,
    batch: list[int],
    parse: Callable[[Any], T],
    key: str,
    *,
    value_field: str | None = None,
) -> None:
    """The parsed items of a multi answer (keyed by ID, or a list of objects with `id_field`),
    those of `batch` only, added to `into`.

    An item the panel left out, or sent in a shape nobody can read, stays out of the result:
    its state is unknown, which is not the same as an error.
    """
    if isinstance(answer, dict):
        entries: Iterable[tuple[Any, Any]] = answer.items()
    elif isinstance(answer, list):
        entries = [(entry.get(id_field), entry) for entry in answer if isinstance(entry, dict)]
    else:
        raise PanelUnavailable(f"unexpected multi answer ({type(answer).__name__})")
    wanted = set(batch)
    unreadable = 0
    # One loop from the entries to the results, nothing built in between: a status cycle walks
    # 100,000 of these.
    for raw_id, entry in entries:
        item_id = _int_or_none(raw_id)
        if item_id not in wanted:
            continue
        value = entry if value_field is None else _item_value(entry, value_field)
        if isinstance(value, dict) and value.get("error"):
            into[item_id] = ItemError(message=_error_text(value["error"], key))
            continue
        try:
            into[item_id] = parse(value)
        except ValueError:
            if isinstance(value, str) and value.strip():  # a bare-string error
                into[item_id] = ItemError(message=_error_text(value, key))
            else:
                unreadable += 1
    if unreadable:
        log.warning("panel answer: %d unreadable items left out", unreadable)


def _item_value(entry: Any, value_field: str) -> Any:
    """The item's value; an item's own {"error": ...} is kept whole for _collect to see."""
    if not isinstance(entry, dict) or entry.get("error"):
        return entry
    return entry.get(value_field)


def _single(answer: Any, field: str, parse: Callable[[Any], T], action: str, key: str) -> T:
    value = answer.get(field) if isinstance(answer, dict) else None
    if isinstance(value, dict) and value.get("error"):
        raise rejection(_error_text(value["error"], key))
    try:
        return parse(value)
    except ValueError as exc:
        raise PanelUnavailable(f"{action}: unexpected answer ({_shape(answer)})") from exc


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, str):  # the usual case first: every ID of a multi answer is a key
        text = value.strip()
        # isdecimal() alone takes other scripts' digits, which int() may still refuse or misread.
        return int(text) if text.isascii() and text.isdecimal() else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    return None


def _id_or_none(value: Any) -> int | None:
    """An order or refill ID: an integer from 1 to 2**63 - 1, or None."""
    number = _int_or_none(value)
    return number if number is not None and number in _ID_RANGE else None


def _parse_id(value: Any) -> int:
    number = _id_or_none(value)
    if number is None:
        raise ValueError("not an ID")
    return number


def _parse_status_text(value: Any) -> str:
    # A bare-string error ("Refill not found") would otherwise pass for a status.
    if not isinstance(value, str) or not value.strip() or known_error_code(value) is not None:
        raise ValueError("not a status")
    return value.strip()


def _parse_accepted(value: Any) -> bool:
    if isinstance(value, bool | int | Decimal):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().casefold()
        if word in {"1", "true", "ok", "success", "yes"}:
            return True
        if word in {"0", "false", "no"}:
            return False
    raise ValueError("not a cancel answer")


@dataclass(frozen=True)
class _StatusAction(Generic[T]):
    """A multi status request: `action` with `ids_field`=1,2,3, answered per `id_field`."""

    action: str
    ids_field: str
    id_field: str
    value_field: str | None  # None: the whole entry is the value
    parse: Callable[[Any], T]


_ORDER_STATUSES = _StatusAction("status", "orders", "order", None, parse_order_status)
_REFILL_STATUSES = _StatusAction("refill_status", "refills", "refill", "status", _parse_status_text)


def _validate(parse: Callable[[Any], T], answer: Any, action: str) -> T:
    try:
        return parse(answer)
    except ValueError as exc:  # pydantic's ValidationError among them
        raise PanelUnavailable(f"{action}: unexpected answer ({_shape(answer)})") from exc
