"""Idempotency keys: the first answer to each (operator, key), kept for a day."""
