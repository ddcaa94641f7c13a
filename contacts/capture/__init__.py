"""What the platforms themselves captured on school-owned accounts, checked against the log."""
