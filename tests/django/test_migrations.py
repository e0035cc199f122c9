"""The shipped migrations: they build the schema from zero on SQLite and PostgreSQL,
``makemigrations --check`` finds nothing to do, the models mirror the declared tables,
and contacts link to the host's custom user model."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import attrs
import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connections, models

from portal_access import Contact, EmailAddress
from portal_access.contrib.django import migrations
from portal_access.contrib.django import models as portal_models
from portal_access.contrib.django._store import DjangoStore
from portal_access.repositories import TABLES, unit_of_work
from portal_access.testing._storage_contract import values
from tests.django.conftest import ALIASES

_FIELDS = {
    str: (models.CharField, models.TextField),
    int: (models.IntegerField,),
    bool: (models.BooleanField,),
    date: (models.DateField,),
    datetime: (models.DateTimeField,),
}


@pytest.mark.django_db
def test_makemigrations_finds_nothing_to_do():
    """The models and the shipped migrations agree (``makemigrations --check`` exits 0),
    under test settings whose DEFAULT_AUTO_FIELD differs from the app's own."""
    assert apps.get_app_config("portal_access").default_auto_field != settings.DEFAULT_AUTO_FIELD
    call_command("makemigrations", "portal_access", "--check", "--dry-run", verbosity=0)


def test_the_schema_depends_on_no_setting_but_the_user_model():
    """The first migration names one setting, AUTH_USER_MODEL, the way Django's own
    apps do (a swappable dependency)."""
    text = (Path(migrations.__file__).parent / "0001_initial.py").read_text(encoding="utf-8")
    assert text.count("settings.") == 2  # the dependency and the contact's user link
    assert text.count("settings.AUTH_USER_MODEL") == 2


def test_every_declared_table_has_a_model_and_no_model_is_left_over():
    """MODELS is built by table name: a table added to TABLES without a model (or a
    model whose table is no longer declared) shows here, not as a store error later."""
    assert set(portal_models.MODELS) == {table.name for table in TABLES}
    for name, model in portal_models.MODELS.items():
        assert model._meta.db_table == f"portal_access_{name}"
    declared = {index.name for table in TABLES for index in table.indexes}
    assert len({portal_models.index_name(name) for name in declared}) == len(declared)


@pytest.mark.parametrize("table", TABLES, ids=lambda table: table.name)
def test_each_model_mirrors_its_declared_table(table):
    """Every declared column is a field of its type and nullability; the key is the
    primary key (or, for two columns, a unique constraint); each unique lookup is a
    unique constraint and each other lookup an index over its columns then the key."""
    model = portal_models.MODELS[table.name]
    meta = model._meta
    assert meta.db_table == f"portal_access_{table.name}"
    for column in table.columns:
        field = meta.get_field(column.name)
        assert isinstance(field, _FIELDS[column.type]), column.name
        assert field.null is column.nullable, column.name
        if column.text:
            assert isinstance(field, models.TextField), column.name
    assert any(f.name == "version" for f in meta.fields) is table.versioned
    assert any(f.name == "doc" for f in meta.fields) is table.document
    uniques = {tuple(c.fields): c.name for c in meta.constraints}
    if len(table.key) == 1:
        assert meta.pk.name == table.key[0]
    else:
        assert table.key in uniques
    for index in table.indexes:
        if index.unique:
            assert uniques[index.equal] == portal_models.index_name(index.name)
        else:
            found = {i.name: tuple(i.fields) for i in meta.indexes}
            covered = index.equal + index.order
            assert found[portal_models.index_name(index.name)] == covered + tuple(
                k for k in table.key if k not in covered
            )


@pytest.mark.parametrize("alias", ALIASES)
@pytest.mark.django_db(transaction=True, databases=ALIASES)
def test_the_migrations_run_from_zero(alias):
    """Unapplying every migration of the app drops its tables; applying them again
    builds them all."""
    tables = {model._meta.db_table for model in portal_models.MODELS.values()}
    tables.add(portal_models.Counter._meta.db_table)
    call_command("migrate", "portal_access", "zero", database=alias, verbosity=0)
    with connections[alias].cursor() as cursor:
        present = set(connections[alias].introspection.table_names(cursor))
    assert not tables & present
    call_command("migrate", "portal_access", database=alias, verbosity=0)
    with connections[alias].cursor() as cursor:
        present = set(connections[alias].introspection.table_names(cursor))
    assert tables <= present


@pytest.mark.django_db(transaction=True)
def test_a_contact_links_to_the_hosts_custom_user(sandbox_portal):
    """Contact.user points at AUTH_USER_MODEL (a custom model here); the library's own
    writes to the contact keep the link."""
    user_model = get_user_model()
    assert user_model._meta.label == "accounts.HostUser"
    assert portal_models.Contact._meta.get_field("user").related_model is user_model
    sandbox_portal.contact()
    user = user_model.objects.create_user("ann@example.com", "pw")
    portal_models.Contact.objects.filter(id="c-ann").update(user=user)
    renamed = Contact(
        id="c-ann",
        account_id="acc-1",
        first_name="Annie",
        email=EmailAddress.parse("ann@example.com"),
    )
    sandbox_portal.portal.update_contact(renamed)
    stored = portal_models.Contact.objects.get(id="c-ann")
    assert stored.user == user
    assert user.portal_contact == stored
    assert '"Annie"' in stored.doc


_SUMMARY = {
    "Invoice": ("status", "currency", "balance", "due_on", "contact_id", "site_id"),
    "Payment": (
        "invoice_id",
        "status",
        "amount",
        "currency",
        "recorded_at",
        "contact_id",
        "site_id",
    ),
    "OutboxMessage": ("due_at",),
}


@pytest.mark.django_db(transaction=True)
def test_migration_0002_fills_the_new_columns_of_stored_rows(sandbox_portal):
    """Rows stored before 0002 get their summary columns from their documents and the
    outbox its due times: unapplying 0002 and applying it again gives back exactly what
    the repositories wrote."""
    from tests.service.harness import (  # noqa: PLC0415
        CANCEL,
        CLASS,
        SUCCESS,
        paid_offer,
        register,
        sign_up,
    )

    sandbox_portal.portal.save_account_class(CLASS)
    paid_offer(sandbox_portal)
    sign_up(sandbox_portal)
    contact_id = register(sandbox_portal)
    session = sandbox_portal.portal.start_checkout(
        contact_id, success_url=SUCCESS, cancel_url=CANCEL
    )
    sandbox_portal.sandbox.pay(session.session_id)
    sandbox_portal.deliver()
    written = {
        name: sorted(getattr(portal_models, name).objects.values_list("pk", *columns))
        for name, columns in _SUMMARY.items()
    }
    assert all(written.values())
    assert all(value is not None for row in written["Payment"] for value in row[1:4])
    call_command("migrate", "portal_access", "0001", verbosity=0)
    call_command("migrate", "portal_access", verbosity=0)
    for name, columns in _SUMMARY.items():
        found = sorted(getattr(portal_models, name).objects.values_list("pk", *columns))
        if name == "OutboxMessage":  # due again when it occurred (delivered: then)
            occurred = dict(portal_models.OutboxMessage.objects.values_list("pk", "occurred_at"))
            assert found == sorted((pk, occurred[pk]) for pk, _ in written[name])
        else:
            assert found == written[name], name


@pytest.mark.parametrize("alias", ALIASES)
@pytest.mark.django_db(transaction=True, databases=ALIASES)
def test_migration_0003_fills_the_method_ids_of_stored_saved_methods(alias):
    """Saved methods stored at 0002 (no method id column) get their method id from their
    documents: unapplying 0003 and applying it again, holding finds them through the new
    lookup, a removed one still never."""
    store = DjangoStore(using=alias)
    ann, bob = values.saved_method("c-1", "pm_1"), values.saved_method("c-2", "pm_2")
    gone = attrs.evolve(values.saved_method("c-3", "pm_3"), removed_at=values.NOW)
    with unit_of_work(store) as uow:
        for method in (ann, bob, gone):
            uow.saved_methods.save(method)
    call_command("migrate", "portal_access", "0002", database=alias, verbosity=0)
    with connections[alias].cursor() as cursor:
        columns = connections[alias].introspection.get_table_description(
            cursor, portal_models.SavedMethod._meta.db_table
        )
    assert "method_id" not in {column.name for column in columns}
    call_command("migrate", "portal_access", database=alias, verbosity=0)
    stored = portal_models.SavedMethod.objects.using(alias).order_by("pk")
    assert list(stored.values_list("pk", "method_id")) == [
        ("c-1", "pm_1"),
        ("c-2", "pm_2"),
        ("c-3", "pm_3"),
    ]
    with unit_of_work(store) as uow:
        assert uow.saved_methods.holding("stripe", "pm_2") == bob
        assert uow.saved_methods.holding("stripe", "pm_1") == ann
        assert uow.saved_methods.holding("stripe", "pm_3") is None
