"""The tenant's customers' stores, keyed by the tenant's own external ids."""
