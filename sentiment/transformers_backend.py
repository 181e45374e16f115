"""An optional classifier: a sentiment model from a local directory, run with
Hugging Face transformers (``pip install 'sentiment-monitor[transformers]'``).

Point ``[sentiment] model`` at a directory holding a sequence-classification
model and its tokenizer (for example a Twitter-RoBERTa sentiment model saved
with ``save_pretrained``). Nothing is downloaded: the directory is loaded with
``local_files_only``. Texts are prepared like the default classifier's (brand
names and handles masked, here as "@user", the way tweet models were
trained), then scored in batches of ``batch_size``.

The compound score is P(positive) - P(negative). The label is the model's own
(its most probable class) unless thresholds are configured, which then apply
to the compound. Classes are mapped from the model's ``id2label`` names
(negative/neutral/positive, or neg/neu/pos); ``labels`` gives the mapping for
models whose names are "LABEL_0"...
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from sentiment.base import LABELS, NEGATIVE, NEUTRAL, POSITIVE, Score, Thresholds
from sentiment.text import TextPreparer

_PREFIXES = {"neg": NEGATIVE, "neu": NEUTRAL, "pos": POSITIVE}


@dataclass(frozen=True)
class Options:
    """The ``[sentiment]`` keys of this classifier."""

    model: Path  # a local model directory
    batch_size: int = 32
    max_length: int = 128  # tokens per text; longer texts are truncated
    labels: tuple[str, ...] = ()  # our label per class id, when id2label names are not ours
    languages: tuple[str, ...] = ()  # ISO 639-1 codes the model handles; empty: any


class TransformersClassifier:
    """A local transformers sequence-classification model, run in batches."""

    name: ClassVar[str] = "transformers"
    version: ClassVar[str] = "1"  # an instance adds its model's identity
    default_thresholds: ClassVar[Thresholds | None] = None  # the model's own label
    Options: ClassVar[type] = Options

    def __init__(
        self,
        thresholds: Thresholds | None = None,
        brand_terms: Sequence[str] = (),
        *,
        model: str | Path,
        batch_size: int = 32,
        max_length: int = 128,
        labels: Sequence[str] = (),
        languages: Sequence[str] = (),
    ) -> None:
        directory = Path(model).expanduser()
        if not (directory / "config.json").is_file():
            raise ValueError(f"{directory} is not a model directory (no config.json)")
        if batch_size < 1 or max_length < 1:
            raise ValueError("batch_size and max_length must be at least 1")
        self._args = {
            "thresholds": thresholds, "brand_terms": tuple(brand_terms), "model": str(directory),
            "batch_size": batch_size, "max_length": max_length, "labels": tuple(labels),
            "languages": tuple(languages),
        }
        self.thresholds = thresholds
        self.batch_size = batch_size
        self.max_length = max_length
        self.languages = frozenset(languages) or None
        self.version = f"{type(self).version}+{directory.name}-{_identity(directory)}"
        self._prepare = TextPreparer(brand_terms, placeholder="@user", keep_case=False)

        # Imported here: torch takes seconds to import, and only this classifier needs it.
        try:
            import torch
            from transformers import AutoModelForSequenceClassification, AutoTokenizer
        except ModuleNotFoundError as exc:  # other import errors (a broken install) keep their words
            raise ImportError(
                f"needs {exc.name or 'torch and transformers'}, which is not installed: install torch from"
                " your platform's wheels, then pip install 'sentiment-monitor[transformers]'"
            ) from exc

        self._torch = torch
        self._tokenizer = AutoTokenizer.from_pretrained(directory, local_files_only=True)
        self._model = AutoModelForSequenceClassification.from_pretrained(directory, local_files_only=True)
        self._model.eval()
        self._classes = _class_labels(self._model.config.id2label, labels)
        # A fast tokenizer must not be used by two threads at once ("Already borrowed").
        self._lock = threading.Lock()

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self._args))

    def score(self, text: str) -> Score:
        return self.score_many([text])[0]

    def score_many(self, texts: Iterable[str]) -> list[Score]:
        prepared = [self._prepare(t) for t in texts]
        out: list[Score] = []
        for start in range(0, len(prepared), self.batch_size):
            out += self._score_batch(prepared[start : start + self.batch_size])
        return out

    def _score_batch(self, texts: list[str]) -> list[Score]:
        torch = self._torch
        with self._lock, torch.inference_mode():
            encoded = self._tokenizer(
                texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
            )
            encoded.pop("token_type_ids", None)  # RoBERTa-style models take none
            probabilities = torch.softmax(self._model(**encoded).logits, dim=-1).tolist()
        scores = []
        for row in probabilities:
            by_label = dict.fromkeys(LABELS, 0.0)
            for label, p in zip(self._classes, row):
                by_label[label] += p
            compound = round(by_label[POSITIVE] - by_label[NEGATIVE], 4)
            if self.thresholds is not None:
                label = self.thresholds.label(compound)
            else:
                label = self._classes[max(range(len(row)), key=row.__getitem__)]
            scores.append(Score(compound, label))
        return scores


def _rebuild(cls: type, kwargs: dict[str, Any]) -> Any:
    return cls(**kwargs)


def _class_labels(id2label: dict[int, str], labels: Sequence[str]) -> list[str]:
    """Our label for each class id of the model."""
    n = len(id2label)
    if labels:
        if len(labels) != n or any(label not in LABELS for label in labels):
            raise ValueError(f"labels must name negative/neutral/positive for each of the model's {n} classes")
        return list(labels)
    out = []
    for i in range(n):
        name = str(id2label[i]).strip().lower()
        label = _PREFIXES.get(name[:3])
        if label is None:
            names = ", ".join(str(id2label[k]) for k in range(n))
            raise ValueError(f"cannot tell which of the model's classes ({names}) is negative/neutral/positive:"
                             " set labels = [...] in [sentiment], one per class id")
        out.append(label)
    return out


def _identity(directory: Path) -> str:
    """Short digest of the model's config and weight file sizes: changes with the model."""
    digest = hashlib.sha256((directory / "config.json").read_bytes())
    for path in sorted(directory.glob("*.safetensors")) + sorted(directory.glob("*.bin")):
        digest.update(f"{path.name}:{path.stat().st_size}".encode())
    return digest.hexdigest()[:8]
