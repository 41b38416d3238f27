"""The promotion gate: may today's champion replace the published ranking?"""

from __future__ import annotations


def promotion_decision(value: float, previous: float | None, tolerance: float) -> tuple[bool, str]:
    """(promoted, reason). The champion (already the better of the chosen LightFM configuration
    and popularity on the test window) must not fall more than `tolerance` (relative) below the
    last published champion's value; otherwise yesterday's ranking stays current."""
    if previous is not None and value < previous * (1 - tolerance):
        return False, (
            f"primary metric {value:.4f} regressed more than {tolerance:.0%} "
            f"vs the last published champion ({previous:.4f})"
        )
    against = "no published champion yet" if previous is None else f"last published {previous:.4f}"
    return True, f"promoted: {value:.4f}; {against}"
