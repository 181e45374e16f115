"""Commands that change labels: label (manual override), reclassify."""

from __future__ import annotations

import sys
from datetime import timedelta

import click

from monitor.cli import WORKERS, App, format_option, pass_app, since_option, stopped_by_signals
from monitor.errors import MonitorError
from monitor.output import emit, to_json
from sentiment.labels import LABELS


def _whoami() -> str | None:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in this environment
        return None


@click.command()
@click.argument("mention")
@click.argument("label", required=False, metavar="[LABEL]", type=click.Choice(LABELS, case_sensitive=False))
@click.option("--platform", help="The mention's platform (when MENTION is a bare id).")
@click.option("--clear", is_flag=True, help="Remove the override: the classifier's label applies again.")
@click.option("--note", help="Why, for the audit trail.")
@click.option("--by", "by", default=None, help="Who decided (default: your user name).")
@click.option("--history", is_flag=True, help="Only show the mention's label history.")
@format_option
@pass_app
def label(
    app: App, mention: str, label: str | None, platform: str | None, clear: bool, note: str | None,
    by: str | None, history: bool, fmt: str,
) -> None:
    """Set a mention's label by hand (it wins over the classifier, in summaries,
    negatives and after reclassify), clear it, or show its label history.

    MENTION is PLATFORM:ID (e.g. x:1234) or an id with --platform; a bare id is
    enough when only one platform has it. LABEL is positive, neutral or negative.

    \b
    Examples:
      sentiment-monitor label x:1873029384 negative --note "sarcasm"
      sentiment-monitor label 1873029384 --platform x --clear
      sentiment-monitor label x:1873029384 --history --format json
    """
    from monitor.timeutil import utcnow

    given = [name for name, on in (("a LABEL", label is not None), ("--clear", clear), ("--history", history)) if on]
    if not given:
        raise click.UsageError("give a LABEL, or --clear, or --history")
    if len(given) == 2:
        raise click.UsageError(f"give either {given[0]} or {given[1]}, not both")
    if len(given) == 3:
        raise click.UsageError("give only one of a LABEL, --clear, --history")
    store = app.store(create=False)
    found = store.labels.find(mention, platform)
    if not found:
        raise MonitorError(f"no stored mention {mention}" + (f" on {platform}" if platform else ""))
    if len(found) > 1:
        raise MonitorError(
            f"{mention} is ambiguous: " + ", ".join(f"{p}:{i}" for p, i in found)
            + "; write PLATFORM:ID or use --platform"
        )
    (mention_platform, mention_id), = found
    if history:  # CSV, as JSON, with every column; the table with what changed to what
        from monitor.storage.labels import EVENT_COLUMNS

        rows = store.labels.history(mention_platform, mention_id)
        emit(fmt, rows, ["at", "kind", "label_before", "label_after", "model_label_after", "compound_after",
                         "classifier_after", "by", "note"] if fmt == "table" else EVENT_COLUMNS,
             empty="(no label changes recorded)")
        return
    if clear and store.mentions.by_keys([(mention_platform, mention_id)])[0]["label_override"] is None:
        click.echo(f"{mention_platform}:{mention_id} has no manual label: nothing to clear", err=True)
    state = store.labels.override(
        mention_platform, mention_id, None if clear else label, at=utcnow(), by=by or _whoami(), note=note
    )
    state = {"platform": mention_platform, "id": mention_id, **state}
    if fmt == "json":
        to_json(state)
        return
    emit(fmt, [state], ["platform", "id", "label", "model_label", "compound", "label_override", "override_by",
                        "override_note"] if fmt == "table" else list(state))


@click.command()
@since_option(None, "Only mentions created this recently", "all")
@click.option("--classifier", "classifier_name", metavar="NAME",
              help="Re-score with this registered classifier instead of the configured one.")
@click.option("--workers", type=WORKERS,
              help="Processes that score (from 10,000 mentions). Default: one per CPU; 1: none.")
@click.option("--dry-run", is_flag=True,
              help="Score and count what would change (labels_changed, ...), but write nothing.")
@format_option
@pass_app
def reclassify(
    app: App, since: timedelta | None, classifier_name: str | None, workers: int | None, dry_run: bool, fmt: str
) -> None:
    """Re-score stored mentions after a classifier, lexicon or threshold change.

    Scores, model labels, classifier versions and languages are updated
    exactly as a poll would now compute them; manual labels (see `label`) stay.
    Every label change is recorded in the mention's label history. Ctrl-C
    stops between batches; running the same reclassify again finishes it.

    \b
    Examples:
      sentiment-monitor reclassify --since 30d
      sentiment-monitor reclassify --classifier vader-stock --dry-run   # what would change?
      sentiment-monitor reclassify --classifier vader-stock --format json
      sentiment-monitor reclassify --workers 1   # leave the other CPUs alone
    """
    from monitor import backfill, ingest
    from monitor.storage.mentions import MentionFilter
    from monitor.timeutil import utcnow

    store = app.store(create=False)
    pipeline = ingest.Pipeline(app.config, ingest.build_classifier(app.config, classifier_name))
    start = utcnow() - since if since else None
    total = store.mentions.count(MentionFilter(since=start, limit=None))
    workers = backfill.workers_to_rescore(total, workers, ingest.RESCORE_BATCH)

    def report(exc: KeyboardInterrupt) -> str:
        done = exc.result if isinstance(exc, ingest.ReclassifyInterrupted) else None
        if dry_run:
            return "\nInterrupted: a dry run writes nothing."
        if done is None or not done.scanned:
            return "\nInterrupted before anything was re-scored."
        return (f"\nInterrupted after re-scoring {done.scanned:,} of {total:,} mentions ({done.updated:,} updated,"
                f" {done.labels_changed:,} labels changed), in whole batches; run the same reclassify again to"
                " finish: mentions already re-scored are not changed again.")

    with stopped_by_signals(report):
        if sys.stderr.isatty() and total >= ingest.RESCORE_BATCH:
            with click.progressbar(length=total, label="Re-scoring", file=sys.stderr) as bar:
                result = ingest.reclassify(store, pipeline, since=start, progress=bar.update, workers=workers,
                                           dry_run=dry_run)
        else:
            result = ingest.reclassify(store, pipeline, since=start, workers=workers, dry_run=dry_run)
    if fmt == "json":
        to_json({**result.as_dict(), "dry_run": dry_run})
        return
    emit(fmt, [result.as_dict()], ["classifier", "scanned", "updated", "labels_changed", "overridden"])
    if dry_run:
        click.echo("(dry run: nothing was written; updated and labels_changed are what a run would change)",
                   err=True)


COMMANDS = [label, reclassify]
