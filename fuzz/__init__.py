"""``make fuzz``: schemathesis over the served OpenAPI document, on SQLite and PostgreSQL, with
three kinds of caller. Not part of the default ``pytest`` run (``testpaths = ["tests"]``)."""
