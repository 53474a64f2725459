"""Resolves the client of a request: load by slug, check membership, bind its schema.

The one place that decides who may see a client. Anything else gets the same
404 whether the client does not exist or is not theirs.
"""
from __future__ import annotations

from flask import abort, g
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

import tenants

from .extensions import db, login_manager
from .models import Client, valid_slug
from .permissions import client_role_column


def bind_request_client(slug: str):
    """Called before every /c/<slug>/… view."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    found = db.session.execute(
        select(Client, client_role_column(current_user)).options(joinedload(Client.summary), joinedload(Client.account))
        .where(Client.slug == slug)
    ).first() if valid_slug(slug) else None
    client, role = found if found is not None else (None, None)
    if role is None:
        abort(404)
    g.client, g.client_role = client, role
    g.tenant_token = tenants.bind_tenant(db.session, client.schema_name)
    return None


def release_request_client(exc=None):
    token = g.pop("tenant_token", None)
    if token is not None:
        tenants.unbind_tenant(db.session, token)
