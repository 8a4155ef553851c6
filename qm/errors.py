"""Errors a user can cause. Services raise them; views, the API and the CLI turn them into words."""

from __future__ import annotations


class QMError(Exception):
    """Base class: ``str(err)`` is a sentence fit to show the user."""

    status = 400


class NotFound(QMError):
    status = 404

    def __init__(self, what: str, ident: object = None, *, message: str | None = None) -> None:
        super().__init__(message or f"{what} {ident} does not exist or is not visible to you.")


class PermissionDenied(QMError):
    status = 403

    def __init__(self, permission: str, message: str | None = None) -> None:
        self.permission = permission
        super().__init__(message or f"You do not have the permission '{permission}'.")


class StaleEdit(QMError):
    """Someone saved the record after the editor loaded it: nothing was written."""

    status = 409

    def __init__(self, what: str) -> None:
        super().__init__(
            f"Someone else saved this {what} after you opened it; nothing was written. "
            "Reload to see their change, then apply yours again."
        )


class Conflict(QMError):
    status = 409


class InvalidInput(QMError):
    """Input that breaks a rule; ``errors`` maps field names to messages where known."""

    status = 400

    def __init__(self, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or {}


class SchemaNotCurrent(RuntimeError):
    """The database schema is behind (or ahead of) the code."""
