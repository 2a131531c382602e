"""People: accounts, roles in tenants, sign-in (REST tokens and panel sessions)."""
