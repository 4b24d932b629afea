"""Numbers for people: the loss "now", its share of a baseline, and how every figure is printed.

One owner for "the mean of the last RECENT losses as a share of the baseline", which the status
line, the report, the lessons and the CLI all quote, and for printing a number so that a diverged
loss reads "diverged" or "> 10⁶ × baseline", never a 20-digit float.
"""

from __future__ import annotations

import math

import numpy as np

RECENT = 20  # training steps averaged for "the loss now"
HUGE_SHARE = 1e6  # beyond this many times the baseline, only "more than" is worth saying


def recent_loss(losses: np.ndarray) -> float:
    """Mean of the last RECENT losses; NaN before the first step, inf once any is infinite."""
    recent = np.asarray(losses, dtype=float)[-RECENT:]
    if not recent.size:
        return math.nan
    with np.errstate(over="ignore", invalid="ignore"):
        return float(np.mean(recent))


def share_of(loss: float, baseline: float) -> float:
    """loss / baseline, never raising: NaN where it means nothing (no loss yet, or a zero
    baseline, e.g. a flat signal whose mean predicts it exactly), inf for a diverged loss."""
    if math.isnan(loss) or math.isnan(baseline) or baseline <= 0:
        return math.nan
    with np.errstate(over="ignore"):
        return float(np.float64(loss) / baseline)


def describe_share(loss: float, baseline: float, of: str = "baseline") -> str:
    """'0.7 % of baseline', '43 % of baseline', '3.2 × baseline', '> 10⁶ × baseline',
    'diverged', or why there is no share."""
    if math.isnan(loss):
        return "not trained yet"
    if math.isinf(loss):
        return "diverged"
    if not baseline > 0:
        return f"{of} is 0, so no share of it"
    share = share_of(loss, baseline)
    if share > HUGE_SHARE:
        return f"> 10⁶ × {of}"
    if share >= 10:
        return f"{share:.3g} × {of}"
    digits = 1 if share < 0.1 else 0
    return f"{100 * share:.{digits}f} % of {of}"


def format_number(value: float, digits: int = 3) -> str:
    """A value to ``digits`` significant digits, powers of ten written out beyond 10⁶."""
    if value is None or math.isnan(value):
        return "—"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if value != 0 and not 1e-4 <= abs(value) < 1e6:
        mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
        return f"{mantissa} × 10{_superscript(int(exponent))}"
    if abs(value) >= 10**digits:  # 12,346 rather than 1.23e+04
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def format_loss(value: float) -> str:
    """A training loss: 'diverged' when it is no longer a number."""
    if not math.isfinite(value):
        return "—" if math.isnan(value) else "diverged"
    return format_number(value, 4)


_SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _superscript(exponent: int) -> str:
    return str(exponent).translate(_SUPERSCRIPTS)
