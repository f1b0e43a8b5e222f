import asyncio
import math
from typing import Any

import pytest
from cryptography.fernet import Fernet

from bot.storage import (
    Database,
    KeyRepository,
    SecretBox,
    SecretDecryptError,
    StorageUnavailable,
    UserRepository,
)
from bot.storage.referrals import ReferralRepository
from bot.storage.users import Newcomer, Newcomers, create_users
from tests.storage.sql import rows

PANEL_KEY = "a1b2c3d4e5f60718293a4b5c6d7e8f90"


async def test_newcomers_another_writer_made_first_are_read_back_as_they_are(
    db: Database, users: UserRepository
) -> None:
    # Another process created two of them between this one's read and its insert.
    await users.ensure(1, "ru", now=1.0)
    await users.ensure(3, "ja", now=3.0)
    made = await create_users(db, {n: Newcomer("en", None, 10.0 + n) for n in (1, 2, 3)})
    assert {n: (row.language, row.created_at) for n, row in made.items()} == {
        1: ("ru", 1.0),
        2: ("en", 12.0),
        3: ("ja", 3.0),
    }


async def test_ensure_creates_once_and_keeps_language(users: UserRepository) -> None:
    assert await users.get(1) is None
    created = await users.ensure(1, "en", now=100.0)
    assert (created.telegram_id, created.language, created.blocked) == (1, "en", False)
    assert created.created_at == 100.0
    again = await users.ensure(1, "ru", now=200.0)
    assert again == created


async def test_ensure_at_once_from_several_updates_creates_one_row(users: UserRepository) -> None:
    # All find no row, then all insert: the first creates it (with its language), the others
    # read it back.
    rows = await asyncio.gather(*(users.ensure(3, lang, now=50.0) for lang in ("en", "ru", "ja")))
    assert rows == [rows[0]] * 3
    assert rows[0].language in {"en", "ru", "ja"}
    assert await users.get(3) == rows[0]


async def test_newcomers_at_once_are_created_together_each_as_their_own(db: Database) -> None:
    statements: list[str] = []
    write = db.write_statement

    async def counted(statement: str, params: Any = None) -> Any:
        statements.append(statement)
        return await write(statement, params)

    db.write_statement = counted  # type: ignore[method-assign]
    newcomers = Newcomers(db)
    users = UserRepository(db, newcomers)
    await users.ensure(1, "en", now=10.0)  # alone: one statement, as ever
    code = await ReferralRepository(db).code_of(1, "r-one")
    await users.ensure(2, "ja", now=20.0)  # known before the crowd comes
    statements.clear()

    crowd = range(100, 400)
    made = await asyncio.gather(
        *(
            users.ensure(n, "ru" if n % 2 else "en", referral_code=code, now=float(n))
            for n in crowd
        ),
        users.ensure(2, "en", referral_code=code),
    )

    # How many statements that took depends on when each one's read ended (on PostgreSQL, in
    # waves of the pool's connections); what does not is what each of them got.
    for n, user in zip(crowd, made, strict=False):
        assert (user.telegram_id, user.language, user.created_at) == (n, "ru" if n % 2 else "en", n)
        assert await users.get(n) == user  # committed by the time it was returned
    assert made[-1] == await users.get(2) and made[-1].language == "ja"  # left as it was
    assert await ReferralRepository(db).brought(1) == len(crowd)
    assert await ReferralRepository(db).referrer_of(2) is None

    # Newcomers who come while a statement is being written share the next: here all come
    # before the first is written, so a statement takes as many as it holds.
    statements.clear()
    later = range(1_000, 1_300)
    await asyncio.gather(*(newcomers.create(n, Newcomer("en", None, 5.0)) for n in later))
    assert len(statements) == math.ceil(len(later) / Newcomers.BATCH)  # 2, not 300
    stored = "SELECT telegram_id FROM users WHERE telegram_id >= 1000 ORDER BY telegram_id"
    assert await rows(db, stored) == [(n,) for n in later]


async def test_a_failed_statement_fails_each_newcomer_in_it_and_the_next_are_created(
    db: Database,
) -> None:
    users = UserRepository(db, Newcomers(db))
    write = db.write_statement
    failing = True

    async def flaky(statement: str, params: Any = None) -> Any:
        if failing:
            raise StorageUnavailable("locked")
        return await write(statement, params)

    db.write_statement = flaky  # type: ignore[method-assign]
    results = await asyncio.gather(
        users.ensure(7, "en"), users.ensure(8, "en"), return_exceptions=True
    )
    assert all(isinstance(result, StorageUnavailable) for result in results)
    assert await users.get(7) is None
    failing = False
    assert (await users.ensure(7, "en")).telegram_id == 7


async def test_ensure_without_language(users: UserRepository) -> None:
    user = await users.ensure(2, None)
    assert user.language is None


async def test_set_language_and_blocked(users: UserRepository) -> None:
    await users.ensure(1, "en", now=100.0)
    await users.set_language(1, "ru", now=150.0)
    await users.set_blocked(1, True, now=160.0)
    user = await users.get(1)
    assert user is not None
    assert (user.language, user.blocked, user.created_at, user.updated_at) == (
        "ru",
        True,
        100.0,
        160.0,
    )
    await users.set_blocked(1, False)
    user = await users.get(1)
    assert user is not None and user.blocked is False


async def test_setters_create_a_missing_user(users: UserRepository) -> None:
    await users.set_language(5, "de")
    await users.set_blocked(6, True)
    five, six = await users.get(5), await users.get(6)
    assert five is not None and five.language == "de" and not five.blocked
    assert six is not None and six.blocked and six.language is None


async def test_key_round_trip(keys: KeyRepository, users: UserRepository) -> None:
    assert await keys.get(1) is None
    await keys.set(1, PANEL_KEY)
    assert await keys.get(1) == PANEL_KEY
    assert await users.get(1) is not None  # the key's owner row exists (foreign key)


async def test_key_replace_delete_and_all(keys: KeyRepository) -> None:
    await keys.set(1, PANEL_KEY)
    await keys.set(1, "other-key")
    await keys.set(2, PANEL_KEY)
    assert await keys.get(1) == "other-key"
    assert await keys.all_keys() == {1: "other-key", 2: PANEL_KEY}
    assert await keys.delete(1) is True
    assert await keys.delete(1) is False
    assert await keys.get(1) is None
    assert await keys.all_keys() == {2: PANEL_KEY}


async def test_key_is_encrypted_at_rest(database_url: str, box: SecretBox) -> None:
    async with await Database.open(database_url) as db:
        await KeyRepository(db, box).set(1, PANEL_KEY)
        stored = await rows(db, "SELECT * FROM panel_keys")
        assert len(stored) == 1 and PANEL_KEY not in repr(stored)
    async with await Database.open(database_url) as db:
        assert await KeyRepository(db, box).get(1) == PANEL_KEY


async def test_wrong_secret_key_is_a_clear_error(db: Database, keys: KeyRepository) -> None:
    await keys.set(1, PANEL_KEY)
    other = KeyRepository(db, SecretBox(Fernet.generate_key()))
    with pytest.raises(SecretDecryptError) as info:
        await other.get(1)
    assert PANEL_KEY not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    with pytest.raises(SecretDecryptError):
        await other.all_keys()
