"""Retention: rows whose purpose has passed are deleted in the background, in small batches."""
