"""What is about a person, which they never see: nobody sees, counts, releases, exports or is
told of a legal hold, a concern or an allegation about themselves, whatever their roles (and a
concern is hidden from everyone who does not handle it: contacts/concerns/readers.py).

Each kind of record that can be about a member of staff says here, once, how to find those
about a given person (a query of ids); everything that lists, counts or exports such records —
the change record included — leaves them out for that reader. Registered by the floors above
(contacts/kept.py registers holds and concerns), so that core/ never imports upwards.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, not_, or_, true
from sqlmodel import Session

# Given a member of staff, a SELECT of the ids of this kind's records that are about them.
AboutQuery = Callable[[int], Any]


@dataclass(frozen=True)
class AboutKind:
    object_type: str  # as the change record names it
    ids_about: AboutQuery


KINDS: dict[str, AboutKind] = {}


def register(object_type: str, ids_about: AboutQuery) -> None:
    KINDS[object_type] = AboutKind(object_type, ids_about)


def hidden_ids(session: Session, object_type: str, staff_id: int | None) -> set[int]:
    """The ids of this kind's records about `staff_id` (none for a reader with no account)."""
    kind = KINDS.get(object_type)
    if kind is None or staff_id is None:
        return set()
    found: list[Any] = list(session.exec(kind.ids_about(staff_id)).all())
    return {int(i) for i in found}


def not_about(staff_id: int | None, object_type: Any, object_id: Any) -> Any:
    """A condition over (object_type, object_id) columns: true for rows no registered kind says
    are about `staff_id` — for the change record, whose events name records by type and id."""
    if staff_id is None or not KINDS:
        return true()
    return not_(
        or_(
            *(
                and_(object_type == kind.object_type, object_id.in_(kind.ids_about(staff_id)))
                for kind in KINDS.values()
            )
        )
    )
