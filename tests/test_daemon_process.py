"""`sentiment-monitor run` as a real process: signals, reloads, readers beside it, secrets in its logs."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from mailserver import Handler, smtp_server
from monitor.cli import main
from monitor.config import load
from monitor.storage import Store
from procs import MonitorProcess
from test_daemon import source

pytestmark = pytest.mark.crash


@pytest.mark.parametrize("signum, hung", [(signal.SIGTERM, True), (signal.SIGINT, False)])
def test_stop_signal_exits_0_within_10s_even_with_a_hung_poll(signum, hung, scripted_plugin, write_config, tmp_path):
    stuck = source("stuck", "1s", "hang", hang_seconds=120) if hung else ""
    path = write_config(source("steady", "1s") + stuck)
    daemon = MonitorProcess("--config", path, "run", cwd=tmp_path)
    try:
        daemon.wait_for(r"daemon started")
        daemon.wait_for(r"poll steady: 1 fetched, 1 new")
        daemon.wait_for(r"poll steady: 1 fetched, 1 new")  # polled again while "stuck" hangs
        stopped_at = time.monotonic()
        daemon.send(signum)
        assert daemon.wait(timeout=10) == 0
        took = time.monotonic() - stopped_at
        print(f"{signal.Signals(signum).name} {'with' if hung else 'without'} a hung poll: exit 0 after {took:.2f} s")
        assert took < 10 if hung else took < 2
        assert f"received {signal.Signals(signum).name}: stopping" in daemon.stderr
        assert ("leaving 1 poll(s) unfinished: stuck" in daemon.stderr) == hung
        assert "daemon stopped" in daemon.stderr
    finally:
        daemon.stop()


def slow_smtp(port: int, send_at: str | None = "00:00") -> str:
    """TOML for delivery to the test SMTP server on ``port``, with time for a stop to cut a
    send off (timeout 20 s); with ``send_at`` 00:00, yesterday's digest is due at once."""
    return f"""
[digest]
{f'send_at = "{send_at}"' if send_at else ""}
recipients = ["leads@example.com"]

[smtp]
host = "127.0.0.1"
port = {port}
sender = "monitor@example.com"
starttls = false
timeout = 20
"""


@pytest.mark.parametrize("answered", [True, False])
def test_stop_signal_gives_a_digest_being_sent_the_grace_of_a_poll(answered, scripted_plugin, write_config, tmp_path):
    handler = Handler(script=["block"])  # the server holds DATA open until released
    with smtp_server(handler) as port:
        path = write_config(source("steady", "1h") + slow_smtp(port))
        # Yesterday's digest is due at once; the service jobs look every 0.5 s instead of every minute.
        daemon = MonitorProcess("--config", path, "run", cwd=tmp_path,
                                constants={"SERVICE_INTERVAL": 0.5, "SHUTDOWN_GRACE": 2.0})
        try:
            assert handler.in_data.wait(15), daemon.stderr
            stopped_at = time.monotonic()
            daemon.send(signal.SIGTERM)
            if answered:
                time.sleep(0.5)
                handler.release.set()  # the server accepts the message within the grace
            assert daemon.wait(timeout=10) == 0
            took = time.monotonic() - stopped_at
        finally:
            daemon.stop()
    err = daemon.stderr
    with Store.open(load(path).monitor.database) as store:
        (row,) = store.digests.recent()
    if answered:
        assert (row["state"], row["stage"]) == ("sent", None)
        assert err.index(": sent") < err.index("daemon stopped") and "unfinished" not in err
        assert took < 2
    else:  # still in DATA when the grace ran out: said so, and the next start marks it unknown
        assert (row["state"], row["stage"]) == ("sending", "data")
        assert "leaving 1 job(s) unfinished: digest" in err
        assert 2 <= took < 4


# A fresh interpreter that records which thread first imports the service jobs' modules,
# then runs `run` with the jobs every 0.2 s and stops itself with a real SIGTERM.
_WATCH_IMPORTS = """
import json, os, signal, sys, threading
seen = {}
class Watch:
    def find_spec(self, name, path=None, target=None):
        if name in ("monitor.alerts", "monitor.digest"):
            seen.setdefault(name, threading.current_thread().name)
sys.meta_path.insert(0, Watch())
import monitor.daemon
monitor.daemon.SERVICE_INTERVAL = 0.2
threading.Timer(1.5, os.kill, (os.getpid(), signal.SIGTERM)).start()
from monitor.cli import main
try:
    main()
finally:
    print(json.dumps(seen))
"""


def test_the_service_jobs_modules_are_imported_before_their_threads_start(scripted_plugin, write_config, tmp_path):
    # Imported by the alerts and digest threads in the same tick, they could deadlock
    # (_DeadlockError, about 1 run in 8): the daemon imports them before it starts a thread.
    path = write_config(source("steady", "1h"))
    done = subprocess.run([sys.executable, "-c", _WATCH_IMPORTS, "--config", str(path), "run"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert "job failed" not in done.stderr and "daemon stopped" in done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == {"monitor.alerts": "MainThread", "monitor.digest": "MainThread"}


def test_sighup_applies_a_valid_config_and_keeps_running_on_an_invalid_one(scripted_plugin, write_config, tmp_path):
    path = write_config(source("first", "1s"))
    daemon = MonitorProcess("--config", path, "run", cwd=tmp_path)
    try:
        daemon.wait_for(r"poll first: ")
        good = path.read_text() + source("second", "1s")
        path.write_text(good)
        daemon.send(signal.SIGHUP)
        daemon.wait_for(r"config reloaded from .*: 2 enabled source\(s\) \(first, second\)")
        daemon.wait_for(r"poll second: 1 fetched, 1 new")
        path.write_text(good + "\n[[sources]]\nname = \"broken\"\nplatform = \"scripted\"\nevery = \"soon\"\n")
        daemon.send(signal.SIGHUP)
        daemon.wait_for(r"config reload failed, still running on the previous config: .*every")
        daemon.wait_for(r"poll second: ")  # both old sources still polled
        daemon.wait_for(r"poll first: ")
        daemon.send(signal.SIGTERM)
        assert daemon.wait(timeout=10) == 0
        assert "poll broken" not in daemon.stderr
    finally:
        daemon.stop()


def test_cli_queries_never_see_database_is_locked_while_the_daemon_writes(scripted_plugin, write_config, tmp_path):
    sources = "".join(source(f"busy{i}", "1s", per_poll=300) for i in range(4))
    path = write_config(sources)
    daemon = MonitorProcess("--config", path, "run", cwd=tmp_path)
    runner = CliRunner()
    outputs = []
    try:
        daemon.wait_for(r"poll busy3: 300 fetched")
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:  # as fast as queries go, for 4 s of daemon writes
            for args in (["negatives", "--limit", "5"], ["summary", "--format", "json"], ["status", "--format", "json"]):
                result = runner.invoke(main, ["--config", str(path), *args])
                outputs.append((args, result.exit_code, result.output))
        for args in (["status"], ["summary"], ["negatives"]):  # and as separate processes
            proc = MonitorProcess("--config", path, *args, cwd=tmp_path)
            assert proc.wait(timeout=30) == 0, proc.stderr
            outputs.append((args, 0, proc.stderr))
        writes = len([line for line in daemon.stderr.splitlines() if "fetched, 300 new" in line])
        daemon.send(signal.SIGTERM)
        assert daemon.wait(timeout=10) == 0
    finally:
        daemon.stop()
    failures = [(a, code, out[-300:]) for a, code, out in outputs if code != 0 or "locked" in out]
    print(f"{len(outputs)} queries beside {writes} polls of 300 new mentions: {len(failures)} failed or locked")
    assert not failures and len(outputs) > 30 and writes >= 12
    assert "locked" not in daemon.stderr
    assert json.loads(outputs[2][2])["sources"][0]["source"] == "busy0"


def test_no_secret_reaches_the_log_even_at_debug(scripted_plugin, write_config, tmp_path):
    token = "tok-9f8e7d6c5b4a3210+/="
    path = write_config(source("secretive", "1m", token={"env": "SCRIPTED_TOKEN"}))
    proc = MonitorProcess("--log-level", "DEBUG", "--config", path, "run", "--once", cwd=tmp_path,
                          env={"SCRIPTED_TOKEN": token})
    assert proc.wait(timeout=30) == 0, proc.stderr
    err = proc.stderr
    assert "DEBUG tweepy.client: Making API request" in err and "DEBUG urllib3.connectionpool" in err
    assert "'Authorization': '***'" in err and "access_token=***" in err
    assert token not in err and "tok-9f8e7d6c5b4a3210" not in err and "9f8e7d6c" not in err


def test_sighup_rereads_the_config_file_resolved_at_start_and_a_removed_one_fails_the_reload(tmp_path):
    from monitor.config import embedded_default_text

    path = tmp_path / "config" / "monitor.toml"  # found without --config
    path.parent.mkdir()
    path.write_text(embedded_default_text())
    daemon = MonitorProcess("run", cwd=tmp_path)
    try:
        daemon.wait_for(r"poll demo: ")
        path.unlink()
        daemon.send(signal.SIGHUP)
        daemon.wait_for(r"config reload failed, still running on the previous config: "
                        r"config/monitor.toml: config file not found")
        path.write_text(embedded_default_text())
        daemon.send(signal.SIGHUP)
        daemon.wait_for(r"config reloaded from config/monitor.toml: ")
        daemon.send(signal.SIGTERM)
        assert daemon.wait(timeout=10) == 0
        assert "embedded default config" not in daemon.stderr
    finally:
        daemon.stop()


def test_a_second_run_on_the_same_database_refuses_in_one_line_naming_the_first(scripted_plugin, write_config, tmp_path):
    path = write_config(source("steady", "1s"))
    first = MonitorProcess("--config", path, "run", cwd=tmp_path)
    try:
        first.wait_for(r"poll steady: 1 fetched")
        for args in (["run"], ["run", "--once"]):
            second = MonitorProcess("--config", path, *args, cwd=tmp_path)
            try:
                assert second.wait(timeout=15) == 1
            finally:
                second.stop()
            assert second.stderr == (
                f"Error: {tmp_path / 'monitor.db'} is in use by another `sentiment-monitor run`"
                f" (pid {first.proc.pid}): stop it first; two would poll every source twice\n"
            )
        first.send(signal.SIGTERM)
        assert first.wait(timeout=10) == 0
    finally:
        first.stop()
    after = MonitorProcess("--config", path, "run", "--once", cwd=tmp_path)  # the lock went with it
    assert after.wait(timeout=30) == 0, after.stderr


def test_a_refused_run_has_not_touched_the_database_and_a_symlink_shares_the_lock(scripted_plugin, write_config, tmp_path):
    import fcntl
    import os

    real = tmp_path / "real" / "monitor.db"
    real.parent.mkdir()
    (tmp_path / "alias.db").symlink_to(real)  # the same database, by another name (dangling until made)
    path = write_config(source("steady", "1s"))
    path.write_text(path.read_text().replace(str(tmp_path / "monitor.db"), str(tmp_path / "alias.db")))
    fd = os.open(f"{real}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(fd, b"4242\n")  # what a running `run` writes there
        second = MonitorProcess("--config", path, "run", "--once", cwd=tmp_path)
        try:
            assert second.wait(timeout=15) == 1
        finally:
            second.stop()
        assert "is in use by another `sentiment-monitor run` (pid 4242)" in second.stderr, second.stderr
        assert not real.exists()  # neither created nor migrated by the run that was refused
    finally:
        os.close(fd)
    after = MonitorProcess("--config", path, "run", "--once", cwd=tmp_path)
    assert after.wait(timeout=30) == 0, after.stderr
    assert real.exists() and not (tmp_path / "alias.db.lock").exists()


def test_run_once_logs_a_digest_sent_once(tmp_path):
    proc = MonitorProcess("run", "--once", cwd=tmp_path)  # the embedded demo: its digest is due
    assert proc.wait(timeout=60) == 0, proc.stderr
    sent = [line for line in proc.stderr.splitlines() if "digest" in line and ": sent (" in line]
    assert len(sent) == 1 and "INFO monitor.digest.send: digest acme " in sent[0], proc.stderr


@pytest.mark.parametrize("cut", ["email", "webhook"])
def test_an_alert_cut_off_by_a_stop_while_handed_over_is_unknown_and_nothing_delivered_is_sent_again(
        cut, scripted_plugin, write_config, tmp_path, monkeypatch):
    import socket
    from datetime import datetime, timedelta, timezone

    from factories import scored
    from monitor import alerts
    from monitor.alerts.rule import floor_hour

    # The server has the message and holds its answer; or, with the email delivered, the webhook does.
    handler = Handler(script=["block"] if cut == "email" else [])
    with smtp_server(handler) as port, socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        monkeypatch.setenv("HOOK_URL", f"http://127.0.0.1:{silent.getsockname()[1]}/hook")
        path = write_config(source("steady", "1h") + f"""
[alerts]
channels = {'["email"]' if cut == "email" else '["email", "webhook"]'}
webhook_url = {{ env = "HOOK_URL" }}
webhook_timeout = 20

""" + slow_smtp(port, send_at=None))
        config = load(path)
        now = datetime.now(timezone.utc)
        with Store.open(config.monitor.database) as store:
            for hour in (floor_hour(now) - timedelta(hours=1), floor_hour(now)):  # the hour may turn meanwhile
                store.mentions.upsert([scored(f"{hour:%H}-{i}", "acme is down", at=hour + timedelta(minutes=i),
                                              label="negative") for i in range(5)], now)
            store.mentions.upsert([scored("old", "acme", at=floor_hour(now) - timedelta(weeks=2))], now)
            for days in (1, 2):  # the digest is not what this test sends
                day = (now - timedelta(days=days)).date().isoformat()
                store.digests.save({"brand_set": "acme", "day": day, "state": "sent", "attempts": 1}, now)
        daemon = MonitorProcess("--config", path, "run", cwd=tmp_path,
                                constants={"SERVICE_INTERVAL": 0.5, "SHUTDOWN_GRACE": 1.0})
        held = contextlib.ExitStack()
        try:
            if cut == "email":
                assert handler.in_data.wait(15), daemon.stderr
            else:
                silent.settimeout(15)
                posting, _ = silent.accept()  # after the email: the POST is under way
                held.callback(posting.close)  # open, unanswered, until the daemon is gone
                posting.recv(1)
            daemon.send(signal.SIGTERM)
            assert daemon.wait(timeout=10) == 0
        finally:
            daemon.stop()
            held.close()
        assert "leaving 1 job(s) unfinished: alerts" in daemon.stderr
        # The next start: not mailed again (the server may have it), and said so.
        with Store.open(config.monitor.database) as store:
            (result,) = alerts.run_due(store, config, datetime.now(timezone.utc))
            assert (result.sent, result.pending) == ([] if cut == "email" else ["email"], [])
            assert result.error == (f"{cut}: unknown: interrupted while"
                                    f" {'the server had the message' if cut == 'email' else 'the alert was being posted'}:"
                                    " it may have been delivered; not repeated")
            assert alerts.run_due(store, config, datetime.now(timezone.utc) + timedelta(hours=1)) == []
    # The email delivered before the webhook was cut off is not sent again.
    assert len(handler.received) == (0 if cut == "email" else 1)


@pytest.mark.parametrize("cut", ["data", "connect"])
def test_a_digest_cut_off_by_a_stop_is_resolved_at_the_next_start_without_waiting_for_the_lease(
        cut, scripted_plugin, write_config, tmp_path):
    import socket
    from datetime import datetime, timezone

    from monitor import digest

    handler = Handler(script=["block"] if cut == "data" else [])  # the server holds DATA open
    with smtp_server(handler) as port, socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))  # or a server that never greets: cut off before the message went
        silent.listen()
        path = write_config(source("steady", "1h") + slow_smtp(port if cut == "data" else silent.getsockname()[1]))
        daemon = MonitorProcess("--config", path, "run", cwd=tmp_path,
                                constants={"SERVICE_INTERVAL": 0.5, "SHUTDOWN_GRACE": 1.0})
        held = contextlib.ExitStack()
        try:
            if cut == "data":
                assert handler.in_data.wait(15), daemon.stderr
            else:
                silent.settimeout(15)
                held.callback(silent.accept()[0].close)  # connected, no greeting until the daemon is gone
            daemon.send(signal.SIGTERM)
            assert daemon.wait(timeout=10) == 0
        finally:
            daemon.stop()
            held.close()
        assert "leaving 1 job(s) unfinished: digest" in daemon.stderr
        # Restarted at once (systemd): the claim of the process that is gone is not waited for.
        config = load(write_config(source("steady", "1h") + slow_smtp(port)))
        with Store.open(config.monitor.database) as store:
            (row,) = store.digests.recent()
            assert (row["state"], row["stage"]) == ("sending", cut)
            (result,) = digest.run_due(store, config, datetime.now(timezone.utc))
            if cut == "data":  # the server may have it: not sent again
                assert (result.state, result.attempts) == ("unknown", 1)
                assert result.detail.startswith("interrupted while the server had the message")
            else:  # it never went: sent now, once
                assert (result.state, result.attempts) == ("sent", 2)
    assert len(handler.received) == (0 if cut == "data" else 1)


@pytest.mark.parametrize("how", ["removed", "replaced"])
def test_a_database_removed_or_replaced_under_the_daemon_stops_it_in_one_line(how, scripted_plugin, write_config, tmp_path):
    # It went on polling into a new, empty file (every poll "internal: no such table:
    # sources", a traceback each) while its own connection wrote to the removed one, and
    # `status` showed every source as "never polled".
    import os
    import shutil

    path = write_config(source("steady", "1s"))
    database = load(path).monitor.database
    daemon = MonitorProcess("--config", path, "run", cwd=tmp_path)
    try:
        daemon.wait_for(r"poll steady: 1 fetched, 1 new")
        if how == "removed":
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(f"{database}{suffix}")
        else:  # a backup put in its place
            shutil.copy(database, f"{database}.bak")
            os.replace(f"{database}.bak", database)
        daemon.wait_for(rf"{database} was removed or replaced while `run` was using it")
        assert daemon.wait(timeout=15) == 1
        assert "Traceback" not in daemon.stderr and "no such table" not in daemon.stderr
        assert daemon.stderr.rstrip().splitlines()[-1].startswith(f"Error: {database} was removed or replaced")
    finally:
        daemon.stop()
