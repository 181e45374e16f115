"""The KPI formulas, as pure functions of counts and histograms.

Every function returns ``None`` when its denominator is empty: "no data" is
never shown as 0. Percentages are 0-100 (NPS -100..100), not fractions.

Histograms map a score to how many answers gave it; the storage layer
counts them per period in SQL, so no function here needs the rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

NeutralPolicy = Literal["dissatisfied", "satisfied", "exclude"]
CSAT_NEUTRAL = 3.0  # the middle of the 1-5 scale every CSAT rating is put on


def percent(part: float, whole: float) -> float | None:
    return part / whole * 100 if whole else None


def rescale(score: float, lo: float, hi: float, new_lo: float, new_hi: float) -> float:
    """``score`` on ``lo..hi`` moved linearly onto ``new_lo..new_hi`` (5 of 1-7 -> 3.67 of 1-5)."""
    if hi == lo:
        raise ValueError("a scale needs two different ends")
    return new_lo + (score - lo) * (new_hi - new_lo) / (hi - lo)


# ---------------------------------------------------------------- CSAT
def csat_bucket(rating: float, satisfied_min: float) -> str:
    """``satisfied``, ``neutral`` (the 3 of 1-5, below the threshold) or ``dissatisfied``."""
    if rating >= satisfied_min:
        return "satisfied"
    return "neutral" if rating == CSAT_NEUTRAL else "dissatisfied"


@dataclass(frozen=True)
class Csat:
    value: float | None  # % satisfied of the responses counted
    responses: int  # answers counted (neutrals left out under "exclude")
    satisfied: int


def csat(satisfied: int, neutral: int, dissatisfied: int, neutral_policy: NeutralPolicy = "dissatisfied") -> Csat:
    """CSAT = satisfied / responses x 100; neutrals count as ``neutral_policy`` says."""
    if neutral_policy == "satisfied":
        satisfied += neutral
    responses = satisfied + dissatisfied + (neutral if neutral_policy == "dissatisfied" else 0)
    return Csat(percent(satisfied, responses), responses, satisfied)


def csat_from_ratings(
    ratings: Mapping[float, int], satisfied_min: float = 4.0, neutral_policy: NeutralPolicy = "dissatisfied"
) -> Csat:
    """CSAT of a histogram of 1-5 ratings."""
    if neutral_policy == "satisfied":
        # The middle answer is satisfied, so every rating above it is too: a rescaled 5 of
        # 1-7 (3.67) must not count worse than its 4 (3.0, the middle).
        satisfied_min = min(satisfied_min, CSAT_NEUTRAL)
    counts = {"satisfied": 0, "neutral": 0, "dissatisfied": 0}
    for rating, n in ratings.items():
        counts[csat_bucket(rating, satisfied_min)] += n
    return csat(counts["satisfied"], counts["neutral"], counts["dissatisfied"], neutral_policy)


# ----------------------------------------------------------------- NPS
def nps_bucket(score: float) -> str:
    """0-10: 9-10 promoter, 7-8 passive, 0-6 detractor."""
    if score >= 9:
        return "promoter"
    return "passive" if score >= 7 else "detractor"


def nps(promoters: int, passives: int, detractors: int) -> float | None:
    """NPS = % promoters - % detractors, from -100 to 100; passives count in the total only."""
    total = promoters + passives + detractors
    if not total:
        return None
    return (promoters - detractors) / total * 100


def nps_from_scores(scores: Mapping[float, int]) -> tuple[float | None, int]:
    """NPS of a histogram of 0-10 scores, and the number of answers."""
    counts = {"promoter": 0, "passive": 0, "detractor": 0}
    for score, n in scores.items():
        counts[nps_bucket(score)] += n
    return nps(counts["promoter"], counts["passive"], counts["detractor"]), sum(counts.values())


# ----------------------------------------------------------------- CES
def mean_of(histogram: Mapping[float, int]) -> tuple[float | None, int]:
    """The mean of a histogram, and its count (CES is the mean answer on its scale)."""
    n = sum(histogram.values())
    if not n:
        return None, 0
    return sum(score * count for score, count in histogram.items()) / n, n


def median_of(histogram: Mapping[float, int]) -> float | None:
    """The median of a histogram: the middle value, or the mean of the two middle ones."""
    n = sum(histogram.values())
    if not n:
        return None
    low_rank, high_rank = (n - 1) // 2, n // 2  # 0-based ranks of the middle value(s)
    seen = 0
    low = None
    for value in sorted(histogram):
        seen += histogram[value]
        if low is None and seen > low_rank:
            low = value
        if seen > high_rank:
            return (low + value) / 2  # type: ignore[operator]
    raise AssertionError("unreachable: the ranks are below the count")


# ----------------------------------------------------- tickets and periods
def first_contact_estimate(
    resolved: bool, replies: int | None, reopens: int | None = None, customer_contacts: int | None = None
) -> bool | None:
    """Estimated first-contact resolution of one ticket: resolved with at most one
    agent reply, never reopened and (where known) one customer contact.

    ``None`` when unresolved or the reply count is unknown. This is Zendesk's
    "one-touch" rule (replies < 2) made stricter by the reopen check.
    """
    if not resolved or replies is None:
        return None
    return replies <= 1 and not reopens and (customer_contacts is None or customer_contacts <= 1)


def fcr(first_contact: int, resolved: int) -> float | None:
    """First-contact resolution = tickets resolved on first contact / resolved tickets x 100."""
    return percent(first_contact, resolved)


def retention(customers_start: float, customers_end: float, customers_new: float) -> float | None:
    """Customer retention rate = (E - N) / S x 100."""
    return percent(customers_end - customers_new, customers_start)


def cost_per_resolution(operating_cost: float, resolved: int) -> float | None:
    """Support operating cost of the period / tickets resolved in it."""
    return operating_cost / resolved if resolved else None


def abandonment(offered: float, handled: float) -> float | None:
    """Abandonment rate = (offered - handled) / offered x 100."""
    return percent(offered - handled, offered)
