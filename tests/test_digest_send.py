"""Digest delivery against a real local SMTP server: once per date, retries, TLS, escaping."""

from __future__ import annotations

import copy
import email
import json
import os
import quopri
import signal
import subprocess
import sys
import threading
from datetime import date, datetime, timedelta, timezone
from email.policy import default
from pathlib import Path

import time_machine
from factories import closed_at_end, scored
from mailserver import Handler, PasswordCheck, self_signed, server_context, smtp_server
from monitor import config as config_module
from monitor import digest, mail
from monitor.digest.send import _pid_space  # the form claims are recorded in
from monitor.storage import Store

DAY = date(2026, 3, 10)
MORNING = datetime(2026, 3, 11, 9, 0, tzinfo=timezone.utc)  # after send_at 08:00: DAY is due


def smtp_config(write_config, port: int, extra: str = "", smtp: str = "starttls = false") -> Path:
    return write_config(f"""
        [digest]
        send_at = "08:00"
        recipients = ["leads@example.com"]

        [smtp]
        host = "127.0.0.1"
        port = {port}
        sender = "monitor@example.com"
        timeout = 5
        {smtp}
        {extra}
        """)


def seeded(path: Path) -> tuple[config_module.Config, Store]:
    config = config_module.load(path)
    store = closed_at_end(Store.open(config.monitor.database))
    at = datetime(2026, 3, 10, 12, tzinfo=timezone.utc)
    store.mentions.upsert([
        scored("1", "acme broke my router", at=at, label="negative"),
        scored("2", "acme is fine", at=at + timedelta(minutes=5), label="positive"),
    ], at)
    return config, store


def reopen(config: config_module.Config, store: Store) -> Store:
    """A restart: a new process opens the same database."""
    store.close()
    return closed_at_end(Store.open(config.monitor.database))


def test_one_digest_per_date_across_restarts(write_config):
    handler = Handler()
    with smtp_server(handler) as port:
        config, store = seeded(smtp_config(write_config, port))
        (first,) = digest.run_due(store, config, MORNING)
        assert (first.day, first.state, first.attempts) == ("2026-03-10", "sent", 1)
        for later in (MORNING + timedelta(minutes=1), MORNING + timedelta(hours=5)):
            store = reopen(config, store)
            assert digest.run_due(store, config, later) == []
        assert len(handler.received) == 1
        (got,) = handler.received
        assert got.recipients == ["leads@example.com"] and got.sender == "monitor@example.com"
        message = email.message_from_bytes(got.data, policy=default)
        assert message["Message-ID"] == first.message_id
        assert message["Date"].endswith(" +0000")  # UTC, said so ("-0000" means "zone unknown")
        assert message["Subject"].startswith("Daily digest Tue 10 Mar 2026: Acme 2 mentions, 50% negative")
        # The next morning brings the next day's digest, once.
        (second,) = digest.run_due(store, config, MORNING + timedelta(days=1))
        assert second.day == "2026-03-11" and len(handler.received) == 2


def test_restart_catches_up_once_with_the_latest_day_only(write_config):
    handler = Handler()
    with smtp_server(handler) as port:
        config, store = seeded(smtp_config(write_config, port))
        assert digest.run_due(store, config, MORNING - timedelta(hours=2)) != []  # 07:00: the day before
        # Down for three days; back at 10:00 on the 14th: only the 13th is sent.
        results = digest.run_due(reopen(config, store), config, datetime(2026, 3, 14, 10, tzinfo=timezone.utc))
        assert [r.day for r in results] == ["2026-03-13"]
        assert len(handler.received) == 2


def test_451_is_retried_later_and_delivered_once(write_config):
    handler = Handler(script=["451 4.3.0 Try again later"])
    with smtp_server(handler) as port:
        config, store = seeded(smtp_config(write_config, port))
        (first,) = digest.run_due(store, config, MORNING)
        assert first.state == "retry" and first.detail.startswith("451")
        row = store.digests.get("acme", "2026-03-10")
        assert row["next_attempt_at"] == "2026-03-11T09:10:00Z" and handler.received == []
        assert digest.run_due(store, config, MORNING + timedelta(minutes=5)) == []  # not yet
        store = reopen(config, store)
        (second,) = digest.run_due(store, config, MORNING + timedelta(minutes=10))
        assert (second.state, second.attempts, second.message_id) == ("sent", 2, first.message_id)
        assert len(handler.received) == 1
        assert digest.run_due(store, config, MORNING + timedelta(hours=1)) == []


def test_a_later_send_at_does_not_send_the_day_before_one_already_sent(write_config):
    handler = Handler()
    with smtp_server(handler) as port:
        config, store = seeded(smtp_config(write_config, port))
        assert [r.day for r in digest.run_due(store, config, MORNING)] == ["2026-03-10"]
        # "The digest comes too early": send_at moves from 08:00 to 10:00 at 09:30. The latest
        # due day is now the 9th, older than the one sent: nothing goes out, nor at 10:00.
        text = smtp_config(write_config, port).read_text().replace('"08:00"', '"10:00"')
        later = config_module.load(write_config(text, base=False, name="later.toml"))
        assert digest.run_due(store, later, MORNING + timedelta(minutes=30)) == []
        assert digest.run_due(store, later, MORNING + timedelta(hours=1, minutes=5)) == []
        assert [r.day for r in digest.run_due(store, later, MORNING + timedelta(days=1, hours=1, minutes=5))] == [
            "2026-03-11"]
        assert [email.message_from_bytes(r.data, policy=default)["Subject"][:26] for r in handler.received] == [
            "Daily digest Tue 10 Mar 20", "Daily digest Wed 11 Mar 20"]


def test_dropped_connection_before_data_is_retried(write_config):
    handler = Handler(script=["drop-rcpt"])
    with smtp_server(handler) as port:
        config, store = seeded(smtp_config(write_config, port))
        (first,) = digest.run_due(store, config, MORNING)
        assert first.state == "retry" and first.detail.startswith("envelope:")
        (second,) = digest.run_due(store, config, MORNING + timedelta(minutes=10))
        assert second.state == "sent" and len(handler.received) == 1


def test_a_421_to_a_later_recipient_is_retried_not_taken_for_a_lost_message(write_config):
    # 421: the server closes the channel; nothing was handed over, so it is sent again, once.
    handler = Handler(refuse={"ops@example.com": "421 4.3.2 Service shutting down"})
    with smtp_server(handler) as port:
        path = smtp_config(write_config, port)
        path.write_text(path.read_text().replace('["leads@example.com"]', '["leads@example.com", "ops@example.com"]'))
        config, store = seeded(path)
        (first,) = digest.run_due(store, config, MORNING)
        assert (first.state, first.detail) == ("retry", "421 4.3.2 Service shutting down")
        del handler.refuse["ops@example.com"]
        (second,) = digest.run_due(store, config, MORNING + timedelta(minutes=10))
        assert (second.state, second.attempts) == ("sent", 2)
        store.close()
    assert [r.recipients for r in handler.received] == [["leads@example.com", "ops@example.com"]]


def test_unreachable_server_retries_then_gives_up(write_config, caplog):
    from mailserver import free_port

    port = free_port()
    config, store = seeded(smtp_config(write_config, port))
    now = MORNING
    states = []
    for _ in range(config.digest.max_attempts):
        (result,) = digest.run_due(store, config, now)
        states.append(result.state)
        now += timedelta(hours=3)
    assert states == ["retry"] * (config.digest.max_attempts - 1) + ["failed"]
    # Heard at --log-level warning from the first retry on, not only once it has failed for good.
    levels = [r.levelname for r in caplog.records if r.name == "monitor.digest.send"]
    assert levels == ["WARNING"] * (config.digest.max_attempts - 1) + ["ERROR"]
    assert f"gave up after 6 attempts: connect to 127.0.0.1:{port}: ConnectionRefusedError" in (
        store.digests.get("acme", "2026-03-10")["last_error"])
    assert digest.run_due(store, config, now + timedelta(hours=3)) == []


def test_permanent_rejection_fails_without_retry_and_shows_in_status(write_config, cli):
    handler = Handler(script=["554 5.7.1 Rejected as spam"])
    with smtp_server(handler) as port:
        path = smtp_config(write_config, port)
        config, store = seeded(path)
        (result,) = digest.run_due(store, config, MORNING)
        assert result.state == "failed" and "554 5.7.1" in result.detail
        assert digest.run_due(store, config, MORNING + timedelta(hours=3)) == []
        store.close()
        out = cli("--config", path, "digest", "status").output
        assert "failed" in out and "554 5.7.1 Rejected as spam" in out
        assert "Digest 2026-03-10 (acme): failed: 554 5.7.1 Rejected as spam" in cli("--config", path, "status").output
        assert handler.received == []


def test_connection_lost_during_data_is_never_resent_automatically(write_config, cli):
    handler = Handler(script=["drop-after-data"])
    with smtp_server(handler) as port:
        path = smtp_config(write_config, port)
        config, store = seeded(path)
        (result,) = digest.run_due(store, config, MORNING)
        assert result.state == "unknown"
        assert "connection lost while the server had the message" in result.detail
        assert len(handler.received) == 1  # it did arrive
        assert digest.run_due(reopen(config, store), config, MORNING + timedelta(days=0, hours=2)) == []
        assert len(handler.received) == 1
        store.close()
        # A person checks the inbox and decides: --force resends with the same Message-ID.
        refused = cli("--config", path, "digest", "send", "--date", "2026-03-10").output
        assert "it may have been delivered; check the inbox" in refused and "--force" in refused
        assert len(handler.received) == 1
        cli("--config", path, "digest", "send", "--date", "2026-03-10", "--force")
        assert len(handler.received) == 2
        ids = {email.message_from_bytes(r.data, policy=default)["Message-ID"] for r in handler.received}
        assert ids == {result.message_id}


def test_a_server_that_does_not_answer_in_time_is_named_with_the_timeout_setting(write_config, cli):
    import socket

    timeout = "timed out: no answer within 1s, [smtp] timeout"
    with socket.create_server(("127.0.0.1", 0)) as silent:  # connects, never greets
        port = silent.getsockname()[1]
        path = write_config(smtp_config(write_config, port).read_text().replace("timeout = 5", "timeout = 1"),
                            base=False, name="silent.toml")
        seeded(path)[1].close()
        result = cli("--config", path, "digest", "send", "--date", "2026-03-10")
        assert (result.exit_code, result.stdout) == (
            1, f"Digest for 2026-03-10 (acme): retry, attempt 1. connect to 127.0.0.1:{port}: {timeout}\n")
    handler = Handler(script=["block"])  # takes the message, never answers
    with smtp_server(handler) as port:
        config, store = seeded(write_config(smtp_config(write_config, port).read_text().replace(
            "timeout = 5", "timeout = 1"), base=False, name="slow.toml"))
        result = digest.send(store, config, DAY, now=MORNING)
        assert (result.state, result.detail) == ("unknown", f"connection lost while the server had the message ({timeout})")
        store.close()


def test_send_command_does_not_send_twice_without_force(write_config, cli):
    handler = Handler()
    with smtp_server(handler) as port:
        path = smtp_config(write_config, port)
        seeded(path)[1].close()
        cli("--config", path, "digest", "send", "--date", "2026-03-10")
        again = cli("--config", path, "digest", "send", "--date", "2026-03-10")
        assert again.exit_code == 0 and "already sent" in again.output
        cli("--config", path, "digest", "send", "--date", "2026-03-10", "--force")
        first, forced = (email.message_from_bytes(r.data, policy=default) for r in handler.received)
        assert first["Message-ID"] != forced["Message-ID"]  # a deliberate copy is a new message


def test_a_day_not_over_is_never_sent_by_hand_and_its_digest_goes_out_once_it_is(write_config, cli, tmp_path):
    path = write_config('[digest]\nsend_at = "08:00"\nrecipients = ["leads@example.com"]\n')
    path.write_text(path.read_text().replace('timezone = "UTC"', 'timezone = "America/New_York"'))
    seeded(path)[1].close()
    status = lambda: json.loads(cli("--config", path, "digest", "status", "--format", "json").stdout)  # noqa: E731
    with time_machine.travel(datetime(2026, 3, 11, 2, tzinfo=timezone.utc)):  # 22:00 on the 10th in New York
        for day, force in (("2026-03-10", []), ("2026-03-10", ["--force"]), ("2031-05-05", ["--force"])):
            refused = cli("--config", path, "digest", "send", "--date", day, *force)
            assert (refused.exit_code, refused.output) == (1, (
                f"Error: {day} is not over yet (America/New_York): its digest is sent after midnight;"
                f' "digest preview --date {day}" shows it so far\n'))
        assert cli("--config", path, "digest", "preview", "--date", "2026-03-10").exit_code == 0
        assert status() == [] and not (tmp_path / "data" / "digests").exists()
    with time_machine.travel(datetime(2026, 3, 11, 13, tzinfo=timezone.utc)):  # 09:00 the next morning
        assert cli("--config", path, "run", "--once").exit_code == 0
        assert [(r["day"], r["state"], r["attempts"]) for r in status()] == [("2026-03-10", "sent", 1)]


def test_a_pending_digest_of_an_impossible_date_is_dropped_not_retried(write_config, cli):
    path = write_config('[digest]\nrecipients = ["leads@example.com"]\n')
    config, store = seeded(path)
    # What `digest send --date DAY` left before dates were checked: retried, then given up.
    for day, state in (("0001-01-01", "retry"), ("9999-12-31", "failed")):
        store.digests.save({"brand_set": "acme", "day": day, "state": state, "attempts": 1, "message_id": "<m@x>",
                            "next_attempt_at": "2026-03-11T08:00:00Z",
                            "last_error": "render: OverflowError: date value out of range"}, MORNING)
    store.close()
    with time_machine.travel(MORNING):
        assert cli("--config", path, "run", "--once").exit_code == 0
        rows = json.loads(cli("--config", path, "digest", "status", "--format", "json").stdout)
        assert [(r["day"], r["state"]) for r in rows] == [("2026-03-10", "sent")]
        assert "Digest" not in cli("--config", path, "status").output


def _send_in_subprocess(path: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(path), "digest", "send",
                             "--date", "2026-03-10"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_crash_while_the_server_has_the_message_becomes_unknown_not_a_resend(write_config):
    handler = Handler(script=["block"])
    with smtp_server(handler) as port:
        path = smtp_config(write_config, port)
        config, store = seeded(path)
        process = _send_in_subprocess(path)
        assert handler.in_data.wait(30), process.communicate()
        process.send_signal(signal.SIGKILL)  # the sending process dies mid-DATA
        process.communicate()
        handler.release.set()
        row = store.digests.get("acme", "2026-03-10")
        assert (row["state"], row["stage"]) == ("sending", "data")
        # Its process is gone: at once (within the lease), it is "unknown", not resent.
        later = datetime.now(timezone.utc)
        (result,) = [r for r in digest.run_due(store, config, later) if r.day == "2026-03-10"]
        assert result.state == "unknown" and result.detail.startswith("interrupted while the server had")
        assert [r for r in digest.run_due(store, config, later) if r.day == "2026-03-10"] == []
        assert not any(b"Tue 10 Mar 2026" in r.data for r in handler.received)


def test_crash_before_the_message_was_handed_over_is_sent_again_once(write_config):
    import socket

    handler = Handler()
    with socket.socket() as silent, smtp_server(handler) as port:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        path = smtp_config(write_config, silent.getsockname()[1])  # a server that never greets
        config, store = seeded(path)
        process = _send_in_subprocess(path)
        silent.settimeout(30)
        connection, _ = silent.accept()  # the client is connected, waiting for the greeting
        process.send_signal(signal.SIGKILL)
        process.communicate()
        connection.close()
        assert store.digests.get("acme", "2026-03-10")["stage"] == "connect"
        working = config_module.load(smtp_config(write_config, port))
        results = digest.run_due(store, working, datetime.now(timezone.utc) + timedelta(hours=1))
        (result,) = [r for r in results if r.day == "2026-03-10"]
        assert (result.state, result.attempts) == ("sent", 2)
        assert sum(b"Tue 10 Mar 2026" in r.data for r in handler.received) == 1


def test_untrusted_text_is_escaped_in_html_and_never_reaches_a_header(write_config):
    handler = Handler()
    with smtp_server(handler) as port:
        config, store = seeded(smtp_config(write_config, port))
        at = datetime(2026, 3, 10, 15, tzinfo=timezone.utc)
        store.mentions.upsert([
            scored("x1", "<script>alert('acme')</script> terrible\r\nBcc: victim@example.com", at=at,
                   label="negative", compound=-0.99, author="<img src=x onerror=alert(1)>\r\nBcc: evil@example.com",
                   url="javascript:alert(document.cookie)"),
        ], at)
        (result,) = digest.run_due(store, config, MORNING)
        assert result.state == "sent"
    (got,) = handler.received
    raw = got.data
    head, _, body = raw.partition(b"\r\n\r\n")
    assert not any(line.lower().startswith(b"bcc") for line in head.split(b"\r\n"))
    assert b"victim@" not in head and b"evil@" not in head and b"script" not in head
    assert got.recipients == ["leads@example.com"]
    unwrapped = quopri.decodestring(body)  # only the transfer encoding undone
    html_start = unwrapped.index(b"<!DOCTYPE html>")
    html = unwrapped[html_start:]
    assert b"&lt;script&gt;alert(&#39;acme&#39;)&lt;/script&gt;" in html
    assert b"&lt;img src=x onerror=alert(1)&gt;" in html
    assert b"<script" not in html and b"<img src=x" not in html
    assert b"javascript:" not in html  # the link is dropped, not escaped
    message = email.message_from_bytes(raw, policy=default)
    assert message["Bcc"] is None and message.get_all("Bcc") is None
    text = message.get_body(("plain",)).get_content()
    assert "terrible Bcc: victim@example.com" in text  # on one line, inside the body
    assert "<img src=x onerror=alert(1)> Bcc: evil@example.com at " in text  # the author too


def test_starttls_with_verification_and_credentials_from_the_environment(write_config, tmp_path, monkeypatch):
    cert, key = self_signed(tmp_path)
    check = PasswordCheck("monitor", "s3cret")
    monkeypatch.setenv("TEST_SMTP_USER", "monitor")
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "s3cret")
    handler = Handler()
    with smtp_server(handler, tls_context=server_context(cert, key), require_starttls=True,
                     auth_required=True, authenticator=check) as port:
        secrets = 'username = { env = "TEST_SMTP_USER" }\npassword = { env = "TEST_SMTP_PASSWORD" }'
        config, store = seeded(smtp_config(write_config, port, extra=f'ca_file = "{cert}"\n{secrets}',
                                           smtp="starttls = true"))
        (result,) = digest.run_due(store, config, MORNING)
        assert result.state == "sent", result.detail
        assert check.seen == ["PLAIN:ok"] or check.seen == ["LOGIN:ok"]
        assert len(handler.received) == 1


def test_a_server_reply_quoting_the_password_is_masked_in_what_is_shown_and_stored(write_config, tmp_path, monkeypatch):
    cert, key = self_signed(tmp_path)
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "s3cretPassw0rd")
    handler = Handler(script=["554 5.7.1 rejected: s3cretPassw0rd is a weak password"])
    with smtp_server(handler, tls_context=server_context(cert, key), require_starttls=True, auth_required=True,
                     authenticator=PasswordCheck("monitor", "s3cretPassw0rd")) as port:
        secrets = 'username = "monitor"\npassword = { env = "TEST_SMTP_PASSWORD" }'
        config, store = seeded(smtp_config(write_config, port, extra=f'ca_file = "{cert}"\n{secrets}',
                                           smtp="starttls = true"))
        (result,) = digest.run_due(store, config, MORNING)
        assert result.state == "failed" and "rejected: *** is a weak password" in result.detail
        assert all("s3cretPassw0rd" not in (d["last_error"] or "") for d in store.digests.recent(7))


def test_a_secret_not_set_makes_the_digest_wait_without_using_up_attempts(write_config, cli, monkeypatch, tmp_path):
    monkeypatch.delenv("TEST_SMTP_PASSWORD", raising=False)
    cert, key = self_signed(tmp_path)
    check = PasswordCheck("monitor", "s3cret")
    handler = Handler()
    with smtp_server(handler, tls_context=server_context(cert, key), require_starttls=True,
                     auth_required=True, authenticator=check) as port:
        secrets = 'username = "monitor"\npassword = { env = "TEST_SMTP_PASSWORD" }'
        path = smtp_config(write_config, port, extra=f'ca_file = "{cert}"\n{secrets}', smtp="starttls = true")
        config, store = seeded(path)
        waiting = "waits for {}: [smtp]: password: environment variable TEST_SMTP_PASSWORD is not set".format(path)
        now = MORNING
        for _ in range(config.digest.max_attempts + 2):  # however long it takes: never "failed"
            (result,) = digest.run_due(store, config, now)
            assert (result.state, result.attempts, result.detail) == ("retry", 0, waiting)
            assert digest.run_due(store, config, now + timedelta(minutes=5)) == []  # every retry_after
            now += timedelta(minutes=10)
        assert handler.received == [] and check.seen == []  # no connection was even made
        store.close()
        (row,) = json.loads(cli("--config", path, "digest", "status", "--format", "json").stdout)
        assert (row["state"], row["attempts"], row["last_error"]) == ("retry", 0, waiting)
        # By hand: one clear error, nothing recorded.
        refused = cli("--config", path, "digest", "send", "--date", "2026-03-11")
        assert refused.exit_code == 1
        assert refused.output == f"Error: digest 2026-03-11 not sent: {path}: [smtp]: password: environment variable TEST_SMTP_PASSWORD is not set\n"
        # The secret arrives the day after: that day's digest and the one that waited both go out.
        monkeypatch.setenv("TEST_SMTP_PASSWORD", "s3cret")
        store = closed_at_end(Store.open(config.monitor.database))
        results = digest.run_due(store, config, MORNING + timedelta(days=1))
        assert [(r.day, r.state, r.attempts) for r in results] == [("2026-03-10", "sent", 1), ("2026-03-11", "sent", 1)]
        assert len(handler.received) == 2


def test_a_digest_that_waited_for_a_secret_goes_out_at_the_first_run_after_it_is_set(
        write_config, monkeypatch, tmp_path):
    # The wait is for the operator, not for the server: once the secret is there, the next run
    # (the daemon's next minute, a cron `run --once`) sends it, as it does a waiting alert.
    monkeypatch.delenv("TEST_SMTP_PASSWORD", raising=False)
    cert, key = self_signed(tmp_path)
    handler = Handler()
    with smtp_server(handler, tls_context=server_context(cert, key), require_starttls=True,
                     auth_required=True, authenticator=PasswordCheck("monitor", "s3cret")) as port:
        secrets = 'username = "monitor"\npassword = { env = "TEST_SMTP_PASSWORD" }'
        config, store = seeded(smtp_config(write_config, port, extra=f'ca_file = "{cert}"\n{secrets}',
                                           smtp="starttls = true"))
        (result,) = digest.run_due(store, config, MORNING)
        assert (result.state, result.attempts) == ("retry", 0)
        monkeypatch.setenv("TEST_SMTP_PASSWORD", "s3cret")
        (result,) = digest.run_due(store, config, MORNING + timedelta(minutes=1))
        assert (result.state, result.attempts) == ("sent", 1), result.detail
        assert len(handler.received) == 1


def test_a_refused_login_names_the_settings_and_never_the_password(write_config, cli, tmp_path, monkeypatch):
    cert, key = self_signed(tmp_path)
    check = PasswordCheck("monitor", "right-one")
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "wr0ngPassw0rd")
    handler = Handler()
    with smtp_server(handler, tls_context=server_context(cert, key), require_starttls=True, auth_required=True,
                     authenticator=check) as port:
        secrets = 'username = "monitor"\npassword = { env = "TEST_SMTP_PASSWORD" }'
        path = smtp_config(write_config, port, extra=f'ca_file = "{cert}"\n{secrets}', smtp="starttls = true")
        seeded(path)[1].close()
        result = cli("--config", path, "digest", "send", "--date", "2026-03-10")
        refused = "login refused (535 5.7.8 Authentication credentials invalid): check [smtp] username and password"
        assert (result.exit_code, result.stdout) == (1, f"Digest for 2026-03-10 (acme): failed, attempt 1. {refused}\n")
        status = cli("--config", path, "status").stdout
        assert f"Digest 2026-03-10 (acme): failed: {refused}" in status
        assert all("wr0ngPassw0rd" not in text for text in (result.output, status))
    assert handler.received == [] and check.seen and set(check.seen) <= {"PLAIN:bad", "LOGIN:bad"}


def test_starttls_asked_of_a_server_that_does_not_offer_it_names_the_setting(write_config):
    handler = Handler()
    with smtp_server(handler) as port:
        config, store = seeded(smtp_config(write_config, port, smtp="starttls = true"))
        (result,) = digest.run_due(store, config, MORNING)
        assert (result.state, result.detail) == ("failed", f"127.0.0.1:{port} does not offer STARTTLS ([smtp]"
                                                 " starttls = true): a port that wants TLS from the first byte (465)"
                                                 " needs ssl = true instead; starttls = false would send all in clear")
        store.close()
    assert handler.received == []


def test_certificate_verification_stays_on(write_config, tmp_path):
    cert, key = self_signed(tmp_path)
    handler = Handler()
    with smtp_server(handler, tls_context=server_context(cert, key), require_starttls=True) as port:
        config, store = seeded(smtp_config(write_config, port, smtp="starttls = true"))  # no ca_file
        (result,) = digest.run_due(store, config, MORNING)
        assert result.state == "failed" and "CERTIFICATE_VERIFY_FAILED" in result.detail
        assert handler.received == []


def test_implicit_tls(write_config, tmp_path):
    cert, key = self_signed(tmp_path)
    handler = Handler()
    with smtp_server(handler, ssl_context=server_context(cert, key)) as port:
        config, store = seeded(smtp_config(write_config, port, extra=f'ca_file = "{cert}"',
                                           smtp="ssl = true"))  # no STARTTLS unless asked for
        assert config.smtp.starttls is False
        (result,) = digest.run_due(store, config, MORNING)
        assert result.state == "sent", result.detail
        assert len(handler.received) == 1


def test_implicit_tls_against_a_plain_text_port_fails_at_once_and_says_why(write_config):
    handler = Handler()
    with smtp_server(handler) as port:  # speaks plain SMTP, as port 587 or 25 does
        config, store = seeded(smtp_config(write_config, port, smtp="ssl = true"))
        (result,) = digest.run_due(store, config, MORNING)
    assert result.state == "failed" and handler.received == []  # a setting to fix: no retries for hours
    assert result.detail.startswith(f"TLS with 127.0.0.1:{port}: [SSL: WRONG_VERSION_NUMBER]")
    assert result.detail.endswith("ssl = true wants TLS from the first byte (port 465), a port such as 587 or 25"
                                  " wants starttls = true instead")


def test_concurrent_senders_deliver_once(write_config):
    handler = Handler()
    with smtp_server(handler) as port:
        path = smtp_config(write_config, port)
        config, store = seeded(path)
        store.close()
        results: list[object] = []

        def one() -> None:
            with Store.open(config.monitor.database) as own:
                results.extend(digest.run_due(own, config, MORNING))

        threads = [threading.Thread(target=one) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(handler.received) == 1
        assert [r.state for r in results] == ["sent"]


def test_a_brand_name_with_accents_or_another_script_is_sent_by_smtp_and_as_files(write_config):
    brand = "Nestlé 東京"
    handler = Handler()
    with smtp_server(handler) as port:
        path = smtp_config(write_config, port)
        path.write_text(path.read_text().replace('name = "Acme"', f'name = "{brand}"', 1))
        config = config_module.load(path)
        store = closed_at_end(Store.open(config.monitor.database))
        at = datetime(2026, 3, 10, 12, tzinfo=timezone.utc)
        store.mentions.upsert([scored("1", "acme broke my router", at=at, brand=brand, label="negative")], at)
        # A digest an older version stored with a Message-ID it could never send, waiting to retry.
        store.digests.save({"brand_set": "nestlé 東京", "day": "2026-03-10", "state": "retry", "attempts": 1,
                            "message_id": "<digest.nestlé-東京.2026-03-10.0123456789ab@example.com>",
                            "next_attempt_at": "2026-03-11T08:10:00Z"}, MORNING)
        (result,) = digest.run_due(store, config, MORNING)
        assert (result.state, result.attempts) == ("sent", 2), result.detail
        assert result.message_id.startswith("<digest.nestle.2026-03-10.")
        (got,) = handler.received
        message = email.message_from_bytes(got.data, policy=default)
        assert message["Subject"].startswith(f"Daily digest Tue 10 Mar 2026: {brand} 1 mention,")
        assert message["Message-ID"] == result.message_id and got.data.isascii()
        assert f"{brand}" in message.get_body(("plain",)).get_content()
        # Without [smtp]: the same message, written to a file.
        files = config_module.load(write_config(path.read_text().split("[smtp]")[0], base=False, name="files.toml"))
        result = digest.send(store, files, DAY, now=MORNING, force=True)
        assert result.state == "sent" and result.detail.endswith("digest-nestlé-東京-2026-03-10.eml")
        store.close()


def test_without_smtp_the_digest_is_written_as_files(write_config):
    path = write_config('[digest]\nrecipients = ["leads@example.com"]\n')
    config, store = seeded(path)
    (result,) = digest.run_due(store, config, MORNING)
    folder = config.monitor.data_dir / "digests"
    assert result.state == "sent" and result.detail == str(folder / "digest-acme-2026-03-10.eml")
    message = email.message_from_bytes((folder / "digest-acme-2026-03-10.eml").read_bytes(), policy=default)
    assert message["To"] == "leads@example.com"
    html = (folder / "digest-acme-2026-03-10.html").read_text()
    assert 'src="data:image/png;base64,' in html
    assert digest.run_due(store, config, MORNING + timedelta(hours=1)) == []


def test_a_setting_smtplib_cannot_use_fails_in_one_line_and_is_not_retried(write_config, cli, monkeypatch):
    # The config refuses a non-ASCII address at load; the send path must cope with whatever
    # a check lets through all the same, so the check is switched off here.
    monkeypatch.setattr(config_module, "_address_problem", lambda text: None)
    handler = Handler()
    with smtp_server(handler) as port:
        path = smtp_config(write_config, port)
        path.write_text(path.read_text().replace("leads@example.com", "jürgen@example.com"))
        seeded(path)[1].close()
        result = cli("--config", path, "digest", "send", "--date", "2026-03-10")
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert result.stdout == (
            "Digest for 2026-03-10 (acme): failed, attempt 1. envelope: non-ASCII characters where SMTP takes"
            " ASCII only (an address, or [smtp] username or password)\n")
        assert result.stderr.endswith("\nError: digest for 2026-03-10 not sent: failed\n")
        (row,) = json.loads(cli("--config", path, "digest", "status", "--format", "json").stdout)
        assert (row["state"], row["last_error"]) == ("failed", "envelope: non-ASCII characters where SMTP takes"
                                                     " ASCII only (an address, or [smtp] username or password)")
        with time_machine.travel(MORNING):
            assert cli("--config", path, "run", "--once").exit_code == 0  # the daemon leaves it alone
        assert json.loads(cli("--config", path, "digest", "status", "--format", "json").stdout)[0]["attempts"] == 1
        assert handler.received == []


def unchecked(section, **changes):
    """A copy of a config section with ``changes`` its load-time checks would refuse."""
    changed = copy.copy(section)
    for key, value in changes.items():
        object.__setattr__(changed, key, value)
    return changed


def test_settings_the_send_path_refuses_whatever_the_config_let_through(write_config):
    from dataclasses import replace

    handler = Handler()
    with smtp_server(handler) as port:
        config, store = seeded(smtp_config(write_config, port))
        zero = replace(config, smtp=unchecked(config.smtp, timeout=0))
        result = digest.send(store, zero, DAY, now=MORNING)
        assert result.state == "failed" and result.detail == (
            "connect: a setting that cannot be used: ValueError: Non-blocking socket (timeout=0) is not supported")
        injected = replace(config, digest=unchecked(config.digest, recipients=("a@example.com\r\nBcc: y@example.com",)))
        result = digest.send(store, injected, DAY, now=MORNING, force=True)
        assert result.state == "failed" and result.detail.startswith("cannot address the message (Header values")
        assert store.digests.get("acme", "2026-03-10")["state"] == "failed"
        # Below the message headers too: a line break never reaches the SMTP conversation.
        message = mail.new_message(subject="s", sender="monitor@example.com", recipients=[])
        outcome = mail.send_smtp(message, config.smtp, ["a@example.com>\r\nRCPT TO:<evil@example.com"])
        assert outcome == mail.Outcome("failed", "an address with a line break or control character:"
                                       " 'a@example.com>\\r\\nRCPT TO:<evil@example.com'")
    assert handler.received == []


def test_smtp_without_recipients_is_failed_without_a_connection(write_config):
    # The config refuses [smtp] with no [digest] recipients at load; the send path says so too.
    from dataclasses import replace

    handler = Handler()
    with smtp_server(handler) as port:
        config, store = seeded(smtp_config(write_config, port))
        nobody = replace(config, digest=unchecked(config.digest, recipients=()))
        result = digest.send(store, nobody, DAY, now=MORNING)
        assert (result.state, result.detail) == ("failed", "no recipients: set [digest] recipients")
        store.close()
    assert handler.received == []


def test_a_secret_file_gone_at_login_is_retried_not_failed(write_config, tmp_path):
    # The callers check secrets before sending; one removed in between is met at the login.
    cert, key = self_signed(tmp_path)
    secret = tmp_path / "smtp-password"
    secret.write_text("s3cret\n")
    check = PasswordCheck("monitor", "s3cret")
    handler = Handler()
    with smtp_server(handler, tls_context=server_context(cert, key), require_starttls=True,
                     auth_required=True, authenticator=check) as port:
        secrets = f'username = "monitor"\npassword = {{ file = "{secret}" }}'
        config, store = seeded(smtp_config(write_config, port, extra=f'ca_file = "{cert}"\n{secrets}',
                                           smtp="starttls = true"))
        message = mail.new_message(subject="s", sender="monitor@example.com", recipients=["a@example.com"])
        secret.unlink()
        outcome = mail.send_smtp(message, config.smtp, ["a@example.com"])
        assert outcome.status == "retry"
        assert outcome.detail.endswith(f": [smtp]: password: cannot read secret file {secret}: No such file or directory")
        secret.write_text("s3cret\n")  # back: the next try goes through
        assert mail.send_smtp(message, config.smtp, ["a@example.com"]).status == "sent"
        store.close()
    assert check.seen in (["PLAIN:ok"], ["LOGIN:ok"]) and len(handler.received) == 1


def test_credentials_for_a_server_offering_no_auth_say_so(write_config):
    check = PasswordCheck("monitor", "s3cret")
    handler = Handler()
    with smtp_server(handler, authenticator=check, auth_required=True) as port:  # AUTH only after STARTTLS
        secrets = 'username = "monitor"\npassword = "s3cret"'
        config, store = seeded(smtp_config(write_config, port, extra=secrets))
        (result,) = digest.run_due(store, config, MORNING)
        assert (result.state, result.detail) == ("failed", "the server offers no AUTH, so [smtp] username and"
                                                 " password cannot be used: remove them, or set starttls = true"
                                                 " if the server offers AUTH only after STARTTLS")
        assert handler.received == [] and check.seen == []


def test_a_refused_recipient_shows_in_digest_status_and_status(write_config, cli):
    handler = Handler(refuse={"bad@example.com": "550 5.1.1 no such user"})
    with smtp_server(handler) as port:
        path = smtp_config(write_config, port)
        path.write_text(path.read_text().replace('["leads@example.com"]', '["leads@example.com", "bad@example.com"]'))
        seeded(path)[1].close()
        sent = cli("--config", path, "digest", "send", "--date", "2026-03-10")
        assert sent.exit_code == 0 and "refused bad@example.com (550 5.1.1 no such user)" in sent.stdout
        warning = "the server refused bad@example.com (550 5.1.1 no such user): not delivered to them, not retried"
        (row,) = json.loads(cli("--config", path, "digest", "status", "--format", "json").stdout)
        assert (row["state"], row["last_error"]) == ("sent", warning)
        table = cli("--config", path, "digest", "status").stdout.splitlines()[2]
        assert table.startswith("2026-03-10  acme         sent") and warning[:59] + "…" in table
        assert f"Digest 2026-03-10 (acme): sent, but {warning}\n" in cli("--config", path, "status").stdout
        (listed,) = json.loads(cli("--config", path, "status", "--format", "json").stdout)["digests"]
        assert (listed["state"], listed["last_error"]) == ("sent", warning)
        # Exactly once for the accepted recipient: nothing is sent again.
        assert "already sent" in cli("--config", path, "digest", "send", "--date", "2026-03-10").stdout
    assert [r.recipients for r in handler.received] == [["leads@example.com"]]


def every_attempt(store: Store, config: config_module.Config) -> tuple[datetime, list[str]]:
    """Run the daemon's digest job 3 h apart for as many attempts as it has: when, and the states."""
    now, states = MORNING, []
    for _ in range(config.digest.max_attempts):
        (result,) = digest.run_due(store, config, now)
        states.append(result.state)
        now += timedelta(hours=3)
    return now, states


def two_recipients(write_config, port: int, more: str = "") -> Path:
    path = smtp_config(write_config, port)
    listed = f'["leads@example.com", "ops@example.com"{more}]'
    path.write_text(path.read_text().replace('["leads@example.com"]', listed))
    return path


def test_a_recipient_deferred_while_another_accepted_gets_the_same_digest_at_the_retry(write_config, cli):
    handler = Handler(refuse_once={"ops@example.com": "452 4.5.3 Too many recipients"},
                      refuse={"bad@example.com": "550 5.1.1 no such user"})
    refused = "the server refused bad@example.com (550 5.1.1 no such user): not delivered to them, not retried"
    with smtp_server(handler) as port:
        path = two_recipients(write_config, port, ', "bad@example.com"')
        config, store = seeded(path)
        (first,) = digest.run_due(store, config, MORNING)
        assert first.state == "retry" and "deferred ops@example.com (452 4.5.3 Too many recipients)" in first.detail
        row = store.digests.get("acme", "2026-03-10")
        assert (row["deferred_to"], row["next_attempt_at"]) == ("ops@example.com", "2026-03-11T09:10:00Z")
        assert row["last_error"] == (f"{refused}; the server deferred ops@example.com (452 4.5.3 Too many"
                                     " recipients): mailed again at the next attempt")
        assert "Digest 2026-03-10 (acme): retry" in cli("--config", path, "status").stdout
        store = reopen(config, store)
        (second,) = digest.run_due(store, config, MORNING + timedelta(minutes=10))
        assert (second.state, second.attempts, second.message_id) == ("sent", 2, first.message_id)
        row = store.digests.get("acme", "2026-03-10")
        assert (row["deferred_to"], row["last_error"]) == (None, refused)  # the one refused for good stays named
        assert row["delivered_to"].endswith("; then 250 Message accepted for delivery; to ops@example.com")
        assert digest.run_due(store, config, MORNING + timedelta(hours=3)) == []
    # Each recipient once, the same message: the deferred one alone at the retry.
    assert [r.recipients for r in handler.received] == [["leads@example.com"], ["ops@example.com"]]
    messages = [email.message_from_bytes(r.data, policy=default) for r in handler.received]
    assert {m["Message-ID"] for m in messages} == {first.message_id}
    assert {m["To"] for m in messages} == {"leads@example.com, ops@example.com, bad@example.com"}


def test_a_recipient_deferred_at_every_attempt_is_given_up_and_named(write_config, cli):
    handler = Handler(refuse={"ops@example.com": "450 4.2.1 Mailbox busy"})
    with smtp_server(handler) as port:
        path = two_recipients(write_config, port)
        config, store = seeded(path)
        now, states = every_attempt(store, config)
        assert states == ["retry"] * (config.digest.max_attempts - 1) + ["sent"]
        row = store.digests.get("acme", "2026-03-10")
        assert (row["state"], row["deferred_to"]) == ("sent", None)
        assert row["last_error"] == ("not delivered to ops@example.com: gave up after 6 attempts: recipients refused:"
                                     " ops@example.com (450 4.2.1 Mailbox busy)")
        assert digest.run_due(store, config, now) == []
        store.close()
        assert f"Digest 2026-03-10 (acme): sent, but {row['last_error']}\n" in cli("--config", path, "status").stdout
    assert [r.recipients for r in handler.received] == [["leads@example.com"]]


def every_recipient_refused_some_for_now() -> Handler:
    return Handler(refuse_once={"ops@example.com": "452 4.5.3 Too many recipients"},
                   refuse={"bad@example.com": "550 5.1.1 no such user"})


def first_attempt_refused(write_config, handler: Handler, port: int) -> tuple[Path, Store]:
    """The daemon's first attempt at a digest for ops@ and bad@, every recipient refused: retry."""
    path = smtp_config(write_config, port)
    path.write_text(path.read_text().replace('["leads@example.com"]', '["ops@example.com", "bad@example.com"]'))
    config, store = seeded(path)
    (first,) = digest.run_due(store, config, MORNING)
    assert first.state == "retry" and handler.received == []
    return path, store


def test_every_recipient_refused_some_for_now_retries_those_alone_and_never_mails_the_others(write_config, cli):
    handler = every_recipient_refused_some_for_now()
    refused = "the server refused bad@example.com (550 5.1.1 no such user): not delivered to them, not retried"
    with smtp_server(handler) as port:
        path, store = first_attempt_refused(write_config, handler, port)
        row = store.digests.get("acme", "2026-03-10")
        assert (row["deferred_to"], row["sent_at"], row["delivered_to"]) == ("ops@example.com", None, None)
        assert row["last_error"] == (f"{refused}; the server deferred ops@example.com (452 4.5.3 Too many"
                                     " recipients): mailed again at the next attempt")
        store.close()
        # By hand before the retry time: to the one deferred only.
        sent = cli("--config", path, "digest", "send", "--date", "2026-03-10")
        assert sent.exit_code == 0 and "sent, attempt 2" in sent.stdout
        (listed,) = json.loads(cli("--config", path, "digest", "status", "--format", "json").stdout)
        assert (listed["state"], listed["deferred_to"], listed["last_error"]) == ("sent", None, refused)
        assert listed["delivered_to"] == "250 Message accepted for delivery; to ops@example.com"
    assert [r.recipients for r in handler.received] == [["ops@example.com"]]


def test_every_recipient_refused_the_ones_deferred_taken_off_the_list_mails_the_list_not_taken_for_sent(
        write_config, cli):
    # No one has the digest yet: with the deferred recipient taken off the list, the retry mails
    # the listed ones (it was "sent" to no one, with "no longer in [digest] recipients").
    handler = every_recipient_refused_some_for_now()
    with smtp_server(handler) as port:
        path, store = first_attempt_refused(write_config, handler, port)
        store.close()
        path.write_text(path.read_text().replace('["ops@example.com", "bad@example.com"]', '["leads@example.com"]'))
        sent = cli("--config", path, "digest", "send", "--date", "2026-03-10")
        assert sent.exit_code == 0 and "sent, attempt 2" in sent.stdout
        (listed,) = json.loads(cli("--config", path, "digest", "status", "--format", "json").stdout)
        assert (listed["state"], listed["deferred_to"]) == ("sent", None)
        assert listed["delivered_to"] == "250 Message accepted for delivery; to leads@example.com"
    assert [r.recipients for r in handler.received] == [["leads@example.com"]]


def test_every_recipient_refused_some_for_now_at_every_attempt_fails_and_a_resend_skips_the_refused(
        write_config, cli):
    handler = Handler(refuse={"ops@example.com": "450 4.2.1 Mailbox busy", "bad@example.com": "550 5.1.1 no such user"})
    with smtp_server(handler) as port:
        path = smtp_config(write_config, port)
        path.write_text(path.read_text().replace('["leads@example.com"]', '["ops@example.com", "bad@example.com"]'))
        config, store = seeded(path)
        _, states = every_attempt(store, config)
        assert states == ["retry"] * (config.digest.max_attempts - 1) + ["failed"]
        row = store.digests.get("acme", "2026-03-10")
        assert (row["deferred_to"], row["sent_at"]) == ("ops@example.com", None)
        assert row["last_error"] == ("the server refused bad@example.com (550 5.1.1 no such user): not delivered to"
                                     " them, not retried; gave up after 6 attempts: recipients refused:"
                                     " ops@example.com (450 4.2.1 Mailbox busy)")
        store.close()
        del handler.refuse["ops@example.com"]
        assert cli("--config", path, "digest", "send", "--date", "2026-03-10").exit_code == 0
    assert [r.recipients for r in handler.received] == [["ops@example.com"]]


def test_a_claim_of_a_live_process_or_of_another_machine_is_left_alone_until_its_lease_runs_out(write_config):
    import socket

    handler = Handler()
    with smtp_server(handler) as port:
        config, store = seeded(smtp_config(write_config, port))
        claimed = datetime.now(timezone.utc)
        # a live process; another machine's; a gone process id of another PID namespace with this
        # host name (a container with host networking: its ids are not ours to look up)
        for claimer in (f"{_pid_space()}:{os.getppid()}", "another-host:999999999",
                        f"{socket.gethostname()}/pid:[1]:999999999"):
            store.digests.save({"brand_set": "acme", "day": "2026-03-10", "state": "sending", "stage": "data",
                                "attempts": 1, "claimed_at": claimed.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                "claimed_by": claimer}, claimed)
            assert digest.send(store, config, DAY, now=claimed).detail.startswith("being sent by another process")
        later = claimed + timedelta(minutes=6)  # the lease: 5 min, or 4 x the SMTP timeout
        assert digest.send(store, config, DAY, now=later).state == "unknown"
    assert handler.received == []


def test_digest_status_table_tells_who_got_it_who_is_retried_and_who_was_refused(write_config, cli):
    # The table cut last_error to 60 characters: after a partial delivery it named the refused
    # recipient at best, never who had the digest nor who would get it at the retry.
    handler = Handler(refuse_once={"ops@example.com": "452 4.5.3 Too many recipients"},
                      refuse={"bad@example.com": "550 5.1.1 no such user"})
    with smtp_server(handler) as port:
        path = two_recipients(write_config, port, ', "bad@example.com"')
        config, store = seeded(path)
        digest.run_due(store, config, MORNING)
        store.close()
        out = cli("--config", path, "digest", "status").stdout
        details = out[out.index("\n\n"):]  # under the table, in full
        assert "2026-03-10 (acme): retry at 2026-03-11T09:10:00Z, attempt 1" in details
        assert ("  delivery: 250 Message accepted for delivery; to leads@example.com; deferred ops@example.com"
                " (452 4.5.3 Too many recipients); refused bad@example.com (550 5.1.1 no such user)\n") in details
        assert "  to retry: ops@example.com\n" in details
        assert ("  last error: the server refused bad@example.com (550 5.1.1 no such user): not delivered to them,"
                " not retried; the server deferred ops@example.com (452 4.5.3 Too many recipients): mailed again"
                " at the next attempt\n") in details
        listed = json.loads(cli("--config", path, "digest", "status", "--format", "json").stdout)
        assert set(listed[0]) >= {"delivered_to", "deferred_to", "last_error"}  # the JSON keeps its shape
