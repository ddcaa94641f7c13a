"""Incidents: unsolicited or chance contact and abuse, recorded and discussed (§5.2, §4.2)."""
