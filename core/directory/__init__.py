"""The directory: trusts, schools, staff, pupils, guardians and devices."""

from core.directory import kept as _kept  # noqa: F401  (its records under the chain)
