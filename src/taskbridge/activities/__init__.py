"""Activities (tasks), their status machine and their event history."""
