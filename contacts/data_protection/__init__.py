"""Data protection over the records (UK GDPR): retention and redaction, legal holds that keep
what an investigation needs, and subject access requests with their export."""
