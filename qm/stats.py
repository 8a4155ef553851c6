"""Statistics more than one domain needs, pure (no database, no app)."""

from __future__ import annotations

import math

Z95 = 1.959964  # two-sided 95% quantile of the standard normal


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval of a proportion, as fractions (0-1); None when nothing was tried
    (n = 0). Unlike the normal approximation it stays inside 0-1 and holds up for small samples
    and shares near 0 or 1, which survey months and flag reviews often are. 80 of 100:
    (0.711, 0.867); 8 of 10: (0.490, 0.943). The KPIs' CSAT (``scoring.kpis.metrics``) and the
    flags' measured precision (``scoring.review.metrics``) both use it."""
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"{successes} of {n} is not a share")
    if n == 0:
        return None
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    # at 0 or n the bound on that side is exactly 0 or 1 (not 0.9999999999999999)
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high
