"""A real local SMTP server (aiosmtpd) for tests, with scripted misbehaviour,
a self-signed certificate for TLS tests, and a local webhook receiver."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes  # the raw message bytes as the server received them


@dataclass
class Handler:
    """Accepts mail and records it. ``script`` holds what to do at each DATA, in order:
    "ok", a reply such as "451 4.3.0 try later", "drop-rcpt" (close the connection at
    RCPT), "drop-after-data" (keep the message, close without answering) or "block"
    (wait for ``release`` before answering, after setting ``in_data``). ``refuse`` maps a
    recipient to the reply its RCPT gets (e.g. "550 5.1.1 no such user"; a 421 then closes the connection);
    ``refuse_once`` the same, for its first RCPT only (e.g. "452 4.5.3 too many recipients")."""

    script: list[str] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    refuse_once: dict[str, str] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    in_data: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.script and self.script[0] == "drop-rcpt":
            self.script.pop(0)
            server.transport.close()
            return "421 closing"
        if address in self.refuse_once:
            return self.refuse_once.pop(address)
        if address in self.refuse:
            if self.refuse[address].startswith("421"):  # "closing the channel": once the reply is out
                import asyncio

                asyncio.get_running_loop().call_soon(server.transport.close)
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        action = self.script.pop(0) if self.script else "ok"
        if action == "block":
            import asyncio

            self.in_data.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait)
            return "250 too late"
        if action.startswith(("4", "5")):
            return action
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        if action == "drop-after-data":
            server.transport.close()
        return "250 Message accepted for delivery"


@contextmanager
def smtp_server(handler: Handler, **kwargs: Any) -> Iterator[int]:
    """Run aiosmtpd on 127.0.0.1; yields the port."""
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield port
    finally:
        handler.release.set()
        controller.stop()


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1/localhost and its key, written to ``folder``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


class PasswordCheck:
    """An aiosmtpd authenticator accepting one user and password."""

    def __init__(self, user: str, password: str) -> None:
        self.user, self.password = user.encode(), password.encode()
        self.seen: list[str] = []

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (self.user, self.password)
        self.seen.append(f"{mechanism}:{'ok' if ok else 'bad'}")
        return AuthResult(success=ok, handled=False)


@dataclass
class Webhook:
    """A local HTTP receiver: records JSON bodies, answers with ``statuses`` in turn (then 200);
    a 3xx status redirects to ``/moved``."""

    statuses: list[int] = field(default_factory=list)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""
    echo: bool = False  # an error's body quotes the path asked for (with the URL's token)
    empty: bool = False  # an error comes with no body, only the status line
    gets: list[str] = field(default_factory=list)  # paths asked for with GET


@contextmanager
def webhook_server(hook: Webhook) -> Iterator[Webhook]:
    class Receive(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            status = hook.statuses.pop(0) if hook.statuses else 200
            if status == 200:
                hook.bodies.append(json.loads(body))
            self.send_response(status)
            if 300 <= status < 400:  # moved: to this server's /moved
                self.send_header("Location", "/moved")
            self.end_headers()
            if status == 200 or not hook.empty:
                self.wfile.write(b"ok" if status == 200 else f"no such hook {self.path}".encode() if hook.echo
                                 else b"error")

        def do_GET(self) -> None:  # noqa: N802 - a page, as a redirect's target may be
            hook.gets.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"<html>a page</html>")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receive)
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/services/T000/B000/secret-token"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
