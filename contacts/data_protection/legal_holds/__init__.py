"""Legal holds: an investigation keeps a pupil's, a member of staff's, a contact's or an
incident's records from retention until the hold is released (§7)."""
