"""The default classifier on general posts (not addressed to a brand): leaked escapes,
names, hedged statements and words VADER's raters split on. Sentences written for these
tests; none comes from a labelled data set."""

from __future__ import annotations

import pytest

from sentiment.text import normalise
from sentiment.vader import FEATURES, VaderClassifier


@pytest.fixture(scope="module")
def clf():
    return VaderClassifier(brand_terms=["acme"])


def label(clf, text):
    return clf.score(text).label


def rules_of(clf, text):
    return [r["rule"] for r in clf.explain(text)["rules"]]


# ----------------------------------------------------------------------------- escapes
@pytest.mark.parametrize(("text", "expected"), [
    (r"I can\u2019t wait", "I can't wait"),  # then straightened like any curly quote
    (r"last year\u002c it was fine", "last year, it was fine"),
    (r"party \ud83c\udf89 tonight", "party \U0001F389 tonight"),  # a surrogate pair is one emoji
    (r"a lone \ud83c stays", r"a lone \ud83c stays"),
    (r"C:\\users\\u2019 path", r"C:\\users\\u2019 path"),  # after a backslash: not an escape
])
def test_leaked_json_escapes_are_decoded(text, expected):
    assert normalise(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("\u201cgreat\u201d service\u2026really", '"great" service\u2026 really'),
    ("it\u2019s fine.Thanks \u2018mate\u2019", "it's fine. Thanks 'mate'"),
    ("wait...again, and?Why", "wait... again, and? Why"),
    ("ok,\u2026fine 3.5 10:30 :)", "ok,\u2026fine 3.5 10:30 :)"),  # "\u2026" after a comma, not a letter: kept
    ("plain text, nothing glued", "plain text, nothing glued"),
])
def test_quotes_are_straightened_and_glued_words_split(text, expected):
    assert normalise(text) == expected


def test_an_escaped_apostrophe_still_negates(clf):
    # Undecoded, "can\u2019t" is no negation and "wait" counts as waiting.
    assert label(clf, r"Can\u2019t wait for the weekend") == "positive"
    assert label(clf, r"The food wasn\u2019t good") == "negative"


# ----------------------------------------------------------------------------- names
@pytest.mark.parametrize(("text", "word"), [
    ("Binge-watching The Walking Dead all weekend", "Dead"),
    ("Tickets for the Foo Fighters show go on sale Monday", "Fighters"),
    ("Watching the Super Eagles against Ghana tonight", "Super"),
    ("She was crowned Miss USA in Las Vegas", "Miss"),
    ("@bob the Grateful Dead tribute band plays Friday", "Grateful"),
])
def test_words_inside_capitalised_names_count_zero(clf, text, word):
    e = clf.explain(text)
    assert label(clf, text) == "neutral", e
    assert any(r["rule"] == "names" and f"'{word}'" in r["detail"] for r in e["rules"]), e


@pytest.mark.parametrize("text", [
    "Great show tonight",  # opens the sentence: capitalised for grammar
    "We had a Great time.",  # alone: emphasis, not a name
    "@acme Thank You for the quick fix",  # opens the message after its address
    "Wishing everyone a Happy Birthday",  # a greeting formula
    "Thank God it worked",
])
def test_capitalisation_alone_is_not_a_name(clf, text):
    assert "names" not in rules_of(clf, text)
    assert label(clf, text) == "positive", clf.explain(text)


def test_all_capitals_shouting_is_not_a_name(clf):
    assert "names" not in rules_of(clf, "the service was TERRIBLE TODAY")
    assert label(clf, "the service was TERRIBLE TODAY") == "negative"


# ----------------------------------------------------------------------------- hedges
def test_a_hedged_statement_counts_half(clf):
    plain = clf.polarity("The new release is a disaster")
    hedged = clf.polarity("The new release may be a disaster")
    assert plain < hedged < 0
    assert "hedges" in rules_of(clf, "The new release may be a disaster")


def test_hedge_ends_with_its_clause(clf):
    e = clf.explain("It might rain, the concert was awful")
    assert not any("awful" in r["detail"] for r in e["rules"] if r["rule"] == "hedges")
    assert label(clf, "It might rain, the concert was awful") == "negative"


@pytest.mark.parametrize("text", [
    "May your holidays be wonderful",  # a wish opens the sentence
    "The festival on May 3 was wonderful",  # the month
])
def test_wishes_and_the_month_are_not_hedges(clf, text):
    assert "hedges" not in rules_of(clf, text)
    assert label(clf, text) == "positive"


# ----------------------------------------------------------------------------- agreement
def test_words_raters_split_on_count_less(clf):
    # "god": 4 of VADER's 10 raters rated it positive, 6 neutral.
    e = clf.explain("oh god the match starts at nine")
    assert ("god", 0.44) in [(t.lower(), v) for t, v in e["token_valences"]]
    assert any(r["rule"] == "agreement" and "'god'" in r["detail"] for r in e["rules"])
    assert label(clf, "oh god the match starts at nine") == "neutral"


def test_words_raters_agree_on_keep_their_valence(clf):
    without = VaderClassifier(features=FEATURES - {"agreement"})
    for text in ("I love this song", "what an awful referee", "thank you"):
        assert clf.polarity(text) == without.polarity(text), text
        assert "agreement" not in rules_of(clf, text)


def test_customer_service_words_are_not_scaled(clf):
    # "help" has a neutral customer-service valence: agreement does not touch it.
    assert not any(r["rule"] == "agreement" for r in clf.explain("please help")["rules"])


# ----------------------------------------------------------------------------- small fixes
def test_negated_preposition_like_is_not_disliking(clf):
    assert label(clf, "It doesn't look like rain today") == "neutral"
    assert label(clf, "I don't like the new menu") == "negative"


def test_keeps_getting_better_is_no_failure(clf):
    assert label(clf, "The app keeps getting better") == "positive"
    assert label(clf, "The app keeps getting slower") == "negative"
