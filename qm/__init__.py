"""qm: quality monitoring and agent competency for contact centres."""

__version__ = "0.1.0"
