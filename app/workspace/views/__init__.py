"""The workspace's views, one module per area; importing this package registers their routes on `bp`."""
from . import activity, documents, evidence, findings, gates, overview, people, plan, settings, task_bulk, tasks  # noqa: F401
