"""What any request may carry, checked in one place before a view sees it.

Every route gets the same answers to malformed input: an id past the database's integer range
matches no route (404), a JSON body that cannot be read whole (too deeply nested, a lone UTF-16
surrogate) is a 400, a NUL character in any text is a 422 (PostgreSQL cannot store it, SQLite
would; the answer must not depend on the database), a body larger than the site allows is a
413 from its Content-Length, before a byte of it is read. The API schemas' fields for ids and
counts are bounded here too, so the OpenAPI document states the range the server enforces.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from marshmallow import fields, validate
from werkzeug.routing import IntegerConverter

# The largest id a row can have: the primary keys are 32-bit signed on PostgreSQL.
MAX_ID = 2**31 - 1
# Deeper than any document qm reads (a scoring form nests about six levels), and far from the
# interpreter's recursion limit, which later code (webargs, str(), json.dumps) shares.
MAX_JSON_DEPTH = 64


class IdConverter(IntegerConverter):
    """``<int:...>`` in every route: a number past ``MAX_ID`` matches nothing (a 404), rather
    than reaching the database as a value it cannot compare."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002 - werkzeug's
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def Id(**kwargs: Any) -> fields.Integer:  # noqa: N802 - a field factory reads like a field
    """An id in a query or body: 1..MAX_ID, stated in the OpenAPI document."""
    return fields.Integer(validate=validate.Range(1, MAX_ID), **kwargs)


def Count(minimum: int = 0, maximum: int = MAX_ID, **kwargs: Any) -> fields.Integer:  # noqa: N802
    """A bounded whole number (a version, a limit, a seed)."""
    return fields.Integer(validate=validate.Range(minimum, maximum), **kwargs)


def Text(min_length: int = 1, **kwargs: Any) -> fields.String:  # noqa: N802
    """Text the server refuses when blank: the document says so (minLength, and a pattern
    that needs a character other than a space)."""
    extra = kwargs.pop("validate", None)
    rules = [validate.Length(min=min_length),
             validate.Regexp(r"[\s\S]*\S", error="Must not be blank.")]
    return fields.String(validate=rules + ([extra] if extra else []), **kwargs)


def version_of(form: Any) -> int:
    """The version a page's form was loaded with (its hidden ``version`` field); a tampered
    one is a 400, not a crash."""
    try:
        return int(form.version.data or 0)
    except (TypeError, ValueError):
        raise BadInput("The form's version is not a number: reload the page and apply your "
                       "change again.") from None


class BadInput(ValueError):
    """Input no route could use; ``status`` is the answer (400 unreadable, 422 unstorable)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def id_arg(args: Any, name: str, maximum: int = MAX_ID) -> int | None:
    """A whole number from a page's query string (an id, a version): None when absent, a 400
    naming the parameter when it is not one (never silently dropped, never sent to the
    database out of range)."""
    raw = args.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if not 0 < value <= maximum:
        raise BadInput(f"The parameter {name!r} must be a whole number from 1 to {maximum}.")
    return value


NUL_MESSAGE = ("The text holds a NUL character (\\u0000), which cannot be stored; "
               "remove it and send again.")


def check_text(value: str) -> None:
    """Refuse text that no database column can hold the same way on SQLite and PostgreSQL."""
    if "\x00" in value:
        raise BadInput(NUL_MESSAGE, 422)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadInput("The text holds a lone UTF-16 surrogate (such as \\ud800), which is "
                       "not a character; send valid UTF-8 text.") from None


def load_json(data: bytes | str) -> Any:
    """Parse a JSON document, refusing what would fail later with a sentence, as ``BadInput``:
    nesting too deep to parse (a hundred thousand brackets), lone surrogates, NUL characters."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise BadInput("The JSON body nests too deeply to be read.") from None
    except ValueError as exc:
        raise BadInput(f"The body is not valid JSON: {exc}.") from None
    for item in _strings(value):
        check_text(item)
    return value


def _strings(value: Any) -> Iterable[str]:
    """Every string of a parsed document, keys included, walked without recursion; a document
    nested deeper than ``MAX_JSON_DEPTH`` is refused."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict | list):
            if depth >= MAX_JSON_DEPTH:
                raise BadInput(f"The JSON body nests deeper than {MAX_JSON_DEPTH} levels.")
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


def check_request(request: Any) -> None:
    """The checks every request passes before its view: the JSON body, then the text of the
    query string and form fields. (Size is refused earlier, by ``refuse_large_bodies``.)"""
    if request.is_json and request.content_length:
        load_json(request.get_data(cache=True))
    for values in (request.args, request.form if _has_form(request) else None):
        if values is None:
            continue
        for key, value in values.items(multi=True):
            check_text(key)
            check_text(value)


def _has_form(request: Any) -> bool:
    return request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data")


def refuse_large_bodies(app: Callable[..., Any],
                        max_bytes: Callable[[], int]) -> Callable[..., Any]:
    """WSGI middleware: a body declared larger than the limit is answered 413 at once, before
    any part of the application (sessions, CSRF, authentication) would read it."""

    def middleware(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        try:
            declared = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        limit = max_bytes()
        if declared > limit:
            body = json.dumps({"code": 413, "status": "Payload Too Large",
                               "message": f"The request is larger than this site allows "
                                          f"({limit // (1024 * 1024)} MB)."}).encode()
            api = str(environ.get("PATH_INFO", "")).startswith("/api/")
            if not api:
                body = (b"<!doctype html><title>Too large</title><p>The upload is larger than "
                        b"this site allows (" + str(limit // (1024 * 1024)).encode()
                        + b" MB).</p>")
            start_response("413 Request Entity Too Large", [
                ("Content-Type", "application/json" if api else "text/html; charset=utf-8"),
                ("Content-Length", str(len(body))), ("Connection", "close")])
            return [body]
        return app(environ, start_response)

    return middleware
