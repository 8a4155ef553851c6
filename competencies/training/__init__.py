"""Skills-development records (ISO 18295-1 6.4): courses, sessions, completions, refreshers."""
