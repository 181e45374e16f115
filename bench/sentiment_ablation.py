"""What each mechanism of the ``vader`` classifier contributes: macro-F1 and negative-class
F1 of the full classifier and of the classifier with one feature switched off, on both
fixed halves of a labelled file and on the whole of it.

    python bench/sentiment_ablation.py tweets.txt --labels-file labels.txt --labels 0,1,2
    python bench/sentiment_ablation.py airline.csv --text-col text --label-col airline_sentiment \\
        --split-col tweet_id --brand-terms "@united,united"

Halves are those of ``sentiment-monitor eval --half`` (CRC32 of the split column, else of
the row number). ``--features`` limits the rows to some features; stock VADER is the
last row.
"""

from __future__ import annotations

import argparse

from sentiment.evaluate import Example, half, metrics, parse_label_map, read_labelled
from sentiment.vader import FEATURES, StockVaderClassifier, VaderClassifier


def _scores(classifier: object, examples: list[Example]) -> list[str]:
    figures = []
    predicted = [s.label for s in classifier.score_many([e.text for e in examples])]  # type: ignore[attr-defined]
    for which in ("A", "B", None):
        rows = [i for i, e in enumerate(examples) if which is None or half(e.key) == which]
        m = metrics([examples[i].label for i in rows], [predicted[i] for i in rows])
        figures.append(f"{m.macro_f1:.3f}/{m.per_class['negative'].f1:.3f}")
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path")
    parser.add_argument("--labels-file")
    parser.add_argument("--text-col")
    parser.add_argument("--label-col")
    parser.add_argument("--split-col")
    parser.add_argument("--labels", default="negative,neutral,positive")
    parser.add_argument("--brand-terms", default="", help="comma-separated names/handles to mask")
    parser.add_argument("--features", default="", help="comma-separated features to ablate (default: all)")
    args = parser.parse_args(argv)

    examples = read_labelled(
        args.path, label_map=parse_label_map(args.labels), labels_file=args.labels_file,
        text_col=args.text_col, label_col=args.label_col, split_col=args.split_col,
    )
    brands = [t for t in args.brand_terms.split(",") if t.strip()]
    wanted = [f for f in args.features.split(",") if f] or sorted(FEATURES)
    rows = [("vader (all features)", _scores(VaderClassifier(brand_terms=brands), examples))]
    for feature in wanted:
        clf = VaderClassifier(brand_terms=brands, features=FEATURES - {feature})
        rows.append((f"  without {feature}", _scores(clf, examples)))
    rows.append(("vader-stock", _scores(StockVaderClassifier(), examples)))
    print(f"{args.path}: {len(examples)} examples; macro-F1/negative-F1")
    print(f"{'classifier':<28} {'half A':>12} {'half B':>12} {'all':>12}")
    for name, (a, b, total) in rows:
        print(f"{name:<28} {a:>12} {b:>12} {total:>12}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
