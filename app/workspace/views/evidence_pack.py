"""The evidence pack: a page that shows what the pack holds and what is missing, and the ZIP itself.

The ZIP is built in the request into an anonymous temporary file (never all in memory) and streamed from it;
for the demo's biggest client it takes well under the time an htmx-polled job would save (README, Performance).
"""
from __future__ import annotations

import tempfile
import time

from flask import current_app, g, render_template, send_file

from ... import clock
from ...permissions import EVIDENCE_PACK_ROLES, requires
from ...templating import render
from ..blueprint import bp
from ..operations import evidence_pack as pack_ops
from .pdf import render_pdf

KIND_LABELS = {"document": "Document", "record": "Record", "evidence": "Evidence", "finding": "Finding",
               "decision": "N/A decision", "gap": "Gap analysis", "history": "History"}


def _contents() -> pack_ops.PackContents:
    return pack_ops.gather(current_app.config["UPLOAD_ROOT"], g.client.schema_name)


def _context(contents: pack_ops.PackContents) -> dict:
    return {"client": g.client, "pack": contents.pack, "certification": contents.certification,
            "not_stored": set(contents.not_stored), "kinds": KIND_LABELS, "index_name": pack_ops.INDEX_NAME}


@bp.get("/evidence-pack")
@requires(*EVIDENCE_PACK_ROLES)
def evidence_pack():
    return render("workspace/evidence_pack.html", **_context(_contents()))


@bp.get("/evidence-pack.zip")
@requires(*EVIDENCE_PACK_ROLES)
def evidence_pack_zip():
    started = time.perf_counter()
    contents = _contents()
    built_at = clock.now()
    html = render_template("workspace/evidence_pack_pdf.html", printed_at=built_at, **_context(contents))
    index_pdf = render_pdf(html, "evidence-pack")
    # Unnamed and removed by the system once closed: send_file closes it when the response is done.
    out = tempfile.TemporaryFile(prefix="evidence-pack-", dir=current_app.config.get("EVIDENCE_PACK_TMP"))
    try:
        pack_ops.write_zip(contents, out, index_pdf, current_app.config["UPLOAD_ROOT"], g.client.schema_name,
                           g.client.name, built_at.isoformat(timespec="seconds"))
        out.seek(0)
    except BaseException:
        out.close()
        raise
    current_app.logger.info("evidence pack of %s built in %.2f s", g.client.slug, time.perf_counter() - started)
    name = f"evidence-pack-{g.client.slug}-{clock.today().isoformat()}.zip"
    return send_file(out, mimetype="application/zip", as_attachment=True, download_name=name, max_age=0)
