"""Load and validate ``monitor.toml``.

One loader for the whole product. Every section is a dataclass and every
connector declares an ``Options`` dataclass; :func:`_build` checks a TOML
table against a dataclass: unknown keys (with a did-you-mean), wrong types,
missing required keys, durations, times and secrets. Errors are raised as
:class:`~monitor.errors.ConfigError` naming the file, the section and the key.

Plugin options (a source's platform keys, the classifier's keys in
``[sentiment]``) need their plugin loaded to be checked. ``load(plugins=False)``
leaves source options unchecked (and ``[sentiment]``'s too, when it has none
beyond the common keys), so a command that only reads the database never scans
entry points; :meth:`Config.with_plugins` checks the rest, with the same
messages, when a command needs sources or the classifier.

Secrets are written ``{ env = "NAME" }`` or ``{ file = "path" }`` (or, not
recommended, inline) and become :class:`connectors.base.Secret` objects that
are resolved only when a source that needs them runs. Relative paths are
taken from the current working directory.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
import re
import sys
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import field
from datetime import time, timedelta, timezone, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from monitor import plugins
from monitor.errors import ConfigError, MonitorError, did_you_mean, relative_to_cwd
from monitor.frozen import frozen
from monitor.timeutil import parse_duration

if TYPE_CHECKING:
    # Imported where used: a command that reads no secret and builds no classifier
    # never loads the connector and classifier contracts.
    from connectors.base import BrandQuery, Secret
    from sentiment.base import Thresholds

ENV_VAR = "SENTIMENT_MONITOR_CONFIG"
DEFAULT_PATH = Path("config") / "monitor.toml"


class _FieldError(ValueError):
    """Raised by a section's checks: ``key`` is the offending key."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def _check_timeout(section: Any, key: str) -> None:
    """A timeout in seconds must be positive (0 would mean "never wait" to sockets),
    worded as the sources' ``timeout`` is."""
    if getattr(section, key) <= 0:
        raise _FieldError(key, "must be more than 0 seconds")


def _check_addresses(section: Any, key: str) -> None:
    """``section.key`` (one string or a list) holds bare e-mail addresses, as SMTP's
    ``MAIL FROM`` and ``RCPT TO`` take them: one each, no display name, no line break."""
    value = getattr(section, key)
    seen: dict[str, int] = {}
    for i, text in ([(None, value)] if isinstance(value, str) else enumerate(value)):
        problem = _address_problem(text)
        if problem is None and i is not None:
            # One mailbox, whatever the case: listed twice, it would get the message twice.
            first = seen.setdefault(text.lower(), i)
            if first != i:
                problem = f"is {key}[{first}] again: list each address once"
        if problem:
            shown = json.dumps(text, ensure_ascii=False)  # quoted, CR/LF escaped: the error stays one line
            raise _FieldError(key if i is None else f"{key}[{i}]", f"{shown} {problem}")


def _address_problem(text: str) -> str | None:
    """Why ``text`` is not one bare e-mail address, or None."""
    if "\r" in text or "\n" in text:
        return "must not contain a line break"
    if not text.isascii():  # smtplib speaks ASCII only (no SMTPUTF8)
        return "has non-ASCII characters: SMTP here carries ASCII addresses only" + _idna_hint(text)
    if _is_address(text):
        return None
    from email.utils import getaddresses

    found = [address for _, address in getaddresses([text]) if _is_address(address)]
    if len(found) > 1:
        return "holds several addresses: give each its own list item"
    hint = f' (did you mean "{found[0]}"?)' if found else ""
    return f'is not an e-mail address such as "name@example.com"{hint}'


def _idna_hint(text: str) -> str:
    """An internationalised domain has an ASCII form SMTP carries: the address written with it."""
    local, at, domain = text.rpartition("@")
    if not at or not local.isascii() or domain.isascii():
        return ""
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return ""
    return f' (the domain\'s ASCII form: "{local}@{ascii_domain}")'


# The common shape of an address, recognised without importing the email package (12 ms
# that every command loading the config would pay); anything else is parsed properly.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def _is_address(text: str) -> bool:
    if _PLAIN_ADDRESS.fullmatch(text) and ".." not in text and not text.startswith(".") and ".@" not in text:
        return True
    from email.errors import MessageError
    from email.headerregistry import Address

    try:
        return Address(addr_spec=text).addr_spec == text
    except (ValueError, IndexError, MessageError):  # the parser raises all three
        return False


def _check_ca_file(path: Path) -> None:
    """``path`` is a readable bundle of PEM certificates (what the TLS context will load)."""
    import ssl

    try:
        ssl.create_default_context(cafile=str(path))
    except ssl.SSLError:
        raise _FieldError("ca_file", f"{path}: no PEM certificate in it") from None
    except OSError as exc:
        raise _FieldError("ca_file", f"cannot read {path}: {exc.strerror or exc}{relative_to_cwd(path)}") from None


def zone(name: str) -> tzinfo:
    """The time zone called ``name`` (IANA, or "UTC"); ValueError naming it if unknown."""
    if name.upper() == "UTC":
        return timezone.utc
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        from zoneinfo import available_timezones  # reads every zone's name: only to explain an error

        hint = did_you_mean(name, sorted(available_timezones())) or " (use an IANA name such as Europe/Paris)"
        raise ValueError(f'unknown time zone "{name}"{hint}') from None


@frozen
class MonitorSettings:
    database: Path = Path("data") / "monitor.db"
    timezone: str = "UTC"  # IANA name; digests and day boundaries use it

    def __post_init__(self) -> None:
        self.tz  # noqa: B018 - validates the name

    @property
    def tz(self) -> tzinfo:
        try:
            return zone(self.timezone)
        except ValueError as exc:
            raise _FieldError("timezone", str(exc)) from None

    @property
    def data_dir(self) -> Path:
        """Where files the monitor writes (digests, exports) go: beside the database."""
        return self.database.parent


@frozen
class BrandConfig:
    name: str
    keywords: tuple[str, ...] = ()  # what counts as a mention
    handles: tuple[str, ...] = ()  # the brand's own accounts
    exclude: tuple[str, ...] = ()  # noise to drop
    competitor: bool = False  # tracked for share of voice

    def __post_init__(self) -> None:
        # A blank term matched nothing and reached the platforms' queries as is: X searched
        # for a bare "@" beside the brand's keywords.
        if not self.name.strip():
            raise _FieldError("name", "must not be empty")
        for key in ("keywords", "handles", "exclude"):
            for i, term in enumerate(getattr(self, key)):
                if not term.strip().lstrip("@").strip():
                    raise _FieldError(f"{key}[{i}]", f"{json.dumps(term)} names nothing: remove it or write the term")

    @property
    def query(self) -> BrandQuery:
        from connectors.base import BrandQuery

        return BrandQuery(self.name, self.keywords, self.handles, self.exclude)

    @property
    def terms(self) -> tuple[str, ...]:
        """Everything that names the brand: masked before scoring."""
        return tuple(dict.fromkeys([self.name, *self.keywords, *self.handles]))


@frozen
class SentimentConfig:
    """``[sentiment]``: these keys, plus the fields of the classifier's ``Options``."""

    classifier: str = "vader"
    # None: the classifier's own default (vader 0.35 / -0.10, vader-stock 0.05 / -0.05)
    positive_threshold: float | None = None
    negative_threshold: float | None = None
    detect_language: bool = True  # false: only the platform's language tag counts
    options: Any = field(default=None, compare=False)  # the classifier's Options instance

    def __post_init__(self) -> None:
        if self.positive_threshold is not None and self.negative_threshold is not None:
            from sentiment.base import Thresholds

            try:
                Thresholds(self.positive_threshold, self.negative_threshold)
            except ValueError as exc:
                raise _FieldError("negative_threshold", str(exc)) from None

    def thresholds_for(self, default: Thresholds | None) -> Thresholds | None:
        """The configured thresholds, each unset one taken from the classifier's
        ``default`` (``None``: the classifier decides labels itself)."""
        if self.positive_threshold is None and self.negative_threshold is None:
            return default
        from sentiment.base import Thresholds

        base = default or Thresholds()
        return Thresholds(
            base.positive if self.positive_threshold is None else self.positive_threshold,
            base.negative if self.negative_threshold is None else self.negative_threshold,
        )

    @property
    def option_values(self) -> dict[str, Any]:
        """The classifier's options as constructor keywords."""
        if self.options is None:
            return {}
        return {f.name: getattr(self.options, f.name) for f in dataclasses.fields(self.options)}


@frozen
class SourceConfig:
    """The keys every ``[[sources]]`` entry has; the rest belong to the platform."""

    name: str
    platform: str
    brand: str | None = None  # mentions are assigned to it; the query defaults to its terms
    every: timedelta = timedelta(minutes=15)
    enabled: bool = True
    query: str | None = None  # overrides the query built from the brand
    options: Any = field(default=None, compare=False)  # the connector's Options instance

    def __post_init__(self) -> None:
        if not self.name.strip():  # what `poll --source`, `status` and the cursors know it by
            raise _FieldError("name", "must not be empty")


@frozen
class DigestConfig:
    send_at: time = time(8, 0)  # local time ([monitor] timezone); the day before is reported
    recipients: tuple[str, ...] = ()
    top: int = 5  # mentions per "most negative" / "most engaged" list
    max_attempts: int = 6  # deliveries tried (4xx, dropped connection) before "failed"
    retry_after: timedelta = timedelta(minutes=10)  # first retry; doubles each time, at most 2h

    def __post_init__(self) -> None:
        for key in ("top", "max_attempts"):
            if getattr(self, key) < 1:
                raise _FieldError(key, "must be at least 1")
        _check_addresses(self, "recipients")


@frozen
class AlertsConfig:
    """Spike alerts: hourly negatives per brand against an hour-of-week baseline."""

    enabled: bool = True
    k: float = 3.0  # how many (robust) standard deviations above the baseline fire
    min_count: int = 3  # floor: fewer negatives in an hour never alert; the ratio needs this volume
    lookback_weeks: int = 4  # baseline: the same hour of the week over this many weeks
    window_hours: int = 1  # ... and this many neighbouring hours each side
    cooldown: timedelta = timedelta(hours=3)  # per brand and kind, after an alert
    drop_min_baseline: float = 5.0  # an hour with no mention alerts when the baseline median is this
    channels: tuple[Literal["email", "webhook"], ...] = ("email",)
    recipients: tuple[str, ...] = ()  # default: [digest] recipients
    webhook_url: Secret | None = None  # Slack-compatible incoming webhook (the URL holds a token)
    webhook_timeout: float = 10.0
    kpi_targets: bool = False  # also alert when a KPI missed its [kpi.targets] target the day before
    kpi_min_count: int = 5  # ... judged only on at least this many answers or tickets

    def __post_init__(self) -> None:
        if self.k <= 0:
            raise _FieldError("k", "must be greater than 0")
        if self.drop_min_baseline <= 0:  # 0 would call every empty hour a drop, history or not
            raise _FieldError("drop_min_baseline", "must be greater than 0 (a baseline median volume)")
        _check_timeout(self, "webhook_timeout")
        if self.min_count < 1:
            raise _FieldError("min_count", "must be at least 1")
        if self.lookback_weeks < 1:
            raise _FieldError("lookback_weeks", "must be at least 1")
        if not 0 <= self.window_hours <= 3:
            raise _FieldError("window_hours", "must be between 0 and 3")
        if self.kpi_min_count < 1:
            raise _FieldError("kpi_min_count", "must be at least 1")
        _check_addresses(self, "recipients")
        if "webhook" in self.channels and self.webhook_url is None:
            raise _FieldError("webhook_url", 'channels has "webhook": set webhook_url = { env = "NAME" }')


@frozen
class SmtpConfig:
    host: str
    sender: str
    port: int = 587
    starttls: bool | None = None  # upgrade a plain connection (port 587); default: unless ssl
    ssl: bool = False  # implicit TLS from the first byte (port 465)
    # A login name, read like a secret (from the environment or a file) but not masked in logs:
    # "monitor" or "acme" would otherwise vanish from every path and message that holds the word.
    username: Secret | None = field(default=None, metadata={"masked": False})
    password: Secret | None = None
    timeout: float = 30.0
    ca_file: Path | None = None  # trust this CA bundle instead of the system's (verification stays on)

    def __post_init__(self) -> None:
        _check_addresses(self, "sender")
        if not 1 <= self.port <= 65535:
            raise _FieldError("port", "must be between 1 and 65535")
        _check_timeout(self, "timeout")
        if self.starttls is None:  # STARTTLS unless the connection is TLS from the start
            object.__setattr__(self, "starttls", not self.ssl)
        if self.ssl and self.starttls:
            raise _FieldError("starttls", "set either ssl = true (port 465) or starttls = true, not both")
        if self.ca_file is not None:
            _check_ca_file(self.ca_file)


Off = Literal["off"]


@frozen
class KpiTargets:
    """``[kpi.targets]``: what each KPI should reach; ``"off"`` drops a target.

    Percentages are 0-100, NPS -100..100, times are hours (compared with the
    median, calendar time). Defaults follow common industry guidance; the
    README gives the sources.
    """

    csat_pct: float | Off = 80.0  # at least: "80% or higher" (SoGoSurvey "excellent"; Freshdesk: most aim for 80-90%)
    nps: float | Off = 50.0  # at least: Bain's guidance quoted by CustomerGauge: > 0 good, >= 50 excellent
    ces: float | Off | None = None  # at least, on 1..ces_scale; unset: 5.5 of 7 (enthu.ai), rescaled to ces_scale
    first_response_hours: float | Off = 4.0  # at most: email/social "within 4 hours" (HubSpot/SuperOffice benchmarks)
    resolution_hours: float | Off = 24.0  # at most: "resolve email within 24 hours"
    fcr_pct: float | Off = 70.0  # at least: SQM Group, 70-79% good, 80%+ world-class
    abandonment_pct: float | Off = 5.0  # at most: 5-8% is the industry standard (Uniphore); aim for the low end
    retention_pct: float | Off = "off"  # at least: industry-dependent, no default
    cost_per_resolution: float | Off = "off"  # at most: your own budget, no default

    def __post_init__(self) -> None:
        limits = {"csat_pct": (0, 100), "fcr_pct": (0, 100), "abandonment_pct": (0, 100),
                  "retention_pct": (0, 100), "nps": (-100, 100)}
        for key, (lo, hi) in limits.items():
            value = getattr(self, key)
            if isinstance(value, float) and not lo <= value <= hi:
                raise _FieldError(key, f"must be between {lo} and {hi}")
        for key in ("first_response_hours", "resolution_hours", "cost_per_resolution", "ces"):
            value = getattr(self, key)
            if isinstance(value, float) and value <= 0:
                raise _FieldError(key, "must be greater than 0")


@frozen
class KpiConfig:
    """How helpdesk and survey exports are read and their KPIs computed."""

    timezone: str | None = None  # zone of exports' offset-less times; default: [monitor] timezone
    csat_satisfied_min: float = 4.0  # a CSAT rating at or above this (1-5 scale) is satisfied
    csat_neutral: Literal["dissatisfied", "satisfied", "exclude"] = "dissatisfied"  # the 3 of 1-5
    ces_scale: int = 7  # CES answers run 1..ces_scale (CES 2.0: 7); higher = easier
    targets: KpiTargets = field(default_factory=KpiTargets)

    def __post_init__(self) -> None:
        if self.timezone is not None:
            try:
                zone(self.timezone)
            except ValueError as exc:
                raise _FieldError("timezone", str(exc)) from None
        if not 1 < self.csat_satisfied_min <= 5:
            raise _FieldError("csat_satisfied_min", "must be above 1 and at most 5 (a 1-5 rating)")
        if not 2 <= self.ces_scale <= 10:
            raise _FieldError("ces_scale", "must be between 2 and 10 (CES 2.0 uses 7)")
        ces = self.targets.ces
        if isinstance(ces, float) and not 1 <= ces <= self.ces_scale:
            raise _FieldError("targets", f"ces: must be between 1 and ces_scale ({self.ces_scale})")


@frozen
class ThemeConfig:
    """A ``[[themes]]`` entry: a complaint theme, found by keywords in the mention text.

    Keywords match like brand keywords (whole words, case-insensitive); a
    trailing ``*`` matches any word ending. An entry named like a shipped
    default replaces it; ``enabled = false`` drops it.
    """

    name: str
    keywords: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()  # a mention containing one of these is not in the theme
    enabled: bool = True

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise _FieldError("name", "must not be empty")
        if self.enabled and not any(k.strip().strip("*") for k in self.keywords):
            raise _FieldError("keywords", "a theme needs at least one keyword (or enabled = false)")
        for key in ("keywords", "exclude"):
            for word in getattr(self, key):
                if "*" in word.rstrip("*") or word.endswith("**"):
                    raise _FieldError(key, f'"{word}": "*" is only allowed once, at the end of a keyword')


@frozen
class InsightsConfig:
    """``[insights]``: complaint themes and emerging phrases in negative mentions."""

    default_themes: bool = True  # the shipped themes (monitor/defaults/themes.toml); false: only [[themes]]
    min_count: int = 3  # negative mentions a theme or phrase needs in the period to be "new" or "growing"
    min_lift: float = 2.0  # rate against the previous period (as long) that makes it "growing"
    smoothing: float = 1.0  # added to both counts before the lift is taken (so 3 vs 0 is 4x, not infinite)
    max_words: int = 3  # emerging phrases are 1 to this many words
    emerging: int = 5  # emerging phrases listed
    examples: int = 3  # example mentions per theme or phrase
    stop_words: tuple[str, ...] = ()  # more words that never start or end a phrase

    def __post_init__(self) -> None:
        for key in ("min_count", "emerging", "examples"):
            if getattr(self, key) < 1:
                raise _FieldError(key, "must be at least 1")
        if self.min_lift <= 1:
            raise _FieldError("min_lift", "must be greater than 1")
        if self.smoothing <= 0:
            raise _FieldError("smoothing", "must be greater than 0")
        if not 1 <= self.max_words <= 4:
            raise _FieldError("max_words", "must be between 1 and 4")


@frozen
class DaemonConfig:
    """How ``run`` retries failing sources and when it calls one "not working"."""

    backoff_max: timedelta = timedelta(hours=1)  # cap on the wait after a failed poll
    not_working_after: int = 3  # intervals (``every``) without a successful poll
    poll_timeout: timedelta = timedelta(minutes=10)  # a poll running longer is reported hung

    def __post_init__(self) -> None:
        if self.not_working_after < 1:
            raise _FieldError("not_working_after", "must be 1 or more (intervals without a successful poll)")


@frozen
class Config:
    path: Path | None  # None: the embedded default
    monitor: MonitorSettings = field(default_factory=MonitorSettings)
    brands: tuple[BrandConfig, ...] = ()
    sentiment: SentimentConfig = field(default_factory=SentimentConfig)
    sources: tuple[SourceConfig, ...] = ()
    digest: DigestConfig = field(default_factory=DigestConfig)
    smtp: SmtpConfig | None = None
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    daemon: DaemonConfig = field(default_factory=DaemonConfig)
    kpi: KpiConfig = field(default_factory=KpiConfig)
    themes: tuple[ThemeConfig, ...] = ()
    insights: InsightsConfig = field(default_factory=InsightsConfig)
    #: The TOML data when plugin options are not checked yet (``load(plugins=False)``).
    _unchecked: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    @property
    def label(self) -> str:
        return str(self.path) if self.path else "embedded default config"

    def brand(self, name: str) -> BrandConfig | None:
        return next((b for b in self.brands if b.name.lower() == name.lower()), None)

    def source(self, name: str) -> SourceConfig | None:
        return next((s for s in self.sources if s.name == name), None)

    def own_brands(self) -> tuple[BrandConfig, ...]:
        """The brands the team answers for (not competitors)."""
        return tuple(b for b in self.brands if not b.competitor)

    def brand_terms(self) -> list[str]:
        """Every configured brand's names and handles, competitors' too."""
        return list(dict.fromkeys(t for b in self.brands for t in b.terms))

    def theme_rules(self) -> tuple[ThemeConfig, ...]:
        """The complaint themes in use: the shipped defaults (unless [insights]
        default_themes = false), each replaced by a [[themes]] entry of the same
        name, then the other entries; disabled ones left out."""
        rules = {t.name.lower(): t for t in (default_themes() if self.insights.default_themes else ())}
        for theme in self.themes:
            rules[theme.name.lower()] = theme
        return tuple(t for t in rules.values() if t.enabled)

    @property
    def kpi_timezone(self) -> str:
        """The zone KPI exports' offset-less times are read in: [kpi] timezone, else [monitor] timezone."""
        return self.kpi.timezone or self.monitor.timezone

    def secrets(self) -> list[Secret]:
        """Every secret the config refers to whose value logs hide (sources' options, smtp,
        any later section)."""
        return secrets_in(self, masked=True)

    def with_plugins(self) -> Config:
        """This config with every plugin option checked and built (loading the plugins);
        itself if that was done at load. Raises ConfigError like :func:`load`."""
        if self._unchecked is None:
            return self
        return dataclasses.replace(_config(self._unchecked, self.path, self.label), monitor=self.monitor)

    def with_database(self, database: Path) -> Config:
        return dataclasses.replace(
            self, monitor=dataclasses.replace(self.monitor, database=database)
        )


# Top-level tables: key -> (dataclass, is an array of tables)
_SECTIONS: dict[str, tuple[type, bool]] = {
    "monitor": (MonitorSettings, False),
    "brands": (BrandConfig, True),
    "sentiment": (SentimentConfig, False),
    "sources": (SourceConfig, True),
    "digest": (DigestConfig, False),
    "smtp": (SmtpConfig, False),
    "alerts": (AlertsConfig, False),
    "daemon": (DaemonConfig, False),
    "kpi": (KpiConfig, False),
    "themes": (ThemeConfig, True),
    "insights": (InsightsConfig, False),
}


def default_path() -> Path | None:
    """``$SENTIMENT_MONITOR_CONFIG``, else ``./config/monitor.toml`` if present,
    else ``None`` (the embedded default)."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()  # a unit's Environment= has no shell to expand it
    return DEFAULT_PATH if DEFAULT_PATH.is_file() else None


def _packaged_default(name: str) -> str:
    """A file of ``monitor/defaults/``."""
    beside = Path(__file__).with_name("defaults") / name
    if beside.is_file():  # installed as files (the usual case): no importlib.resources import
        return beside.read_text(encoding="utf-8")
    from importlib import resources

    return (resources.files("monitor") / "defaults" / name).read_text(encoding="utf-8")


def embedded_default_text() -> str:
    return _packaged_default("monitor.toml")


def default_themes() -> tuple[ThemeConfig, ...]:
    """The shipped complaint themes (``monitor/defaults/themes.toml``), checked like any config."""
    label = "shipped themes (monitor/defaults/themes.toml)"
    text = _packaged_default("themes.toml")
    data = tomllib.loads(text)
    _unknown_keys(data, {"themes"}, label)
    return tuple(
        _section(ThemeConfig, item, f"{label}: [[themes]] #{i}", i, load_plugins=False)
        for i, item in enumerate(data["themes"], 1)
    )


def load(path: str | Path | None = None, *, plugins: bool = True) -> Config:
    """Load and validate a config file (or the default one, see :func:`default_path`).

    ``plugins=False``: plugin options are left for :meth:`Config.with_plugins`.
    """
    path = Path(path) if path is not None else default_path()
    if path is None:
        return parse(embedded_default_text(), None, plugins=plugins)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from None
    return parse(text, path, plugins=plugins)


def parse(text: str, path: Path | None, *, plugins: bool = True) -> Config:
    label = str(path) if path else "embedded default config"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{label}: invalid TOML: {exc}") from None
    return _config(data, path, label, load_plugins=plugins)


def _config(data: Mapping[str, Any], path: Path | None, label: str, *, load_plugins: bool = True) -> Config:
    _unknown_keys(data, _SECTIONS, label)
    values: dict[str, Any] = {}
    for key, (cls, many) in _SECTIONS.items():
        if key not in data:
            continue
        if many:
            items = data[key]
            if not isinstance(items, list):
                raise ConfigError(f"{label}: {key}: write it as [[{key}]] tables")
            values[key] = tuple(
                _section(cls, item, f"{label}: [[{key}]] #{i}", i, load_plugins)
                for i, item in enumerate(items, 1)
            )
        else:
            values[key] = _section(cls, data[key], f"{label}: [{key}]", None, load_plugins)
    config = Config(path=path, **values, _unchecked=None if load_plugins else data)
    _check_references(config, label)
    _check_delivery(config, label)
    return config


def _section(cls: type, table: Any, where: str, index: int | None, load_plugins: bool) -> Any:
    if isinstance(table, Mapping) and index is not None and isinstance(table.get("name"), str):
        where = f'{where} ("{table["name"]}")'
    if cls is SourceConfig:
        return _source(table, where, load_plugins)
    if cls is SentimentConfig:
        return _sentiment(table, where, load_plugins)
    return _build(cls, table, where)


def _common_keys(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls) if f.name != "options"}


def _source(table: Any, where: str, load_plugins: bool = True) -> SourceConfig:
    if not load_plugins:  # the common keys now, the platform's with the plugin
        if not isinstance(table, Mapping):
            raise ConfigError(f"{where}: expected a table")
        common = _common_keys(SourceConfig)
        return _build(SourceConfig, {k: v for k, v in table.items() if k in common}, where)
    name, connector = _plugin(table, "platform", None, plugins.connector_class, where)
    source = _with_plugin_options(SourceConfig, plugins.CONNECTORS, name, connector.Options, table, where)
    _check_query(source, connector, name, where)
    return source


def _check_query(source: SourceConfig, connector: Any, name: str, where: str) -> None:
    """A source's ``query`` and ``brand`` against what its connector declares it does with
    them (``takes_query``, ``needs_query``: see :class:`connectors.base.Connector`)."""
    takes = getattr(connector, "takes_query", True)
    if isinstance(takes, str):  # the bool option the query is used with
        with plugins.blamed(plugins.CONNECTORS, name, f"declares takes_query = {takes!r}"):
            used = getattr(source.options, takes)
        if source.query is not None and used is not True:  # it would filter nothing
            raise ConfigError(f"{where}: query: {name} sources use a query only with {takes} = true;"
                              " set it, or remove the query")
    elif takes is False:
        used = False
        if source.query is not None:
            raise ConfigError(f"{where}: query: {name} sources take no query (nothing is searched there:"
                              " everything is read); remove it")
    else:
        used = True
    if not used or getattr(connector, "needs_query", False) is not True:
        return
    if source.query is not None and not source.query.strip():  # it overrides the brand's terms
        raise ConfigError(f"{where}: query: is empty; write the {name} query, or remove it to use the brand's terms")
    if source.query is None and source.brand is None:  # every poll would fail: nothing to search for
        raise ConfigError(f"{where}: {name} sources need a brand or a query: there are no terms to search for")


def _sentiment(table: Any, where: str, load_plugins: bool = True) -> SentimentConfig:
    """``[sentiment]``: the common keys, and the classifier's own ``Options`` keys."""
    if not load_plugins and isinstance(table, Mapping) and set(table) <= _common_keys(SentimentConfig):
        return _build(SentimentConfig, table, where)  # nothing the classifier must judge yet
    name, classifier = _plugin(table, "classifier", SentimentConfig.classifier, plugins.classifier_class, where)
    config = _with_plugin_options(
        SentimentConfig, plugins.CLASSIFIERS, name, getattr(classifier, "Options", None), table, where
    )
    try:
        config.thresholds_for(getattr(classifier, "default_thresholds", None))
    except ValueError as exc:  # one threshold set, crossing the classifier's default other
        key = "positive_threshold" if config.positive_threshold is not None else "negative_threshold"
        raise ConfigError(f"{where}: {key}: {exc} (the other is {name}'s default)") from None
    return config


def _plugin(table: Any, key: str, default: str | None, load: Any, where: str) -> tuple[str, Any]:
    """The plugin class named by ``table[key]`` (a connector or a classifier)."""
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where}: expected a table")
    name = table.get(key, default)
    if not isinstance(name, str):
        raise ConfigError(f'{where}: missing required key "{key}"')
    try:
        return name, load(name)
    except Exception as exc:
        raise ConfigError(f"{where}: {key}: {exc}") from None


def _with_plugin_options(
    cls: type, group: str, name: str, options_cls: type | None, table: Mapping[str, Any], where: str
) -> Any:
    """:func:`_with_options` for a plugin's ``Options``: one whose annotations the loader
    cannot read, or whose checks raise something other than ``ValueError``, is the plugin's
    fault and is named as such (not a traceback)."""
    try:
        with plugins.blamed(group, name, "has options the config cannot read"):
            return _with_options(cls, options_cls, table, where)
    except ConfigError:
        raise
    except MonitorError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _with_options(cls: type, options_cls: type | None, table: Mapping[str, Any], where: str) -> Any:
    """Build ``cls`` from its own keys and ``options_cls`` (a dataclass) from the rest."""
    common = _common_keys(cls)
    option_names = {f.name for f in dataclasses.fields(options_cls)} if options_cls else set()
    _unknown_keys(table, common | option_names, where)
    base = _build(cls, {k: v for k, v in table.items() if k in common}, where)
    if options_cls is None:
        return base
    options = _build(options_cls, {k: v for k, v in table.items() if k in option_names}, where)
    return dataclasses.replace(base, options=options)


def _check_references(config: Config, label: str) -> None:
    names: set[str] = set()
    for i, brand in enumerate(config.brands, 1):
        if brand.name.lower() in names:
            raise ConfigError(f'{label}: [[brands]] #{i}: name: "{brand.name}" is defined twice')
        names.add(brand.name.lower())
    themes: set[str] = set()
    shipped: list[str] | None = None  # read only for an entry that can only mean one of them
    for i, theme in enumerate(config.themes, 1):
        if theme.name.lower() in themes:
            raise ConfigError(f'{label}: [[themes]] #{i}: name: "{theme.name}" is defined twice')
        themes.add(theme.name.lower())
        if not theme.enabled and not theme.keywords:  # only switches off a shipped theme
            shipped = shipped if shipped is not None else [t.name.lower() for t in default_themes()]
            if theme.name.lower() not in shipped:
                raise ConfigError(
                    f'{label}: [[themes]] #{i} ("{theme.name}"): name: no shipped theme is named "{theme.name}",'
                    f" so enabled = false switches nothing off{did_you_mean(theme.name.lower(), shipped)}"
                    f" (shipped: {', '.join(shipped)})"
                )
    seen: set[str] = set()
    for i, source in enumerate(config.sources, 1):
        where = f'{label}: [[sources]] #{i} ("{source.name}")'
        if source.name in seen:
            raise ConfigError(f"{where}: name: another source already has this name")
        seen.add(source.name)
        if source.brand is not None and config.brand(source.brand) is None:
            known = [b.name for b in config.brands]
            raise ConfigError(
                f'{where}: brand: no [[brands]] entry is named "{source.brand}"{did_you_mean(source.brand, known)}'
            )


def _check_delivery(config: Config, label: str) -> None:
    """Checks across [smtp] and [digest]: with [smtp] the digest goes by e-mail only,
    so it needs recipients (without it, the digest is written as files, which need none)."""
    if config.smtp is not None and not config.digest.recipients:
        raise ConfigError(
            f"{label}: [digest]: recipients: [smtp] is set, so the digest is sent by e-mail:"
            ' list at least one address, e.g. recipients = ["team@example.com"]'
        )


def _unknown_keys(table: Mapping[str, Any], allowed: Any, where: str) -> None:
    for key in table:
        if key not in allowed:
            raise ConfigError(f'{where}: unknown key "{key}"{did_you_mean(key, list(allowed))}')


def _build(cls: type, table: Any, where: str) -> Any:
    """Check ``table`` against dataclass ``cls`` and construct it."""
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where}: expected a table, found {_kind(table)}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    _unknown_keys(table, [n for n in fields if n != "options"], where)
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for name, f in fields.items():
        if name in table:
            kwargs[name] = _convert(table[name], hints[name], f"{where}: {name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f'{where}: missing required key "{name}"')
    try:
        return cls(**kwargs)
    except _FieldError as exc:
        raise ConfigError(f"{where}: {exc.key}: {exc}") from None
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _hints(cls: type) -> dict[str, Any]:
    """The field types of dataclass ``cls`` (``typing.get_type_hints`` for its fields), each
    annotation text evaluated once per process. ``Secret`` is looked up only for an
    annotation that names it, so reading a config without secrets never imports it."""
    return {f.name: _annotation(f.type, cls.__module__) if isinstance(f.type, str) else f.type
            for f in dataclasses.fields(cls)}


@functools.cache
def _annotation(text: str, module: str) -> Any:
    namespace = dict(vars(sys.modules[module]))
    if "Secret" in text:
        from connectors.base import Secret

        namespace.setdefault("Secret", Secret)
    return eval(text, namespace)  # noqa: S307 - a dataclass annotation of our own code or a plugin's


def secrets_in(value: Any, *, masked: bool = False) -> list[Secret]:
    """Every secret in ``value``: a config, a section, a source's options; with ``masked``,
    only those whose values logs and messages hide (not a login name)."""
    found: list[Secret] = []
    secret = _secret_class()
    if secret is None:  # nothing has imported it: there is no Secret to find
        return found

    def walk(value: Any) -> None:
        if isinstance(value, secret):
            found.append(value)
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            for f in dataclasses.fields(value):
                if not masked or f.metadata.get("masked", True):
                    walk(getattr(value, f.name))
        elif isinstance(value, (tuple, list)):
            for item in value:
                walk(item)
        elif isinstance(value, Mapping):
            for item in value.values():
                walk(item)

    walk(value)
    return found


def unresolved_secrets(value: Any) -> list[str]:
    """Why each secret in ``value`` cannot be resolved right now (an unset environment
    variable, an unreadable file): one message per secret, in order."""
    return [message for message, _ in missing_secrets(value)]


def missing_secrets(value: Any) -> list[tuple[str, str]]:
    """:func:`unresolved_secrets` as ``(message, the message from its key on)`` pairs, the
    second for a line that already names the file and section; each secret read once."""
    from connectors.base import SecretMissing

    problems = []
    for secret in secrets_in(value):
        try:
            secret.reveal()
        except SecretMissing as exc:
            problems.append((str(exc), str(exc).removeprefix(f"{secret.section}: ")))
    return problems


def _secret_class() -> type | None:
    """``connectors.base.Secret`` if anything has imported it; until then no hint and no
    value can be one."""
    return getattr(sys.modules.get("connectors.base"), "Secret", None)


def _kind(value: Any) -> str:
    return {
        str: "a string", bool: "true/false", int: "a number", float: "a number",
        list: "a list", dict: "a table",
    }.get(type(value), type(value).__name__)


#: What ``{ env = "NAME" }`` may name: a shell variable name.
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _secret(value: Any, secret: type, where: str) -> Secret:
    """A secret setting's value as a ``Secret``. Whatever is wrong with it is described
    without its content: a value in the wrong place may well be the credential itself."""
    if isinstance(value, str):
        if not value.strip():  # as an empty variable or secret file is: sent, it would only be refused
            raise ConfigError(f'{where}: an empty string: give the credential, or {{ env = "NAME" }} / {{ file = "path" }}'
                              " (an optional one, such as [smtp] username, is left out instead)")
        return secret(value, where=where)
    if isinstance(value, Mapping) and len(value) == 1 and set(value) <= {"env", "file"}:
        (kind, ref), = value.items()
        if not isinstance(ref, str) or not ref:
            raise ConfigError(f'{where}: expected {{ env = "NAME" }} or {{ file = "path" }}, found {kind} = {_kind(ref)}')
        if kind == "file":
            return secret(file=Path(ref).expanduser(), where=where)  # as every Path setting
        if not _ENV_NAME.fullmatch(ref):
            raise ConfigError(
                f'{where}: env: "{_masked(ref)}" ({len(ref)} characters) is not an environment variable name'
                " (letters, digits and _, not starting with a digit): give the variable's name here,"
                ' e.g. { env = "X_BEARER_TOKEN" }, and put the credential in that variable'
            )
        return secret(env=ref, where=where)
    shown = "a table with other keys" if isinstance(value, Mapping) else _kind(value)  # its type, never its content
    raise ConfigError(f'{where}: expected {{ env = "NAME" }}, {{ file = "path" }} or a string, found {shown}')


def _masked(text: str) -> str:
    """At most the first 4 characters of ``text`` (a possible credential), the rest masked."""
    return text[:4] + "..." if len(text) > 6 else "..."


def _convert(value: Any, hint: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(options) == 1:
            return _convert(value, options[0], where)
        errors = []
        for option in options:
            try:
                return _convert(value, option, where)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0])

    def wrong(expected: str) -> ConfigError:
        return ConfigError(f"{where}: expected {expected}, found {_kind(value)} {value!r}")

    if hint is not None and hint is _secret_class():
        return _secret(value, hint, where)
    if hint is str:
        if not isinstance(value, str):
            raise wrong("a string")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise wrong("true or false")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise wrong("a whole number")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise wrong("a number")
        if not math.isfinite(value):  # nan and inf compare false (or win) in every check after this
            raise wrong("a finite number")
        return float(value)
    if hint is Path:
        if not isinstance(value, str) or not value:
            raise wrong("a path")
        return Path(value).expanduser()
    if hint is timedelta:
        if not isinstance(value, str):
            raise wrong('a duration such as "5m"')
        try:
            return parse_duration(value)
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    if hint is time:
        if isinstance(value, time):
            return value
        if isinstance(value, str):
            try:
                parsed = time.fromisoformat(value.strip())
            except ValueError:
                pass
            else:  # a local time: an offset would be silently ignored
                if parsed.tzinfo is None:
                    return parsed
                raise wrong('a local time of day such as "08:00" (no offset: [monitor] timezone applies)')
        raise wrong('a time of day such as "08:00"')
    if origin is tuple:
        (item,) = [a for a in typing.get_args(hint) if a is not Ellipsis]
        if isinstance(value, str):  # "acme, acme mobile" would silently be one keyword
            raise wrong(f"a list, e.g. [{json.dumps(value)}]")
        if not isinstance(value, list):
            raise wrong("a list")
        return tuple(_convert(v, item, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        key_type, value_type = typing.get_args(hint)
        if not isinstance(value, Mapping):
            raise wrong("a table")
        return {str(k): _convert(v, value_type, f"{where}.{k}") for k, v in value.items()}
    if origin is Literal:
        choices = typing.get_args(hint)
        if value not in choices:
            raise wrong("one of " + ", ".join(repr(c) for c in choices))
        return value
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, where)  # type: ignore[arg-type]
    if hint is Any:
        return value
    raise TypeError(  # a plugin's Options: named by _with_plugin_options, which says where
        f'unsupported field type {hint!r} for "{where.rpartition(": ")[2]}" (the config reads str, int, float,'
        " bool, Path, timedelta, time, Secret, tuple[X, ...], dict[str, X], Literal[...] and X | None)"
    )
