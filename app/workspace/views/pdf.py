"""PDF reports (gap analysis, internal audit, management review minutes, the evidence pack's index) printed by
WeasyPrint from their HTML: the shared print style, then the report's own."""
from __future__ import annotations

from pathlib import Path

from weasyprint import CSS, HTML

CSS_DIR = Path(__file__).resolve().parents[2] / "static" / "css"


def _no_fetching(url: str, *args, **kwargs):
    # A report is self-contained: WeasyPrint fetches nothing a typed note could point it at.
    raise ValueError(f"not fetched: {url[:80]}")


def render_pdf(html: str, report: str) -> bytes:
    """`html` as PDF bytes with report-pdf.css and `{report}-pdf.css`."""
    styles = [CSS(filename=CSS_DIR / "report-pdf.css"), CSS(filename=CSS_DIR / f"{report}-pdf.css")]
    return HTML(string=html, url_fetcher=_no_fetching).write_pdf(stylesheets=styles)
