"""Calibration: do our evaluators agree? Sessions where they score the same interactions,
the agreement statistics (``reliability``, pure) and ``qm reliability`` for any table of ratings."""
