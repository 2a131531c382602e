"""``Idempotency-Key``: safe retries of POSTs, per API key, for 24 hours."""
