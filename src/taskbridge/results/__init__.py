"""Activity results: how a task went, validated against the tenant's result types."""
