"""Every write about people and access. Functions take ``(session, actor, ...)`` and flush."""

from __future__ import annotations

import functools
import importlib.resources

from qm.errors import InvalidInput

MIN_PASSWORD = 10


MAX_PASSWORD = 1024  # hashing is slow on purpose: a megabyte of "password" is not one


class PasswordRefused(InvalidInput):
    """A new password that breaks the password rule; ``field`` is the form field it came in."""

    def __init__(self, message: str, field: str, field_message: str) -> None:
        super().__init__(message, {field: field_message})
        self.field = field
        self.field_message = field_message


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords (qm/auth/data), lower-cased; read on first use."""
    text = (importlib.resources.files("qm.auth") / "data" / "common_passwords.txt").read_text(
        encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines()
                     if line.strip() and not line.startswith("#"))


def check_password_policy(
    password: str,
    username: str | None = None,
    email: str | None = None,
    *,
    field: str = "password",
) -> None:
    """The one password rule of qm, for the web, the API and the CLI alike.

    At least MIN_PASSWORD characters; not the username, the e-mail address or its local part
    (in any case); not one character repeated; not on the shipped list of common passwords.
    Raises ``PasswordRefused`` naming ``field``.
    """
    if len(password) < MIN_PASSWORD:
        raise PasswordRefused(f"A password needs at least {MIN_PASSWORD} characters.",
                              field, f"At least {MIN_PASSWORD} characters.")
    if len(password) > MAX_PASSWORD:
        raise PasswordRefused(f"A password has at most {MAX_PASSWORD} characters.",
                              field, f"At most {MAX_PASSWORD} characters.")
    folded = password.strip().lower()
    if len(set(password.lower())) == 1:
        raise PasswordRefused("A password made of one character repeated is easy to guess; "
                              "choose another.", field, "One character repeated; choose another.")
    names = {(username or "").strip().lower()}
    if email:
        email = email.strip().lower()
        names |= {email, email.split("@", 1)[0]}
    if folded in names - {""}:
        raise PasswordRefused("A password must not be the username or the e-mail address; "
                              "choose another.", field,
                              "Not the username or e-mail address; choose another.")
    if folded in common_passwords():
        raise PasswordRefused("This password is too common; choose another.",
                              field, "Too common; choose another.")
