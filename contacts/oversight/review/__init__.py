"""The DSL's review of the log: search, export, the review queue and its marks."""
