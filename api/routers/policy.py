"""The trust's policy: consent age, reminder and escalation intervals, the review sample and
lexicon; the deployment's defaults unless the trust chose its own."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ActingDep
from api.routing import UnitOfWorkRoute
from core import policy
from core.inputs import RecordId
from core.policy import PolicyChange, PolicyPublic

router = APIRouter(route_class=UnitOfWorkRoute, tags=["policy"])


@router.get("/trusts/{trust_id:int}/policy", response_model=PolicyPublic)
def get_policy(trust_id: RecordId, acting: ActingDep) -> object:
    """The rules everyone in the trust works under, and which of them the trust chose."""
    return policy.get_policy(
        session=acting.session, actor=acting.actor, settings=acting.settings, trust_id=trust_id
    )


@router.patch("/trusts/{trust_id:int}/policy", response_model=PolicyPublic)
def change_policy(trust_id: RecordId, body: PolicyChange, acting: ActingDep) -> object:
    """A trust admin sets the trust's own choices (null: back to the deployment's default).
    Only stricter than the protocol: consent age 16 to 18, a review sample of at least 1%,
    words added to the lexicon, never taken away. Every change is in the change record."""
    changed = policy.change_policy(
        session=acting.session,
        actor=acting.actor,
        settings=acting.settings,
        at=acting.at,
        trust_id=trust_id,
        change=body,
    )
    # This process applies it as it commits; other processes within POLICY_CACHE_SECONDS.
    acting.policies.forget_once_committed(acting.session, trust_id)
    return changed
