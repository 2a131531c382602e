"""The tenant's outcome vocabulary: result types with codes, labels and the future-date flag."""
