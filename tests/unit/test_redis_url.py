"""`[redis] url`: every accepted form read right, every wrong one refused naming what is wrong,
and no password ever shown: not by `describe_url`, an error, a repr, or `relay check`."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relay.core.config import parse_settings
from relay.core.connections import Ack, describe_url
from relay.core.exceptions import ConfigError
from relay.core.redis_url import RedisAddress, TlsOptions, mask_url, parse_redis_url
from relay.core.settings import RedisSettings
from relay.web.providers.registry import PROVIDERS

PW = "s3cr3t-Pa55"


def test_plain_url() -> None:
    address = parse_redis_url(f"redis://relay:{PW}@redis.internal:6380/2")
    assert (address.kind, address.host, address.port, address.db) == (
        "tcp",
        "redis.internal",
        6380,
        2,
    )
    assert address.username == "relay"
    assert address.password is not None and address.password.reveal() == PW
    assert address.tls is None
    assert address.auth_kwargs() == {"db": 2, "username": "relay", "password": PW}


def test_defaults_and_password_only() -> None:
    address = parse_redis_url(f"redis://:{quote(PW + '@/:?#')}@localhost")
    assert (address.host, address.port, address.db, address.username) == (
        "localhost",
        6379,
        0,
        None,
    )
    assert address.password is not None and address.password.reveal() == PW + "@/:?#"


def test_tls_options() -> None:
    address = parse_redis_url(
        "rediss://relay:pw@10.0.0.5:6380/0?ssl_cert_reqs=required&ssl_ca_certs=/etc/ca.pem"
        "&ssl_certfile=/etc/client.pem&ssl_keyfile=/etc/client.key"
    )
    assert address.tls == TlsOptions(
        cert_reqs="required",
        ca_certs="/etc/ca.pem",
        certfile="/etc/client.pem",
        keyfile="/etc/client.key",
    )
    kwargs = address.auth_kwargs()
    assert kwargs["ssl"] is True and kwargs["ssl_check_hostname"] is True


def test_tls_without_verification_does_not_check_the_hostname() -> None:
    address = parse_redis_url("rediss://h/0?ssl_cert_reqs=none")
    assert address.tls is not None
    assert address.tls.kwargs()["ssl_check_hostname"] is False
    assert address.tls.kwargs()["ssl_cert_reqs"] == "none"


def test_unix_socket() -> None:
    address = parse_redis_url(f"unix://:{PW}@/run/redis/redis.sock?db=3")
    assert (address.kind, address.path, address.db) == ("unix", "/run/redis/redis.sock", 3)
    assert address.password is not None and address.password.reveal() == PW
    plain = parse_redis_url("unix:///tmp/r.sock")
    assert (plain.path, plain.db, plain.password) == ("/tmp/r.sock", 0, None)


@pytest.mark.parametrize("scheme", ["redis+sentinel", "sentinel"])
def test_sentinel(scheme: str) -> None:
    address = parse_redis_url(
        f"{scheme}://relay:{PW}@s1:26379,s2,[::1]:26380/mymaster/4?sentinel_password=other"
    )
    assert address.kind == "sentinel" and address.is_sentinel
    assert address.sentinels == (("s1", 26379), ("s2", 26379), ("::1", 26380))
    assert (address.service, address.db) == ("mymaster", 4)
    # the userinfo is the data nodes'; the sentinels get only their own
    assert address.auth_kwargs()["password"] == PW
    assert address.sentinel_auth_kwargs() == {"password": "other"}
    assert "[::1]:26380" in address.where()


def test_sentinel_without_its_own_password_sends_none_to_the_sentinels() -> None:
    address = parse_redis_url(f"redis+sentinel://:{PW}@s1/svc")
    assert address.db == 0
    assert address.sentinel_auth_kwargs() == {}


def test_tls_sentinel() -> None:
    address = parse_redis_url("rediss+sentinel://s1/svc?ssl_ca_certs=/ca.pem")
    assert address.tls is not None and address.tls.ca_certs == "/ca.pem"
    assert address.sentinel_auth_kwargs()["ssl"] is True


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://x", "must start with redis://"),
        ("localhost:6379", "must start with redis://"),
        ("redis://h/0?sslcertreqs=none", "unknown option ?sslcertreqs="),
        ("redis://h/0?ssl_cert_reqs=none", "needs TLS: use rediss://"),
        ("rediss://h/0?ssl_cert_reqs=sometimes", "ssl_cert_reqs= must be one of"),
        ("rediss://h/0?ssl_certfile=/c.pem", "needs both ?ssl_certfile= and ?ssl_keyfile="),
        ("redis+sentinel://s1:26379", "needs the service (master) name"),
        ("redis+sentinel://s1/svc/0/extra", "path is /SERVICE[/DB]"),
        ("redis://a:1,b:2/0", "only redis+sentinel:// takes a list"),
        ("redis://h:99999/0", "port that is not a number"),
        ("redis://h:abc/0", "port that is not a number"),
        ("redis://h/zero", "database must be a whole number"),
        (f"redis://:{PW}@h/0?password={PW}", "gives a password twice"),
        ("redis://h/0?sentinel_password=x", "need a redis+sentinel:// URL"),
        ("unix://relative.sock", "absolute socket path"),
        ("redis:///0", "names no host"),
        (f"redis://{PW}@h/0", "a user name without a password"),
    ],
)
def test_wrong_urls_are_refused_naming_why(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=None) as caught:
        parse_redis_url(url)
    assert message in str(caught.value)
    assert PW not in str(caught.value)


def _settings(url: str, **redis: Any) -> Any:
    return parse_settings({"redis": {"url": url, **redis}}, {}, schemes=PROVIDERS)


def test_a_wrong_url_is_a_config_error_that_names_the_key_and_not_the_password() -> None:
    with pytest.raises(ConfigError) as caught:
        _settings(f"redis://relay:{PW}@h/0?ssl_ca_certs=/ca.pem")
    assert caught.value.problems == [
        "redis.url: ?ssl_ca_certs= needs TLS: use rediss:// (or rediss+sentinel://)"
    ]
    assert PW not in str(caught.value)


def test_the_environment_url_is_checked_too() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings({}, {"REDIS_URL": f"redis://:{PW}@a,b/0"}, schemes=PROVIDERS)
    assert caught.value.problems[0].startswith("redis.url: lists several hosts")
    assert PW not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://relay:pw@h:1/0", "redis://relay:****@h:1/0"),
        ("redis://:pw@h", "redis://:****@h"),
        ("redis://pw@h", "redis://****@h"),  # Lettuce-style: a lone userinfo may be a password
        ("redis://h:6379/0", "redis://h:6379/0"),
        ("unix:///tmp/r.sock?db=1&password=pw", "unix:///tmp/r.sock?db=1&password=****"),
        (
            "redis+sentinel://u:pw@s1:26379,s2:26379/svc/0?sentinel_password=spw",
            "redis+sentinel://u:****@s1:26379,s2:26379/svc/0?sentinel_password=****",
        ),
        ("rediss://u:p:w@h/0?ssl_ca_certs=/ca.pem", "rediss://u:****@h/0?ssl_ca_certs=/ca.pem"),
        ("redis://h/0?password=p@ss", "redis://****"),  # unencoded: more is hidden, never less
        ("not a url", "(not a URL)"),
    ],
)
def test_mask_url(url: str, shown: str) -> None:
    assert mask_url(url) == shown


SECRETS = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=6, max_size=24
).map(lambda text: "Zq" + text)


@settings(max_examples=300, deadline=None)
@given(password=SECRETS, user=st.sampled_from(["", "relay"]))
def test_no_form_of_url_shows_its_password(password: str, user: str) -> None:
    encoded = quote(password, safe="")
    urls = [
        f"redis://{user}:{password}@h:6379/0",  # raw, as a user might paste it
        f"redis://{user}:{encoded}@h:6379/0",
        f"rediss://{user}:{encoded}@h/0?ssl_cert_reqs=none",
        f"redis://{encoded}@h/0",
        f"redis://h/0?password={encoded}",
        f"unix:///tmp/r.sock?password={encoded}",
        f"redis+sentinel://{user}:{password}@s1,s2:26380/svc",
        f"redis+sentinel://{user}:{encoded}@s1/svc?sentinel_password={encoded}",
        f"sentinel://s1/svc?sentinel_password={encoded}&sentinel_username=relay",
    ]
    for url in urls:
        masked = mask_url(url)
        assert password not in masked, (url, masked)
        assert encoded not in masked, (url, masked)
        try:
            address = parse_redis_url(url)
        except ValueError as exc:
            assert password not in str(exc) and encoded not in str(exc), (url, exc)
        else:
            assert password not in repr(address) and encoded not in repr(address)


def test_describe_url_and_settings_repr_hide_the_password() -> None:
    settings_ = _settings(f"redis+sentinel://relay:{PW}@s1/svc?sentinel_password={PW}x")
    assert PW not in describe_url(settings_)
    assert PW not in repr(settings_)
    assert describe_url(settings_) == ("redis+sentinel://relay:****@s1/svc?sentinel_password=****")


def test_address_repr_leaves_the_passwords_out() -> None:
    address = parse_redis_url(f"redis+sentinel://u:{PW}@s1/svc?sentinel_password={PW}")
    assert PW not in repr(address)
    assert isinstance(address, RedisAddress)


def test_ack_settings() -> None:
    assert _settings("redis://h").redis.ack == "written"
    assert Ack.of(_settings("redis://h").redis) is None
    replicated = _settings("redis://h", ack="replicated", ack_replicas=2, ack_timeout="250ms")
    ack = Ack.of(replicated.redis)
    assert ack is not None and ack.command == ("WAIT", 2, 250)
    assert ack.failure(2) is None and ack.failure(3) is None
    failure = ack.failure(1)
    assert failure is not None and "1 of 2 replica(s)" in str(failure)
    fsynced = Ack.of(_settings("redis://h", ack="fsynced").redis)
    assert fsynced is not None and fsynced.command == ("WAITAOF", 1, 0, 500)
    assert fsynced.failure([1, 0]) is None
    assert fsynced.failure([0, 0]) is not None


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("ack", "quorum", "redis.ack: 'quorum' is not one of written, replicated, fsynced"),
        ("ack_replicas", 0, "redis.ack_replicas: must be at least 1"),
        ("ack_timeout", "0s", "redis.ack_timeout: must be at least 0.01"),
        ("ack_timeout", "10s", "redis.ack_timeout: at most 5s"),
    ],
)
def test_ack_problems_name_their_key(key: str, value: Any, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _settings("redis://h", **{key: value})
    assert any(line.startswith(problem) for line in caught.value.problems), caught.value.problems


def test_declared_levels_are_the_ones_the_ack_knows() -> None:
    assert RedisSettings.ACK_LEVELS == ("written", "replicated", "fsynced")
