"""The promotion gate: is today's model good enough to be scored and published?"""
from __future__ import annotations


def promotion_decision(
    value: float, baseline: float, previous: float | None, tolerance: float
) -> tuple[bool, str]:
    """(promoted, reason). The primary metric must beat the popularity baseline and must not
    fall more than `tolerance` (relative) below the last published model's value."""
    if not value > baseline:
        return False, f"primary metric {value:.4f} does not beat the popularity baseline {baseline:.4f}"
    if previous is not None and value < previous * (1 - tolerance):
        return False, (
            f"primary metric {value:.4f} regressed more than {tolerance:.0%} "
            f"vs the last published model ({previous:.4f})"
        )
    against = "no published model yet" if previous is None else f"last published {previous:.4f}"
    return True, f"promoted: {value:.4f} beats baseline {baseline:.4f}; {against}"
