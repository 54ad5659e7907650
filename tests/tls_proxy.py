"""TLS in front of the embedded broker, for tests: Tansu 0.6.0 cannot serve TLS itself.

``make_certs`` writes a CA, a server certificate for 127.0.0.1/localhost and a client certificate
whose key is encrypted with a passphrase (``openssl``). ``TLSProxy`` listens on loopback, looks at
the first bytes of each connection without taking them (a TLS record starts 0x16), terminates TLS
(requiring a client certificate the CA signed) and pipes the plaintext to the broker. It counts
what came: TLS sessions, Kafka requests sent in plaintext (refused and closed), and bare TCP
probes that sent nothing. ``DirectWatch`` samples /proc/net/tcp for connections to the broker's own
port that do not come from the proxy: a client that bypassed TLS.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

PASSPHRASE = "proxy-test-passphrase"


@dataclass
class Certs:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    passphrase_file: Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_certs(folder: Path) -> Certs:
    folder.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=goalconvo-test-ca",
             "-keyout", "ca.key", "-out", "ca.pem", cwd=folder)
    (folder / "server.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "server.key",
             "-out", "server.csr", cwd=folder)
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-days", "2", "-extfile", "server.ext", "-out", "server.pem", cwd=folder)
    (folder / "passphrase").write_text(PASSPHRASE + "\n")
    _openssl("req", "-newkey", "rsa:2048", "-subj", "/CN=goalconvo-client", "-passout", f"pass:{PASSPHRASE}",
             "-keyout", "client.key", "-out", "client.csr", cwd=folder)
    _openssl("x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-days", "2", "-out", "client.pem", cwd=folder)
    return Certs(folder / "ca.pem", folder / "server.pem", folder / "server.key", folder / "client.pem",
                 folder / "client.key", folder / "passphrase")


@dataclass
class Seen:
    tls_sessions: int = 0
    plaintext_requests: int = 0
    bare_probes: int = 0
    failed_handshakes: list[str] = field(default_factory=list)
    client_subjects: set[str] = field(default_factory=set)
    upstream_ports: set[int] = field(default_factory=set)


class TLSProxy:
    """``127.0.0.1:port`` (TLS, client certificate required) -> ``127.0.0.1:upstream`` (plaintext)."""

    def __init__(self, certs: Certs, upstream: int, host: str = "127.0.0.1"):
        self.upstream = upstream
        self.ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(certs.ca))
        self.ctx.verify_mode = ssl.CERT_REQUIRED
        self.ctx.load_cert_chain(str(certs.server_cert), str(certs.server_key))
        self.seen = Seen()
        self._lock = threading.Lock()
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, 0))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        self._stopped = False
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> "TLSProxy":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopped = True
        self._sock.close()

    def _accept(self) -> None:
        while not self._stopped:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(30)
            first = conn.recv(1, socket.MSG_PEEK)
        except OSError:
            conn.close()
            return
        if not first:
            with self._lock:
                self.seen.bare_probes += 1  # a TCP connect that sent nothing (a reachability check)
            conn.close()
            return
        if first != b"\x16":
            with self._lock:
                self.seen.plaintext_requests += 1
            conn.close()
            return
        try:
            tls = self.ctx.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            with self._lock:
                self.seen.failed_handshakes.append(str(exc))
            conn.close()
            return
        subject = dict(x[0] for x in tls.getpeercert().get("subject", ()))
        with self._lock:
            self.seen.tls_sessions += 1
            self.seen.client_subjects.add(subject.get("commonName", "?"))
        try:
            up = socket.create_connection(("127.0.0.1", self.upstream))
        except OSError:
            tls.close()
            return
        with self._lock:
            self.seen.upstream_ports.add(up.getsockname()[1])
        tls.settimeout(None)
        threading.Thread(target=_pump, args=(up, tls), daemon=True).start()
        _pump(tls, up)


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class DirectWatch:
    """Samples established TCP connections to ``port`` on loopback; ``strangers`` are those not from ``allowed``."""

    def __init__(self, port: int, allowed: set[int]):
        self.port = port
        self.allowed = allowed  # filled as the proxy connects: judged when the watch ends
        self._seen: set[int] = set()
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "DirectWatch":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    @property
    def strangers(self) -> set[int]:
        """Local ports of connections to the broker's port that were not the proxy's."""
        return self._seen - self.allowed

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.samples += 1
            for local, remote in _established():
                if remote == self.port:
                    self._seen.add(local)


def _established() -> list[tuple[int, int]]:
    """(local port, remote port) of every established IPv4 TCP connection (/proc/net/tcp, state 01)."""
    out = []
    try:
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return out
    for line in lines:
        parts = line.split()
        if len(parts) > 3 and parts[3] == "01":
            out.append((int(parts[1].split(":")[1], 16), int(parts[2].split(":")[1], 16)))
    return out
