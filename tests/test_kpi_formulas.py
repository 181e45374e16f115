"""The KPI formulas against values worked out by hand."""

from __future__ import annotations

import pytest

from monitor.kpi import formulas
from monitor.kpi.formats.base import HOUR, MINUTE, parse_duration, parse_number


def test_csat_counts_satisfied_of_all_responses():
    # 7 satisfied, 2 neutral, 1 dissatisfied: 7/10 = 70 %
    assert formulas.csat(7, 2, 1).value == 70.0
    # neutrals counted as satisfied: 9/10; left out: 7/8
    assert formulas.csat(7, 2, 1, "satisfied").value == 90.0
    result = formulas.csat(7, 2, 1, "exclude")
    assert result.value == 87.5 and result.responses == 8
    assert formulas.csat(0, 0, 0).value is None  # no answers is not 0 %


def test_csat_from_ratings_uses_the_threshold_and_the_middle_of_the_scale():
    ratings = {5: 3, 4: 2, 3: 2, 2: 1, 1: 2}  # 10 answers on 1-5
    assert formulas.csat_from_ratings(ratings).value == 50.0  # 4-5: 5 of 10
    assert formulas.csat_from_ratings(ratings, satisfied_min=5).value == 30.0  # 5 only: 3 of 10
    # 4 is below a threshold of 5 but not the middle: dissatisfied even with neutrals excluded
    assert formulas.csat_from_ratings(ratings, 5, "exclude").value == pytest.approx(3 / 8 * 100)
    assert formulas.csat_bucket(3, 4) == "neutral"
    assert formulas.csat_bucket(3, 3) == "satisfied"


def test_nps_is_promoters_minus_detractors():
    # 9-10: 5 promoters, 7-8: 3 passives, 0-6: 2 detractors -> (5 - 2) / 10 = +30
    assert formulas.nps(5, 3, 2) == 30.0
    scores = {10: 3, 9: 2, 8: 2, 7: 1, 6: 1, 0: 1}
    assert formulas.nps_from_scores(scores) == (30.0, 10)
    assert formulas.nps(0, 0, 4) == -100.0
    assert formulas.nps(0, 0, 0) is None


def test_ces_is_the_mean_answer():
    assert formulas.mean_of({7: 2, 5: 1, 3: 1}) == (5.5, 4)  # (14 + 5 + 3) / 4
    assert formulas.mean_of({}) == (None, 0)


def test_median_of_a_histogram():
    assert formulas.median_of({15: 1, 30: 1, 60: 1, 120: 1, 240: 1}) == 60  # odd: the middle one
    assert formulas.median_of({90: 1, 120: 1, 1440: 2}) == 780  # even: (120 + 1440) / 2
    assert formulas.median_of({5: 3, 7: 1}) == 5  # ranks 1 and 2 (0-based) are both 5
    assert formulas.median_of({1: 2, 9: 2}) == 5
    assert formulas.median_of({}) is None


def test_rescale_between_scales():
    assert formulas.rescale(4, 1, 5, 1, 7) == 5.5  # 1 + 3 * 6/4
    assert formulas.rescale(1, 1, 3, 1, 5) == 1 and formulas.rescale(3, 1, 3, 1, 5) == 5


def test_retention_cost_abandonment_fcr():
    # S = 1000 at the start, E = 1030 at the end, N = 50 new: (1030 - 50) / 1000 = 98 %
    assert formulas.retention(1000, 1030, 50) == 98.0
    assert formulas.retention(0, 10, 10) is None
    assert formulas.cost_per_resolution(8000, 4) == 2000.0
    assert formulas.cost_per_resolution(8000, 0) is None
    assert formulas.abandonment(400, 380) == 5.0  # 20 of 400
    assert formulas.abandonment(0, 0) is None
    assert formulas.fcr(2, 3) == pytest.approx(66.6667, abs=1e-4)


def test_first_contact_estimate():
    assert formulas.first_contact_estimate(True, 1, 0) is True  # Zendesk one-touch
    assert formulas.first_contact_estimate(True, 0, None) is True
    assert formulas.first_contact_estimate(True, 2, 0) is False
    assert formulas.first_contact_estimate(True, 1, 1) is False  # reopened
    assert formulas.first_contact_estimate(True, 1, customer_contacts=2) is False
    assert formulas.first_contact_estimate(False, 1, 0) is None  # unresolved: unknown
    assert formulas.first_contact_estimate(True, None, 0) is None


@pytest.mark.parametrize(
    ("text", "unit", "seconds"),
    [
        ("00:33:21", None, 2001),
        ("123:04:05", None, 123 * 3600 + 245),  # Freshdesk hours pass 99
        ("01:05", None, 3900),  # H:MM (Freshdesk "Time tracked")
        ("38", MINUTE, 2280),  # Zendesk minutes
        ("1.5", HOUR, 5400),  # Freshdesk decimal hours
        ("95s", None, 95),
        ("12 min", None, 720),
        ("1.5h", MINUTE, 5400),  # a unit in the value beats the column's
    ],
)
def test_durations(text, unit, seconds):
    assert parse_duration(text, unit) == seconds


@pytest.mark.parametrize("text", ["12", "1:2:3", "-5m", "5 parsecs", "soon"])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        parse_duration(text, None)


def test_numbers():
    assert parse_number("12,000.50") == 12000.5
    assert parse_number("€8000") == 8000
    with pytest.raises(ValueError):
        parse_number("12,5")  # a decimal comma is ambiguous: refused, not guessed
