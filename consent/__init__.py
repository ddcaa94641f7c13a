"""Parental consent and parent notices: the rules, the records, and a pupil's standing."""

from consent import kept as _kept  # noqa: F401  (its records under the chain)
