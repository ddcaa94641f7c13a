"""Oversight of the records: the DSL's review of the log, the dashboard's summary, a person's
chronology, and the evidence pack an investigator can check."""
