"""Weekly sampling: rules, fair and reproducible draws, and targeted picks of flagged
interactions."""
