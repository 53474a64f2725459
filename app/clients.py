"""Creating clients: registry row, schema, first content and summary in one transaction."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

import tenants
from tenants.provisioning import provision_schema
import workflows as wf
from workflows.stages import STAGE_KEYS

from . import clock
from .extensions import db
from .models import Account, Client, ClientConsultant, ClientSummary, User, slugify, valid_slug
from .billing.sync import quantity_follows
from .refusal import Refusal
from .subscriptions import check_room_for_client, forget
from .workspace import operations as ops

DEFAULT_PLAN_DAYS = 180  # a typical small-business path to certification


def create_client(account: Account, name: str, slug: str | None = None, consultants: list[User] = (),
                  template: wf.Template | None = None, start_on: date | None = None, target_on: date | None = None,
                  created_by: User | None = None) -> Client:
    """Create a client and its schema at the current tenant revision, atomically.

    Its own unit of work: it commits once, while the new schema is bound (the binding ends with a
    rollback). On any failure nothing is left: no registry row, no schema (PostgreSQL DDL is
    transactional).
    """
    check_room_for_client(account)  # beyond the plan's active clients, or read-only: 409 with the upgrade link
    start_on = start_on or clock.today()
    target_on = target_on or start_on + timedelta(days=DEFAULT_PLAN_DAYS)
    try:
        wf.check_plan_window(start_on, target_on)  # one rule for a new plan and a moved one
    except wf.PlanError as err:
        raise Refusal(f"{err}.", field="target_on") from None
    name = ops.client_name(name)
    slug = (slug or "").strip().lower() or slugify(name)
    if not slug:
        raise Refusal("The name needs at least one letter or digit for the client's address.", field="slug")
    if not valid_slug(slug):
        raise Refusal("Use only lowercase letters, digits and single hyphens in the address.", field="slug")
    if db.session.scalar(select(Client.id).where(Client.slug == slug)):
        raise Refusal(f"The address “{slug}” is already taken by another client. Choose a different one.", field="slug")

    client_id = db.session.scalar(select(func.nextval("clients_id_seq")))
    schema = tenants.schema_name_for(client_id)
    template = template or wf.load_template()
    client = Client(id=client_id, account_id=account.id, name=name, slug=slug, schema_name=schema,
                    template_key=template.key, template_version=template.version)
    db.session.add(client)
    db.session.add(ClientSummary(client_id=client_id, stage=STAGE_KEYS[0]))
    for user in consultants:
        db.session.add(ClientConsultant(client_id=client_id, user_id=user.id))
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Refusal(f"The address “{slug}” is already taken by another client. Choose a different one.", field="slug")
    provision_schema(db.session.connection(), schema)
    token = tenants.bind_tenant(db.session, schema)
    try:
        ops.start_workspace(template, start_on, target_on, ops.Actor.of(created_by))
        quantity_follows(account.id)  # Stripe bills per active client
        ops.save(client)
    except BaseException:
        db.session.rollback()
        raise
    finally:
        tenants.unbind_tenant(db.session, token)
    forget(account.id)
    return client
