"""Showing people's text and numbers as people expect: comments with their line breaks and safe links,
file sizes in the unit that reads naturally, and counted nouns in the right number."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from markupsafe import Markup, escape

# http(s) links only, up to the first white space or a character that usually closes a sentence around one.
_URL = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")


def rich_text(text: str | None) -> Markup:
    """Escaped text with its line breaks kept and http(s) addresses as links that open safely."""
    if not text:
        return Markup("")
    out, last = [], 0
    for match in _URL.finditer(text):
        out.append(escape(text[last:match.start()]))
        url = match.group(0)
        out.append(Markup('<a href="{0}" rel="noopener noreferrer nofollow" target="_blank">{0}</a>').format(url))
        last = match.end()
    out.append(escape(text[last:]))
    return Markup("").join(out).replace("\r\n", "\n").replace("\n", Markup("<br>\n"))


def file_size(size: int | None) -> str:
    """45 bytes, 1 KB, 12.5 KB, 3.2 MB — never "0.0 KB"."""
    if size is None:
        return "—"
    if size < 1024:
        return f"{size} byte{'s' if size != 1 else ''}"
    for unit, factor in (("KB", 1024), ("MB", 1024 ** 2), ("GB", 1024 ** 3)):
        value = size / factor
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if value >= 100 else f"{value:.1f} {unit}".replace(".0 ", " ")
    return f"{size} bytes"  # unreachable: GB takes everything above


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """"1 open criterion", "3 open criteria"."""
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"


def moment_text(moment: datetime | None) -> str:
    """A point in time as pages and mails both write it ("24 Jun 2026, 14:05 UTC"), so the expiry a page shows is
    word for word the one in the mail."""
    if moment is None:
        return "—"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%d %b %Y, %H:%M UTC")


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    """A CSV cell a spreadsheet shows as text: one that would start a formula gets a leading quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
