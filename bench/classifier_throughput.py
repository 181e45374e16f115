"""Texts per second: stock VADER's ``polarity_scores`` against our classifier, same run.

    python bench/classifier_throughput.py TEXTS.txt [--classifier vader] [--rounds 9]
    python bench/classifier_throughput.py tweets.csv --text-col text --brand-terms "@acme,acme"

TEXTS is one text per line, or a CSV/TSV file with ``--text-col``. Rounds of
stock VADER and of the classifier alternate (so drifts in machine load hit
both alike); the best and the median round are reported, and their ratio.
``--with-language`` adds the full scoring path of poll/import (language check,
then the classifier) as a third column.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path


def read_texts(path: Path, text_col: str | None) -> list[str]:
    if text_col is None:
        return [line.rstrip("\r") for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]
    delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        header = next(reader)
        column = header.index(text_col) if text_col in header else int(text_col) - 1
        return [row[column] for row in reader if row]


def rounds(functions: list[Callable[[list[str]], object]], texts: list[str], n: int) -> list[list[float]]:
    rates: list[list[float]] = [[] for _ in functions]
    for _ in range(n):
        for k, fn in enumerate(functions):
            started = time.perf_counter()
            fn(texts)
            rates[k].append(len(texts) / (time.perf_counter() - started))
    return rates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("texts", type=Path)
    parser.add_argument("--text-col", help="CSV/TSV: the text column (name, or number from 1)")
    parser.add_argument("--classifier", default="vader", help="registered classifier name (default: vader)")
    parser.add_argument("--brand-terms", default="", help="comma-separated names/handles to mask")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--with-language", action="store_true", help="also time language check + classifier")
    args = parser.parse_args(argv)

    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    from monitor import plugins
    from sentiment.language import LanguageGate

    texts = read_texts(args.texts, args.text_col)
    terms = [t.strip() for t in args.brand_terms.split(",") if t.strip()]
    classifier = plugins.classifier_class(args.classifier)(thresholds=None, brand_terms=terms)
    stock = SentimentIntensityAnalyzer().polarity_scores
    gate = LanguageGate(getattr(classifier, "languages", None))
    gate.decide("x" * 40 + " bonjour tout le monde et merci")  # load the detector outside the timing

    def with_language(batch: list[str]) -> object:
        ok = [t for t in batch if gate.decide(t)[1]]
        return classifier.score_many(ok)

    functions: list[Callable[[list[str]], object]] = [
        lambda batch: [stock(t) for t in batch], classifier.score_many,
    ]
    names = ["stock polarity_scores", f"{classifier.name} score_many"]
    if args.with_language:
        functions.append(with_language)
        names.append("language check + " + classifier.name)
    rates = rounds(functions, texts, args.rounds)
    print(f"{args.texts}: {len(texts)} texts, best (median) of {args.rounds} alternating rounds, texts/s")
    base_best, base_median = max(rates[0]), statistics.median(rates[0])
    for name, r in zip(names, rates):
        best, median = max(r), statistics.median(r)
        print(f"  {name:<36} {best:9.0f} ({median:7.0f})   ratio to stock {best / base_best:.2f}"
              f" ({median / base_median:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
