"""Measure a classifier on labelled data: loaders and metrics.

Labelled data comes as a CSV/TSV file (a text column and a label column) or
as "line files": a text file and a labels file with one entry per line (the
TweetEval layout). :func:`parse_label_map` turns a user's label values into
negative/neutral/positive; :func:`metrics` computes accuracy, macro-F1,
macro-recall, per-class precision/recall/F1 and the confusion matrix.
"""

from __future__ import annotations

import csv
import io
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sentiment.base import LABELS, NEGATIVE, NEUTRAL, POSITIVE, Classifier

#: The order of classes in ``--labels 0,1,2``.
CLASS_ORDER = (NEGATIVE, NEUTRAL, POSITIVE)


class DataError(ValueError):
    """The labelled file cannot be read as asked. The message names file and line."""


@dataclass(frozen=True)
class Example:
    text: str
    label: str  # negative, neutral or positive
    key: str  # what the A/B split hashes: the split column's value, else "line<N>"


def half(key: str) -> str:
    """A fixed 50/50 split: "A" or "B" from the CRC32 of ``key``."""
    return "A" if zlib.crc32(key.encode("utf-8")) % 2 == 0 else "B"


def parse_label_map(spec: str) -> dict[str, str]:
    """``"0,1,2"`` (the file's values for negative, neutral, positive, in that order)
    or ``"neg=negative,pos=positive,..."``; file values match case-insensitively."""
    items = [item.strip() for item in spec.split(",")]
    pairs: list[tuple[str, str]] = []
    if any("=" in item for item in items):
        for item in items:
            value, sep, label = item.partition("=")
            label = label.strip().lower()
            if not sep or label not in LABELS or not value.strip():
                raise DataError(f'bad label mapping "{item}": write VALUE=negative|neutral|positive')
            pairs.append((value.strip().lower(), label))
    elif len(items) != 3 or not all(items):
        raise DataError(
            f'bad label mapping "{spec}": give the three values for negative, neutral, positive'
            ' in that order (e.g. 0,1,2), or VALUE=LABEL pairs'
        )
    else:
        pairs = [(value.lower(), label) for value, label in zip(items, CLASS_ORDER)]
    mapping: dict[str, str] = {}
    for value, label in pairs:  # one value for two labels would score every such row against one of them
        if mapping.setdefault(value, label) != label:
            raise DataError(f'bad label mapping "{spec}": the value "{value}" is given for both'
                            f" {mapping[value]} and {label}")
    return mapping


def read_labelled(
    path: str | Path,
    *,
    label_map: dict[str, str],
    text_col: str | None = None,
    label_col: str | None = None,
    labels_file: str | Path | None = None,
    split_col: str | None = None,
    delimiter: str | None = None,
    header: bool = True,
    skip_unmapped: bool = False,
    read_text: Callable[[Path], str] | None = None,
) -> list[Example]:
    """Examples from a CSV/TSV file (``text_col``/``label_col``: header names or
    1-based indexes) or from line files (``path`` holds texts, ``labels_file`` labels).
    ``read_text`` gives a file's text (default: read as UTF-8, with or without a BOM);
    each file is read once, so it may be a pipe."""
    path = Path(path)
    read = read_text or (lambda p: p.read_bytes().decode("utf-8-sig"))
    if labels_file is not None:
        labels_path = Path(labels_file)
        texts = _lines(_text(path, read))
        raw_labels = [(i, label.strip()) for i, label in enumerate(_lines(_text(labels_path, read)), 1)]
        if len(texts) != len(raw_labels):
            raise DataError(f"{path} has {len(texts)} lines but {labels_file} has {len(raw_labels)}")
        rows = [(line, text, label, f"line{line - 1}") for (line, label), text in zip(raw_labels, texts)]
    else:
        missing = [option for option, given in (("--text-col", text_col), ("--label-col", label_col)) if given is None]
        if missing:
            raise DataError(f"{path}: give {' and '.join(missing)} (a header name, or a number from 1),"
                            " or --labels-file if it holds one text per line")
        rows = _table_rows(path, _text(path, read), text_col, label_col, split_col, delimiter, header)
    examples, unmapped = [], Counter[str]()
    for _line, text, value, key in rows:
        label = label_map.get(value.lower())
        if label is None:
            unmapped[value] += 1
        else:
            examples.append(Example(text, label, key))
    if unmapped and not skip_unmapped:
        listed = ", ".join(f'"{v}" ({n} rows)' for v, n in unmapped.most_common(5))
        raise DataError(
            f"{path}: label values not mapped: {listed}; map them with --labels or drop them"
            " with --skip-unmapped"
        )
    if not examples:
        raise DataError(f"{path}: no labelled examples")
    return examples


def _text(path: Path, read: Callable[[Path], str]) -> str:
    try:
        return read(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read: {exc}") from None


def _lines(text: str) -> list[str]:
    lines = text.split("\n")  # "\n" only: a stray "\r" is part of a text
    if lines and lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def _table_rows(
    path: Path, text: str, text_col: str, label_col: str, split_col: str | None, delimiter: str | None,
    header: bool,
) -> list[tuple[int, str, str, str]]:
    if delimiter is None:
        delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    if len(delimiter) != 1:  # the csv module would raise a TypeError
        raise DataError(f"{path}: the delimiter must be one character, found {delimiter!r}")
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        names = next(reader, []) if header else []
        if header and not any(name.strip() for name in names):
            raise DataError(f"{path}: the file is empty (no header line)")
        columns = [_column(path, c, names, header, delimiter) for c in (text_col, label_col)]
        split = _column(path, split_col, names, header, delimiter) if split_col else None
        rows = []
        for number, row in enumerate(reader):
            line = reader.line_num
            if not row:
                continue
            needed = max(columns + ([split] if split is not None else []))
            if len(row) <= needed:
                raise DataError(f"{path}:{line}: {len(row)} columns, expected at least {needed + 1}")
            key = row[split] if split is not None else f"line{number}"
            rows.append((line, row[columns[0]], row[columns[1]].strip(), key))
        return rows
    except csv.Error as exc:
        raise DataError(f"{path}: cannot read: {exc}") from None


def _column(path: Path, spec: str, names: Sequence[str], header: bool, delimiter: str) -> int:
    """The index of column ``spec``: a header name (spaces around it and case aside, as
    spreadsheets write them: "Text, Label"), else a number from 1."""
    for same in (lambda name: name == spec, lambda name: name.strip() == spec.strip(),
                 lambda name: name.strip().casefold() == spec.strip().casefold()):
        found = [i for i, name in enumerate(names) if same(name)]
        if found:
            return found[0]
    if spec.isdigit() and int(spec) >= 1:
        return int(spec) - 1
    if not header:
        raise DataError(f"{path}: without a header, columns are given by number (1 is the first)")
    hint = ""
    if len(names) == 1:  # the whole header in one column: the file has another delimiter
        other = next((d for d in (",", ";", "\t", "|") if d != delimiter and d in names[0]), None)
        if other is not None:
            hint = f"; the header is one column: give --delimiter {'tab' if other == chr(9) else repr(other)}"
    raise DataError(f'{path}: no column "{spec}" (columns: {", ".join(n.strip() for n in names)}){hint}')


@dataclass(frozen=True)
class ClassMetrics:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Metrics:
    n: int
    accuracy: float
    macro_f1: float
    macro_recall: float
    per_class: dict[str, ClassMetrics]
    confusion: dict[str, dict[str, int]]  # gold -> predicted -> count

    def as_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "accuracy": round(self.accuracy, 4),
            "macro_f1": round(self.macro_f1, 4),
            "macro_recall": round(self.macro_recall, 4),
            "per_class": {
                c: {"precision": round(m.precision, 4), "recall": round(m.recall, 4),
                    "f1": round(m.f1, 4), "support": m.support}
                for c, m in self.per_class.items()
            },
            "confusion": self.confusion,
        }


def metrics(gold: Sequence[str], predicted: Sequence[str]) -> Metrics:
    """Scores over the three classes (macro averages over those the gold labels or the
    predictions have); a predicted label outside them (e.g. "unsupported") counts as
    wrong and gets its own confusion column."""
    columns = list(CLASS_ORDER) + sorted(set(predicted) - set(CLASS_ORDER))
    confusion = {g: {p: 0 for p in columns} for g in CLASS_ORDER}
    for g, p in zip(gold, predicted, strict=True):
        confusion[g][p] += 1
    per_class = {}
    for c in CLASS_ORDER:
        tp = confusion[c][c]
        predicted_c = sum(confusion[g][c] for g in CLASS_ORDER)
        support = sum(confusion[c].values())
        precision = tp / predicted_c if predicted_c else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[c] = ClassMetrics(precision, recall, f1, support)
    n = len(gold)
    # Averaged over the classes the data or the predictions have (as scikit-learn does): one
    # in neither has no precision or recall to speak of, not a score of 0.
    seen = [m for c, m in per_class.items() if m.support or any(confusion[g][c] for g in CLASS_ORDER)]
    return Metrics(
        n=n,
        accuracy=sum(confusion[c][c] for c in CLASS_ORDER) / n if n else 0.0,
        macro_f1=sum(m.f1 for m in seen) / len(seen) if seen else 0.0,
        macro_recall=sum(m.recall for m in seen) / len(seen) if seen else 0.0,
        per_class=per_class,
        confusion=confusion,
    )


@dataclass
class Evaluation:
    """A classifier's metrics on a set of examples, and how fast it scored them."""

    metrics: Metrics
    seconds: float
    predicted: list[str] = field(repr=False, default_factory=list)


def evaluate(classifier: Classifier, examples: Iterable[Example]) -> Evaluation:
    examples = list(examples)
    started = time.perf_counter()
    scores = classifier.score_many([e.text for e in examples])
    seconds = time.perf_counter() - started
    predicted = [s.label for s in scores]
    return Evaluation(metrics([e.label for e in examples], predicted), seconds, predicted)
