"""No secret in the logs, even at DEBUG, even from third-party loggers."""

from __future__ import annotations

import json
import re
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from monitor import logs
from monitor.config import load, unresolved_secrets
from monitor.logs import RedactingFilter, revealed
from test_daemon import source

CONFIGURED = "cfg-S3cr3t/val+ue=="  # a secret the config refers to
RUNTIME = "rt-4ccE55.t0ken_issued-at-runtime"  # a token the config never saw


@pytest.mark.parametrize("line, kept", [
    ("Making API request: GET https://api.twitter.com/2/tweets/search/recent\nParameters: {'query': 'acme'}\n"
     f"Headers: {{'User-Agent': 'Tweepy', 'Authorization': 'Bearer {RUNTIME}'}}\nBody: None", "'Authorization': '***'"),
    (f"Updated headers: {{'Authorization': 'OAuth oauth_nonce=\"1\", oauth_signature=\"{RUNTIME}\"'}}", "'Authorization': '***'"),
    (f"Request headers were {{'Authorization': b'Basic {RUNTIME}'}}", "'Authorization': b'***'"),
    (f"Request body was grant_type=client_credentials&client_id=abc&client_secret={RUNTIME}", "client_id=abc&client_secret=***"),
    (f'Response headers were {{}} and content {{"access_token": "{RUNTIME}", "token_type": "bearer"}}.',
     '"access_token": "***", "token_type": "bearer"'),
    (f"Obtained token {{'access_token': '{RUNTIME}', 'refresh_token': '{RUNTIME}x', 'expires_in': 3600}}.",
     "'expires_in': 3600"),
    (f"Data: [('grant_type', 'password'), ('password', '{RUNTIME}'), ('username', 'bob')]", "('password', '***')"),
    (f'http://127.0.0.1:80 "GET /v26.0/me/feed?fields=message&access_token={RUNTIME} HTTP/1.1" 200 40',
     "access_token=*** HTTP/1.1"),
    (f"send: b'GET / HTTP/1.1\\r\\nHost: x\\r\\nAuthorization: Bearer {RUNTIME}\\r\\n\\r\\n'", "Host: x"),
    (f"connecting to https://monitor:{RUNTIME}@mail.example.com:465", "https://monitor:***@mail.example.com"),
    (f"Set-Cookie: session={RUNTIME}; Path=/", "Set-Cookie: ***"),
    (f"form password={RUNTIME}&user=bob", "password=***&user=bob"),
    (f"session ok, token: {RUNTIME} (expires in 3600s)", "token: *** (expires"),  # prose, but a token
    (f"poll blog failed: 404 for https://feeds.example/private.rss?key={RUNTIME}&lang=en", "?key=***&lang=en"),
    (f"GET /feed?private_token={RUNTIME}&page=2", "private_token=***&page=2"),
    (f"GET /export.rss?sig={RUNTIME}", "sig=***"),
])
def test_credential_shaped_values_are_masked(line, kept):
    redacted = RedactingFilter().redact(line)
    assert RUNTIME not in redacted and "4ccE55" not in redacted
    assert kept in redacted


@pytest.mark.parametrize("line", [
    "alert for Acme at 2026-03-10T10:00:00Z waits for email: m.toml: [smtp]: password: environment variable"
    " SMTP_PASSWORD is not set",
    "config reload failed, still running on the previous config: m.toml: [smtp]: password: expected a string",
    "[alerts]: webhook_url: cannot read secret file hook.txt: No such file or directory",
    "[[sources]] x: token: environment variable X_TOKEN is not set",
    "m.toml: [[sources]] #1 (\"x\"): bearer_token: X rejected the bearer token from env XTOK (401 Unauthorized)",
])
def test_our_own_messages_naming_a_secret_setting_are_kept_whole(line):
    assert RedactingFilter(["", CONFIGURED]).redact(line) == line


def test_a_configured_value_too_short_to_be_a_credential_is_not_masked_in_every_word():
    # A test token "t" masked would turn "cannot reach http://..." into "canno*** reach h******p://...".
    assert RedactingFilter(["t", "abc"]).redact("x: cannot reach http://127.0.0.1:1: abc") == (
        "x: cannot reach http://127.0.0.1:1: abc"
    )
    assert RedactingFilter(["t0k3"]).redact("got t0k3") == "got ***"


def test_configured_secrets_are_masked_in_every_encoding():
    redactor = RedactingFilter([CONFIGURED])
    out = redactor.redact(f"q={CONFIGURED} url=/x?key=cfg-S3cr3t%2Fval%2Bue%3D%3D form=cfg-S3cr3t%2Fval%2Bue%3D%3D")
    assert "S3cr3t" not in out and out.count("***") == 3
    assert redactor.redact("next_token=abc tokens: 5 token_type=bearer") == "next_token=abc tokens: 5 token_type=bearer"


class _FakeApi(BaseHTTPRequestHandler):
    """127.0.0.1 only: OAuth token endpoints and empty API answers."""

    def _answer(self, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._answer({"access_token": RUNTIME, "token_type": "bearer", "expires_in": 3600,
                      "refresh_token": RUNTIME + "R", "scope": "*"})

    def do_GET(self) -> None:  # noqa: N802
        self._answer({"data": [], "meta": {"result_count": 0}, "name": "bot"})

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake_api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_tweepy_requests_oauthlib_prawcore_and_urllib3_at_debug_leak_nothing(
    restore_logging, fake_api, scripted_plugin, write_config, monkeypatch, capsys
):
    import prawcore
    import requests
    import tweepy
    from oauthlib.oauth2 import BackendApplicationClient
    from requests.adapters import HTTPAdapter
    from requests_oauthlib import OAuth1, OAuth2Session

    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the fake API speaks plain HTTP
    monkeypatch.setenv("SM_TOKEN", CONFIGURED)
    monkeypatch.setenv("SM_SMTP_PASSWORD", CONFIGURED + "smtp")
    config = load(write_config(
        source("x", token={"env": "SM_TOKEN"})
        + '\n[digest]\nrecipients = ["t@example.com"]\n[smtp]\nhost = "127.0.0.1"\nsender = "m@example.com"\npassword = { env = "SM_SMTP_PASSWORD" }\n'
    ))
    logs.configure("DEBUG", logs.revealed(config.secrets()))

    # OAuth 2 client credentials, then an authorised call (requests-oauthlib + urllib3).
    session = OAuth2Session(client=BackendApplicationClient(client_id="cid"))
    session.fetch_token(f"{fake_api}/token", client_id="cid", client_secret=CONFIGURED)
    session.get(f"{fake_api}/v2/search", params={"access_token": RUNTIME}, timeout=5)
    # OAuth 1 signed request.
    requests.get(f"{fake_api}/1.1/search.json", timeout=5,
                 auth=OAuth1("ck", client_secret=CONFIGURED, resource_owner_key="ok", resource_owner_secret=RUNTIME))

    # tweepy: its host is fixed, so its session is pointed at the fake API.
    class ToFake(HTTPAdapter):
        def send(self, request, **kwargs):  # type: ignore[no-untyped-def]
            request.url = request.url.replace("https://api.twitter.com", fake_api)
            return super().send(request, **kwargs)

    client = tweepy.Client(bearer_token=CONFIGURED)
    client.session.mount("https://api.twitter.com", ToFake())
    client.search_recent_tweets("acme")

    # prawcore: password grant, then an API call.
    requestor = prawcore.Requestor(user_agent="sentiment-monitor-test", oauth_url=fake_api, reddit_url=fake_api, timeout=5)
    authenticator = prawcore.TrustedAuthenticator(client_id="cid", client_secret=CONFIGURED, requestor=requestor)
    authorizer = prawcore.ScriptAuthorizer(authenticator=authenticator, username="bob", password=RUNTIME)
    authorizer.refresh()
    prawcore.Session(authorizer=authorizer).request(method="GET", path="/api/v1/me")
    logging.getLogger("monitor.daemon").exception("poll x failed", exc_info=ValueError(f"rejected: {CONFIGURED}"))

    err = capsys.readouterr().err
    for expected in ("DEBUG requests_oauthlib.oauth2_session: Obtained token", "DEBUG tweepy.client: Making API request",
                     "DEBUG requests_oauthlib.oauth1_auth: Updated headers", "DEBUG prawcore: Fetching: GET",
                     "DEBUG urllib3.connectionpool", "ERROR monitor.daemon: poll x failed"):
        assert expected in err
    for secret in (CONFIGURED, RUNTIME, "S3cr3t", "4ccE55"):
        assert secret not in err, f"{secret!r} leaked:\n{err}"


def test_a_secret_url_is_masked_when_a_library_logs_only_its_path(restore_logging, capsys):
    import requests

    token = "xoxb-W3bh00kT0ken"

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/services/T0001/B0001/{token}?v=1"
    try:
        logs.configure("DEBUG", [url])
        with requests.Session() as session:
            assert session.post(url, json={"text": "spike"}, timeout=5).status_code == 200
    finally:
        server.shutdown()
        server.server_close()
    err = capsys.readouterr().err
    assert '"POST ***' in err  # urllib3 logged the request line, path and query masked
    assert token not in err and "B0001" not in err


RECORD_START = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d (DEBUG|INFO|WARNING|ERROR|CRITICAL) \S+: ")


def test_every_record_is_one_line_at_debug_except_a_traceback(
    restore_logging, fake_server, fresh_store, write_config, monkeypatch, capsys
):
    import wire_x as wx
    from monitor import config as config_module
    from monitor import ingest

    monkeypatch.setenv("X_BEARER_TOKEN", CONFIGURED)
    fake_server.route("GET", wx.SEARCH, wx.ok(wx.page([wx.post("acme\nsupport was great")])))
    config = config_module.load(write_config(wx.source_toml(fake_server.url)))
    logs.configure("DEBUG", logs.revealed(config.secrets()))
    (result,) = ingest.poll(fresh_store, config)
    assert result.status == "ok"
    logging.getLogger("monitor.test").warning("two\nlines\r\nand a third")
    try:
        raise ValueError(f"rejected: {CONFIGURED}\nsecond line of the error")
    except ValueError:
        logging.getLogger("monitor.daemon").exception("poll x-acme failed:\n%s", "details")

    err = capsys.readouterr().err
    lines = err.splitlines()
    failed = next(i for i, line in enumerate(lines) if "ERROR monitor.daemon: poll x-acme failed" in line)
    assert all(RECORD_START.match(line) for line in lines[:failed + 1]), err
    # tweepy's request record ("Parameters:/Headers:/Body:" lines) is one line, its token masked.
    (request,) = [line for line in lines if "DEBUG tweepy.client: Making API request" in line]
    assert "\\nParameters: " in request and "\\nHeaders: " in request and "\\nBody: " in request
    assert "'Authorization': '***'" in request
    assert lines[failed].endswith("poll x-acme failed:\\ndetails")
    assert any(line.endswith("WARNING monitor.test: two\\nlines\\r\\nand a third") for line in lines)
    # The traceback keeps its own lines, after its record, redacted.
    traceback = lines[failed + 1:]
    assert traceback[0] == "Traceback (most recent call last):"
    assert traceback[-2:] == ["ValueError: rejected: ***", "second line of the error"]
    for secret in (CONFIGURED, "S3cr3t"):
        assert secret not in err


def test_an_smtp_login_name_is_read_like_a_secret_but_not_masked(write_config, monkeypatch):
    # username = "monitor" (the README's example) masked turned "data/monitor.db" into "data/***.db".
    path = write_config("""
        [digest]
        recipients = ["team@example.com"]

        [smtp]
        host = "127.0.0.1"
        sender = "monitor@example.com"
        username = { env = "SMTP_USER" }
        password = { env = "SMTP_PASS" }
        """)
    monkeypatch.delenv("SMTP_USER", raising=False)
    monkeypatch.setenv("SMTP_PASS", "hunter22")
    loaded = load(path)
    assert unresolved_secrets(loaded.smtp) == [f"{path}: [smtp]: username: environment variable SMTP_USER is not set"]
    monkeypatch.setenv("SMTP_USER", "monitor")
    redactor = RedactingFilter(revealed(loaded.secrets()))
    assert redactor.redact("database data/monitor.db; login monitor / hunter22") == (
        "database data/monitor.db; login monitor / ***")


def test_log_times_carry_their_utc_offset_and_agree_with_status(tmp_path):
    # Run by hand (no TZ=UTC as the systemd unit sets), a log line's time was local with no
    # offset while `status` shows UTC: 14:31 in the log, 09:01Z in status, nothing saying why.
    import subprocess
    import sys
    from datetime import datetime

    env = {**__import__("os").environ, "TZ": "Asia/Kolkata"}  # +05:30 all year
    run = subprocess.run([sys.executable, "-m", "monitor", "--log-level", "info", "poll"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    (line,) = [line for line in run.stderr.splitlines() if "INFO monitor.ingest: poll demo:" in line]
    stamp = line.split(" ", 1)[0]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+05:30", stamp), line
    status = subprocess.run([sys.executable, "-m", "monitor", "status", "--format", "json"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    (demo,) = [s for s in json.loads(status.stdout)["sources"] if s["source"] == "demo"]
    logged = datetime.fromisoformat(stamp)
    stored = datetime.fromisoformat(demo["last_success"].replace("Z", "+00:00"))
    assert abs((logged - stored).total_seconds()) < 5  # the same moment, however written
