"""The ordered event feed: events written with the change that causes them, read in order."""
