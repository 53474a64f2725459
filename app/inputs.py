"""Input the database can't hold never reaches a view: ids beyond an integer column, NUL characters.

`install` (called by the app factory before any blueprint) makes every `<int:…>` in a route an id from 1 to
2**31 - 1, the range of a PostgreSQL `integer` column (anything else is the same 404 as a missing row), and
refuses a request whose query string or form carries a NUL character, which PostgreSQL can't store in text,
with a 422 page (a path with one is a 404). `parse_id` reads an id from a query string or a form the same way.
"""
from __future__ import annotations

from flask import Flask, abort, request
from werkzeug.routing import IntegerConverter, ValidationError

from .extensions import htmx
from .templating import render

MAX_ID = 2**31 - 1  # PostgreSQL integer
NUL_MESSAGE = "Something you sent contains a NUL character (\\0), which can't be stored, so nothing was saved."
_MAX_ID_DIGITS = len(str(MAX_ID))


class IdConverter(IntegerConverter):
    """`<int:name>`: ASCII digits, 1 … MAX_ID unless the rule says otherwise (`<int(min=0):n>`)."""

    regex = r"[0-9]+"

    def __init__(self, map, fixed_digits: int = 0, min: int | None = 1, max: int | None = MAX_ID,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits, min, max, signed)

    def to_python(self, value: str) -> int:
        if len(value) > _MAX_ID_DIGITS + 1:  # not worth reading a 5,000-digit number to refuse it
            raise ValidationError()
        return super().to_python(value)


def parse_id(raw: str | None, lo: int = 1, hi: int = MAX_ID) -> int | None:
    """An integer from lo to hi written in ASCII digits (surrounding spaces allowed), else None."""
    raw = (raw or "").strip()
    if not raw or len(raw) > len(str(hi)) + 2 or not (raw.isascii() and raw.isdigit()):
        return None
    value = int(raw)
    return value if lo <= value <= hi else None


def _has_nul(values) -> bool:
    return any("\x00" in key or "\x00" in value for key, value in values.items(multi=True))


def _refuse_nul_characters():
    if "\x00" in request.path:
        abort(404)
    uploads = request.files.items(multi=True) if request.method in ("POST", "PUT", "PATCH") else ()
    if (_has_nul(request.args) or (request.method in ("POST", "PUT", "PATCH") and _has_nul(request.form))
            or any("\x00" in (f.filename or "") for _, f in uploads)):
        if htmx:  # the message goes above the page; the form keeps what was typed
            return (f'<ul class="flashes" role="alert"><li class="flash error">{NUL_MESSAGE} Remove it and send '
                    'it again.</li></ul>', 422, {"HX-Retarget": "main.page", "HX-Reswap": "afterbegin"})
        return render("errors/error.html", code=422, title="Text that can't be saved",
                      message=f"{NUL_MESSAGE} Go back, remove it (it often comes with text pasted from another "
                              "program) and send it again."), 422
    return None


def install(app: Flask) -> None:
    """Register the id converter (before any route is added) and the NUL check."""
    app.url_map.converters["int"] = IdConverter
    app.before_request(_refuse_nul_characters)
