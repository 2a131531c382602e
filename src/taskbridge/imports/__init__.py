"""CSV imports of commerces, operators and tasks: validated whole, applied through the services."""
