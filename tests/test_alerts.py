"""The spike rule (numbers checked by hand), its replay, and delivery by email and webhook."""

from __future__ import annotations

import csv
import email
import io
import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from email.policy import default
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from factories import closed_at_end, local_smtp, record, scored, write_jsonl
from mailserver import Handler, PasswordCheck, Webhook, smtp_server, webhook_server
from monitor import alerts
from monitor import config as config_module
from monitor.errors import ConfigError
from monitor.storage import Store
from monitor.timeutil import from_db, to_db

H = datetime(2026, 3, 10, 10, tzinfo=timezone.utc)  # the hour judged
WEEK = timedelta(weeks=1)
HOUR = timedelta(hours=1)


def setup(write_config, extra: str = "") -> tuple[config_module.Config, Store]:
    config = config_module.load(write_config(extra))
    return config, closed_at_end(Store.open(config.monitor.database))


def fill(store: Store, hour: datetime, volume: int, negative: int, brand: str = "Acme", text: str = "acme",
         tag: str = "") -> None:
    items = [scored(f"{tag}{hour:%m%d%H}-{i}", text, at=hour + timedelta(minutes=i), brand=brand,
                    label="negative" if i < negative else "positive", likes=i) for i in range(volume)]
    store.mentions.upsert(items, hour)


def baseline(store: Store, volume: int, negative: int, weeks: int = 4) -> None:
    for week in range(1, weeks + 1):
        for d in (-1, 0, 1):
            fill(store, H - week * WEEK + d * HOUR, volume, negative)


def test_negative_count_and_ratio_thresholds_by_hand(write_config):
    config, store = setup(write_config)
    baseline(store, volume=10, negative=2)  # 12 baseline hours of 2 negatives in 10
    fill(store, H, volume=10, negative=9)
    count, ratio = alerts.replay(store, config, H, H + HOUR)
    assert (count.kind, count.observed, count.baseline) == ("negative_count", 9, 2)
    assert count.threshold == pytest.approx(2 + 3 * math.sqrt(2))  # MAD 0: the Poisson floor √2
    assert (ratio.kind, ratio.observed, ratio.baseline) == ("negative_ratio", 0.9, 0.2)
    p = 25 / 122  # (24 + 1) / (120 + 2)
    assert ratio.threshold == pytest.approx(0.2 + 3 * math.sqrt(p * (1 - p) / 10))
    text = count.describe(timezone.utc)
    assert text.startswith("Acme: 9 negative mentions Tue 10 Mar 10:00–11:00 UTC (of 10); baseline 2, threshold 6.2")
    assert "median of the same hour ±1h over 4 weeks" in text
    assert "baseline 20%, threshold 58%" in ratio.describe(timezone.utc)


def unsupported(store: Store, hour: datetime, n: int) -> None:
    """``n`` mentions in a language the classifier does not score, in ``hour``."""
    store.mentions.upsert([scored(f"u{hour:%m%d%H}-{i}", "acme", at=hour + timedelta(minutes=i), label="unsupported")
                           for i in range(n)], hour)


def test_the_negative_share_is_over_scored_mentions_as_in_summary(write_config):
    config, store = setup(write_config)
    baseline(store, volume=10, negative=2)  # 20% of the scored mentions, as before
    for week in range(1, 5):  # unsupported mentions beside them, which summary's share leaves out
        unsupported(store, H - week * WEEK, 30)
    fill(store, H, volume=10, negative=7)
    unsupported(store, H, 30)
    (ratio,) = [s for s in alerts.replay(store, config, H, H + HOUR) if s.kind == "negative_ratio"]
    assert (ratio.observed, ratio.baseline, ratio.volume, ratio.scored) == (0.7, 0.2, 40, 10)
    p = 25 / 122  # (24 + 1) / (120 + 2): the 120 scored baseline mentions, not the 240 stored
    assert ratio.threshold == pytest.approx(0.2 + 3 * math.sqrt(p * (1 - p) / 10))
    assert "70% negative Tue 10 Mar 10:00–11:00 UTC (7 of 10 scored mentions)" in ratio.describe(timezone.utc)
    assert "24 of 120 scored mentions" in ratio.describe(timezone.utc)


def test_mad_widens_the_threshold_for_a_noisy_history(write_config):
    config, store = setup(write_config)
    for week, negatives in zip(range(1, 5), (0, 4, 8, 12)):
        for d in (-1, 0, 1):
            fill(store, H - week * WEEK + d * HOUR, 20, negatives)
    # median 6, MAD 4: spread 1.4826 × 4 = 5.9 (more than √6), threshold 6 + 3 × 5.9 = 23.8
    fill(store, H, 20, 14)
    assert [s.kind for s in alerts.replay(store, config, H, H + HOUR)] == ["negative_ratio"]
    fill(store, H, 10, 10, tag="more")  # now 24 negatives
    (count,) = [s for s in alerts.replay(store, config, H, H + HOUR) if s.kind == "negative_count"]
    assert (count.observed, count.baseline) == (24, 6)
    assert count.threshold == pytest.approx(6 + 3 * 1.4826 * 4)


def test_floor_and_no_baseline(write_config):
    config, store = setup(write_config)
    fill(store, H - 2 * WEEK, 1, 0)  # history begins two weeks back; the baseline hours are empty
    fill(store, H, 2, 2)
    assert alerts.replay(store, config, H, H + HOUR) == []  # 2 < min_count 3
    fill(store, H + HOUR, 3, 3)
    (signal,) = [s for s in alerts.replay(store, config, H + HOUR, H + 2 * HOUR) if s.kind == "negative_count"]
    assert (signal.observed, signal.baseline, signal.threshold) == (3, 0, 3.0)
    assert "over 2 weeks" in signal.basis  # weeks before the first mention are not zeros


def test_weeks_before_history_are_not_counted_as_zero(write_config):
    config, store = setup(write_config)
    baseline(store, volume=2, negative=2, weeks=1)
    fill(store, H, 9, 9)
    (signal,) = [s for s in alerts.replay(store, config, H, H + HOUR) if s.kind == "negative_count"]
    assert signal.baseline == 2 and "over 1 week" in signal.basis


def test_cooldown_in_replay(write_config):
    config, store = setup(write_config)
    fill(store, H - 2 * WEEK, 1, 0)
    for i in range(5):
        fill(store, H + i * HOUR, 5, 5)
    fired = [s.hour for s in alerts.replay(store, config, H, H + 5 * HOUR) if s.kind == "negative_count"]
    assert fired == [H, H + 3 * HOUR]


def test_replay_keeps_the_cooldown_of_an_alert_fired_before_its_window(write_config):
    """As the daemon judges it: an alert at 23:00 keeps the same kind quiet at midnight, so a
    window (the digest's day, ``alerts test --since``) does not start with its cooldowns
    forgotten."""
    config, store = setup(write_config)
    fill(store, H - 2 * WEEK, 1, 0)
    for i in range(-2, 5):
        fill(store, H + i * HOUR, 5, 5)
    counts = [s.hour for s in alerts.replay(store, config, H - 2 * HOUR, H + 5 * HOUR) if s.kind == "negative_count"]
    assert counts == [H - 2 * HOUR, H + HOUR, H + 4 * HOUR]
    fired = [s.hour for s in alerts.replay(store, config, H, H + 5 * HOUR) if s.kind == "negative_count"]
    assert fired == [H + HOUR, H + 4 * HOUR]  # not H: the alert at H - 2h still keeps it quiet


def test_a_drop_to_zero_is_flagged_when_volume_was_expected(write_config):
    config, store = setup(write_config)
    baseline(store, volume=10, negative=0)
    fill(store, H - HOUR, 10, 0)  # the hour before had its mentions: no drop there, whose cooldown would cover H
    (signal,) = alerts.replay(store, config, H, H + HOUR)
    assert (signal.kind, signal.observed, signal.baseline, signal.threshold) == ("zero_volume", 0, 10, 5.0)
    assert "no mentions Tue 10 Mar 10:00–11:00 UTC; baseline 10 per hour" in signal.describe(timezone.utc)
    config = config_module.load(write_config("[alerts]\ndrop_min_baseline = 11\n"))
    assert alerts.replay(store, config, H, H + HOUR) == []


def test_competitors_are_not_alerted(write_config):
    config, store = setup(write_config)
    fill(store, H - 2 * WEEK, 1, 0)
    fill(store, H, 9, 9, brand="Globex", text="globex")
    assert alerts.replay(store, config, H, H + HOUR) == []


def test_alerts_test_on_the_offline_demo_shows_the_outage(cli):
    assert cli("poll").exit_code == 0
    rows = json.loads(cli("alerts", "test", "--since", "14d", "--format", "json").stdout)
    outage = [r for r in rows if r["brand"] == "Acme" and r["kind"] == "negative_count"]
    assert outage, rows
    assert {"observed", "baseline", "threshold", "message"} <= set(outage[0])
    table = cli("alerts", "test", "--since", "14d").output
    assert "negative_count" in table and "Rule: k=3, min_count=3, lookback_weeks=4" in table
    # CSV is for scripts, as JSON and `alerts list --format csv`: stored UTC hours (it wrote "Thu 2026-11-19 10:00")
    csv_rows = list(csv.DictReader(io.StringIO(cli("alerts", "test", "--since", "14d", "--format", "csv").stdout)))
    assert [(r["hour"], r["kind"], float(r["observed"])) for r in csv_rows] == [
        (r["hour"], r["kind"], r["observed"]) for r in rows]


def alert_config(write_config, port: int, hook: Webhook, extra: str = "", smtp: str = "") -> str:
    return write_config(f"""{local_smtp(port)}{smtp}
        [alerts]
        channels = ["email", "webhook"]
        webhook_url = {{ env = "TEST_WEBHOOK_URL" }}
        {extra}
        """)


@contextmanager
def spike_to_deliver(
    write_config, monkeypatch, handler: Handler, hook: Webhook
) -> Iterator[tuple[config_module.Config, Store, Webhook]]:
    """A local SMTP server and webhook, a config that sends to both, and a spike (:func:`spiked`) to deliver."""
    with smtp_server(handler) as port, webhook_server(hook) as served:
        monkeypatch.setenv("TEST_WEBHOOK_URL", served.url)
        config = config_module.load(alert_config(write_config, port, served))
        yield config, spiked(config), served


def spiked(config: config_module.Config) -> Store:
    """The config's store with 5 negatives in hour H after two quiet weeks: an alert at H + 1h."""
    store = closed_at_end(Store.open(config.monitor.database))
    fill(store, H - 2 * WEEK, 1, 0)
    fill(store, H, 5, 5)
    return store


def test_run_due_sends_by_email_and_webhook_once_with_cooldown(write_config, monkeypatch):
    handler = Handler()
    with smtp_server(handler) as port, webhook_server(Webhook()) as hook:
        monkeypatch.setenv("TEST_WEBHOOK_URL", hook.url)
        config = config_module.load(alert_config(write_config, port, hook))
        store = closed_at_end(Store.open(config.monitor.database))
        baseline(store, volume=10, negative=2)
        fill(store, H, 10, 9, text="acme <!channel> & <script>x</script>\r\nBcc: evil@example.com")
        (result,) = alerts.run_due(store, config, H + HOUR + timedelta(minutes=5))
        assert (result.brand, result.kinds, result.sent, result.pending) == (
            "Acme", ["negative_count", "negative_ratio"], ["email", "webhook"], [])
        assert alerts.run_due(store, config, H + HOUR + timedelta(minutes=20)) == []  # same hour: nothing new
        fill(store, H + HOUR, 10, 9)
        assert alerts.run_due(store, config, H + 2 * HOUR + timedelta(minutes=5)) == []  # cooldown 3h
        rows = store.alerts.between(H, H + 3 * HOUR)
        assert [(r["kind"], r["observed"], r["baseline"], r["sent"]) for r in rows] == [
            ("negative_count", 9, 2, "email,webhook"), ("negative_ratio", 0.9, 0.2, "email,webhook")]
        (body,) = hook.bodies
        assert "Acme: 9 negative mentions" in body["text"] and "baseline 2, threshold 6.2" in body["text"]
        assert "&lt;!channel&gt; &amp; &lt;script&gt;" in body["text"] and "<!channel>" not in body["text"]
        (mail,) = handler.received
        head = mail.data.partition(b"\r\n\r\n")[0]
        assert b"Bcc" not in head and b"evil@" not in head
        message = email.message_from_bytes(mail.data, policy=default)
        assert message["Subject"] == ("[sentiment-monitor] Acme: negative spike, negative share spike"
                                      " at Tue 10 Mar 10:00")
        assert "threshold 6.2" in message.get_content()


@pytest.mark.parametrize("status", [503, 429, 408])  # 408: the server timed out waiting (was failed for good)
def test_webhook_failure_is_retried_later_and_the_token_never_logged(write_config, monkeypatch, caplog, status):
    handler = Handler()
    with spike_to_deliver(write_config, monkeypatch, handler, Webhook(statuses=[status])) as (config, store, hook):
        now = H + HOUR + timedelta(minutes=1)
        (first,) = alerts.run_due(store, config, now)
        assert (first.sent, first.pending) == (["email"], ["webhook"])
        assert first.error == f"webhook: HTTP {status} error (will retry)"  # the channel named once
        assert alerts.run_due(store, config, now + timedelta(minutes=1)) == []  # waits 2 minutes
        (second,) = alerts.run_due(store, config, now + timedelta(minutes=2))
        assert (second.sent, second.pending) == (["email", "webhook"], [])
        assert {row["last_error"] for row in store.alerts.between(H, H + HOUR)} == {None}  # delivered: no stale error
        assert len(hook.bodies) == 1 and len(handler.received) == 1
        assert "secret-token" not in caplog.text and "secret-token" not in (first.error or "")


def test_a_webhook_reply_quoting_the_url_never_shows_its_token(write_config, monkeypatch):
    with spike_to_deliver(write_config, monkeypatch, Handler(), Webhook(statuses=[404], echo=True)) as (config, store, _):
        (result,) = alerts.run_due(store, config, H + HOUR + timedelta(minutes=1))
        assert result.error.startswith("webhook: failed: HTTP 404 no such hook ")
        assert "secret-token" not in result.error
        assert all("secret-token" not in (r["last_error"] or "") for r in store.alerts.between(H, H + HOUR))


def test_a_webhook_error_without_a_body_is_named_by_its_status_line(write_config, monkeypatch):
    with spike_to_deliver(write_config, monkeypatch, Handler(), Webhook(statuses=[500], empty=True)) as (config, store, _):
        (result,) = alerts.run_due(store, config, H + HOUR + timedelta(minutes=1))
        assert result.error == "webhook: HTTP 500 Internal Server Error (will retry)"


def test_a_webhook_redirect_that_would_turn_the_post_into_a_get_is_a_failure_not_a_delivery(write_config, monkeypatch):
    # An http:// URL redirected to https://, a hook that moved: requests would follow a 301, 302 or
    # 303 with a GET, without the alert, and take the page's 200 for a delivery.
    hook = Webhook(statuses=[301])
    with spike_to_deliver(write_config, monkeypatch, Handler(), hook) as (config, store, served):
        (result,) = alerts.run_due(store, config, H + HOUR + timedelta(minutes=1))
        assert (result.sent, result.pending) == (["email"], [])
        port = served.url.split(":")[2].split("/")[0]
        assert result.error == (f"webhook: failed: HTTP 301: webhook_url redirects to http://127.0.0.1:{port}/…;"
                                " set it to the address it leads to (a redirect would lose the alert)")
        assert hook.gets == [] and hook.bodies == []


@pytest.mark.parametrize("url", ["hooks.example.com/services/T0/B0/secret-token", "ftp://127.0.0.1/secret-token"])
def test_a_webhook_url_that_is_no_web_address_says_so_without_its_token(write_config, monkeypatch, url):
    with spike_to_deliver(write_config, monkeypatch, Handler(), Webhook()) as (config, store, _):
        monkeypatch.setenv("TEST_WEBHOOK_URL", url)  # read at each send
        (result,) = alerts.run_due(store, config, H + HOUR + timedelta(minutes=1))
        assert (result.sent, result.pending) == (["email"], [])
        # It said "webhook: failed: MissingSchema"
        assert result.error.startswith("webhook: failed: [alerts] webhook_url is not a web address to POST to (")
        assert result.error.endswith("): it must start with https://") and "secret-token" not in result.error


def test_a_webhook_redirect_that_keeps_the_post_is_followed(write_config, monkeypatch):
    hook = Webhook(statuses=[308])
    with spike_to_deliver(write_config, monkeypatch, Handler(), hook) as (config, store, _):
        (result,) = alerts.run_due(store, config, H + HOUR + timedelta(minutes=1))
        assert (result.sent, result.pending, result.error) == (["email", "webhook"], [], None)
        assert len(hook.bodies) == 1


def test_a_webhook_that_does_not_answer_in_time_is_named_with_the_timeout_setting_and_not_repeated(
        write_config, monkeypatch):
    import socket

    handler = Handler()
    with smtp_server(handler) as port, socket.create_server(("127.0.0.1", 0)) as silent:  # takes it, never answers
        hook = Webhook(url=f"http://127.0.0.1:{silent.getsockname()[1]}/services/T000/B000/secret-token")
        monkeypatch.setenv("TEST_WEBHOOK_URL", hook.url)
        config = config_module.load(alert_config(write_config, port, hook, extra="webhook_timeout = 0.5"))
        store = spiked(config)
        (result,) = alerts.run_due(store, config, H + HOUR + timedelta(minutes=1))
        assert (result.sent, result.pending) == (["email"], [])
        assert result.error == ("webhook: unknown: no answer within 0.5s ([alerts] webhook_timeout)"
                                " after the alert was sent")


def test_a_channel_that_failed_for_good_stays_explained_after_the_other_is_delivered(write_config, monkeypatch):
    handler = Handler(script=["554 5.7.1 message refused; policy violation"])
    with spike_to_deliver(write_config, monkeypatch, handler, Webhook(statuses=[503])) as (config, store, _hook):
        now = H + HOUR + timedelta(minutes=1)
        (first,) = alerts.run_due(store, config, now)
        assert (first.sent, first.pending) == ([], ["webhook"])
        (second,) = alerts.run_due(store, config, now + timedelta(minutes=2))
        assert (second.sent, second.pending) == (["webhook"], [])
        (error,) = {row["last_error"] for row in store.alerts.between(H, H + HOUR)}
        assert error.startswith("email: failed: ") and error.endswith("message refused; policy violation")


def test_an_alert_email_a_recipient_was_refused_says_so_after_the_other_channel_is_delivered(
        write_config, monkeypatch, caplog):
    handler = Handler(refuse={"bad@example.com": "550 5.1.1 no such user"})
    with smtp_server(handler) as port, webhook_server(Webhook(statuses=[503])) as hook:
        monkeypatch.setenv("TEST_WEBHOOK_URL", hook.url)
        path = alert_config(write_config, port, hook)
        path.write_text(path.read_text().replace('["leads@example.com"]', '["leads@example.com", "bad@example.com"]'))
        config = config_module.load(path)
        store = spiked(config)
        now = H + HOUR + timedelta(minutes=1)
        (first,) = alerts.run_due(store, config, now)
        refused = ("email: sent, but the server refused bad@example.com (550 5.1.1 no such user):"
                   " not delivered to them, not retried")
        assert (first.sent, first.pending) == (["email"], ["webhook"])
        assert first.error == f"{refused}; webhook: HTTP 503 error (will retry)"
        assert "sent by email, but the server refused bad@example.com" in caplog.text
        (second,) = alerts.run_due(store, config, now + timedelta(minutes=2))
        assert (second.sent, second.pending, second.error) == (["email", "webhook"], [], refused)
        assert {row["last_error"] for row in store.alerts.between(H, H + HOUR)} == {refused}
    assert [r.recipients for r in handler.received] == [["leads@example.com"]]


def test_smtp_without_recipients_fails_the_email_without_a_connection(write_config, monkeypatch):
    # The config refuses [smtp] with no recipients at load; the send path says so too.
    import copy
    from dataclasses import replace

    handler = Handler()
    with spike_to_deliver(write_config, monkeypatch, handler, Webhook()) as (config, store, hook):
        nobody = replace(config, alerts=copy.copy(config.alerts), digest=copy.copy(config.digest))
        object.__setattr__(nobody.alerts, "recipients", ())
        object.__setattr__(nobody.digest, "recipients", ())
        (result,) = alerts.run_due(store, nobody, H + HOUR + timedelta(minutes=1))
        assert (result.sent, result.pending) == (["webhook"], [])
        assert result.error == "email: failed: no recipients: set [alerts] recipients or [digest] recipients"
        assert len(hook.bodies) == 1
    assert handler.received == []


@pytest.mark.parametrize("recipients", ['[digest]\nrecipients = ["a@example.com"]\n', ""])
def test_without_smtp_alert_email_is_written_to_a_file(write_config, recipients):
    config, store = setup(write_config, recipients)
    fill(store, H - 2 * WEEK, 1, 0)
    fill(store, H, 5, 5)
    (result,) = alerts.run_due(store, config, H + HOUR)
    assert (result.sent, result.error) == (["email"], None)
    (path,) = (config.monitor.data_dir / "alerts").iterdir()
    assert "5 negative mentions" in email.message_from_bytes(path.read_bytes(), policy=default).get_content()


def test_webhook_channel_needs_a_url(write_config):
    with pytest.raises(ConfigError) as caught:
        config_module.load(write_config('[alerts]\nchannels = ["webhook"]\n'))
    assert "[alerts]: webhook_url:" in str(caught.value)


def test_an_unexpected_error_in_one_channel_keeps_the_other_channels_delivery(write_config, monkeypatch, caplog):
    import requests

    def broken_post(*args, **kwargs):
        raise ValueError("Attempted to set connect timeout to 0.0")

    handler = Handler()
    with spike_to_deliver(write_config, monkeypatch, handler, Webhook()) as (config, store, hook):
        monkeypatch.setattr(requests, "post", broken_post)
        now = H + HOUR + timedelta(minutes=1)
        (first,) = alerts.run_due(store, config, now)
        assert (first.sent, first.pending) == (["email"], ["webhook"])
        assert "webhook: ValueError: Attempted to set connect timeout to 0.0 (will retry)" in first.error
        rows = store.alerts.between(H, H + HOUR)
        assert {(r["sent"], r["pending"], r["attempts"]) for r in rows} == {("email", "webhook", 1)}
        assert "Traceback" in caplog.text  # an unexpected error: its traceback is logged
        monkeypatch.undo()
        monkeypatch.setenv("TEST_WEBHOOK_URL", hook.url)
        (second,) = alerts.run_due(store, config, now + timedelta(minutes=2))
        assert (second.sent, second.pending, second.error) == (["email", "webhook"], [], None)
        assert len(handler.received) == 1 and len(hook.bodies) == 1  # the email was not sent again


def test_a_channel_whose_secret_is_not_set_waits_for_it_without_using_up_attempts(write_config, monkeypatch):
    check = PasswordCheck("monitor", "s3cret")
    handler = Handler()
    with smtp_server(handler, auth_require_tls=False, authenticator=check) as port, \
            webhook_server(Webhook()) as hook:
        monkeypatch.delenv("TEST_WEBHOOK_URL", raising=False)
        monkeypatch.delenv("TEST_SMTP_PASSWORD", raising=False)
        config = config_module.load(alert_config(
            write_config, port, hook, smtp='username = "monitor"\npassword = { env = "TEST_SMTP_PASSWORD" }\n'))
        store = spiked(config)
        now = H + HOUR + timedelta(minutes=1)
        for later in range(0, 6 * 60, 60):  # hours of runs without the variables: nothing given up
            (result,) = alerts.run_due(store, config, now + timedelta(minutes=later))
            assert (result.sent, result.pending) == ([], ["email", "webhook"])
        email_error, webhook_error = result.error.split("; ")
        assert email_error.startswith("email: ") and email_error.endswith(
            "[smtp]: password: environment variable TEST_SMTP_PASSWORD is not set (will retry)")
        assert webhook_error.startswith("webhook: ") and webhook_error.endswith(
            "[alerts]: webhook_url: environment variable TEST_WEBHOOK_URL is not set (will retry)")
        assert {r["attempts"] for r in store.alerts.between(H, H + HOUR)} == {0}
        monkeypatch.setenv("TEST_SMTP_PASSWORD", "s3cret")
        monkeypatch.setenv("TEST_WEBHOOK_URL", hook.url)
        (result,) = alerts.run_due(store, config, now + timedelta(hours=7))
        assert (result.sent, result.pending, result.error) == (["email", "webhook"], [], None)
        assert len(handler.received) == 1 and len(hook.bodies) == 1 and check.seen[-1].endswith(":ok")


def test_an_authors_or_urls_line_breaks_write_no_lines_of_their_own_in_the_alert_email(write_config):
    config, store = setup(write_config)
    fill(store, H - 2 * WEEK, 1, 0)
    forged = "\n\nACTION REQUIRED: the monitor's SMTP password expired, renew it at https://evil.example\n"
    store.mentions.upsert([scored(f"f{i}", "acme awful", at=H + timedelta(minutes=i), label="negative",
                                  author=f"Telecoms Weekly{forged}", url=f"https://example.com/{i}{forged}")
                           for i in range(5)], H)
    (result,) = alerts.run_due(store, config, H + HOUR)
    assert result.sent == ["email"]
    (path,) = (config.monitor.data_dir / "alerts").iterdir()
    body = email.message_from_bytes(path.read_bytes(), policy=default).get_content()
    forged_lines = [line for line in body.splitlines() if "ACTION REQUIRED" in line]
    assert len(forged_lines) == 6, body  # 3 samples, each with its link
    assert all(line.startswith(("- [x] Telecoms Weekly ", "  https://example.com/")) for line in forged_lines), body


def test_a_sample_url_with_a_line_break_is_no_link_and_writes_no_line_of_its_own(write_config, monkeypatch):
    with smtp_server(Handler()) as port, webhook_server(Webhook()) as hook:
        monkeypatch.setenv("TEST_WEBHOOK_URL", hook.url)
        config = config_module.load(alert_config(write_config, port, hook))
        store = closed_at_end(Store.open(config.monitor.database))
        baseline(store, volume=10, negative=2)
        items = [scored(f"u{i}", "acme is down", at=H + timedelta(minutes=i), label="negative",
                        url="https://example.com/p\n*URGENT*refunds.at.https://evil.example") for i in range(9)]
        store.mentions.upsert(items, H)
        (result,) = alerts.run_due(store, config, H + HOUR + timedelta(minutes=5))
        assert "webhook" in result.sent
        (body,) = hook.bodies
        lines = body["text"].split("\n")
        assert not any(line.startswith("*URGENT") for line in lines), body["text"]
        assert "<https://example.com/p" not in body["text"]


def test_a_quiet_hour_next_to_where_history_began_is_no_drop_to_zero(write_config):
    config, store = setup(write_config)
    for d in range(4):  # history begins a week before, one hour after the hour judged: 10 an hour
        fill(store, H - WEEK + (1 + d) * HOUR, 10, 0)
    # 10:00 a week ago is before the first mention: only its neighbour 11:00 says anything
    assert [s.kind for s in alerts.replay(store, config, H, H + HOUR)] == []
    # 11:00, seen a week ago, empty now: a drop to zero
    assert [s.kind for s in alerts.replay(store, config, H + HOUR, H + 2 * HOUR)] == ["zero_volume"]


def test_alert_tables_name_the_zone_of_their_local_hours(cli, write_config):
    path = write_config()
    path.write_text(path.read_text().replace('timezone = "UTC"', 'timezone = "America/New_York"'))
    hour = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(hours=30)
    history = [record("old", "acme ok", hours_ago=24 * 8 + 30)]  # the rule needs an earlier week
    outage = [record(str(i), "acme is down again, terrible", created_at=to_db(hour + timedelta(minutes=i)))
              for i in range(9)]
    assert cli("--config", path, "import", write_jsonl(Path("m.jsonl"), history + outage)).exit_code == 0
    rows = json.loads(cli("--config", path, "alerts", "test", "--format", "json").stdout)
    assert [(r["hour"], r["kind"]) for r in rows][:1] == [(to_db(hour), "negative_count")]
    local = hour.astimezone(ZoneInfo("America/New_York"))
    # The table said "Sat 2026-11-21 19:00": 19:00 in which zone? (and twice in a row in the autumn)
    shown = cli("--config", path, "alerts", "test").output.splitlines()[2]
    assert shown.startswith(f"{local:%a %Y-%m-%d %H:%M} {local.tzname()}  Acme"), shown
    assert local.tzname() in ("EST", "EDT")


def two_recipients_spiked(write_config, monkeypatch, port: int, hook: Webhook) -> tuple[config_module.Config, Store]:
    monkeypatch.setenv("TEST_WEBHOOK_URL", hook.url)
    path = alert_config(write_config, port, hook)
    path.write_text(path.read_text().replace('["leads@example.com"]', '["leads@example.com", "ops@example.com"]'))
    config = config_module.load(path)
    return config, spiked(config)


def test_an_alert_email_deferred_for_one_recipient_reaches_it_at_the_retry_once(write_config, monkeypatch):
    handler = Handler(refuse_once={"ops@example.com": "452 4.5.3 Too many recipients"})
    with smtp_server(handler) as port, webhook_server(Webhook()) as hook:
        config, store = two_recipients_spiked(write_config, monkeypatch, port, hook)
        now = H + HOUR + timedelta(minutes=1)
        (first,) = alerts.run_due(store, config, now)
        assert (first.sent, first.pending) == (["webhook"], ["email"])
        assert first.error == "email: the server deferred ops@example.com (452 4.5.3 Too many recipients) (will retry)"
        assert alerts.run_due(store, config, now + timedelta(minutes=1)) == []  # waits 2 minutes
        (second,) = alerts.run_due(store, config, now + timedelta(minutes=2))
        assert (second.sent, second.pending, second.error) == (["email", "webhook"], [], None)
        assert alerts.run_due(store, config, now + timedelta(hours=1)) == []
        assert len(hook.bodies) == 1
    assert [r.recipients for r in handler.received] == [["leads@example.com"], ["ops@example.com"]]
    ids = {email.message_from_bytes(r.data, policy=default)["Message-ID"] for r in handler.received}
    assert len(ids) == 1


def every_try(store: Store, config: config_module.Config) -> tuple[datetime, list[alerts.AlertResult]]:
    """Run the alerts job an hour apart for as many tries as a channel has: when, and the results."""
    now, results = H + HOUR + timedelta(minutes=1), []
    for _ in range(alerts.channels.MAX_ATTEMPTS):
        results += alerts.run_due(store, config, now)
        now += timedelta(hours=1)
    return now, results


def test_an_alert_email_deferred_at_every_try_is_given_up_and_named(write_config, monkeypatch):
    handler = Handler(refuse={"ops@example.com": "450 4.2.1 Mailbox busy"})
    with smtp_server(handler) as port, webhook_server(Webhook()) as hook:
        config, store = two_recipients_spiked(write_config, monkeypatch, port, hook)
        now, results = every_try(store, config)
        assert [r.pending for r in results] == [["email"]] * (alerts.channels.MAX_ATTEMPTS - 1) + [[]]
        error = ("email: sent, but not delivered to ops@example.com: retry: recipients refused:"
                 " ops@example.com (450 4.2.1 Mailbox busy)")
        assert (results[-1].sent, results[-1].error) == (["email", "webhook"], error)
        assert {row["last_error"] for row in store.alerts.between(H, H + HOUR)} == {error}
        assert alerts.run_due(store, config, now) == []
    assert [r.recipients for r in handler.received] == [["leads@example.com"]]


def test_an_alert_email_every_recipient_refused_some_for_now_reaches_those_alone_at_the_retry(
        write_config, monkeypatch, cli):
    handler = Handler(refuse_once={"leads@example.com": "452 4.5.3 Too many recipients"},
                      refuse={"ops@example.com": "550 5.1.1 no such user"})
    refused = "email: the server refused ops@example.com (550 5.1.1 no such user): not delivered to them, not retried"
    with smtp_server(handler) as port, webhook_server(Webhook()) as hook:
        config, store = two_recipients_spiked(write_config, monkeypatch, port, hook)
        now = H + HOUR + timedelta(minutes=1)
        (first,) = alerts.run_due(store, config, now)
        assert (first.sent, first.pending) == (["webhook"], ["email"]) and handler.received == []
        assert first.error == (f"{refused}; email: the server deferred leads@example.com (452 4.5.3 Too many"
                               " recipients) (will retry)")
        (second,) = alerts.run_due(store, config, now + timedelta(minutes=2))
        assert (second.sent, second.pending, second.error) == (["email", "webhook"], [], refused)
        assert alerts.run_due(store, config, now + timedelta(hours=1)) == []
    assert [r.recipients for r in handler.received] == [["leads@example.com"]]


def test_an_alert_email_every_recipient_refused_the_ones_deferred_taken_off_the_list_reaches_the_list(
        write_config, monkeypatch):
    # No one has the email yet: with the deferred recipient taken off the list, the retry mails the
    # listed ones (it was taken for sent to no one: "the recipients it was deferred for are no longer listed").
    handler = Handler(refuse_once={"leads@example.com": "452 4.5.3 Too many recipients"},
                      refuse={"ops@example.com": "550 5.1.1 no such user"})
    with smtp_server(handler) as port, webhook_server(Webhook()) as hook:
        config, store = two_recipients_spiked(write_config, monkeypatch, port, hook)
        now = H + HOUR + timedelta(minutes=1)
        (first,) = alerts.run_due(store, config, now)
        assert (first.sent, first.pending) == (["webhook"], ["email"]) and handler.received == []
        object.__setattr__(config.alerts, "recipients", ("support@example.com",))  # the list, edited
        (second,) = alerts.run_due(store, config, now + timedelta(minutes=2))
        assert (second.sent, second.pending) == (["email", "webhook"], [])
    assert [r.recipients for r in handler.received] == [["support@example.com"]]


def test_an_alert_email_every_recipient_refused_some_for_now_at_every_try_is_not_taken_for_sent(
        write_config, monkeypatch):
    handler = Handler(refuse={"leads@example.com": "450 4.2.1 Mailbox busy", "ops@example.com": "550 5.1.1 no such user"})
    with smtp_server(handler) as port, webhook_server(Webhook()) as hook:
        config, store = two_recipients_spiked(write_config, monkeypatch, port, hook)
        _, results = every_try(store, config)
        assert (results[-1].sent, results[-1].pending) == (["webhook"], [])
        assert results[-1].error == ("email: the server refused ops@example.com (550 5.1.1 no such user): not"
                                     " delivered to them, not retried; email: retry: recipients refused:"
                                     " leads@example.com (450 4.2.1 Mailbox busy)")
    assert handler.received == []


def test_alerts_list_table_tells_who_is_retried_and_who_was_refused_in_full(write_config, monkeypatch, cli):
    # The table cut last_error to 50 characters: "email: the server refused bad@example.com (550 5.…"
    # said nothing of the recipient the email is mailed to again at the next try.
    handler = Handler(refuse_once={"ops@example.com": "452 4.5.3 Too many recipients"},
                      refuse={"bad@example.com": "550 5.1.1 no such user"})
    with smtp_server(handler) as port, webhook_server(Webhook()) as hook:
        monkeypatch.setenv("TEST_WEBHOOK_URL", hook.url)
        path = alert_config(write_config, port, hook)
        path.write_text(path.read_text().replace(
            '["leads@example.com"]', '["leads@example.com", "ops@example.com", "bad@example.com"]'))
        config = config_module.load(path)
        store = spiked(config)
        (first,) = alerts.run_due(store, config, H + HOUR + timedelta(minutes=1))
        assert (first.sent, first.pending) == (["webhook"], ["email"])
        store.close()
        out = cli("--config", path, "alerts", "list", "--since", "3650d").stdout
        details = out[out.index("\n\n"):]  # under the table, in full
        assert "Tue 2026-03-10 10:00 UTC Acme negative_count: sent webhook; pending email\n" in details
        assert "  to retry: ops@example.com\n" in details
        assert ("  last error: email: sent, but the server refused bad@example.com (550 5.1.1 no such user): not"
                " delivered to them, not retried; email: the server deferred ops@example.com (452 4.5.3 Too many recipients)"
                " (will retry)\n") in details
        listed = json.loads(cli("--config", path, "alerts", "list", "--since", "3650d", "--format", "json").stdout)
        assert {(r["deferred_to"], r["pending"]) for r in listed} == {("ops@example.com", "email")}  # as it was


def test_alerts_list_with_a_brand_nothing_matched_suggests_the_closest(write_config, monkeypatch, cli):
    # "--brand Acm" printed "(no alerts)" and nothing else: a typo looked like a quiet week.
    with spike_to_deliver(write_config, monkeypatch, Handler(), Webhook()) as (config, store, _):
        alerts.run_due(store, config, H + HOUR + timedelta(minutes=1))
        store.conn.execute("UPDATE alerts SET brand = 'Acme Retired' WHERE kind = 'negative_ratio'")
        store.conn.commit()
        store.close()
    path = config.path
    typo = cli("--config", path, "alerts", "list", "--since", "3650d", "--brand", "Acm")
    assert typo.exit_code == 0 and typo.stdout == "(no alerts)\n"
    assert typo.stderr == ('note: no alert is for brand "Acm" (did you mean "Acme"?)'
                           ' (brands: Acme, Acme Retired, Globex, service KPIs)\n')
    # A brand no longer configured, and the KPI alerts' brand, are looked for too.
    assert 'did you mean "Acme Retired"' in cli("--config", path, "alerts", "list", "--since", "3650d",
                                               "--brand", "acme retird").stderr
    assert 'did you mean "service KPIs"' in cli("--config", path, "alerts", "list", "--since", "3650d",
                                               "--brand", "service kpi", "--format", "json").stderr
    # A brand that matched says nothing more; so does one that simply has no alert in the window.
    assert cli("--config", path, "alerts", "list", "--since", "3650d", "--brand", "acme").stderr == ""
    assert cli("--config", path, "alerts", "list", "--since", "3650d", "--brand", "Globex").stderr == ""


@pytest.mark.parametrize("zone, begins", [
    ("Europe/London", datetime(2026, 3, 15, tzinfo=timezone.utc)),  # clocks go forward on 29 Mar
    ("America/New_York", datetime(2026, 10, 20, tzinfo=timezone.utc)),  # back on 1 Nov
    ("Australia/Lord_Howe", datetime(2026, 3, 22, tzinfo=timezone.utc)),  # back half an hour on 5 Apr
    ("Asia/Kolkata", datetime(2026, 3, 15, tzinfo=timezone.utc)),  # hours from :30 to :30
])
def test_alerts_test_shows_what_the_daemon_recorded_hour_by_hour(write_config, zone, begins):
    """The daemon's run_due, each hour over the stored history, records exactly the alerts
    replay (``alerts test``, the digest) finds for the last days, across a DST change."""
    import random

    text = write_config().read_text().replace('timezone = "UTC"', f'timezone = "{zone}"')
    config = config_module.load(write_config(text + '[alerts]\nlookback_weeks = 2\ncooldown = "2h"\n',
                                             base=False, name="zoned.toml"))
    store = closed_at_end(Store.open(config.monitor.database))
    rng = random.Random(zone)
    ends = begins + 3 * WEEK
    hours = [begins + i * HOUR for i in range(int((ends - begins) / HOUR))]
    for hour in hours:
        volume = rng.choice([0, 0, 2, 5, 8, 12])
        fill(store, hour, volume, volume if rng.random() < 0.1 else rng.randint(0, volume))
    for hour in hours:
        alerts.run_due(store, config, hour + HOUR + timedelta(minutes=1))
    fired = sorted({r["hour"] for r in store.alerts.between(ends - timedelta(days=9), ends, None)})
    assert len(fired) > 10
    # windows that begin where the daemon's cooldowns are running: an hour after an alert
    for since in [ends - timedelta(days=9), *(from_db(h) + HOUR for h in fired[::6])]:
        recorded = sorted((r["kind"], r["hour"]) for r in store.alerts.between(since, ends, None))
        replayed = sorted((s.kind, to_db(s.hour)) for s in alerts.replay(store, config, since, ends))
        assert replayed == recorded, since
