"""Brand-aware VADER: names and handles do not sway the score."""

from __future__ import annotations

import csv
import io
import json
import pickle
import re
import threading

import pytest
from vaderSentiment.vaderSentiment import BOOSTER_DICT, NEGATE, SentimentIntensityAnalyzer

from sentiment import lexicon
from sentiment.base import Thresholds
from sentiment.text import _LEFT, PLACEHOLDER, TextPreparer, _expand_leading_groups, group_by_first_char
from sentiment.vader import FEATURES, StockVaderClassifier, VaderClassifier
from sentiment.vader_core import Analyzer


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@united my flight was delayed", f"{PLACEHOLDER} my flight was delayed"),
        ("United lost my bag", f"{PLACEHOLDER} lost my bag"),
        ("UNITED SUCKS", f"{PLACEHOLDER.upper()} SUCKS"),
        ("#united again", f"{PLACEHOLDER} again"),
        ("we reunited at the gate", "we reunited at the gate"),  # whole words only
        ("Acme   Corp is slow", f"{PLACEHOLDER} {PLACEHOLDER} is slow"),  # one placeholder per word
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


def test_each_classifier_has_its_own_default_thresholds():
    assert VaderClassifier().thresholds == Thresholds(0.35, -0.10)
    assert StockVaderClassifier().thresholds == Thresholds(0.05, -0.05)
    # "ok, fine" is mildly positive: positive for stock VADER's cut-off, neutral for ours
    assert VaderClassifier().score("seems fine").label == "neutral"
    assert StockVaderClassifier().score("seems fine").label == "positive"


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
    assert set(item) == {"text", "label", "compound", "lang"}


def test_cli_classify_reads_stdin_lines(cli, write_config):
    result = cli("--config", write_config(), "classify", "--format", "json", input="I love it\n\nI hate it\n")
    assert [i["label"] for i in json.loads(result.output)] == ["positive", "negative"]


def test_cli_classify_drops_a_byte_order_mark_on_stdin(cli, write_config):
    result = cli("--config", write_config(), "classify", "--format", "json", input=b"\xef\xbb\xbfhello great\n")
    assert [i["text"] for i in json.loads(result.stdout)] == ["hello great"]


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_cli_classify_reads_utf16_with_its_byte_order_mark_on_stdin(cli, write_config, encoding):
    data = "\ufeffmy order is lost\r\nbrilliant service, thank you\r\n".encode(encoding)  # Windows' "Unicode" save
    out = json.loads(cli("--config", write_config(), "classify", "--format", "json", input=data).stdout)
    assert [(i["text"], i["label"]) for i in out] == [("my order is lost", "negative"),
                                                     ("brilliant service, thank you", "positive")]


def test_cli_classify_output_is_valid_utf8_whatever_bytes_come_in(cli, write_config):
    path = write_config()
    texts = []
    for fmt in ("json", "csv", "table"):
        piped = cli("--config", path, "classify", "--format", fmt, input=b"good \xb3\xc0 bad acme\r\n\xff\n")
        argument = cli("--config", path, "classify", "--format", fmt, "acme is great \udcb3 caf\udcc3\udca9")
        texts.append((piped.stdout_bytes.decode("utf-8"), argument.stdout_bytes.decode("utf-8")))
    (piped, argument), (piped_csv, argument_csv), (piped_table, argument_table) = texts
    assert [i["text"] for i in json.loads(piped)] == ["good \ufffd\ufffd bad acme", "\ufffd"]
    assert [i["text"] for i in json.loads(argument)] == ["acme is great \ufffd café"]  # split UTF-8 rejoined
    assert "good \ufffd\ufffd bad acme" in piped_csv and "acme is great \ufffd café" in argument_csv
    assert "good \ufffd\ufffd bad acme" in piped_table and "acme is great \ufffd café" in argument_table


def test_stock_classifier_is_selectable(cli, write_config):
    path = write_config('[sentiment]\nclassifier = "vader-stock"\n[[brands]]\nname = "United"\n')
    result = cli("--config", path, "classify", "--format", "json", "@united my flight was delayed 3 hours")
    assert json.loads(result.output)[0]["label"] == "positive"


def test_multiword_brand_keeps_token_positions():
    # one placeholder per word: VADER's 3-word negation window still reaches "good"
    assert TextPreparer(["acme air"])("acme air is not good") == f"{PLACEHOLDER} {PLACEHOLDER} is not good"
    assert VaderClassifier(brand_terms=["acme air"]).score("acme air is not good").label == "negative"


def test_masking_explained():
    masked = VaderClassifier(brand_terms=["United"]).explain("@UNITED lost it, cc @bob")["masked"]
    assert masked == [{"kind": "brand", "text": "@UNITED"}, {"kind": "handle", "text": "@bob"}]


def test_handles_and_addresses_are_not_split_by_normalisation():
    prepared = TextPreparer()("ask @bob.bsky.social or help@acme.com, great...really")
    assert prepared == f"ask {PLACEHOLDER} or help@acme.com, great... really"


# --- the re-implemented VADER core ----------------------------------------------------
# Sentences written for this test, exercising VADER's negation, boosters, "but",
# "least", idioms, caps, emoticons, emoji and punctuation emphasis.
STOCK_SENTENCES = [
    "The food was good but the service was terrible.",
    "I am not happy with this at all!!!",
    "This is kind of ok I guess",
    "NEVER so happy in my life",
    "At least it isn't a horrible hotel.",
    "The delivery was sort of late, not the worst though :)",
    "Without doubt the best coffee in town",
    "I don't hate it, but I don't love it either??",
    "the least helpful answer, very least",
    "no problem at all, no good or bad",
    "It was the bomb, yeah right, cut the mustard",
    "EXTREMELY GOOD and barely okay",
    "\U0001F600 lovely \U0001F62D",
    "caf\u00e9\U0001F600 na\u00efve \u201cgreat\u201d \U0001F44D\U0001F3FD\u2026 ok\u00e9\U0001F622",  # emoji inside non-ASCII runs
    "\U0001F621",
    "acme " + "\U0001F525 " * 12 + "\u041f\u0440\u0438\u0432\u0435\u0442 \u043a\u0430\u043a \u0434\u0435\u043b\u0430",  # many non-ASCII
    "",
    "?!",
    # Sentiment words with nothing before them that can change them (the short cut), beside
    # ones that have: "n't" elsewhere in the text, idioms after context-free words, caps.
    "I can't say much. The staff were friendly and the room lovely",
    "The room shouldn't've been lovely",  # a negation by its "n't", not in VADER's list
    "Great hotel, the cake was kiss of death and the hero a bad ass",
    "The staff were GREAT and the room lovely, yeah right",
    "good", "so good", "Stra\u00dfe \u0130\u0130 GREAT happy, \u212aind of sad",  # lower() changes lengths
]


@pytest.mark.parametrize("text", STOCK_SENTENCES)
def test_vader_core_equals_stock(text):
    stock = SentimentIntensityAnalyzer()
    core = Analyzer(stock.lexicon, stock.emojis)
    assert core.polarity(text) == pytest.approx(stock.polarity_scores(text)["compound"], abs=1e-4)


def test_all_features_off_equals_stock():
    bare = VaderClassifier(features=())
    stock = StockVaderClassifier()
    for text in STOCK_SENTENCES:
        assert bare.score(text).compound == pytest.approx(stock.score(text).compound, abs=1e-4), text


def test_every_feature_can_be_switched_off_and_says_so_in_its_version():
    for feature in FEATURES:
        clf = VaderClassifier(brand_terms=["united"], features=FEATURES - {feature})
        assert -1 <= clf.score("@united thanks, the flight was delayed 3 hours :(").compound <= 1
        assert clf.version != VaderClassifier.version
    with pytest.raises(ValueError):
        VaderClassifier(features=["no_such_feature"])


def test_stock_vader_lexicon_is_not_mutated():
    VaderClassifier()
    fresh = SentimentIntensityAnalyzer()
    assert fresh.lexicon["please"] == 1.3 and fresh.lexicon["united"] == 1.8


# --- sharing, workers ---------------------------------------------------------------------
TEXTS = [
    "@united 3 hours on hold and still no reply, thanks for nothing",
    "Love the new app, checking in was smooth!",
    "Can you tell me the baggage allowance? Thanks",
    "Great job, my parcel is lost again \U0001F644",
    "the crew were not bad at all",
] * 40


@pytest.mark.parametrize("cls", [VaderClassifier, StockVaderClassifier])
def test_one_instance_is_safe_to_share_between_threads(cls):
    clf = cls(brand_terms=["united"])
    expected = clf.score_many(TEXTS)
    results: dict[int, list] = {}
    start = threading.Barrier(4)

    def work(k: int) -> None:
        start.wait()
        results[k] = [clf.score(t) for t in TEXTS]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(results[k] == expected for k in range(4))


@pytest.mark.parametrize("cls", [VaderClassifier, StockVaderClassifier])
def test_classifier_pickles_for_worker_processes(cls):
    clf = cls(Thresholds(0.3, -0.2), brand_terms=["united"])
    copy = pickle.loads(pickle.dumps(clf))
    assert (copy.thresholds, copy.brand_terms, copy.version) == (clf.thresholds, clf.brand_terms, clf.version)
    assert copy.score_many(TEXTS[:5]) == clf.score_many(TEXTS[:5])


# --- the lexicon's hygiene -----------------------------------------------------------------
def test_lexicon_entries_are_documented_and_on_scale():
    for word, (valence, why) in lexicon.WORDS.items():
        assert -4 <= valence <= 4 and why.strip(), word
        assert word == word.lower() and " " not in word, word
        assert word not in NEGATE and word not in BOOSTER_DICT, word  # never shadow VADER's modifiers
    names = set()
    for name, rx, valence, why in lexicon.PHRASES:
        assert re.fullmatch(r"[a-z_]+", name) and name not in names, name
        names.add(name)
        assert -4 <= valence <= 4 and why.strip(), name
        re.compile(rx)
    for char, (token, valence, why) in lexicon.EMOJI.items():
        assert len(char) == 1 and token.startswith("emoji_") and why.strip() and -4 <= valence <= 4


def test_fast_phrase_pattern_matches_exactly_what_the_plain_one_does():
    texts = [s.lower() for s in STOCK_SENTENCES] + [
        "been on hold for 2 hours, still no reply", "i can't even get through to anyone",
        "never booking with them again", "the app keeps crashing", "customer care team",
        "thanks in advance", "cancelled, cancellation, canceled", "no one answers the hotline",
        "still not fixed, still nothing", "45+ mins waiting", "well, ok",
    ]
    for name, rx, _valence, _why in lexicon.PHRASES:
        plain = re.compile(rf"{_LEFT}(?:{rx})(?!\w)")
        fast = re.compile(rf"{_LEFT}(?:{group_by_first_char(_expand_leading_groups(rx))})(?!\w)")
        for text in texts:
            assert [m.span() for m in plain.finditer(text)] == [m.span() for m in fast.finditer(text)], (name, text)


def test_explain_gives_a_reason_for_everything():
    clf = VaderClassifier(brand_terms=["united"])
    text = "@united 2 hours on hold, please help, unacceptable"
    e = clf.explain(text)
    assert (e["compound"], e["label"]) == (clf.score(text).compound, clf.score(text).label)
    assert e["masked"] == [{"kind": "brand", "text": "@united"}]
    assert {p["token"] for p in e["phrases"]} >= {"cs_time_waited", "cs_please_help"}
    assert e["lexicon_hits"] and all(h["why"] for h in e["lexicon_hits"] + e["phrases"])
    assert json.dumps(e)  # JSON-ready for `classify --explain`


def test_cli_classify_explains_and_checks_the_language(cli, write_config):
    path = write_config()
    out = json.loads(cli("--config", path, "classify", "--explain", "--format", "json",
                         "@acme 3 hours on hold and then the line went dead, great job",
                         "Mon colis est encore perdu et personne ne répond au téléphone").stdout)
    assert out[0]["label"] == "negative" and out[0]["lang"] == "en"
    assert {r["rule"] for r in out[0]["explain"]["rules"]} == {"sarcasm"}
    assert out[0]["explain"]["masked"] == [{"kind": "brand", "text": "@acme"}]
    assert (out[1]["label"], out[1]["compound"], out[1]["lang"]) == ("unsupported", None, "fr")
    assert out[1]["explain"] is None  # the key is there in every row: not scored, nothing to explain
    table = cli("--config", path, "classify", "--explain", "thanks for nothing @acme",
                "Mon colis est encore perdu").stdout
    assert "phrase \"thanks for nothing\" -2.5" in table and "masked brand: @acme" in table
    assert "unsupported: Mon colis est encore perdu\n  language fr: not scored" in table  # no "None"
    rows = list(csv.DictReader(io.StringIO(cli("--config", path, "classify", "--explain", "--format", "csv",
                                                "thanks for nothing @acme", "Mon colis est encore perdu").stdout)))
    assert json.loads(rows[0]["explain"])["phrases"][0]["text"] == "thanks for nothing"
    assert (rows[1]["label"], rows[1]["lang"], rows[1]["explain"]) == ("unsupported", "fr", "")
    stock = write_config('[sentiment]\nclassifier = "vader-stock"\n', name="stock.toml")
    assert "cannot explain" in cli("--config", stock, "classify", "--explain", "hello").output


def test_cli_classify_csv_has_the_json_keys_with_or_without_explain(cli, write_config):
    path = write_config()
    texts = ["acme lost my order", "Mon colis est encore perdu et personne ne répond au téléphone"]
    objects = json.loads(cli("--config", path, "classify", "--format", "json", *texts).stdout)
    rows = list(csv.DictReader(io.StringIO(cli("--config", path, "classify", "--format", "csv", *texts).stdout)))
    assert list(rows[0]) == ["label", "compound", "lang", "text"]
    assert [(r["label"], r["lang"], r["text"]) for r in rows] == [(o["label"], o["lang"] or "", o["text"]) for o in objects]
    assert rows[1]["lang"] == "fr"  # why the second text is unsupported
