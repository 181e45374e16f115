"""The eval command: measure classifiers on a labelled file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from monitor.cli import App, format_option, pass_app
from monitor.errors import MonitorError
from monitor.output import emit, to_json


class DelimiterType(click.ParamType):
    """A CSV delimiter: one character, or a tab written ``\\t`` (as a shell passes it) or
    ``tab``. Use it for any ``--delimiter`` option (``import`` and ``kpi import`` have none:
    they take the delimiter from the header line)."""

    name = "char"
    _TAB = ("\\t", "tab")

    def convert(self, value: Any, param: Any, ctx: Any) -> str:
        text = str(value)
        char = "\t" if text.lower() in self._TAB else text
        if len(char) != 1 or char in '"\r\n':
            self.fail(f"{text!r} is not a delimiter: give one character other than a quote or a line break"
                      " (\\t or tab for a tab)", param, ctx)
        return char


DELIMITER = DelimiterType()


def _text(path: Path) -> str:
    """A labelled file's text, its encoding found as `import` finds an export's: UTF-8 (with
    or without a BOM), UTF-16 or Windows-1252 (Excel's saves), else an error naming the likely
    one. Read once: a pipe (`<(cut -f2 data.tsv)`) gives its bytes only once."""
    import io

    from connectors.csvfile import detect_encoding

    data = path.read_bytes()
    return data.decode(detect_encoding(path, lambda: io.BytesIO(data), option=None))


def _split_terms(values: tuple[str, ...]) -> list[str]:
    return [t.strip() for v in values for t in v.split(",") if t.strip()]


@click.command("eval")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--text-col", metavar="COL", help="CSV/TSV: the text column (header name, or number from 1).")
@click.option("--label-col", metavar="COL", help="CSV/TSV: the label column (header name, or number from 1).")
@click.option("--labels-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Line files: FILE holds one text per line, this file one label per line.")
@click.option("--labels", "label_spec", default="negative,neutral,positive", show_default=True,
              help="The file's values for negative,neutral,positive (e.g. 0,1,2), or VALUE=LABEL pairs.")
@click.option("--skip-unmapped", is_flag=True, help="Leave out rows whose label --labels does not map.")
@click.option("--classifier", "classifiers", multiple=True, metavar="NAME",
              help="Registered classifier to measure (repeatable). Default: the configured one.")
@click.option("--brand-terms", multiple=True, metavar="T1,T2",
              help="Names/handles to mask, besides the configured brands' (repeatable, comma-separated).")
@click.option("--positive-threshold", type=float, help="Override the positive threshold (the negative one stays as configured).")
@click.option("--negative-threshold", type=float, help="Override the negative threshold (the positive one stays as configured).")
@click.option("--half", type=click.Choice(["A", "B"]), help="Only one half of a fixed 50/50 split (CRC32).")
@click.option("--split-col", metavar="COL", help="CSV/TSV: the column --half hashes (default: the row number).")
@click.option("--delimiter", type=DELIMITER,
              help="CSV/TSV delimiter: one character, or \\t or tab (default: tab for .tsv/.tab files, else comma).")
@click.option("--no-header", is_flag=True, help="CSV/TSV: the first row is data (give columns by number).")
@format_option
@pass_app
def eval_(
    app: App, file: Path, text_col: str | None, label_col: str | None, labels_file: Path | None,
    label_spec: str, skip_unmapped: bool, classifiers: tuple[str, ...], brand_terms: tuple[str, ...],
    positive_threshold: float | None, negative_threshold: float | None, half: str | None,
    split_col: str | None, delimiter: str | None, no_header: bool, fmt: str,
) -> None:
    """Measure classifiers on a labelled file: accuracy, macro-F1, macro-recall,
    per-class precision/recall/F1 and the confusion matrix.

    FILE is a CSV/TSV file with a text and a label column, or a text file with
    one text per line beside a --labels-file. Labels are mapped to
    negative/neutral/positive with --labels. Files may be UTF-8, UTF-16 or
    Windows-1252 (found as import finds them). The configured brands' names
    and handles are masked, plus --brand-terms. The language filter of
    poll/import is not applied: this measures the classifier itself.

    \b
    Examples:
      sentiment-monitor eval tweets.csv --text-col text --label-col sentiment
      sentiment-monitor eval val_text.txt --labels-file val_labels.txt --labels 0,1,2
      sentiment-monitor eval data.tsv --text-col 2 --label-col 1 --no-header --labels neg,neu,pos
      sentiment-monitor eval tweets.csv --text-col text --label-col sentiment \\
          --classifier vader --classifier vader-stock --brand-terms "@acme,acme corp" --format json
    """
    from monitor.ingest import build_classifier
    from sentiment.evaluate import DataError, evaluate, half as half_of, parse_label_map, read_labelled

    from connectors.base import BadPayload

    for path in (file, labels_file):
        if path is not None and not path.exists():  # as import and kpi import say it: a user error
            raise MonitorError(f"{path}: file not found")
    try:
        examples = read_labelled(
            file, label_map=parse_label_map(label_spec), text_col=text_col, label_col=label_col,
            labels_file=labels_file, split_col=split_col, delimiter=delimiter, header=not no_header,
            skip_unmapped=skip_unmapped, read_text=_text,
        )
    except (DataError, BadPayload) as exc:
        raise MonitorError(str(exc)) from None
    if half:
        whole = len(examples)
        examples = [e for e in examples if half_of(e.key) == half]
        if not examples:  # measured on nothing, every figure would read 0
            raise MonitorError(f"{file}: --half {half} keeps none of its {whole} examples (too few to split);"
                               " leave out --half")
    config = app.config
    terms = _split_terms(brand_terms)
    results: list[dict[str, Any]] = []
    for name in classifiers or (config.sentiment.classifier,):
        try:
            classifier = build_classifier(
                config, name, brand_terms=terms,
                positive_threshold=positive_threshold, negative_threshold=negative_threshold,
            )
        except ValueError as exc:  # an override crossing the other threshold
            raise click.BadParameter(str(exc), param_hint="--positive-threshold/--negative-threshold") from None
        evaluation = evaluate(classifier, examples)
        used = getattr(classifier, "thresholds", None)
        results.append({
            "classifier": classifier.name,
            "version": classifier.version,
            "thresholds": {"positive": used.positive, "negative": used.negative} if used else None,
            **evaluation.metrics.as_dict(),
            "texts_per_second": round(len(examples) / evaluation.seconds) if evaluation.seconds else None,
        })
    gold = {label: sum(e.label == label for e in examples) for label in ("negative", "neutral", "positive")}
    report = {"file": str(file), "half": half, "examples": len(examples), "gold": gold,
              "brand_terms": len(config.brand_terms()) + len(terms), "results": results}
    if fmt == "json":
        to_json(report)
    elif fmt == "csv":
        emit(fmt, [_flat(r) for r in results], list(_flat(results[0])))
    else:
        _print_tables(report)


def _flat(result: dict[str, Any]) -> dict[str, Any]:
    t = result["thresholds"] or {}  # none for a classifier that gives labels of its own
    row = {k: result[k] for k in ("classifier", "version")}
    row |= {"positive_threshold": t.get("positive"), "negative_threshold": t.get("negative")}
    row |= {k: result[k] for k in ("n", "accuracy", "macro_f1", "macro_recall")}
    for label, m in result["per_class"].items():
        for key in ("precision", "recall", "f1"):
            row[f"{label}_{key}"] = m[key]
    row["texts_per_second"] = result["texts_per_second"]
    return row


def _print_tables(report: dict[str, Any]) -> None:
    from monitor.output import to_table

    gold = ", ".join(f"{k} {v}" for k, v in report["gold"].items())
    half = f", half {report['half']}" if report["half"] else ""
    click.echo(f"{report['file']}{half}: {report['examples']} examples ({gold})")
    for r in report["results"]:
        t = r["thresholds"]
        limits = f"positive >= {t['positive']:g}, negative <= {t['negative']:g}" if t else "its own labels"
        click.echo(f"\n{r['classifier']}/{r['version']} ({limits}; {r['texts_per_second']} texts/s)")
        click.echo(f"accuracy {r['accuracy']:.3f}   macro-F1 {r['macro_f1']:.3f}   macro-recall {r['macro_recall']:.3f}")
        per_class = [{"class": c, **{k: (f"{v:.3f}" if k != "support" else v) for k, v in m.items()}}
                     for c, m in r["per_class"].items()]
        to_table(per_class, ["class", "precision", "recall", "f1", "support"])
        predicted = list(next(iter(r["confusion"].values())))
        rows = [{"gold": g, **counts} for g, counts in r["confusion"].items()]
        to_table(rows, ["gold", *predicted], headers=["gold \\ predicted", *predicted])


COMMANDS = [eval_]
