"""Resolves the client of a request: load by slug, check membership, bind its schema.

The one place that decides who may see a client. Anything else gets the same
404 whether the client does not exist or is not theirs.
"""
from __future__ import annotations

from functools import wraps

from flask import abort, g
from flask_login import current_user
from sqlalchemy import select

import tenants

from .accounts import client_role
from .clients import valid_slug
from .extensions import db, login_manager
from .models import Client

CONSULTANT_ROLES = ("owner", "consultant")
WRITER_ROLES = ("owner", "consultant", "client_admin", "staff")


def bind_request_client(slug: str):
    """Called before every /c/<slug>/… view."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    client = db.session.scalar(select(Client).where(Client.slug == slug)) if valid_slug(slug) else None
    role = client_role(current_user, client) if client is not None else None
    if role is None:
        abort(404)
    g.client, g.client_role = client, role
    g.tenant_token = tenants.bind_tenant(db.session, client.schema_name)
    return None


def release_request_client(exc=None):
    token = g.pop("tenant_token", None)
    if token is not None:
        tenants.unbind_tenant(db.session, token)


def requires(*roles):
    """Restrict a client view to some roles; members without them get 403 (they can see the client)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if g.get("client_role") not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
