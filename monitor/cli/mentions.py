"""Commands that read mentions: negatives, mentions, summary, classify."""

from __future__ import annotations

import io
import sys
from datetime import date, timedelta
from typing import Any

import click

from monitor.cli import (
    App,
    brand_platform_options,
    format_option,
    limit_option,
    pass_app,
    resolve_window,
    since_option,
    window_options,
)
from monitor.errors import did_you_mean
from monitor.output import emit, percent, signed, to_json, window_text
from monitor.storage.mentions import IMPORT_SOURCE, PUBLIC_COLUMNS
from sentiment.labels import LABELS

_TABLE_COLUMNS = ["created_at", "platform", "brand", "label", "compound", "author", "text"]
_TABLE_WIDTHS = {"text": 72, "author": 18}


def _show_mentions(app: App, fmt: str, rows: list[dict[str, Any]], empty: str) -> None:
    if fmt == "table":
        tz = app.settings.monitor.tz
        from monitor.timeutil import from_db

        rows = [{**r, "created_at": from_db(r["created_at"]).astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                 # a person's label is marked: "negative*"
                 "label": f"{r['label']}*" if r.get("label_override") else r["label"]} for r in rows]
    emit(fmt, rows, _TABLE_COLUMNS if fmt == "table" else PUBLIC_COLUMNS,
         headers=["when", "platform", "brand", "label", "score", "author", "text"] if fmt == "table" else None,
         widths=_TABLE_WIDTHS, empty=empty)


_ALIASES = {"twitter": "x", "fb": "facebook", "ig": "instagram", "hn": "hackernews", "masto": "mastodon"}


def _note_unknown(app: App, platform: str | None, source: str | None = None) -> None:
    """On stderr, after an empty result: a --platform or --source filter no stored mention has
    (a typo, most likely; a name any mention could carry is no error)."""
    if platform is None and source is None:
        return
    store = app.store(create=False)
    if platform is not None:
        stored = store.mentions.platforms()
        if platform not in stored:
            alias = _ALIASES.get(platform)
            hint = f' (did you mean "{alias}"?)' if alias in stored else did_you_mean(platform, stored)
            click.echo(f'note: no stored mention is from platform "{platform}"{hint}'
                       f' (platforms stored: {", ".join(stored) or "none"})', err=True)
    if source is not None:
        known = sorted({s.name for s in app.settings.sources} | {r["name"] for r in store.sources.all()} | {IMPORT_SOURCE})
        if source not in known:
            click.echo(f'note: no source is named "{source}"{did_you_mean(source, known)}'
                       f' (sources: {", ".join(known)})', err=True)


def _query(app: App, **kwargs: Any) -> list[dict[str, Any]]:
    from monitor.storage.mentions import MentionFilter

    return app.store(create=False).mentions.query(MentionFilter(**kwargs))


@click.command()
@since_option("24h")
@brand_platform_options
@limit_option(50)
@format_option
@pass_app
def negatives(app: App, since: timedelta, brand: str | None, platform: str | None, limit: int, fmt: str) -> None:
    """Recent negative mentions, newest first.

    \b
    Examples:
      sentiment-monitor negatives
      sentiment-monitor negatives --since 7d --brand Acme --platform x --limit 10
      sentiment-monitor negatives --format json | jq '.[].url'
    """
    from monitor.timeutil import format_duration, utcnow

    rows = _query(app, since=utcnow() - since, label="negative", brand=brand, platform=platform, limit=limit)
    _show_mentions(app, fmt, rows, f"(no negative mentions in the last {format_duration(since)})")
    if not rows:
        _note_unknown(app, platform)


@click.command()
@click.option("--label", type=click.Choice([*LABELS, "unsupported"], case_sensitive=False), help="Only this label.")
@click.option("--search", metavar="TEXT", help="Only mentions whose text contains TEXT (case-insensitive).")
@window_options("7d")
@brand_platform_options
@click.option("--source", help="Only mentions stored by this source.")
@limit_option(50)
@format_option
@pass_app
def mentions(
    app: App, label: str | None, search: str | None, since: timedelta | None, from_date: date | None,
    to_date: date | None, brand: str | None, platform: str | None, source: str | None, limit: int, fmt: str,
) -> None:
    """Stored mentions, newest first, filtered (the query behind `negatives`).

    \b
    Examples:
      sentiment-monitor mentions --search refund --since 30d
      sentiment-monitor mentions --label positive --brand Globex --format csv > praise.csv
      sentiment-monitor mentions --from 2026-01-01 --to 2026-01-07 --format json
    """
    start, end = resolve_window(app.settings, since, from_date, to_date, "7d")
    rows = _query(app, since=start, until=end, label=label, search=search, brand=brand,
                  platform=platform, source=source, limit=limit)
    _show_mentions(app, fmt, rows, "(no mentions match)")
    if not rows:
        _note_unknown(app, platform, source)


@click.command()
@window_options("7d")
@click.option("--by", type=click.Choice(["day", "week", "platform", "brand", "theme"]), help="Break the period down.")
@brand_platform_options
@format_option
@pass_app
def summary(
    app: App, since: timedelta | None, from_date: date | None, to_date: date | None, by: str | None,
    brand: str | None, platform: str | None, fmt: str,
) -> None:
    """Volume, positive/neutral/negative counts, ratios and net sentiment,
    beside the service KPIs of the same periods.

    Net sentiment is (positive - negative) / scored mentions, from -1 to 1.
    Mentions in a language the classifier does not support are counted as
    "unsupported" and left out of the ratios. Days and weeks follow
    [monitor] timezone. KPIs (CSAT, NPS, first response, FCR, ...; see
    `kpi show`) are shown once any are imported with `kpi import`, marked ✓
    or ✗ against their [kpi.targets]; JSON always carries them as "kpis" and
    "meets_target" in the total and in each day or week row.

    --by theme: mentions per complaint theme (see `themes`), then per theme
    and platform. A mention in several themes counts in each, so the rows
    add up to more than the total.

    \b
    Examples:
      sentiment-monitor summary
      sentiment-monitor summary --since 30d --by day
      sentiment-monitor summary --by theme --brand Acme
      sentiment-monitor summary --from 2026-01-01 --to 2026-01-31 --by brand --format json
    """
    from monitor.summary import summarize
    from monitor.themes import ThemeMatcher

    config = app.settings
    start, end = resolve_window(config, since, from_date, to_date, "7d")
    result = summarize(app.store(create=False), start=start, end=end, tz=config.monitor.tz,
                       tz_name=config.monitor.timezone, by=by, brand=brand, platform=platform,
                       kpi_settings=config.kpi, themes=ThemeMatcher.from_config(config) if by == "theme" else None,
                       brands=[b.name for b in config.brands if brand is None or b.name == brand])
    data = result.as_dict()
    if platform is not None and not data["total"]["volume"]:
        _note_unknown(app, platform)
    if fmt == "json":
        to_json(data)
        return
    key = result.key
    rows = [*data["rows"], {key: "total", **data["total"]}] if by else [{key: "total", **data["total"]}]
    columns = [key, "volume", "positive", "neutral", "negative", "unsupported", "negative_ratio", "positive_ratio",
               "net_sentiment"]
    rows = [{**r, **(r.get("kpis") or {})} for r in rows]  # KPIs as columns beside the counts
    from monitor.kpi.display import SHORT, SUMMARY

    kpi_columns = [k for k in SUMMARY if fmt == "csv" or any(r.get(k) is not None for r in rows)]
    if fmt == "table":
        from monitor.cli.kpi import TARGET_NOTE, cell, estimate_note
        from monitor.kpi.targets import targets

        goals = {t.kpi: t.value for t in targets(config.kpi)}
        rows = [{k: (percent(v) if k.endswith("ratio") else signed(v) if k == "net_sentiment"
                     else cell(k, r, None, r.get("meets_target"), goals) if k in kpi_columns else v)
                 for k, v in r.items()} for r in rows]
        click.echo(f"{window_text(data['from'], data['to'], config.monitor.tz)} ({data['timezone']})"
                   + (f", brand {brand}" if brand else "") + (f", platform {platform}" if platform else "")
                   + ("; KPIs are the whole team's" if kpi_columns and (brand or platform) else ""))
        headers = [*columns, *(SHORT[k] for k in kpi_columns)]
        emit(fmt, rows, [*columns, *kpi_columns], headers=headers)
        if "fcr_pct" in kpi_columns and any(str(r.get("fcr_pct", "")).startswith("~") for r in rows):
            click.echo(estimate_note(data["total"].get("kpis") or {}))
        if any(str(r.get(k, "")).endswith(("✓", "✗")) for r in rows for k in kpi_columns):
            click.echo(TARGET_NOTE)
        if by == "theme":
            _theme_platforms(data)
        return
    emit(fmt, rows, [*columns, *kpi_columns])


def _theme_platforms(data: dict[str, Any]) -> None:
    """The second table of `summary --by theme`: each theme per platform."""
    rows = [{"theme": r["theme"], "platform": p["platform"], "volume": p["volume"], "negative": p["negative"],
             "negative_ratio": percent(p["negative_ratio"])}
            for r in data["rows"] for p in r.get("platforms", [])]
    click.echo("A mention in several themes counts in each.\n\nBy theme and platform:")
    emit("table", rows, ["theme", "platform", "volume", "negative", "negative_ratio"])


@click.command()
@click.argument("texts", nargs=-1)
@click.option("--explain", is_flag=True, help="Show why: masked names, phrases and words with their reasons, rules.")
@format_option
@pass_app
def classify(app: App, texts: tuple[str, ...], explain: bool, fmt: str) -> None:
    """Score texts with the configured classifier (arguments, or one per line on stdin),
    exactly as poll and import would: same masking, same language check.

    The configured brands' names and handles are masked before scoring. A
    text in a language the classifier does not support is "unsupported".

    \b
    Examples:
      sentiment-monitor classify "@acme my order is lost, thanks for nothing"
      sentiment-monitor classify --explain --format json "3 hours on hold, great job"
      cat texts.txt | sentiment-monitor classify --format json
    """
    from monitor.ingest import Pipeline

    if not texts:
        if sys.stdin.isatty():
            raise click.UsageError("give texts as arguments or pipe them one per line on stdin")
        texts = _stdin_lines()
    texts = tuple(_as_utf8(text) for text in texts)
    pipeline = Pipeline(app.config)
    explainer = getattr(pipeline.classifier, "explain", None) if explain else None
    if explain and explainer is None:
        raise click.UsageError(f"classifier {pipeline.classifier.name} cannot explain its scores")
    rows = []
    for text, result in zip(texts, pipeline.classify(texts, [None] * len(texts))):
        row = {"text": text, "label": result.label, "compound": result.compound, "lang": result.lang}
        if explainer is not None:  # null for a text in a language the classifier does not score
            row["explain"] = explainer(text) if result.compound is not None else None
        rows.append(row)
    if explain and fmt == "table":
        for row in rows:
            click.echo(_explanation(row))
        return
    if fmt == "csv":  # the keys of a JSON object, with or without --explain
        if explain:  # the explanation as one JSON cell
            import json

            rows = [{**row, "explain": None if row["explain"] is None else json.dumps(row["explain"], ensure_ascii=False)}
                    for row in rows]
        emit(fmt, rows, ["label", "compound", "lang", "text", *(["explain"] if explain else [])])
        return
    emit(fmt, rows, ["label", "compound", "text"], widths={"text": 90})


def _stdin_lines() -> tuple[str, ...]:
    """The non-blank lines of stdin read as UTF-8 (a byte-order mark, as Windows pipes
    write, dropped), or as UTF-16 when it starts with a UTF-16 byte-order mark (a file
    Windows saved as "Unicode"); bytes that do not decode are replaced by U+FFFD: every
    output format stays valid UTF-8."""
    import codecs

    data = sys.stdin.buffer.read()
    utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    text = data.decode("utf-16" if utf16 else "utf-8-sig", errors="replace")
    return tuple(line.rstrip("\r\n") for line in io.StringIO(text, newline=None) if line.strip())


def _as_utf8(text: str) -> str:
    """An argument as valid UTF-8: bytes a shell passed that are not UTF-8
    (surrogate escapes in ``sys.argv``) become U+FFFD."""
    try:
        data = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate that escapes no byte
        data = text.encode("utf-8", "surrogatepass")
    return data.decode("utf-8", "replace")


def _explanation(row: dict[str, Any]) -> str:
    e = row.get("explain")
    if e is None:
        return f"{row['label']}: {row['text']}\n  language {row['lang']}: not scored\n"
    lines = [f"{row['label']} {row['compound']}: {row['text']}"]
    lines.append(f"  scored text: {e['scored_text']}")
    lines += [f"  masked {m['kind']}: {m['text']}" for m in e["masked"]]
    lines += [f"  phrase \"{p['text']}\" {p['valence']:+}: {p['why']}" for p in e["phrases"]]
    lines += [f"  word {h['token']} {h['valence']:+}: {h['why']}" for h in e["lexicon_hits"]]
    lines += [f"  neutralised {n['word']} (VADER {n['stock_valence']:+}): {n['why']}" for n in e["neutralised_words"]]
    lines += [f"  rule {r['rule']}: {r['detail']}" for r in e["rules"]]
    lines.append(f"  token valences: {', '.join(f'{t} {v:+}' for t, v in e['token_valences']) or 'none'}")
    return "\n".join(lines + [""])


COMMANDS = [negatives, mentions, summary, classify]
