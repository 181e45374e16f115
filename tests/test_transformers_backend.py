"""The optional transformers classifier, on a tiny randomly initialised model built
offline by the test. Skipped when the [transformers] extra is not installed."""

from __future__ import annotations

import json
import pickle
import threading

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")

from sentiment.base import Thresholds  # noqa: E402
from sentiment.transformers_backend import TransformersClassifier  # noqa: E402

WORDS = ["[PAD]", "[UNK]", "@user", "the", "flight", "was", "great", "awful", "delayed", "thanks"]


def build_model(directory, id2label):
    """Save a tiny RoBERTa sequence classifier and a word-level tokenizer to ``directory``."""
    tok = tokenizers.Tokenizer(tokenizers.models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="[UNK]"))
    tok.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    transformers.PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]").save_pretrained(directory)
    torch.manual_seed(0)
    config = transformers.RobertaConfig(
        vocab_size=len(WORDS), hidden_size=8, num_hidden_layers=1, num_attention_heads=2, intermediate_size=16,
        max_position_embeddings=40, pad_token_id=0, bos_token_id=None, eos_token_id=None,
        num_labels=len(id2label), id2label=id2label, label2id={v: k for k, v in id2label.items()},
    )
    transformers.RobertaForSequenceClassification(config).save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return build_model(tmp_path_factory.mktemp("model"), {0: "negative", 1: "neutral", 2: "positive"})


TEXTS = ["the flight was great", "@acme delayed", "awful", "thanks ACME", "the flight was delayed, awful"]


def test_loads_a_local_model_and_scores_in_batches(model_dir):
    clf = TransformersClassifier(brand_terms=["acme"], model=model_dir, batch_size=2, max_length=16)
    scores = clf.score_many(TEXTS)
    assert len(scores) == len(TEXTS)
    for s in scores:
        assert -1 <= s.compound <= 1 and s.label in ("negative", "neutral", "positive")
    # batching does not change results: each text alone scores the same
    assert [clf.score(t).compound for t in TEXTS] == pytest.approx([s.compound for s in scores], abs=1e-4)
    assert clf.version.startswith("1+") and clf.languages is None


def test_thresholds_when_set_apply_to_the_compound(model_dir):
    loose = TransformersClassifier(Thresholds(0.99, -0.99), model=model_dir, max_length=16)
    assert {s.label for s in loose.score_many(TEXTS)} == {"neutral"}


def test_label_mapping_from_options_and_errors(tmp_path, model_dir):
    odd = build_model(tmp_path / "odd", {0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"})
    with pytest.raises(ValueError, match="set labels"):
        TransformersClassifier(model=odd)
    clf = TransformersClassifier(model=odd, labels=["positive", "neutral", "negative"], max_length=16)
    assert len(clf.score_many(TEXTS)) == len(TEXTS)
    with pytest.raises(ValueError, match="not a model directory"):
        TransformersClassifier(model=tmp_path / "nothing")


def test_shared_between_threads_and_pickled(model_dir):
    clf = TransformersClassifier(brand_terms=["acme"], model=model_dir, batch_size=2, max_length=16)
    expected = clf.score_many(TEXTS)
    results = []

    def work():
        results.append(clf.score_many(TEXTS))

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all([s.compound for s in r] == pytest.approx([s.compound for s in expected]) for r in results)
    copy = pickle.loads(pickle.dumps(clf))
    assert [s.compound for s in copy.score_many(TEXTS)] == pytest.approx([s.compound for s in expected])


def test_configured_through_the_sentiment_section(cli, write_config, model_dir):
    path = write_config(f'[sentiment]\nclassifier = "transformers"\nmodel = "{model_dir.as_posix()}"\n'
                        'batch_size = 4\nmax_length = 16\n')
    out = json.loads(cli("--config", path, "classify", "--format", "json", *TEXTS).stdout)
    assert [o["label"] in ("negative", "neutral", "positive") for o in out] == [True] * len(TEXTS)
    missing = write_config('[sentiment]\nclassifier = "transformers"\n', name="bad.toml")
    result = cli("--config", missing, "classify", "x")
    assert result.exit_code == 1 and 'missing required key "model"' in result.output
