"""One client in one file: export, verified import, and the check that guards dropping a client.

Archive format (a gzip-compressed tar, format version 1)::

    manifest.json            what is inside, with a sha256 and size for every other member
    registry.json            the client's registry rows: client, summary, members and consultants
                             (users by email and name — never password hashes)
    data/<table>.tsv         each tenant table as PostgreSQL COPY text format, in primary-key order
    files/<relative path>    every file under UPLOAD_ROOT/<schema>/, at its path relative to that folder

The manifest also records the tenant revision the data was taken at, the
client's template key and version, the rows per table, the column lists and
the sequences' positions. Data is read in one REPEATABLE READ transaction, so
the tables are mutually consistent.

Import reads the whole archive into a scratch folder and checks every
member's checksum before it creates anything; then, in one transaction, it
creates the registry rows and the schema at the archive's revision, loads the
tables (parents before children), restores sequences, checks row counts, and
upgrades the schema to head with the same runner as `flask tenants upgrade`.
The files move into place just before the commit and are removed again if
anything fails, so a failed import leaves no schema, no registry row and no
file behind.

The split: the container (tar, manifest, checksums) is `tenants.archive_format`
and the schema's rows are `tenants.schema_dump` — the tenancy core, which knows
no users, files or clients. This package adds what does: the registry rows,
users by email (columns that hold a `public.users` id are marked
`info={"user_ref": True}` on the models and rewritten to the target's ids on
import), the client's uploaded files, and the export records that guard a drop.
"""
from tenants.archive_format import ArchiveError

from .export import ExportResult, export_client, export_problems, record_export, recorded_exports
from .registry import Registry, read_archive, user_ref_columns
from .restore import DropResult, ImportResult, drop_client, import_client

__all__ = ["ArchiveError", "DropResult", "ExportResult", "ImportResult", "Registry", "drop_client",
           "export_client", "export_problems", "import_client", "read_archive", "record_export",
           "recorded_exports", "user_ref_columns"]
