"""The storage's own errors: nothing above bot/storage sees a driver's or SQLAlchemy's."""

from __future__ import annotations


class StorageError(Exception):
    """The database refused or failed a statement."""


class StorageUnavailable(StorageError):
    """The database cannot be reached or is busy beyond the wait (lock timeout, server down)."""


class IntegrityViolation(StorageError):
    """A statement broke a constraint (unique, check, foreign key)."""


class DuplicatePanelOrder(IntegrityViolation):
    """The account already has another order with this panel order ID."""


class SchemaTooNewError(StorageError):
    """The database was written by a newer version of the bot."""
