"""Every column of every record is declared once (core/columns.py), and what reads the
declarations agrees with them: the seal, the redaction, the subject-access export, what a parent
is told, the input rules."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

import api.tables  # noqa: F401  (every table)
from consent.service import ConsentedContact
from contacts.data_protection.retention import redaction
from contacts.models import Contact, ContactPupil, DecisionCreate, MessageCreate
from core import columns
from core.columns import FREE_TEXT, PERSONAL, SEALED, SHOWN, TOLD, UNSEALED
from core.db import table_of
from core.inputs import Forbid
from core.record import seals


def _models() -> dict[str, type[SQLModel]]:
    return {table_of(m).name: m for m in [*columns.DECLARED, *columns.NOT_RECORDS]}


def test_every_table_is_declared_or_said_to_hold_no_record():
    models = _models()
    missing = [t.name for t in SQLModel.metadata.sorted_tables if t.name not in models]
    assert missing == [], f"declare these tables' columns (core/columns.py): {missing}"
    assert not set(columns.DECLARED) & set(columns.NOT_RECORDS)


def test_every_column_of_a_record_is_classified():
    unclassified = {
        m.__name__: columns.unclassified(m) for m in columns.DECLARED if columns.unclassified(m)
    }
    assert unclassified == {}


def test_a_column_nobody_classified_is_found(monkeypatch):
    """What happens when a migration adds a column and its declaration is forgotten."""
    forgotten = dict(columns.DECLARED[Contact])
    del forgotten["purpose"]
    monkeypatch.setitem(columns.DECLARED, Contact, forgotten)
    assert columns.unclassified(Contact) == ["purpose"]


def test_a_declaration_naming_no_column_or_neither_sealed_nor_not_is_refused():
    with pytest.raises(ValueError, match="no column"):
        columns.declare(ContactPupil, {"contact_id": SEALED, "purpse": SEALED})
    with pytest.raises(ValueError, match="SEALED or UNSEALED"):
        columns.declare(ContactPupil, {"contact_id": PERSONAL})
    with pytest.raises(ValueError, match="SEALED or UNSEALED"):
        columns.declare(ContactPupil, {"contact_id": SEALED | UNSEALED})
    assert columns.DECLARED[ContactPupil]["contact_id"] == SEALED


def test_every_kept_record_and_its_rows_elsewhere_are_declared_records():
    for kept in seals.KEPT.values():
        assert kept.model in columns.DECLARED, kept.name
        assert kept.columns == columns.having(kept.model, SEALED)
        for child in kept.children:
            assert child.model in columns.DECLARED, child.name
            assert child.parent not in child.values
            assert set(child.values) == set(columns.having(child.model, SEALED)) - {child.parent}


def test_the_seal_leaves_out_exactly_the_unsealed_columns():
    for kept in seals.KEPT.values():
        left_out = {c.name for c in table_of(kept.model).c} - set(kept.columns)
        assert left_out == set(columns.having(kept.model, UNSEALED)), kept.name


def test_personal_columns_are_what_redaction_replaces():
    personal = redaction.personal()
    for name, (model, where) in personal.items():
        assert where == columns.having(model, PERSONAL), name
    # Every record type with personal content is redacted; nothing else is.
    with_personal = {
        name
        for name, kept in seals.KEPT.items()
        if columns.having(kept.model, PERSONAL)
        or any(columns.having(c.model, PERSONAL) for c in kept.children)
    }
    assert set(personal) == with_personal
    # A personal column that "[redacted]" cannot stand in for says how it is replaced.
    for model in columns.DECLARED:
        table = table_of(model)
        for name in columns.having(model, PERSONAL):
            kind = table.c[name].type
            if not isinstance(getattr(kind, "impl", kind), sa.String | sa.Date):
                assert (model, name) in redaction.OTHERWISE, f"{model.__name__}.{name}"
    for model, name in redaction.OTHERWISE:
        assert PERSONAL in columns.DECLARED[model][name], f"{model.__name__}.{name}"


def test_free_text_is_stored_as_text():
    for model in columns.DECLARED:
        table = table_of(model)
        for name in columns.having(model, FREE_TEXT):
            assert isinstance(table.c[name].type, sa.Text), f"{model.__name__}.{name}"


def test_input_schemas_take_free_text_from_the_columns_they_fill():
    assert MessageCreate.free_text == {"summary", "verbatim", "amend_reason"}
    assert DecisionCreate.free_text == {"conditions", "note", "reason"}
    for schema in _subclasses(Forbid):
        assert schema.free_text <= set(schema.model_fields), schema.__name__


def test_a_parent_is_told_only_what_the_contact_declares_told():
    told = set(columns.having(Contact, TOLD))
    # platform_name is told as part of the platform's name.
    fields = {f.name for f in dataclasses.fields(ConsentedContact)}
    about_the_contact = fields - {
        "id",
        "school_id",
        "holder_id",
        "pupil_ids",
        "approved",
        "ended_pupil_ids",
        "holder_name",
    }
    assert about_the_contact == told - {"platform_name"}
    # Never a note, a decision or another pupil.
    for name in ("decision_note", "rejection_reason", "verdict", "staff_id"):
        assert TOLD not in columns.DECLARED[Contact][name]
    assert not columns.having(ContactPupil, TOLD)


def test_what_the_subject_is_shown_is_declared_and_never_another_persons_id():
    for model in columns.DECLARED:
        for name in columns.having(model, SHOWN):
            assert name not in {"staff_id", "pupil_id", "guardian_id", "reporter_id"}, (
                f"{model.__name__}.{name}"
            )
            assert not name.endswith("_by_id"), f"{model.__name__}.{name}"


def _subclasses(cls: type) -> list[type[Forbid]]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_subclasses(sub))
    return found


def test_migrations_see_every_table_the_app_has():
    """`api/tables.py` is what Alembic reads: a table missing from it is missing from every
    schema a migration builds (the browser sessions' table once was, from an autogenerate)."""
    seen = subprocess.run(
        [
            sys.executable,
            "-c",
            "import api.tables, sqlmodel; print(*sqlmodel.SQLModel.metadata.tables)",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    import api.app  # noqa: F401  (everything the running app imports)

    assert set(SQLModel.metadata.tables) == set(seen.stdout.split())
