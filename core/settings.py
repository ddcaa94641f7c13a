"""Configuration of one contactlog deployment, read from CONTACTLOG_* environment variables."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Secrets that have appeared in examples; a production deployment using one is refused.
KNOWN_EXAMPLE_SECRETS = frozenset({"", "changethis", "change-me", "secret", "contactlog"})
MIN_SECRET_LENGTH = 32
MIN_SECRET_DISTINCT = 12

# Low-level concerns in the spirit of KCSIE's examples: over-familiarity, secrecy, meeting up,
# moving to private channels. Phone numbers are matched separately, as a pattern.
DEFAULT_LEXICON = (
    "our secret",
    "keep this between us",
    "between you and me",
    "don't tell",
    "do not tell",
    "delete this",
    "delete these messages",
    "delete the chat",
    "meet up",
    "meet me",
    "just the two of us",
    "come round",
    "home alone",
    "lift home",
    "my personal number",
    "my number is",
    "text me on",
    "message me on",
    "add me on",
    "snap me",
    "dm me",
    "love you",
    "miss you",
    "gorgeous",
    "sexy",
    "babe",
    "send a photo",
    "send me a pic",
    "special friend",
    "our little",
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONTACTLOG_", extra="ignore")

    environment: Literal["development", "production"] = "development"
    data_dir: Path = Path("data")
    database_url: str = ""

    jwt_secret: str = ""
    token_minutes: int = Field(default=30, ge=1, le=24 * 60)
    token_issuer: str = "contactlog"
    token_audience: str = "contactlog-api"

    school_timezone: str = "Europe/London"
    consent_age: int = Field(default=16, ge=1, le=25)

    # Argon2 cost; lower values exist for test suites, never for a deployment.
    password_time_cost: int = Field(default=3, ge=1)
    password_memory_kib: int = Field(default=65536, ge=64)

    # Sign-in limits (core/identity/throttle.py), each counted in a window that restarts after a
    # quiet spell: failures for one account from one address, from one address for any accounts, and
    # for one account from anywhere; past each, a wait that doubles up to the maximum.
    signin_free_failures: int = Field(default=5, ge=1)
    signin_client_free_failures: int = Field(default=50, ge=1)
    signin_account_free_failures: int = Field(default=20, ge=1)
    signin_window_minutes: int = Field(default=15, ge=1)
    signin_base_delay_seconds: int = Field(default=30, ge=1)
    signin_max_delay_seconds: int = Field(default=15 * 60, ge=1)
    # Roles that must sign in with a second factor (TOTP); staff may choose to.
    mfa_required_roles: list[str] = Field(
        default_factory=lambda: [
            "approver",
            "dsl",
            "admin",
            "trust_dsl",
            "trust_admin",
            "case_manager",
        ]
    )
    # The name authenticator apps show beside the account.
    mfa_issuer: str = "contactlog"
    # A privileged change waits this long for a second person, then expires.
    pending_change_hours: int = Field(default=72, ge=1)
    # One-time links to choose a password: an invitation, and a reset.
    invitation_hours: int = Field(default=72, ge=1)
    reset_link_minutes: int = Field(default=60, ge=5)
    # Password checks at once per process; a burst waits up to the queue time, then gets 429.
    signin_hashes_at_once: int = Field(default=2, ge=1)
    signin_queue_seconds: float = Field(default=5, gt=0)

    # Email. With no SMTP host, emails stay in the outbox (GET /outbox) and are never sent.
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_timeout_seconds: float = Field(default=20, gt=0)
    mail_from: str = "contactlog@localhost"
    public_url: str = "http://127.0.0.1:8000"

    # The scheduler: in the API process by default; off when it runs as its own process.
    scheduler_in_process: bool = True
    # Defaults for every trust; a trust may set its own (see the trust table).
    ending_notice_days: int = Field(default=7, ge=0)
    reminder_every_days: int = Field(default=2, ge=1)
    escalate_after_days: int = Field(default=7, ge=1)
    approval_wait_hours: int = Field(default=24, ge=1)
    # Outbox delivery: retries back off exponentially with jitter until the give-up time.
    outbox_batch_size: int = Field(default=100, ge=1)
    # A claim's lease; at least three SMTP timeouts, renewed after every email sent.
    outbox_lease_seconds: int = Field(default=90, ge=5)
    # An email whose sender died this many times while sending it is given up.
    outbox_most_abandoned: int = Field(default=5, ge=1)
    # While the mail server is unreachable, queued emails try again this often (no back-off).
    outbox_server_retry_seconds: int = Field(default=5, ge=1)
    # One run of the outbox job sends until nothing is due, or for this long at most.
    outbox_drain_seconds: float = Field(default=60, gt=0)
    outbox_retry_base_seconds: int = Field(default=60, ge=1)
    outbox_retry_max_seconds: int = Field(default=3600, ge=1)
    outbox_give_up_hours: int = Field(default=48, ge=1)

    # Review: words and phrases that flag a message for the DSL (case-insensitive), and the share
    # of clean messages sampled into the review queue so clean-looking logs are still read.
    review_lexicon: list[str] = Field(default_factory=lambda: list(DEFAULT_LEXICON))
    review_sample_rate: float = Field(default=0.05, ge=0, le=1)
    # Consent asked of parents online (consent/requests.py): how long the emailed link works,
    # the days after sending on which an unanswered request is chased, and whether requests go
    # out by themselves when a contact is approved (a trust may choose this in its policy).
    consent_link_days: int = Field(default=14, ge=1, le=60)
    consent_reminder_days: list[int] = Field(default_factory=lambda: [3, 7])
    consent_requests_automatic: bool = False
    # The web pages' sessions: they end after this long without a page view, and at the latest
    # after this many hours from sign-in.
    web_idle_minutes: int = Field(default=30, ge=1, le=480)
    web_session_hours: int = Field(default=12, ge=1, le=24)
    # Retention (SPEC §7): how long records are kept before their personal content is redacted.
    # A trust may keep the first three longer, never shorter (core/policy.py); the last two are
    # minimisation periods for data that is no evidence of anything.
    retention_safeguarding_years: int = Field(default=25, ge=25, le=100)
    retention_allegation_years: int = Field(default=10, ge=10, le=50)
    retention_closed_contact_years: int = Field(default=6, ge=6, le=25)
    # Low-level concerns about a member of staff: kept until they leave, then this long.
    retention_low_level_years: int = Field(default=6, ge=6, le=50)
    # The case managers' review of staff with more than one low-level concern (termly).
    concern_review_weeks: int = Field(default=13, ge=1, le=52)
    retention_sign_in_days: int = Field(default=90, ge=30, le=365)
    retention_outbox_days: int = Field(default=365, ge=30, le=2190)
    # A trust's policy is read again after this long; a change made through another process
    # (another worker, the scheduler) applies within it.
    policy_cache_seconds: float = Field(default=10, ge=0, le=300)

    # Requests using the database at once; the rest wait their turn without holding a worker
    # thread or a connection. Keep it below the connection pool (30) and the thread pool (40).
    database_sessions: int = Field(default=16, ge=1, le=30)

    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    max_import_bytes: int = Field(default=10_000_000, ge=1024)
    # An uploaded platform export (POST /captures): contactlog reads at most 64 MiB of one.
    max_capture_bytes: int = Field(default=64 * 1024 * 1024 + 1_000_000, ge=1024)
    max_page_size: int = Field(default=200, ge=1)
    max_export_rows: int = Field(default=2_000_000, ge=1)
    # Request headers, all together; a larger request is refused (431) before it is read.
    max_header_bytes: int = Field(default=16_384, ge=1024)
    # The key that signs checkpoints of the change record: a file, never the database
    # (default: checkpoint-key.pem in DATA_DIR, made on first use).
    checkpoint_key_file: Path | None = None
    # As a witness for other logs (C2SP tlog-witness, `contactlog witness`): a file of their
    # verifier keys, one a line (unset: this deployment witnesses nobody); its cosigner name
    # (default: this deployment's host and /witness); its own key, a file like the one above
    # (default: witness-key.pem in DATA_DIR, made on first use).
    witness_logs_file: Path | None = None
    witness_name: str = Field(default="", max_length=200)
    witness_key_file: Path | None = None
    # Single sign-on (`contactlog sso add`): where Microsoft Entra ID and Google publish their
    # OpenID configuration. Changed only to point at a test provider.
    sso_microsoft_authority: str = "https://login.microsoftonline.com"
    sso_google_issuer: str = "https://accounts.google.com"
    # The WhatsApp Business Platform webhook (POST /capture/whatsapp), for school-owned numbers
    # added with `contactlog capture add-number`: a file holding the Meta app's secret (which
    # signs every delivery), and a file holding the verify token Meta is given when the webhook
    # is set up. Unset: the webhook answers 404.
    whatsapp_app_secret_file: Path | None = None
    whatsapp_verify_token_file: Path | None = None
    # Hours between the scheduler's full checks of the change record (scheduler/full_check.py).
    # A check reads every event and hashes every sealed record: seconds for a school, minutes
    # for a trust with millions of entries, which may prefer a longer interval.
    chain_check_hours: int = Field(default=1, ge=1, le=24)

    # The key that keys stored session and device tokens and encrypts second-factor secrets
    # (core/keys.py): held outside the database, so a copy of it can neither sign anyone in nor
    # generate their codes. Default: secret-key in DATA_DIR, made on first use. To rotate, put
    # the new key here and the old one in OLD_SECRET_KEYS, run `contactlog keys rotate`, then
    # drop the old one (browser sessions and trusted devices made under it end).
    secret_key: str = ""
    old_secret_keys: list[str] = Field(default_factory=list)
    # The credential Prometheus scrapes /metrics with (a bearer token). Default: metrics-token
    # in DATA_DIR, made on first use; /metrics answers nobody without it.
    metrics_token: str = ""
    # Retention never redacts a contact or incident made less than this long ago, whatever the
    # policy or the dates say (no lawful period is that short): a run that would is refused,
    # and the trust's administrators and DPO are told (contacts/data_protection/retention).
    retention_floor_years: int = Field(default=5, ge=1, le=24)
    # A device that signed in before keeps signing in whatever others try
    # (core/identity/throttle.py): its cookie (pages) or device token (the staff client) lasts
    # this many days.
    trusted_device_days: int = Field(default=180, ge=1, le=730)

    # Logs: plain lines, or one JSON object a line for a log collector.
    log_format: Literal["text", "json"] = "text"
    # /readyz fails when no scheduled job has run to the end for this long (0: not checked).
    scheduler_stale_seconds: int = Field(default=600, ge=0)

    # The interactive API documents (/docs, /redoc, /openapi.json); off by default in production.
    api_docs: bool | None = None
    # Strict-Transport-Security on every response; on by default in production (behind TLS).
    hsts: bool | None = None

    @field_validator("school_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _production_needs_real_secret(self) -> Settings:
        if self.environment == "production":
            if (
                self.jwt_secret in KNOWN_EXAMPLE_SECRETS
                or len(self.jwt_secret) < MIN_SECRET_LENGTH
                # "aaaa…" or "abab…" is as long as a key and as guessable as a short one.
                or len(set(self.jwt_secret)) < MIN_SECRET_DISTINCT
            ):
                raise ValueError(
                    "CONTACTLOG_JWT_SECRET must be set to a random value of at least "
                    f"{MIN_SECRET_LENGTH} characters (not one or a few repeated) in production"
                )
            if not self.database_url:
                raise ValueError("CONTACTLOG_DATABASE_URL must be set in production")
            # Every replica must hold the same key outside the database, and not the JWT's:
            # one leaked secret must not both sign tokens and open second-factor secrets.
            if (
                self.secret_key in KNOWN_EXAMPLE_SECRETS
                or len(self.secret_key) < MIN_SECRET_LENGTH
                or len(set(self.secret_key)) < MIN_SECRET_DISTINCT
                or self.secret_key == self.jwt_secret
            ):
                raise ValueError(
                    "CONTACTLOG_SECRET_KEY must be set to a random value of at least "
                    f"{MIN_SECRET_LENGTH} characters, other than the JWT secret, in production"
                )
        return self

    @model_validator(mode="after")
    def _floor_below_every_period(self) -> Settings:
        if self.retention_floor_years >= self.retention_closed_contact_years:
            raise ValueError(
                "CONTACTLOG_RETENTION_FLOOR_YEARS must be shorter than every retention period "
                f"(the shortest is {self.retention_closed_contact_years} years)"
            )
        return self

    @property
    def checkpoint_key_path(self) -> Path:
        return self.checkpoint_key_file or self.data_dir / "checkpoint-key.pem"

    @property
    def witness_key_path(self) -> Path:
        return self.witness_key_file or self.data_dir / "witness-key.pem"

    @property
    def witness_cosigner_name(self) -> str:
        if self.witness_name:
            return self.witness_name
        parts = urlsplit(self.public_url)
        return f"{parts.netloc}{parts.path.rstrip('/')}/witness"

    @property
    def docs_served(self) -> bool:
        return self.api_docs if self.api_docs is not None else self.environment != "production"

    @property
    def hsts_sent(self) -> bool:
        return self.hsts if self.hsts is not None else self.environment == "production"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'contactlog.db').as_posix()}"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.school_timezone)

    @cached_property
    def signing_secret(self) -> str:
        """The JWT secret; in development one is generated once and kept in the data folder."""
        return self.jwt_secret or self.secret_file("jwt-secret")

    @cached_property
    def stored_secret_key(self) -> str:
        """The key of core/keys.py: the setting, or one generated once in the data folder."""
        return self.secret_key or self.secret_file("secret-key")

    @cached_property
    def scrape_credential(self) -> str:
        """Empty in production unless METRICS_TOKEN is set: then nobody is answered."""
        if self.metrics_token or self.environment == "production":
            return self.metrics_token
        return self.secret_file("metrics-token")

    def secret_file(self, name: str) -> str:
        """A random secret kept in a file of the data folder, made on first use."""
        path = self.data_dir / name
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(48)
        # Written whole to a file of its own (owner-only: it is a key), then moved into place
        # in one step, so that a process starting at that moment never reads it empty. Of two
        # processes generating at once, the first to arrive wins and both use its value.
        fd, temporary = tempfile.mkstemp(dir=self.data_dir, prefix=f".{name}-")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(value)
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
        finally:
            os.unlink(temporary)
        return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()
