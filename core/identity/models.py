"""Sign-in's tables: failed-attempt counts, one-time links, second factors and recovery codes,
remembered devices and browser sessions. Secrets of sign-in, not records: none is sealed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.columns import not_a_record
from core.db import UTCDateTime


class SignInThrottle(SQLModel, table=True):
    """Failed sign-ins under one key (a pair, a client address or an account)."""

    __tablename__ = "signin_throttle"

    key: str = Field(primary_key=True, max_length=64)
    failures: int = 0
    blocked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_failure_at: datetime = Field(sa_type=UTCDateTime)


not_a_record(SignInThrottle, "counts of failed sign-ins, keyed by a hash")


class AccountLink(SQLModel, table=True):
    """A one-time link to choose a password; the token itself is never stored."""

    __tablename__ = "account_link"

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(
        sa_column=Column(Integer, ForeignKey("staff.id"), nullable=False, index=True)
    )
    purpose: str = Field(max_length=20)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


not_a_record(AccountLink, "a one-time link's hash; its sending and use are in the change record")


class SecondFactor(SQLModel, table=True):
    __tablename__ = "second_factor"

    staff_id: int = Field(
        sa_column=Column(Integer, ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True)
    )
    # The shared TOTP secret, encrypted under a key held outside the database (core/keys.py)
    # and bound to its owner; the authenticator app holds the other copy.
    secret: str = Field(max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime)
    confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The last time step whose code was accepted: a code is never accepted twice.
    last_step: int = 0


not_a_record(SecondFactor, "a secret of sign-in; enrolment and resets are in the change record")


class RecoveryCode(SQLModel, table=True):
    __tablename__ = "recovery_code"

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("staff.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    code_hash: str = Field(max_length=64)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


not_a_record(RecoveryCode, "hashes of one-time codes; their use is in the change record")


class TrustedDevice(SQLModel, table=True):
    __tablename__ = "trusted_device"

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("staff.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    token_hash: str = Field(max_length=64, unique=True)
    # The sign-in generation it was made under: revoking sign-ins forgets the device too.
    generation: int
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)


not_a_record(TrustedDevice, "a remembered browser's hash, a secret of sign-in")


class BrowserSession(SQLModel, table=True):
    __tablename__ = "browser_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    generation: int
    # The token every form of this session carries (CSRF): not the cookie, never in a URL.
    form_token: str = Field(max_length=64)
    # Signed in with a password by an account that must have a second factor and has none:
    # the session may only set one up (as an enrol-only token may), then signs in again.
    enrol_only: bool = False
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_seen_at: datetime = Field(sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


not_a_record(BrowserSession, "a signed-in browser's hash, a secret of sign-in")


class DeviceGrant(SQLModel, table=True):
    """A staff client's sign-in through the browser (OAuth 2.0 device authorization grant,
    RFC 8628): asked for by the client, approved by the person signed in to the pages, and
    fetched once by the client. Both codes are stored keyed, never as they are."""

    __tablename__ = "device_grant"

    id: int | None = Field(default=None, primary_key=True)
    device_code_hash: str = Field(max_length=64, unique=True)
    user_code_hash: str = Field(max_length=64, unique=True)
    # What the client said it is, and where it asked from (shown to whoever approves it).
    client_name: str = Field(max_length=100)
    asked_from: str = Field(max_length=200)
    address_hash: str = Field(max_length=64, index=True)
    asked_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    interval: int
    polled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    staff_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("staff.id", ondelete="CASCADE"), nullable=True),
    )
    # The approver's sign-in generation: revoking their sign-ins before the client fetches its
    # token refuses it.
    generation: int | None = None
    approved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    denied_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    issued_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


not_a_record(DeviceGrant, "a staff client's sign-in in progress, its codes' hashes")


class Passkey(SQLModel, table=True):
    """A WebAuthn credential an account signs in with (a passkey): its public key and the
    counter its authenticator keeps, checked at each use so that a cloned one is refused."""

    __tablename__ = "passkey"

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("staff.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    credential_id: str = Field(max_length=1400, unique=True)
    public_key: str = Field(max_length=2000)
    sign_count: int = 0
    name: str = Field(max_length=100)
    user_verified: bool = False
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


not_a_record(Passkey, "a sign-in credential's public key and counter (its changes are events)")


class PasskeyChallenge(SQLModel, table=True):
    """A challenge handed to a browser for one registration or sign-in, used once."""

    __tablename__ = "passkey_challenge"

    id: int | None = Field(default=None, primary_key=True)
    challenge_hash: str = Field(max_length=64, unique=True)
    purpose: str = Field(max_length=20)
    staff_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("staff.id", ondelete="CASCADE"), nullable=True),
    )
    expires_at: datetime = Field(sa_type=UTCDateTime)


not_a_record(PasskeyChallenge, "a one-time challenge of sign-in, its hash")


class SsoConnection(SQLModel, table=True):
    """A trust's single sign-on with its Microsoft Entra ID tenant or Google Workspace domain,
    set up by the deployment's operator (`contactlog sso add`): never from the API, since its
    addresses and secret file are the server's own."""

    __tablename__ = "sso_connection"
    __table_args__ = (UniqueConstraint("trust_id", "provider"),)

    id: int | None = Field(default=None, primary_key=True)
    trust_id: int = Field(sa_column=Column(Integer, ForeignKey("trust.id"), nullable=False))
    provider: str = Field(max_length=20)  # "microsoft" or "google"
    # The Entra tenant's id, or the Google Workspace hosted domain.
    tenant: str = Field(max_length=200)
    client_id: str = Field(max_length=200)
    # The file holding the client secret: read at each use, so it can be replaced in place.
    secret_file: str = Field(max_length=1000)
    # The email domains (comma-separated) whose verified addresses may make a first link.
    domains: str = Field(max_length=1000)
    # Staff of the trust sign in only through it: their passwords no longer sign in.
    passwords_off: bool = False
    created_at: datetime = Field(sa_type=UTCDateTime)


not_a_record(SsoConnection, "the operator's set-up of a trust's single sign-on")


class SsoLink(SQLModel, table=True):
    """A provider's account linked to a contactlog account, found by its stable subject id
    only. The subject is stored keyed (like a session token): a row written in the database
    by hand matches no provider's account at all."""

    __tablename__ = "sso_link"
    __table_args__ = (UniqueConstraint("connection_id", "staff_id"),)

    id: int | None = Field(default=None, primary_key=True)
    connection_id: int = Field(
        sa_column=Column(Integer, ForeignKey("sso_connection.id"), nullable=False)
    )
    staff_id: int = Field(
        sa_column=Column(Integer, ForeignKey("staff.id"), nullable=False, index=True)
    )
    subject_hash: str = Field(max_length=64, unique=True)
    # The address it was first linked by, shown to its owner.
    email: str = Field(max_length=254)
    linked_at: datetime = Field(sa_type=UTCDateTime)


not_a_record(SsoLink, "a sign-in link to a provider's account, its subject keyed")


class SsoAttempt(SQLModel, table=True):
    """One sign-in through a provider, from the redirect until it ends: bound to the browser
    that began it by a cookie only that browser holds (stored keyed), used once. Its PKCE
    verifier and nonce are derived from that cookie, so none is in the database."""

    __tablename__ = "sso_attempt"

    id: int | None = Field(default=None, primary_key=True)
    state_hash: str = Field(max_length=64, unique=True)
    browser_hash: str = Field(max_length=64, index=True)
    # The address it was begun from, keyed: a cap on how many wait unfinished from one.
    address_hash: str = Field(max_length=64, index=True)
    connection_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("sso_connection.id", ondelete="CASCADE"), nullable=False
        )
    )
    # "provider" until the provider answers; then "link" (a first link waits for its owner's
    # confirmation) or "code" (the account's second factor is still to be shown).
    stage: str = Field(max_length=20, default="provider")
    staff_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("staff.id", ondelete="CASCADE"), nullable=True),
    )
    subject_hash: str | None = Field(default=None, max_length=64)
    email: str | None = Field(default=None, max_length=254)
    # An invitation accepted through the provider, instead of choosing a password: the link
    # is made to the invited account, once the provider vouches for the invited address.
    invitation_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("account_link.id", ondelete="CASCADE"), nullable=True),
    )
    next: str = Field(default="/", max_length=2000)
    expires_at: datetime = Field(sa_type=UTCDateTime)


not_a_record(SsoAttempt, "a sign-in under way through a provider, its secrets keyed")
