"""The web admin panel at ``/admin``: server-rendered pages over the same services."""
