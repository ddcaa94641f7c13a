"""Contact requests and decisions, the message log, deletions, incidents and the review."""

from contacts import kept as _kept  # noqa: F401  (its records under the chain)
