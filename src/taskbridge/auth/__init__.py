"""API keys and permissions: who is calling, and what they may do."""
