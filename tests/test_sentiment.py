"""Brand-aware VADER: names and handles do not sway the score."""

from __future__ import annotations

import json

import pytest

from sentiment.base import Thresholds
from sentiment.text import PLACEHOLDER, TextPreparer
from sentiment.vader import StockVaderClassifier, VaderClassifier


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@united my flight was delayed", f"{PLACEHOLDER} my flight was delayed"),
        ("United lost my bag", f"{PLACEHOLDER} lost my bag"),
        ("UNITED SUCKS", f"{PLACEHOLDER.upper()} SUCKS"),
        ("#united again", f"{PLACEHOLDER} again"),
        ("we reunited at the gate", "we reunited at the gate"),  # whole words only
        ("Acme   Corp is slow", f"{PLACEHOLDER} is slow"),  # phrases across spaces
        ("mail help@united.com", "mail help@united.com"),  # one token to VADER, unscored
    ],
)
def test_brand_terms_are_masked_on_word_boundaries(text, expected):
    assert TextPreparer(["United", "@united", "Acme Corp"])(text) == expected


def test_any_handle_is_masked_but_email_addresses_are_not():
    prepare = TextPreparer()
    assert prepare("@happyhour @bob.bsky.social hi") == f"{PLACEHOLDER} {PLACEHOLDER} hi"
    assert prepare("write to bob@example.com") == "write to bob@example.com"


def test_entities_unescaped_and_urls_dropped():
    assert TextPreparer()("great &amp; fast https://t.co/abc www.x.com/y").split() == ["great", "&", "fast"]


def test_brand_name_does_not_make_a_complaint_positive():
    text = "@united my flight was delayed 3 hours"
    assert StockVaderClassifier().score(text).label == "positive"  # the problem
    score = VaderClassifier(brand_terms=["United", "@united"]).score(text)
    assert score.label != "positive" and score.compound < 0


def test_thresholds_decide_the_label():
    loose = VaderClassifier(Thresholds(positive=0.9, negative=-0.9))
    assert loose.score("this is good").label == "neutral"
    assert VaderClassifier().score("this is good").label == "positive"
    with pytest.raises(ValueError):
        Thresholds(positive=-0.5, negative=0.5)


def test_score_many_matches_score():
    classifier = VaderClassifier(brand_terms=["Acme"])
    texts = ["acme is awful", "acme is lovely", "acme opens at 9"]
    assert classifier.score_many(texts) == [classifier.score(t) for t in texts]
    assert [s.label for s in classifier.score_many(texts)] == ["negative", "positive", "neutral"]


def test_cli_classify_with_united_as_brand_is_not_positive(cli, write_config):
    path = write_config('[[brands]]\nname = "United"\nhandles = ["@united"]\n')
    result = cli("--config", path, "classify", "--format", "json", "@united my flight was delayed 3 hours")
    assert result.exit_code == 0
    (item,) = json.loads(result.output)
    assert item["label"] != "positive"
    assert set(item) == {"text", "label", "compound"}


def test_cli_classify_reads_stdin_lines(cli, write_config):
    result = cli("--config", write_config(), "classify", "--format", "json", input="I love it\n\nI hate it\n")
    assert [i["label"] for i in json.loads(result.output)] == ["positive", "negative"]


def test_stock_classifier_is_selectable(cli, write_config):
    path = write_config('[sentiment]\nclassifier = "vader-stock"\n[[brands]]\nname = "United"\n')
    result = cli("--config", path, "classify", "--format", "json", "@united my flight was delayed 3 hours")
    assert json.loads(result.output)[0]["label"] == "positive"
