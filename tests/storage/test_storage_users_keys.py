import pytest
from cryptography.fernet import Fernet

from bot.storage import (
    Database,
    KeyRepository,
    SecretBox,
    SecretDecryptError,
    UserRepository,
)
from tests.storage.sql import rows

PANEL_KEY = "a1b2c3d4e5f60718293a4b5c6d7e8f90"


async def test_ensure_creates_once_and_keeps_language(users: UserRepository) -> None:
    assert await users.get(1) is None
    created = await users.ensure(1, "en", now=100.0)
    assert (created.telegram_id, created.language, created.blocked) == (1, "en", False)
    assert created.created_at == 100.0
    again = await users.ensure(1, "ru", now=200.0)
    assert again == created


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
