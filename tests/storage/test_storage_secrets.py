import base64
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.storage import SecretBox, SecretDecryptError, load_or_create_secret_key


def test_box_round_trip_and_repr() -> None:
    key = Fernet.generate_key()
    box = SecretBox(key)
    token = box.encrypt("panel-key-ключ")
    assert b"panel-key" not in token
    assert SecretBox(key).decrypt(token) == "panel-key-ключ"
    assert key.decode() not in repr(box)


def test_wrong_key_and_damaged_data() -> None:
    token = SecretBox(Fernet.generate_key()).encrypt("secret")
    other = SecretBox(Fernet.generate_key())
    with pytest.raises(SecretDecryptError):
        other.decrypt(token)
    with pytest.raises(SecretDecryptError):
        other.decrypt(b"garbage")


def test_fingerprint() -> None:
    fp = SecretBox.fingerprint("abc")
    assert fp == "ba7816bf8f01cfea"  # sha256("abc")
    assert SecretBox.fingerprint("abd") != fp


def test_creates_a_key_file_with_mode_0600(tmp_path: Path) -> None:
    key_file = tmp_path / "secrets" / "secret.key"
    key = load_or_create_secret_key(None, key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    SecretBox(key)  # a valid Fernet key
    assert load_or_create_secret_key(None, key_file) == key
    assert load_or_create_secret_key("", key_file) == key


def test_configured_key_wins(tmp_path: Path) -> None:
    configured = Fernet.generate_key()
    key_file = tmp_path / "secret.key"
    assert load_or_create_secret_key(f" {configured.decode()}\n", key_file) == configured
    assert not key_file.exists()


@pytest.mark.parametrize(
    "bad",
    [
        "not-a-key-at-all",
        "c2hvcnQ=",  # valid base64, wrong length
        # A key of the right length spoilt by characters outside base64; fixed, so that every
        # collection (xdist workers) sees the same test IDs.
        base64.urlsafe_b64encode(b"thirty-two bytes of a secret key").decode()[:-2] + "!!",
    ],
)
def test_malformed_configured_key(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError, match="configured secret key") as info:
        load_or_create_secret_key(bad, tmp_path / "secret.key")
    assert bad not in str(info.value)
    assert info.value.__cause__ is None


def test_malformed_key_file(tmp_path: Path) -> None:
    key_file = tmp_path / "secret.key"
    key_file.write_text("oops-secret-content")
    with pytest.raises(ValueError, match="secret key file") as info:
        load_or_create_secret_key(None, key_file)
    assert "oops" not in str(info.value)


def test_box_refuses_malformed_key() -> None:
    with pytest.raises(ValueError):
        SecretBox(b"short")
