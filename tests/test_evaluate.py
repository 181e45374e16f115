"""`eval` and the metric functions behind it, on small files written by the tests."""

from __future__ import annotations

import csv
import json
import os

import pytest

from sentiment.evaluate import DataError, half, metrics, parse_label_map, read_labelled

DEFAULT_MAP = parse_label_map("negative,neutral,positive")


def test_metrics_by_hand():
    gold = ["negative", "negative", "negative", "neutral", "positive", "positive"]
    pred = ["negative", "negative", "neutral", "neutral", "negative", "positive"]
    m = metrics(gold, pred)
    assert m.accuracy == pytest.approx(4 / 6)
    neg = m.per_class["negative"]
    assert (neg.precision, neg.recall, neg.support) == (pytest.approx(2 / 3), pytest.approx(2 / 3), 3)
    assert m.per_class["neutral"].f1 == pytest.approx(2 * 0.5 * 1 / 1.5)
    assert m.per_class["positive"].precision == 1 and m.per_class["positive"].recall == 0.5
    assert m.macro_recall == pytest.approx((2 / 3 + 1 + 0.5) / 3)
    assert m.macro_f1 == pytest.approx((2 / 3 + 2 / 3 + 2 / 3) / 3)
    assert m.confusion["positive"] == {"negative": 1, "neutral": 0, "positive": 1}


def test_labels_outside_the_three_classes_count_as_wrong():
    m = metrics(["negative", "positive"], ["unsupported", "positive"])
    assert m.accuracy == 0.5 and m.confusion["negative"]["unsupported"] == 1
    assert m.per_class["negative"].recall == 0


def test_macro_averages_leave_out_a_class_neither_labelled_nor_predicted():
    perfect = metrics(["negative", "positive", "positive"], ["negative", "positive", "positive"])
    assert (perfect.accuracy, perfect.macro_f1, perfect.macro_recall) == (1, 1, 1)
    wrong = metrics(["negative", "positive"], ["neutral", "positive"])  # neutral predicted: it counts
    assert wrong.macro_f1 == pytest.approx((0 + 0 + 1) / 3)  # negative, neutral, positive
    assert metrics([], []).macro_f1 == 0


@pytest.mark.parametrize(("spec", "expected"), [
    ("0,1,2", {"0": "negative", "1": "neutral", "2": "positive"}),
    ("NEG, neu ,Pos", {"neg": "negative", "neu": "neutral", "pos": "positive"}),
    ("bad=negative,ok=neutral,good=positive,great=positive",
     {"bad": "negative", "ok": "neutral", "good": "positive", "great": "positive"}),
])
def test_label_maps(spec, expected):
    assert parse_label_map(spec) == expected


@pytest.mark.parametrize("spec", ["0,1", "a=bad", "=negative", "0,,2"])
def test_bad_label_maps(spec):
    with pytest.raises(DataError):
        parse_label_map(spec)


@pytest.mark.parametrize(("spec", "both"), [
    ("0,0,1", "negative and neutral"), ("Neg,neu,NEG", "negative and positive"),
    ("a=negative,b=neutral,A=positive", "negative and positive"),
])
def test_a_label_map_giving_one_value_two_labels_is_refused(cli, write_config, labelled, spec, both):
    result = cli("--config", write_config(), "eval", labelled, "--text-col", "text", "--label-col", "label",
                 "--labels", spec)
    assert result.exit_code == 1 and f"is given for both {both}" in result.output
    assert parse_label_map("a=negative,b=neutral,a=negative") == {"a": "negative", "b": "neutral"}  # said twice


def test_half_is_a_fixed_split():
    keys = [f"line{i}" for i in range(1000)]
    a = [k for k in keys if half(k) == "A"]
    assert 400 < len(a) < 600 and a == [k for k in keys if half(k) == "A"]


def test_csv_by_name_with_quoted_newlines(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text('id,text,gold\n7,"late again,\nawful",Negative\n8,lovely,positive\n', encoding="utf-8")
    examples = read_labelled(path, label_map=DEFAULT_MAP, text_col="text", label_col="gold", split_col="id")
    assert [(e.text, e.label, e.key) for e in examples] == [
        ("late again,\nawful", "negative", "7"), ("lovely", "positive", "8")]


def test_tsv_by_number_without_header(tmp_path):
    path = tmp_path / "d.tsv"
    path.write_text("neg\tawful\npos\tgreat\n", encoding="utf-8")
    examples = read_labelled(path, label_map=parse_label_map("neg,neu,pos"), text_col="2", label_col="1", header=False)
    assert [(e.text, e.label) for e in examples] == [("awful", "negative"), ("great", "positive")]
    with pytest.raises(DataError, match="by number"):
        read_labelled(path, label_map=DEFAULT_MAP, text_col="text", label_col="1", header=False)


def test_line_files_keep_a_stray_carriage_return(tmp_path):
    (tmp_path / "t.txt").write_bytes(b"one\rtwo\nthree\n")
    (tmp_path / "l.txt").write_text("0\n2\n", encoding="utf-8")
    examples = read_labelled(tmp_path / "t.txt", labels_file=tmp_path / "l.txt", label_map=parse_label_map("0,1,2"))
    assert [(e.text, e.label, e.key) for e in examples] == [("one\rtwo", "negative", "line0"), ("three", "positive", "line1")]
    (tmp_path / "l.txt").write_text("0\n", encoding="utf-8")
    with pytest.raises(DataError, match="has 2 lines but"):
        read_labelled(tmp_path / "t.txt", labels_file=tmp_path / "l.txt", label_map=DEFAULT_MAP)


def test_unmapped_labels_are_an_error_or_skipped(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("text,label\na,negative\nb,mixed\nc,mixed\n", encoding="utf-8")
    with pytest.raises(DataError, match='"mixed" \\(2 rows\\)'):
        read_labelled(path, label_map=DEFAULT_MAP, text_col="text", label_col="label")
    assert len(read_labelled(path, label_map=DEFAULT_MAP, text_col="text", label_col="label", skip_unmapped=True)) == 1
    with pytest.raises(DataError, match='no column "txt"'):
        read_labelled(path, label_map=DEFAULT_MAP, text_col="txt", label_col="label")


@pytest.fixture
def labelled(tmp_path):
    """Complaints and praise to a brand, written for this test."""
    rows = [
        ("1", "@acme please help, my parcel is lost, thanks", "negative"),
        ("2", "@acme 3 hours on hold and still no reply", "negative"),
        ("3", "@acme thanks for nothing", "negative"),
        ("4", "@acme what time do you open on sunday?", "neutral"),
        ("5", "@acme fixed my broadband in ten minutes, brilliant", "positive"),
        ("6", "@acme love the new app", "positive"),
    ]
    path = tmp_path / "brand.csv"
    path.write_text("id,text,label\n" + "".join(f'{i},"{t}",{label}\n' for i, t, label in rows), encoding="utf-8")
    return path


def test_eval_cli_json(cli, write_config, labelled):
    path = write_config()
    out = json.loads(cli("--config", path, "eval", labelled, "--text-col", "text", "--label-col", "label",
                         "--classifier", "vader", "--classifier", "vader-stock", "--format", "json").stdout)
    assert out["examples"] == 6 and out["gold"] == {"negative": 3, "neutral": 1, "positive": 2}
    ours, stock = out["results"]
    assert (ours["classifier"], stock["classifier"]) == ("vader", "vader-stock")
    assert ours["thresholds"] == {"positive": 0.35, "negative": -0.1}
    assert stock["thresholds"] == {"positive": 0.05, "negative": -0.05}
    assert ours["accuracy"] == 1.0 and stock["accuracy"] < 1
    assert set(ours["per_class"]["negative"]) == {"precision", "recall", "f1", "support"}
    assert ours["confusion"]["negative"] == {"negative": 3, "neutral": 0, "positive": 0}


def test_eval_cli_table_csv_half_and_errors(cli, write_config, labelled):
    path = write_config()
    args = ["--config", path, "eval", labelled, "--text-col", "text", "--label-col", "label"]
    table = cli(*args).stdout
    assert "macro-F1 1.000" in table and "gold \\ predicted" in table
    lines = cli(*args, "--format", "csv", "--positive-threshold", "0.9").stdout.splitlines()
    assert lines[0].startswith("classifier,version,positive_threshold,negative_threshold,n,accuracy,macro_f1")
    (row,) = csv.DictReader(lines)
    assert (row["positive_threshold"], row["negative_threshold"]) == ("0.9", "-0.1")  # as run, to compare runs
    assert float(row["texts_per_second"]) > 0
    a = json.loads(cli(*args, "--half", "A", "--split-col", "id", "--format", "json").stdout)["examples"]
    b = json.loads(cli(*args, "--half", "B", "--split-col", "id", "--format", "json").stdout)["examples"]
    assert a + b == 6
    result = cli(*args[:-2], "--labels", "0,1")
    assert result.exit_code == 1 and "bad label mapping" in result.output
    result = cli(*args, "--classifier", "vadr")
    assert result.exit_code == 1 and 'did you mean "vader"' in result.output


def test_a_missing_file_is_named_as_import_names_it(cli, write_config, labelled):
    # eval said "Invalid value for 'FILE': File 'tweets.csv' does not exist." with exit status 2;
    # import and kpi import say "tweets.csv: file not found", exit status 1
    path = write_config()
    result = cli("--config", path, "eval", "tweets.csv", "--text-col", "text", "--label-col", "label")
    assert (result.exit_code, result.output) == (1, "Error: tweets.csv: file not found\n")
    result = cli("--config", path, "eval", labelled, "--labels-file", "labels.txt")
    assert (result.exit_code, result.output) == (1, "Error: labels.txt: file not found\n")


def test_a_missing_column_option_is_named(cli, write_config, labelled):
    # it said "give the text and label columns (or a labels file for line files)": which options?
    path = write_config()
    result = cli("--config", path, "eval", labelled)
    assert result.exit_code == 1 and (f"{labelled}: give --text-col and --label-col (a header name, or a number"
                                      " from 1), or --labels-file if it holds one text per line") in result.output
    result = cli("--config", path, "eval", labelled, "--text-col", "text")
    assert result.exit_code == 1 and f"{labelled}: give --label-col (a header name" in result.output


def test_eval_reads_excels_encodings_as_import_does(cli, write_config, tmp_path):
    path = write_config()
    rows = [("Café closed again, awful service", "negative"), ("Lovely café, brilliant staff", "positive")]
    text = "text,label\n" + "".join(f'"{t}",{label}\n' for t, label in rows)
    for encoding in ("cp1252", "utf-16"):  # Excel's "CSV" on Windows, and its "Unicode Text"
        data = tmp_path / f"{encoding}.csv"
        data.write_text(text, encoding=encoding)
        out = json.loads(cli("--config", path, "eval", data, "--text-col", "text", "--label-col", "label",
                             "--format", "json").stdout)
        assert out["gold"] == {"negative": 1, "neutral": 0, "positive": 1} and out["results"][0]["accuracy"] == 1.0
    texts, labels = tmp_path / "texts.txt", tmp_path / "labels.txt"
    texts.write_text("Café closed again, awful service\n", encoding="cp1252")
    labels.write_text("negative\n", encoding="utf-16")
    out = json.loads(cli("--config", path, "eval", texts, "--labels-file", labels, "--format", "json").stdout)
    assert out["examples"] == 1 and out["results"][0]["accuracy"] == 1.0
    japanese = tmp_path / "ja.csv"
    japanese.write_text("text,label\n" + "荷物が届かない、最悪のサービスです。もう二度と使いません,negative\n" * 20,
                        encoding="shift_jis")
    result = cli("--config", path, "eval", japanese, "--text-col", "text", "--label-col", "label")
    assert result.exit_code == 1 and "perhaps" in result.output and "re-save it as UTF-8" in result.output


def test_eval_reads_a_pipe_once_as_a_shell_gives_it(cli, write_config):
    """`eval <(...) --labels-file <(cut -f2 data.tsv)`: each file is read once (its encoding
    found from the bytes read), as a pipe gives them only once."""
    path = write_config()
    pipes = []
    for content in ("Lovely café, brilliant staff\nClosed again, awful service\n", "positive\nnegative\n"):
        read, write = os.pipe()
        os.write(write, content.encode("cp1252"))
        os.close(write)
        pipes.append(read)
    try:
        result = cli("--config", path, "eval", f"/dev/fd/{pipes[0]}", "--labels-file", f"/dev/fd/{pipes[1]}",
                     "--format", "json")
    finally:
        for fd in pipes:
            os.close(fd)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["gold"] == {"negative": 1, "neutral": 0, "positive": 1} and out["results"][0]["accuracy"] == 1.0


def test_eval_refuses_an_empty_file_or_half_instead_of_measuring_nothing(cli, write_config, tmp_path):
    path = write_config()
    args = ["--text-col", "text", "--label-col", "label"]
    for name, content in [("empty.csv", ""), ("blank.csv", "\n\n")]:
        (tmp_path / name).write_text(content)
        result = cli("--config", path, "eval", tmp_path / name, *args)
        assert result.exit_code == 1 and f"{name}: the file is empty (no header line)" in result.output
    one = tmp_path / "one.csv"
    one.write_text("text,label\nawful service,negative\n")
    halves = {h: cli("--config", path, "eval", one, *args, "--half", h, "--format", "json") for h in "AB"}
    (kept,) = [h for h, r in halves.items() if r.exit_code == 0]
    assert json.loads(halves[kept].stdout)["examples"] == 1
    (empty,) = set("AB") - {kept}
    assert halves[empty].exit_code == 1 and halves[empty].stdout == ""
    assert f"one.csv: --half {empty} keeps none of its 1 examples" in halves[empty].output


def test_eval_columns_by_name_as_a_spreadsheet_writes_them_and_a_hint_for_another_delimiter(cli, write_config, tmp_path):
    path = write_config()
    spaced = tmp_path / "spaced.csv"
    spaced.write_text('Text, Label\n"awful service",negative\n"brilliant, thanks",positive\n')
    out = json.loads(cli("--config", path, "eval", spaced, "--text-col", "text", "--label-col", "label",
                         "--format", "json").stdout)
    assert out["gold"] == {"negative": 1, "neutral": 0, "positive": 1}
    for name, header, hint in [("semi.csv", "text;label", "--delimiter ';'"), ("tab.csv", "text\tlabel", "--delimiter tab")]:
        (tmp_path / name).write_text(f"{header}\nawful service{header[4]}negative\n")
        result = cli("--config", path, "eval", tmp_path / name, "--text-col", "text", "--label-col", "label")
        assert result.exit_code == 1 and result.output.rstrip().endswith(f"the header is one column: give {hint}")
        assert cli("--config", path, "eval", tmp_path / name, "--text-col", "text", "--label-col", "label",
                   "--delimiter", hint.split()[1].strip("'")).exit_code == 0


def test_eval_threshold_override_keeps_the_other_as_configured(cli, write_config, labelled):
    args = ["eval", labelled, "--text-col", "text", "--label-col", "label", "--format", "json"]

    def used(path, *extra):
        out = json.loads(cli("--config", path, *args, *extra).stdout)
        return [r["thresholds"] for r in out["results"]]

    configured = write_config("[sentiment]\nnegative_threshold = -0.5\n")
    assert used(configured, "--positive-threshold", "0.9") == [{"positive": 0.9, "negative": -0.5}]
    assert used(configured, "--negative-threshold", "-0.2") == [{"positive": 0.35, "negative": -0.2}]
    # nothing configured: the other is the classifier's default; the configured thresholds
    # belong to the configured classifier, so another one named keeps its own default
    assert used(write_config(), "--positive-threshold", "0.9") == [{"positive": 0.9, "negative": -0.1}]
    assert used(configured, "--classifier", "vader-stock", "--positive-threshold", "0.9") == [
        {"positive": 0.9, "negative": -0.05}]
    result = cli("--config", configured, *args, "--positive-threshold", "-0.7")
    assert result.exit_code == 2 and "negative_threshold <= positive_threshold" in result.output


def test_eval_delimiter_tab_spelled_as_a_shell_passes_it_and_bad_delimiters_are_usage_errors(cli, write_config, tmp_path):
    path = write_config()
    data = tmp_path / "ev.csv"  # tab-separated under a .csv name: only --delimiter says so
    data.write_text("text\tlabel\n@acme love the new app\tpositive\n@acme thanks for nothing\tnegative\n", encoding="utf-8")
    args = ["--config", path, "eval", data, "--text-col", "text", "--label-col", "label", "--format", "json"]
    for tab in ("\\t", "tab", "TAB", "\t"):
        result = cli(*args, "--delimiter", tab)
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["examples"] == 2
    for bad in ("", ";;", "\\t\\t", '"'):
        result = cli(*args, "--delimiter", bad)
        assert result.exit_code == 2 and "Traceback" not in result.output
        assert "Invalid value for '--delimiter'" in result.output and "one character" in result.output


def test_read_labelled_refuses_a_delimiter_of_more_than_one_character(tmp_path):
    data = tmp_path / "ev.csv"
    data.write_text("text;label\nfine;positive\n", encoding="utf-8")
    with pytest.raises(DataError, match="the delimiter must be one character, found ';;'"):
        read_labelled(data, label_map=DEFAULT_MAP, text_col="text", label_col="label", delimiter=";;")
