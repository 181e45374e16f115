"""Config loading: every kind of error names the file, the key and what is wrong."""

from __future__ import annotations

from datetime import time, timedelta
from pathlib import Path

import pytest

from connectors.base import Secret, SecretMissing
from monitor import config
from monitor.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
#: A minimal valid [smtp] (with the recipients it needs); keys may follow.
SMTP = '[digest]\nrecipients = ["t@example.com"]\n[smtp]\nhost = "h"\nsender = "s@example.com"\n'


def load_error(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        config.load(path)
    return str(caught.value)


def test_valid_config_loads_with_durations_times_and_secrets(write_config):
    path = write_config(
        """
        [[sources]]
        name = "replay"
        platform = "jsonl"
        brand = "acme"
        every = "1h30m"
        path = "saved.jsonl"

        [digest]
        send_at = "07:45"
        recipients = ["a@example.com"]

        [smtp]
        host = "mail.example.com"
        sender = "monitor@example.com"
        username = { env = "SMTP_USER" }
        password = { file = "smtp-password.txt" }
        """
    )
    loaded = config.load(path)
    source = loaded.source("replay")
    assert source.every == timedelta(hours=1, minutes=30)
    assert source.options.path == "saved.jsonl"
    assert loaded.digest.send_at == time(7, 45)
    assert isinstance(loaded.smtp.username, Secret)
    assert loaded.smtp.username.env == "SMTP_USER"
    assert [b.name for b in loaded.brands] == ["Acme", "Globex"]
    assert "@acmesupport" in loaded.brand_terms()


def test_invalid_toml_names_file_and_line(write_config):
    path = write_config("[sentiment\nclassifier = 'vader'\n", base=False)
    message = load_error(path)
    assert str(path) in message
    assert "invalid TOML" in message and "line 1" in message


def test_unknown_key_suggests_the_right_one(write_config):
    path = write_config("[sentiment]\npositive_treshold = 0.1\n")
    message = load_error(path)
    assert str(path) in message
    assert '[sentiment]: unknown key "positive_treshold" (did you mean "positive_threshold"?)' in message


def test_unknown_top_level_section(write_config):
    assert 'unknown key "brand" (did you mean "brands"?)' in load_error(write_config("[brand]\nname='x'\n", base=False))


def test_unknown_source_option_is_checked_against_the_platform(write_config):
    path = write_config(
        """
        [[sources]]
        name = "replay"
        platform = "jsonl"
        paht = "saved.jsonl"
        """
    )
    message = load_error(path)
    assert '[[sources]] #1 ("replay"): unknown key "paht" (did you mean "path"?)' in message


def test_wrong_type_names_key_and_value(write_config):
    message = load_error(write_config("[sentiment]\npositive_threshold = 'high'\n"))
    assert "[sentiment]: positive_threshold: expected a number, found a string 'high'" in message


def test_a_string_where_a_list_belongs_is_an_error_not_one_item(write_config):
    message = load_error(write_config('[[brands]]\nname = "Acme"\nkeywords = "acme, acme mobile"\n'))
    assert 'keywords: expected a list, e.g. ["acme, acme mobile"], found a string' in message


@pytest.mark.parametrize(("entry", "message"), [
    ('name = "  "', '[[brands]] #1 ("  "): name: must not be empty'),
    ('name = "Initech"\nkeywords = ["initech", ""]', 'keywords[1]: "" names nothing'),
    ('name = "Initech"\nhandles = ["@"]', 'handles[0]: "@" names nothing'),  # X searched for a bare "@"
    ('name = "Initech"\nexclude = [" "]', 'exclude[0]: " " names nothing'),
])
def test_a_brand_name_or_term_that_names_nothing_is_refused(write_config, entry, message):
    assert message in load_error(write_config(f"[[brands]]\n{entry}\n", base=False))


@pytest.mark.parametrize(("entry", "message"), [
    ('name = " "\nplatform = "hackernews"', '[[sources]] #1 (" "): name: must not be empty'),
    ('name = "feed"\nplatform = "jsonl"\npath = ""', 'path: must not be empty'),  # was the working directory
    ('name = "x"\nplatform = "x"\nbearer_token = " "',
     'bearer_token: an empty string: give the credential, or { env = "NAME" } / { file = "path" }'
     " (an optional one, such as [smtp] username, is left out instead)"),
])
def test_a_source_setting_left_blank_is_refused(write_config, entry, message):
    assert message in load_error(write_config(f"[[sources]]\n{entry}\n"))


def test_a_time_of_day_with_an_offset_is_refused_not_ignored(write_config):
    message = load_error(write_config('[digest]\nsend_at = "08:00+02:00"\n'))
    assert "[digest]: send_at: expected a local time of day such as \"08:00\" (no offset: [monitor] timezone" in message


def test_bad_duration(write_config):
    path = write_config(
        """
        [[sources]]
        name = "replay"
        platform = "jsonl"
        path = "x.jsonl"
        every = "5 minutes"
        """
    )
    message = load_error(path)
    assert 'every: \'5 minutes\' is not a duration such as 30s, 5m' in message


@pytest.mark.parametrize("platform", ["jsonl", "demo"])
@pytest.mark.parametrize("value", [0, -1])
def test_replay_record_budget_must_be_at_least_one_like_page_budgets(write_config, platform, value):
    file = 'path = "x.jsonl"\n' if platform == "jsonl" else ""
    path = write_config(f'[[sources]]\nname = "replay"\nplatform = "{platform}"\n{file}max_per_poll = {value}\n')
    assert '[[sources]] #1 ("replay"): max_per_poll: must be at least 1' in load_error(path)
    pages = write_config(f'[[sources]]\nname = "hn"\nplatform = "hackernews"\nmax_pages = {value}\n', name="hn.toml")
    assert '[[sources]] #1 ("hn"): max_pages: must be at least 1' in load_error(pages)


@pytest.mark.parametrize("platform, keys", [
    ("facebook", 'page_id = "1"\naccess_token = "t"\n'), ("instagram", 'user_id = "1"\naccess_token = "t"\n'),
    ("jsonl", 'path = "x.jsonl"\n'), ("demo", ""),
])
def test_a_query_on_a_platform_that_searches_nothing_is_refused_not_ignored(write_config, platform, keys):
    # A Page, an account or a file is read whole: a query there filtered nothing, silently.
    path = write_config(f'[[sources]]\nname = "s"\nplatform = "{platform}"\nquery = "refund"\n{keys}')
    assert load_error(path).endswith(
        f'[[sources]] #1 ("s"): query: {platform} sources take no query (nothing is searched there:'
        " everything is read); remove it")
    assert config.load(write_config(f'[[sources]]\nname = "s"\nplatform = "{platform}"\n{keys}', name="ok.toml"))



def test_an_rss_query_without_only_matching_is_refused_not_ignored(write_config):
    # The feed was read whole: the query filtered nothing, silently.
    path = write_config('[[sources]]\nname = "news"\nplatform = "rss"\nurl = "https://n.example/f.xml"\n'
                        'query = "acme recall"\n')
    assert load_error(path).endswith(
        '[[sources]] #1 ("news"): query: rss sources use a query only with only_matching = true; set it,'
        " or remove the query")
    assert config.load(write_config(path.read_text() + "only_matching = true\n", base=False, name="ok.toml"))


#: A source of each searching platform, with its required keys, and neither brand nor query.
SEARCHING = {
    "x": 'bearer_token = "t"', "reddit": 'client_id = "i"\nclient_secret = "s"\nuser_agent = "python:a.b:v1 (by /u/me)"',
    "mastodon": "", "bluesky": 'handle = "a.bsky.social"\napp_password = "p"', "hackernews": "",
    "rss": 'url = "https://n.example/f.xml"\nonly_matching = true',
}


@pytest.mark.parametrize("platform", SEARCHING)
def test_a_searching_source_without_a_brand_or_a_query_fails_init_naming_it(cli, write_config, platform):
    # It passed init and failed every poll as bad_query ("the query is empty").
    path = write_config(f'[[sources]]\nname = "s"\nplatform = "{platform}"\n{SEARCHING[platform]}\n')
    result = cli("--config", path, "init")
    assert (result.exit_code, result.stderr) == (1, f'Error: {path}: [[sources]] #1 ("s"): {platform} sources need a brand'
                                                    " or a query: there are no terms to search for\n")
    blank = write_config(path.read_text() + 'query = " "\n', base=False, name="blank.toml")
    assert load_error(blank).endswith(f'[[sources]] #1 ("s"): query: is empty; write the {platform} query,'
                                      " or remove it to use the brand's terms")
    for fixed in ('brand = "Acme"', 'query = "acme"'):
        assert config.load(write_config(path.read_text() + fixed + "\n", base=False, name="ok.toml"))


def test_missing_required_key(write_config):
    message = load_error(write_config('[[sources]]\nname = "replay"\nplatform = "jsonl"\n'))
    assert '[[sources]] #1 ("replay"): missing required key "path"' in message


def test_unknown_platform_suggests(write_config):
    message = load_error(write_config('[[sources]]\nname = "r"\nplatform = "jsnl"\n'))
    assert 'platform: unknown platform "jsnl" (did you mean "jsonl"?)' in message


def test_source_brand_must_exist(write_config):
    path = write_config('[[sources]]\nname = "r"\nplatform = "demo"\nbrand = "Acmee"\n')
    assert 'brand: no [[brands]] entry is named "Acmee" (did you mean "Acme"?)' in load_error(path)


def test_duplicate_source_names(write_config):
    path = write_config('[[sources]]\nname = "d"\nplatform = "demo"\n[[sources]]\nname = "d"\nplatform = "demo"\n')
    assert '[[sources]] #2 ("d"): name: another source already has this name' in load_error(path)


def test_bad_timezone_and_thresholds(write_config):
    path = write_config('[monitor]\ntimezone = "Mars/Olympus"\n', base=False)
    assert '[monitor]: timezone: unknown time zone "Mars/Olympus"' in load_error(path)
    path = write_config("[sentiment]\npositive_threshold = -0.5\nnegative_threshold = 0.5\n")
    assert "negative_threshold: thresholds must satisfy" in load_error(path)


def test_missing_file():
    assert "nope.toml: config file not found" in load_error(Path("nope.toml"))


def test_secret_from_env_is_resolved_late_and_names_the_variable(write_config, monkeypatch):
    monkeypatch.delenv("SMTP_PASSWORD", raising=False)
    path = write_config(SMTP + 'password = { env = "SMTP_PASSWORD" }\n')
    loaded = config.load(path)  # loading does not need the secret yet
    with pytest.raises(SecretMissing) as caught:
        loaded.smtp.password.reveal()
    assert str(path) in str(caught.value)
    assert "[smtp]: password: environment variable SMTP_PASSWORD is not set" in str(caught.value)
    monkeypatch.setenv("SMTP_PASSWORD", "hunter2")
    assert loaded.smtp.password.reveal() == "hunter2"


def test_secret_never_shows_its_value(write_config, tmp_path):
    (tmp_path / "token.txt").write_text("s3cr3t-value\n")
    path = write_config(SMTP + f'password = {{ file = "{tmp_path / "token.txt"}" }}\n')
    secret = config.load(path).smtp.password
    assert secret.reveal() == "s3cr3t-value"
    assert "s3cr3t" not in repr(secret) and "s3cr3t" not in str(secret)
    assert "s3cr3t" not in repr(config.load(path))


def test_secret_reference_must_be_env_or_file(write_config):
    path = write_config('[smtp]\nhost = "h"\nsender = "s"\npassword = { vault = "x" }\n')
    assert 'password: expected { env = "NAME" }, { file = "path" } or a string' in load_error(path)


def test_default_search_order(tmp_path, monkeypatch, write_config):
    assert config.load().path is None  # nothing here: the embedded default
    local = tmp_path / "config" / "monitor.toml"
    local.parent.mkdir()
    local.write_text('[monitor]\ndatabase = "local.db"\n')
    assert config.load().path == Path("config/monitor.toml")
    monkeypatch.setenv(config.ENV_VAR, str(write_config()))
    assert config.load().path == tmp_path / "monitor.toml"


def test_shipped_default_is_the_embedded_default_and_runs_offline():
    shipped = (REPO / "config" / "monitor.toml").read_text(encoding="utf-8")
    assert shipped == config.embedded_default_text()
    loaded = config.parse(shipped, None)
    enabled = [s for s in loaded.sources if s.enabled]
    assert [s.platform for s in enabled] == ["demo"]


def test_example_config_is_valid():
    loaded = config.load(REPO / "config" / "example.toml")
    assert loaded.sources, "the example shows sources"


def test_alerts_section_defaults_and_checks(write_config):
    loaded = config.load(write_config('[alerts]\nk = 2.5\ncooldown = "90m"\nchannels = ["email"]\n'))
    assert (loaded.alerts.k, loaded.alerts.cooldown, loaded.alerts.min_count) == (2.5, timedelta(minutes=90), 3)
    assert config.load(write_config()).alerts.channels == ("email",)
    assert "[alerts]: channels[0]: expected one of 'email', 'webhook'" in load_error(
        write_config('[alerts]\nchannels = ["pager"]\n'))
    assert "[alerts]: k: must be greater than 0" in load_error(write_config("[alerts]\nk = 0\n"))
    assert '[smtp]: unknown key "ca_fil" (did you mean "ca_file"?)' in load_error(
        write_config('[smtp]\nhost = "h"\nsender = "s@example.com"\nca_fil = "x"\n'))


def test_thresholds_default_per_classifier(write_config):
    from monitor.config import load
    from monitor.ingest import build_classifier
    from sentiment.base import Thresholds

    assert build_classifier(load(write_config())).thresholds == Thresholds(0.35, -0.10)
    stock = load(write_config('[sentiment]\nclassifier = "vader-stock"\n'))
    assert build_classifier(stock).thresholds == Thresholds(0.05, -0.05)
    one = load(write_config("[sentiment]\nnegative_threshold = -0.3\n"))
    assert build_classifier(one).thresholds == Thresholds(0.35, -0.3)  # the other from vader's default
    # the configured thresholds belong to the configured classifier, not to another one named
    assert build_classifier(one, "vader-stock").thresholds == Thresholds(0.05, -0.05)


def test_one_threshold_crossing_the_default_other(write_config):
    message = load_error(write_config("[sentiment]\nnegative_threshold = 0.5\n"))
    assert "[sentiment]: negative_threshold: thresholds must satisfy" in message
    assert "vader's default" in message


def test_classifier_options_are_checked_against_its_options(write_config):
    message = load_error(write_config('[sentiment]\nclassifier = "vader"\nmodel = "x"\n'))
    assert '[sentiment]: unknown key "model"' in message
    message = load_error(write_config('[sentiment]\nclassifier = "vadr"\n'))
    assert 'classifier: unknown classifier "vadr" (did you mean "vader"?)' in message


@pytest.mark.parametrize(("table", "key", "value"), [
    ("alerts", "k", "nan"), ("alerts", "k", "inf"), ("insights", "min_lift", "nan"),
    ("kpi.targets", "resolution_hours", "inf"), ("kpi.targets", "nps", "-inf"),
    ("alerts", "webhook_timeout", "nan"), ("sentiment", "negative_threshold", "nan"),
])
def test_no_float_setting_is_nan_or_infinite(write_config, table, key, value):
    where = "[kpi]: targets" if table == "kpi.targets" else f"[{table}]"
    assert f"{where}: {key}: expected a finite number, found a number {value}" in load_error(
        write_config(f"[{table}]\n{key} = {value}\n"))


def test_nan_in_a_source_option_is_refused_by_the_same_rule(write_config):
    message = load_error(write_config('[[sources]]\nname = "r"\nplatform = "rss"\nurl = "https://e.org/f"\ntimeout = nan\n'))
    assert '[[sources]] #1 ("r"): timeout: expected a finite number, found a number nan' in message


@pytest.mark.parametrize("value", ["0", "-1", "0.0"])
def test_delivery_timeouts_must_be_positive(write_config, value):
    assert "[alerts]: webhook_timeout: must be more than 0 seconds" in load_error(
        write_config(f"[alerts]\nwebhook_timeout = {value}\n"))
    assert "[smtp]: timeout: must be more than 0 seconds" in load_error(write_config(f"{SMTP}timeout = {value}\n"))


@pytest.mark.parametrize("value", ["0", "-1"])
def test_drop_min_baseline_must_be_positive(write_config, value):
    assert "[alerts]: drop_min_baseline: must be greater than 0" in load_error(
        write_config(f"[alerts]\ndrop_min_baseline = {value}\n"))


@pytest.mark.parametrize("port", [0, -1, 65536, 99999])
def test_smtp_port_is_a_tcp_port(write_config, port):
    assert "[smtp]: port: must be between 1 and 65535" in load_error(write_config(f"{SMTP}port = {port}\n"))


def test_smtp_ca_file_must_be_a_readable_pem_bundle(write_config, tmp_path, monkeypatch):
    message = load_error(write_config(f'{SMTP}ca_file = "{tmp_path / "gone.pem"}"\n'))
    assert f"[smtp]: ca_file: cannot read {tmp_path / 'gone.pem'}: No such file or directory" in message
    (tmp_path / "notes.txt").write_text("not a certificate\n")
    assert "[smtp]: ca_file: notes.txt: no PEM certificate in it" in load_error(write_config(f'{SMTP}ca_file = "notes.txt"\n'))
    # relative paths are read from the working directory, like every path of the config
    monkeypatch.chdir(tmp_path / "..")
    message = load_error(write_config(f'{SMTP}ca_file = "notes.txt"\n'))
    assert "cannot read notes.txt: No such file or directory (a relative path is read from the working directory" in message


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("sender", '"not an address"', '[smtp]: sender: "not an address" is not an e-mail address such as "name@example.com"'),
    ("sender", '"Monitor <m@example.com>"', 'is not an e-mail address such as "name@example.com" (did you mean "m@example.com"?)'),
    ("sender", '"m@example.com\\r\\nBcc: x@example.com"', '[smtp]: sender: "m@example.com\\r\\nBcc: x@example.com" must not contain a line break'),
])
def test_smtp_sender_is_one_bare_address(write_config, key, value, expected):
    path = write_config(SMTP.replace('sender = "s@example.com"', f"{key} = {value}"))
    message = load_error(path)
    assert expected in message and "\n" not in message


@pytest.mark.parametrize(("section", "value", "expected"), [
    ("digest", '["ok@example.com", "not-an-email"]', '[digest]: recipients[1]: "not-an-email" is not an e-mail address'),
    ("digest", '["a@x.example\\r\\nBcc: y@z.example"]', '[digest]: recipients[0]: "a@x.example\\r\\nBcc: y@z.example" must not contain a line break'),
    ("alerts", '["a@example.com, b@example.com"]', "[alerts]: recipients[0]: \"a@example.com, b@example.com\" holds several addresses"),
    ("digest", '["leads@bücher.example"]', '[digest]: recipients[0]: "leads@bücher.example" has non-ASCII characters:'
     ' SMTP here carries ASCII addresses only (the domain\'s ASCII form: "leads@xn--bcher-kva.example")'),
    ("digest", '["a@example.com", "b@example.com", "A@Example.com"]',
     '[digest]: recipients[2]: "A@Example.com" is recipients[0] again: list each address once'),
])
def test_recipients_are_single_addresses(write_config, section, value, expected):
    assert expected in load_error(write_config(f"[{section}]\nrecipients = {value}\n"))


def test_digest_needs_recipients_only_when_it_is_sent_by_smtp(write_config):
    assert config.load(write_config("[digest]\nrecipients = []\n")).digest.recipients == ()  # written as files
    message = load_error(write_config('[digest]\nrecipients = []\n[smtp]\nhost = "h"\nsender = "s@example.com"\n'))
    assert "[digest]: recipients: [smtp] is set, so the digest is sent by e-mail: list at least one address" in message
    assert "[digest]: recipients: [smtp] is set" in load_error(write_config('[smtp]\nhost = "h"\nsender = "s@example.com"\n'))


def test_init_refuses_a_bad_delivery_setting_in_one_line(cli, write_config):
    path = write_config(f"{SMTP}timeout = 0\n")
    result = cli("--config", path, "init")
    assert result.exit_code == 1
    assert result.output == f"Error: {path}: [smtp]: timeout: must be more than 0 seconds\n"


def test_starttls_is_on_unless_ssl_and_both_together_are_refused(write_config):
    assert config.load(write_config('[smtp]\nhost = "h"\nsender = "a@example.com"\n[digest]\nrecipients = ["b@example.com"]\n')).smtp.starttls is True
    with pytest.raises(ConfigError, match="set either ssl = true .port 465. or starttls = true, not both"):
        config.load(write_config('[smtp]\nhost = "h"\nsender = "a@example.com"\nssl = true\nstarttls = true\n'
                                 '[digest]\nrecipients = ["b@example.com"]\n'))


@pytest.mark.parametrize("value, found", [
    ('{ value = "AAAA1234SECRETTOKEN" }', "found a table with other keys"),
    ("987654321", "found a number"),
    ('["hunter2pass"]', "found a list"),
    ("{ env = 987654321 }", "found env = a number"),
])
def test_a_secret_settings_wrong_value_is_described_by_its_type_only(cli, write_config, value, found):
    path = write_config(SMTP + f"password = {value}\n")
    result = cli("--config", path, "init")
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {path}: [smtp]: password: expected ")
    assert found in result.output
    for content in ("SECRETTOKEN", "987654321", "hunter2pass"):
        assert content not in result.output


def test_a_credential_pasted_as_the_variable_name_is_refused_without_echoing_it(cli, write_config):
    token = "AAAAAAAAAAAAAAAAAAAAAMLheAAAAAAA0%2BuSeid%2BULvsea4JtiGRiSDSJSI%3DEUifiRBkKG5E2Xz"
    path = write_config(f'[[sources]]\nname = "x"\nplatform = "x"\nbrand = "Acme"\nbearer_token = {{ env = "{token}" }}\n')
    result = cli("--config", path, "init")
    assert result.exit_code == 1
    assert result.output == (
        f'Error: {path}: [[sources]] #1 ("x"): bearer_token: env: "AAAA..." ({len(token)} characters) is not an'
        " environment variable name (letters, digits and _, not starting with a digit): give the variable's"
        ' name here, e.g. { env = "X_BEARER_TOKEN" }, and put the credential in that variable\n'
    )
    assert "AAAAA" not in result.output
