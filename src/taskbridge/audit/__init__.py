"""The audit log: one append-only row per administrator change, written in its transaction."""
