"""Push dispatch: configs, the transactional outbox, signed deliveries, retries, the dispatcher."""
