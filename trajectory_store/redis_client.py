"""A redis-py client built from a URL: retries with back-off, bounded timeouts, clear errors.

Errors name `host:port`, never the password. Commands are retried on connection errors with
exponential back-off; the store's scripts are written to be safe to retry (insert skips ids it
already holds; quarantine is keyed by id). The one imprecision: if a sample's reply is lost
after Redis ran it, the retry counts those draws twice for the rate limiter.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from trajectory_store.errors import StoreAuthError, StoreConnectionError

DEFAULT_CONNECT_TIMEOUT_S = 5.0
_ATTEMPT_TIMEOUT_S = 2.0
_RETRIES = 3


def endpoint_of(url: str) -> str:
    """`host:port` (or the socket path) of a Redis URL, without credentials."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return parts.path
    try:
        port = parts.port or 6379
    except ValueError:
        port = "?"
    return f"{parts.hostname or 'localhost'}:{port}"


def endpoint_of_client(client: redis.Redis) -> str:
    """`host:port` (or socket path) a client talks to."""
    kwargs = client.connection_pool.connection_kwargs
    if "path" in kwargs:
        return str(kwargs["path"])
    return f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"


def connect_redis(url: str, *, connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S) -> redis.Redis:
    """A client for `url`, after checking within `connect_timeout_s` that the server answers.

    Raises `StoreConnectionError` (unreachable) or `StoreAuthError` (credentials refused).
    """
    endpoint = endpoint_of(url)
    if urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        raise StoreConnectionError(f"{endpoint}: not a Redis URL; want redis://:PASSWORD@HOST:PORT/0")
    _wait_until_answering(url, endpoint, connect_timeout_s)
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=_ATTEMPT_TIMEOUT_S,
        socket_timeout=5.0,
        socket_keepalive=True,
        health_check_interval=30,
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), _RETRIES),
        retry_on_error=[redis.ConnectionError, redis.TimeoutError],
    )


def _wait_until_answering(url: str, endpoint: str, timeout_s: float) -> None:
    """PINGs with a fresh no-retry client until it answers, so the whole wait stays under `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    attempts, delay, last = 0, 0.05, "no attempt"
    while True:
        remaining = deadline - time.monotonic()
        attempts += 1
        probe = redis.Redis.from_url(
            url,
            socket_connect_timeout=max(0.05, min(_ATTEMPT_TIMEOUT_S, remaining)),
            socket_timeout=max(0.05, min(_ATTEMPT_TIMEOUT_S, remaining)),
            retry=Retry(ExponentialBackoff(), 0),
        )
        try:
            probe.ping()
            return
        except redis.AuthenticationError as exc:
            raise _auth_error(endpoint, exc) from None
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            last = _clean(exc)
        finally:
            probe.close()
        if time.monotonic() + delay >= deadline:
            raise StoreConnectionError(
                f"cannot reach Redis at {endpoint} ({attempts} attempt(s) in {timeout_s:.1f} s; last error: "
                f"{last}). Check the host and port in the URL and that redis-server is running there."
            )
        time.sleep(delay)
        delay = min(delay * 2, 1.0)


@contextlib.contextmanager
def redis_errors(endpoint: str) -> Iterator[None]:
    """Turns redis-py connection and auth failures into the store's errors, naming `endpoint`."""
    try:
        yield
    except redis.AuthenticationError as exc:  # also NOAUTH / WRONGPASS replies
        raise _auth_error(endpoint, exc) from None
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise StoreConnectionError(f"lost or failed connection to Redis at {endpoint}: {_clean(exc)}") from None


def _auth_error(endpoint: str, exc: Exception) -> StoreAuthError:
    return StoreAuthError(
        f"Redis at {endpoint} refused the credentials ({_clean(exc)}); put the server's password in "
        "the URL as redis://:PASSWORD@HOST:PORT/0 (start_embedded_redis writes it to DATA_DIR/password)"
    )


def _clean(exc: Exception) -> str:
    """redis-py messages carry host:port at most; keep them short and single-line."""
    return " ".join(str(exc).split())[:300] or type(exc).__name__
