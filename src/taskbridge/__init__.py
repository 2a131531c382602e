"""taskbridge: task activities for field and call-center teams."""

__version__ = "0.1.0"
