"""The ``sentiment-monitor`` command line: thin click commands over the library.

The group and what commands share live here (the :class:`App` context, the
``--format`` and filter options, error handling); commands live in modules
named for what they do, listed at the bottom of this file and imported only
when one of their commands runs (or help lists them).
"""

from __future__ import annotations

import importlib
import sqlite3
import sys
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar

import click

from monitor import __version__
from monitor.errors import MonitorError, did_you_mean
from monitor.output import FORMATS
from monitor.timeutil import DURATION_HELP, check_date, parse_date, parse_duration

F = TypeVar("F", bound=Callable[..., Any])
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class App:
    """What a command needs, created lazily: commands that need no config never load it."""

    def __init__(self, config_path: Path | None, db_path: Path | None, log_level: str | None) -> None:
        self.config_path = config_path
        self.db_path = db_path
        self.log_level = log_level
        self._settings: Any = None
        self._config: Any = None
        self._store: Any = None
        self.database: Path | None = None  # once a command opens it: named in database errors

    @property
    def settings(self) -> Any:
        """The config checked as far as it can be without loading plugins: enough for
        commands that only read the database (no entry-point scan, no plugin import)."""
        if self._settings is None:
            self._settings = self._reveal(self.load_config(plugins=False))
        return self._settings

    @property
    def config(self) -> Any:
        """The whole config, sources' platform options and the classifier's included."""
        if self._config is None:
            self._config = self._reveal(self.settings.with_plugins())
        return self._config

    @staticmethod
    def _reveal(config: Any) -> Any:
        from monitor import logs

        logs.set_secrets(logs.revealed(config.secrets()))
        return config

    def load_config(self, *, plugins: bool = True) -> Any:
        """Read and check the config afresh (``--config``, ``--db`` applied); the daemon's SIGHUP."""
        from monitor import config

        loaded = config.load(self.config_path, plugins=plugins)
        return loaded.with_database(self.db_path) if self.db_path else loaded

    def store(self, *, create: bool = True, migrate: bool = True) -> Any:
        """The database; ``create=False`` for read-only commands (a clear error if missing).

        ``migrate=False`` leaves pending migrations to the caller (``init`` reports them).
        """
        if self._store is None:
            from monitor.storage import Store

            self.database = self.settings.monitor.database
            self._store = Store.open(self.database, create=create, migrate=migrate)
            click.get_current_context().call_on_close(self._store.close)
        return self._store

    def setup_logging(self, default: str = "WARNING") -> None:
        from monitor.logs import configure

        configure(self.log_level or default)


class MonitorGroup(click.Group):
    """Turns user errors into one readable line and exit status 1, never a traceback."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        from monitor.output import tolerant_stdout

        tolerant_stdout()  # before anything is printed, --help included
        return super().main(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MonitorError as exc:  # masked as logs are: a plugin's error may quote its credential
            from monitor import logs

            raise click.ClickException(logs.redact(str(exc))) from None
        except sqlite3.DatabaseError as exc:
            from monitor.storage import describe_error, is_corrupt

            if not isinstance(exc, sqlite3.OperationalError) and not is_corrupt(exc):
                raise  # a constraint or a statement of ours: a bug, with its traceback
            raise click.ClickException(describe_error(exc, getattr(ctx.obj, "database", None))) from None
        except BrokenPipeError:  # `sentiment-monitor mentions | head`
            sys.stderr.close()
            sys.exit(0)
        except OSError as exc:  # a full disk met outside SQLite (a temporary file): one line
            from monitor.storage import describe_error, is_out_of_room

            if not is_out_of_room(exc):
                raise
            raise click.ClickException(describe_error(exc, getattr(ctx.obj, "database", None))) from None
        except KeyboardInterrupt:  # Ctrl-C where no writer says more (see stopped_by_signals)
            click.echo("Interrupted.", err=True)
            sys.exit(130)


@click.group(cls=MonitorGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
    help="Config file. Default: $SENTIMENT_MONITOR_CONFIG, else ./config/monitor.toml,"
    " else the embedded offline demo config.",
)
@click.option(
    "--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
    help="Database file, overriding [monitor] database.",
)
@click.option(
    "--log-level", type=click.Choice(LOG_LEVELS, case_sensitive=False),
    help="Log level for messages on stderr. Default: WARNING (INFO for run).",
)
@click.version_option(__version__, "-V", "--version", prog_name="sentiment-monitor")
@click.pass_context
def main(ctx: click.Context, config_path: Path | None, db_path: Path | None, log_level: str | None) -> None:
    """Monitor what people say about your brand, how it feels, and how that
    lines up with your service KPIs.

    \b
    Quick start (offline demo, no credentials needed):
      sentiment-monitor poll          # fetch from the enabled sources
      sentiment-monitor summary       # volume and sentiment, last 7 days
      sentiment-monitor negatives     # recent negative mentions

    Every output command takes --format table|json|csv. Durations are written
    like 30s, 5m, 24h, 7d; dates like 2026-01-31.
    """
    ctx.obj = App(config_path, db_path, log_level)
    ctx.obj.setup_logging()


pass_app = click.make_pass_decorator(App)


@contextmanager
def stopped_by_signals(report: Callable[[KeyboardInterrupt], str]) -> Iterator[None]:
    """Ctrl-C, and SIGTERM made one, stop the block with a line on stderr saying what was
    stored (``report`` of the interrupt, which may be the writer's own subclass that knows),
    and exit status 130 for Ctrl-C, 143 for SIGTERM: no traceback, no "Aborted!"."""
    import signal

    stopped_by: list[int] = []

    def stop(signum: int, _frame: Any) -> None:
        stopped_by.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    except KeyboardInterrupt as exc:
        click.echo(report(exc), err=True)
        sys.exit(128 + (stopped_by[0] if stopped_by else signal.SIGINT))
    finally:
        signal.signal(signal.SIGTERM, previous)


class DurationType(click.ParamType):
    name = "duration"

    def convert(self, value: Any, param: Any, ctx: Any) -> timedelta:
        if isinstance(value, timedelta):
            return value
        try:
            return parse_duration(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class DateType(click.ParamType):
    name = "date"

    def convert(self, value: Any, param: Any, ctx: Any) -> date:
        try:
            return check_date(value) if isinstance(value, date) else parse_date(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class BrandType(click.ParamType):
    """A configured brand, named in any case; its configured spelling, or a clear error.

    ``stored``: read commands also take a brand no longer configured (renamed or
    removed) that stored mentions still carry, with a note on stderr."""

    name = "brand"

    def __init__(self, *, stored: bool = False) -> None:
        self.stored = stored

    def convert(self, value: Any, param: Any, ctx: Any) -> str:
        app = ctx.find_object(App) if ctx is not None else None
        if app is None:
            return str(value)
        config = app.settings  # brands need no plugins
        brand = config.brand(str(value))
        if brand is not None:
            return str(brand.name)
        stored = self._stored_names(app)  # read commands: also the brand names stored mentions carry
        named = next((b for b in stored if b.casefold() == str(value).casefold()), None)
        if named is not None:
            click.echo(f'note: no [[brands]] entry is named "{named}" (renamed or removed?):'
                       " its stored mentions are shown", err=True)
            return named
        known = [b.name for b in config.brands]
        # a typo of a brand only stored mentions carry is told of it too
        others = [b for b in stored if config.brand(b) is None]
        if app._store is not None:  # a usage error closes no context: the lookup's store is closed here
            app._store.close()
            app._store = None
        self.fail(
            f'no [[brands]] entry is named "{value}"{did_you_mean(str(value), known + others)};'
            f' brands: {", ".join(known) or "none configured"}'
            + (f'; stored mentions also carry: {", ".join(others)}' if others else ""),
            param, ctx,
        )

    def _stored_names(self, app: App) -> list[str]:
        """The brand names stored mentions carry, for a read command's ``--brand`` (else none)."""
        if not self.stored:
            return []
        try:
            return app.store(create=False).mentions.brand_names()  # type: ignore[no-any-return]
        except MonitorError:  # no database yet: nothing is stored under any name
            return []


class LimitType(click.IntRange):
    """At least 1; a number beyond SQLite's integers (2**63 - 1) means as many: all."""

    name = "integer"  # "'ten' is not a valid integer", not "... integer range"

    def __init__(self) -> None:
        super().__init__(min=1)

    def convert(self, value: Any, param: Any, ctx: Any) -> int:
        return min(super().convert(value, param, ctx), 2**63 - 1)


DURATION = DurationType()
DATE = DateType()
BRAND = BrandType()
#: ``--brand`` of read commands: also a brand renamed or removed that stored mentions carry.
STORED_BRAND = BrandType(stored=True)
LIMIT = LimitType()
#: ``--workers``: at most backfill.MAX_WORKERS (not imported here: it loads the import's modules).
WORKERS = click.IntRange(min=1, max=64)


def format_option(f: F) -> F:
    return click.option(
        "--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
        help="table for people; json (one JSON value on stdout) for scripts; csv for spreadsheets"
             " (a text a spreadsheet would run as a formula gets a leading ').",
    )(f)


def limit_option(default: int, rows: str = "mentions, newest first") -> Callable[[F], F]:
    """``--limit N``: at most ``N`` of the command's ``rows``."""
    return click.option("--limit", type=LIMIT, default=default, show_default=True, metavar="N",
                        help=f"Show at most N {rows}.")


def brand_platform_options(f: F) -> F:
    f = click.option(  # platform names are stored in lower case: "X" means "x"
        "--platform", help="Only this platform (x, reddit, ...).",
        callback=lambda _ctx, _param, value: value.lower() if value else value,
    )(f)
    return click.option("--brand", type=STORED_BRAND, help="Only this brand.")(f)


def since_option(default: str | None, what: str = "How far back", default_text: str | None = None) -> Callable[[F], F]:
    """``--since DURATION``; ``default_text`` says what no ``--since`` means when ``default`` is None."""
    return click.option("--since", type=DURATION, default=default,
                        help=f"{what}: {DURATION_HELP}. Default: {default_text or default}.")


def window_options(default_since: str) -> Callable[[F], F]:
    """``--since DURATION`` or ``--from DATE --to DATE`` (dates in the configured time zone)."""

    def decorate(f: F) -> F:
        f = click.option("--to", "to_date", type=DATE,
                         help="Last day, inclusive (YYYY-MM-DD). Default with --from: up to now.")(f)
        f = click.option("--from", "from_date", type=DATE,
                         help=f"First day (YYYY-MM-DD, in [monitor] timezone). Default with --to: {default_since}"
                              " up to the end of that day.")(f)
        return since_option(None, default_text=default_since)(f)

    return decorate


def resolve_window(
    config: Any, since: timedelta | None, from_date: date | None, to_date: date | None, default_since: str
) -> tuple[Any, Any]:
    """Turn ``--since`` / ``--from`` / ``--to`` into a ``[start, end)`` pair of UTC times,
    at most :data:`~monitor.timeutil.LONGEST` apart (as ``--since`` is), so the
    window before it, as long, is representable too."""
    from monitor.timeutil import LONGEST, LONGEST_TEXT, local_midnight, utcnow

    now = utcnow()
    tz = config.monitor.tz
    if since is not None and (from_date or to_date):
        raise click.UsageError("use either --since or --from/--to, not both")
    if from_date or to_date:
        start = local_midnight(from_date, tz) if from_date else None
        end = local_midnight(to_date + timedelta(days=1), tz) if to_date else now
        if start is None:
            start = end - parse_duration(default_since)
        if start >= end:
            if to_date is None:  # the window ends now
                raise click.UsageError(f"--from {from_date} is in the future: give a day up to today")
            raise click.UsageError("--from must be on or before --to")
        last = to_date or now.astimezone(tz).date()
        if from_date and (last - from_date).days >= LONGEST.days:  # counted in days: DST cannot tip it
            raise click.UsageError(
                f"--from {from_date} to {to_date or 'now'} is longer than {LONGEST_TEXT}: shorten the window"
            )
        return start, end
    return now - (since or parse_duration(default_since)), now


class LazyCommands(MutableMapping[str, click.Command]):
    """A group's commands by name, each module (``monitor.cli.<module>``, exporting
    ``COMMANDS``) imported when one of its commands is first looked up."""

    def __init__(self, modules: Mapping[str, str]) -> None:
        self._modules = dict(modules)
        self._loaded: dict[str, click.Command] = {}

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._loaded and name in self._modules:
            for command in importlib.import_module(f"monitor.cli.{self._modules[name]}").COMMANDS:
                self._loaded.setdefault(command.name, command)  # type: ignore[arg-type]
        return self._loaded[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        self._modules.pop(name, None)
        del self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*self._modules, *self._loaded]))

    def __len__(self) -> int:
        return len(dict.fromkeys([*self._modules, *self._loaded]))


#: Commands, by concern: command name -> its module in monitor.cli (which lists it in COMMANDS).
COMMAND_MODULES = {
    **dict.fromkeys(["init", "poll", "run", "import", "status"], "sources"),
    **dict.fromkeys(["negatives", "mentions", "summary", "classify"], "mentions"),
    **dict.fromkeys(["label", "reclassify"], "labels"),
    "eval": "evaluate",
    "themes": "insights",
    "kpi": "kpi",
    "digest": "digest",
    "alerts": "alerts",
}
main.commands = LazyCommands(COMMAND_MODULES)
