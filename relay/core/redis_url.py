"""`[redis] url`: the forms the relay accepts, read once into a `RedisAddress`, and described
without their secrets.

The forms (docs/configuration.md, the contract's "Redis" section):

    redis://[user:password@]host[:port][/db]
    rediss://[user:password@]host[:port][/db]?ssl_cert_reqs=…&ssl_ca_certs=PATH
                                           (&ssl_certfile=PATH&ssl_keyfile=PATH for a client cert)
    unix://[user:password@]/path/redis.sock[?db=N]
    redis+sentinel://[user:password@]host[:port][,host[:port]…]/SERVICE[/DB]
                                           (also sentinel://; rediss+sentinel:// for TLS)

The URL is parsed here rather than by redis-py's `from_url` because redis-py knows no Sentinel
URL, and because the relay must build the same connection options for four kinds of client
(receiver, reader, worker, CLI; `relay.core.connections`). An option the relay does not know is
a config error rather than silently ignored: a misspelt `ssl_ca_cert` would otherwise turn
certificate checking into a surprise at the first connection.

Nothing here ever puts a password into a message: `RedisAddress.__repr__`, every `ValueError`
and `mask_url` leave them out, whatever the form of the URL (userinfo, `?password=`,
`?sentinel_password=`), and even when the URL is malformed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote

from relay.core.secret import Secret

#: the schemes accepted, and what each one means
SCHEMES = {
    "redis": ("tcp", False),
    "rediss": ("tcp", True),
    "unix": ("unix", False),
    "redis+sentinel": ("sentinel", False),
    "sentinel": ("sentinel", False),
    "rediss+sentinel": ("sentinel", True),
}
DEFAULT_PORT = 6379
DEFAULT_SENTINEL_PORT = 26379
CERT_REQS = ("none", "optional", "required")
#: query options the relay reads (anything else is refused, naming the option, never its value)
OPTIONS = (
    "db",
    "password",
    "ssl_cert_reqs",
    "ssl_ca_certs",
    "ssl_certfile",
    "ssl_keyfile",
    "ssl_check_hostname",
    "sentinel_username",
    "sentinel_password",
)
#: where `relay up` keeps the password of the Redis it starts (beside relay.toml; mode 0600).
#: The commands run next to it, with no Redis configured, find the password there
#: (`relay.core.connections`), so the password never travels in a printed URL.
EMBEDDED_DIR = ".relay"
EMBEDDED_PASSWORD_FILE = "password"  # noqa: S105 (a file name)

MASK = "****"
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$", re.S)
_SECRET_QUERY = re.compile(r"([?&;][^=&#;]*(?:pass|auth|secret|token)[^=&#;]*=)([^&#;]*)", re.I)


@dataclass(frozen=True)
class TlsOptions:
    """How a TLS connection checks the server (and, optionally, presents a client cert)."""

    cert_reqs: str = "required"  # none | optional | required
    ca_certs: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    check_hostname: bool = True

    def kwargs(self) -> dict[str, Any]:
        """redis-py's connection keywords for this TLS set-up."""
        return {
            "ssl": True,
            "ssl_cert_reqs": self.cert_reqs,
            "ssl_ca_certs": self.ca_certs,
            "ssl_certfile": self.certfile,
            "ssl_keyfile": self.keyfile,
            # a hostname cannot be checked without checking the certificate: Python's ssl
            # refuses the combination, so "none"/"optional" turn the hostname check off too
            "ssl_check_hostname": self.check_hostname and self.cert_reqs == "required",
        }


@dataclass(frozen=True)
class RedisAddress:
    """Where the relay's Redis is and how to authenticate: one parsed `[redis] url`."""

    kind: Literal["tcp", "unix", "sentinel"]
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    path: str = ""  # unix socket
    db: int = 0
    username: str | None = None
    password: Secret | None = field(default=None, repr=False)
    tls: TlsOptions | None = None
    sentinels: tuple[tuple[str, int], ...] = ()
    service: str = ""
    sentinel_username: str | None = None
    sentinel_password: Secret | None = field(default=None, repr=False)

    @property
    def is_sentinel(self) -> bool:
        return self.kind == "sentinel"

    def auth_kwargs(self, password: Secret | None = None) -> dict[str, Any]:
        """The data nodes' credentials and TLS options, as redis-py connection keywords;
        `password` stands in when the URL carries none (the embedded Redis of `relay up`)."""
        secret = self.password or password
        out: dict[str, Any] = {"db": self.db}
        if self.username:
            out["username"] = self.username
        if secret:
            out["password"] = secret.reveal()
        if self.tls is not None:
            out.update(self.tls.kwargs())
        return out

    def sentinel_auth_kwargs(self) -> dict[str, Any]:
        """The sentinels' own credentials (`?sentinel_username=`, `?sentinel_password=`) and
        TLS options: a password in the URL's userinfo is the data nodes', never sent to a
        sentinel that may have none (Redis refuses AUTH where no password is set)."""
        out: dict[str, Any] = {}
        if self.sentinel_username:
            out["username"] = self.sentinel_username
        if self.sentinel_password:
            out["password"] = self.sentinel_password.reveal()
        if self.tls is not None:
            out.update(self.tls.kwargs())
        return out

    def where(self) -> str:
        """Host and port (or socket, or sentinels and service), for messages."""
        if self.kind == "unix":
            return self.path
        if self.kind == "sentinel":
            hosts = ",".join(f"{_host(h)}:{p}" for h, p in self.sentinels)
            return f"sentinels {hosts} service {self.service}"
        return f"{_host(self.host)}:{self.port}"


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def parse_redis_url(url: str) -> RedisAddress:
    """Read `url` into a RedisAddress; a ValueError (naming what is wrong, never a value that
    could be a secret) when it is not one of the accepted forms."""
    match = _SCHEME.match(url.strip())
    scheme = match[1].lower() if match else ""
    if not match or scheme not in SCHEMES:
        raise ValueError(
            "must start with redis://, rediss:// (TLS), unix:// or redis+sentinel:// "
            + (f"(not {scheme}://)" if scheme else "(e.g. redis://127.0.0.1:6379/0)")
        )
    rest = match[2]
    kind, tls_on = SCHEMES[scheme]
    rest, _, _fragment = rest.partition("#")
    rest, _, query_text = rest.partition("?")
    query = _query(query_text)
    userinfo, at, location = rest.rpartition("@")
    if not at:
        userinfo, location = "", rest
    username, password = _userinfo(userinfo, bool(at))
    if "password" in query:
        if password is not None:
            raise ValueError("gives a password twice (in the URL and as ?password=)")
        password = Secret(query["password"])
    tls = _tls(query, tls_on)
    sentinel_password = (
        Secret(query["sentinel_password"]) if query.get("sentinel_password") else None
    )
    common: dict[str, Any] = {
        "username": username,
        "password": password,
        "tls": tls,
        "sentinel_username": query.get("sentinel_username") or None,
        "sentinel_password": sentinel_password,
    }
    if kind != "sentinel" and ("sentinel_username" in query or "sentinel_password" in query):
        raise ValueError("?sentinel_username= and ?sentinel_password= need a redis+sentinel:// URL")
    if kind == "unix":
        if not location.startswith("/"):
            raise ValueError("unix:// needs an absolute socket path (unix:///path/redis.sock)")
        return RedisAddress("unix", path=unquote(location), db=_db(query.get("db", "0")), **common)
    netloc, slash, path = location.partition("/")
    if not netloc:
        raise ValueError("names no host")
    segments = [unquote(s) for s in path.split("/") if s] if slash else []
    if kind == "sentinel":
        sentinels = tuple(_hostport(item, DEFAULT_SENTINEL_PORT) for item in netloc.split(","))
        if not segments:
            raise ValueError(
                "redis+sentinel:// needs the service (master) name: "
                "redis+sentinel://host:26379[,host:port…]/SERVICE[/DB]"
            )
        if len(segments) > 2:
            raise ValueError("redis+sentinel:// path is /SERVICE[/DB]")
        db = _db(segments[1] if len(segments) == 2 else query.get("db", "0"))
        return RedisAddress("sentinel", sentinels=sentinels, service=segments[0], db=db, **common)
    if "," in netloc:
        raise ValueError("lists several hosts: only redis+sentinel:// takes a list of sentinels")
    host, port = _hostport(netloc, DEFAULT_PORT)
    if len(segments) > 1:
        raise ValueError("path must be /DB (a database number)")
    db = _db(segments[0] if segments else query.get("db", "0"))
    return RedisAddress("tcp", host=host, port=port, db=db, **common)


def _query(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in parse_qsl(text, keep_blank_values=True):
        if name not in OPTIONS:
            raise ValueError(f"unknown option ?{name}= (known: {', '.join(OPTIONS)})")
        out[name] = value
    return out


def _userinfo(userinfo: str, present: bool) -> tuple[str | None, Secret | None]:
    if not present:
        return None, None
    user, colon, password = userinfo.partition(":")
    if not colon:
        # redis-py reads `redis://NAME@host` as a user, Lettuce as a password: refused rather
        # than guessed (and never echoed: it may be a password)
        raise ValueError(
            "has a user name without a password (redis://NAME@host): write "
            "redis://NAME:PASSWORD@host, redis://:PASSWORD@host for a password alone, or "
            "redis://NAME:@host for a user without one"
        )
    return (unquote(user) or None), (Secret(unquote(password)) if password else None)


def _tls(query: dict[str, str], on: bool) -> TlsOptions | None:
    given = [name for name in query if name.startswith("ssl_")]
    if not on:
        if given:
            raise ValueError(f"?{given[0]}= needs TLS: use rediss:// (or rediss+sentinel://)")
        return None
    reqs = query.get("ssl_cert_reqs", "required").lower()
    if reqs not in CERT_REQS:
        raise ValueError(f"?ssl_cert_reqs= must be one of {', '.join(CERT_REQS)}")
    check = query.get("ssl_check_hostname", "true").lower()
    if check not in ("true", "false", "yes", "no", "1", "0"):
        raise ValueError("?ssl_check_hostname= must be true or false")
    files = {}
    for name in ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile"):
        value = query.get(name)
        if value is not None and not value:
            raise ValueError(f"?{name}= is empty")
        files[name] = value
    if (files["ssl_certfile"] is None) != (files["ssl_keyfile"] is None):
        raise ValueError("a client certificate needs both ?ssl_certfile= and ?ssl_keyfile=")
    return TlsOptions(
        cert_reqs=reqs,
        ca_certs=files["ssl_ca_certs"],
        certfile=files["ssl_certfile"],
        keyfile=files["ssl_keyfile"],
        check_hostname=check in ("true", "yes", "1"),
    )


def _hostport(text: str, default_port: int) -> tuple[str, int]:
    text = text.strip()
    if text.startswith("["):  # [IPv6]:port
        host, bracket, after = text[1:].partition("]")
        if not bracket or (after and not after.startswith(":")):
            raise ValueError("has a malformed [IPv6] host")
        port_text = after[1:]
    else:
        host, _, port_text = text.partition(":")
    if not host:
        raise ValueError("names an empty host")
    if not port_text:
        return unquote(host), default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError("has a port that is not a number from 1 to 65535")
    return unquote(host), int(port_text)


def _db(text: str) -> int:
    if not text.isdigit():
        raise ValueError("database must be a whole number (the /DB at the end of the URL)")
    return int(text)


def mask_url(url: str) -> str:
    """`url` with every password replaced by ****: in the userinfo (a lone userinfo too, which
    Lettuce-style URLs use for the password), and in any query option whose name speaks of a
    password or token. Works on malformed URLs as well (an unencoded `@`, `?` or `:` in a
    password): the spans to hide are found on the URL as written and merged, so masking more
    than needed can happen, showing any part of a secret cannot."""
    match = _SCHEME.match(url.strip())
    if not match:
        return "(not a URL)"
    scheme, rest = match[1], match[2]
    spans = [(m.start(2), m.end(2)) for m in _SECRET_QUERY.finditer(rest)]
    at = rest.rfind("@")
    if at >= 0:
        colon = rest.find(":", 0, at)
        spans.append((colon + 1 if colon >= 0 else 0, at))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    out, pos = [], 0
    for start, end in merged:
        out += [rest[pos:start], MASK]
        pos = end
    out.append(rest[pos:])
    return f"{scheme}://" + "".join(out)


def embedded_password_path(config: Path | None) -> Path:
    """Where `relay up` keeps its embedded Redis's password, for the relay.toml at `config`."""
    base = config.resolve().parent if config is not None else Path.cwd()
    return base / EMBEDDED_DIR / EMBEDDED_PASSWORD_FILE


def read_embedded_password(config: Path | None) -> Secret | None:
    """The embedded Redis's password, when `relay up` left one beside relay.toml."""
    try:
        text = embedded_password_path(config).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return Secret(text) if text else None
