"""Who may use the HTTP API, and whether the server may start at all.

- `CITEWISE_API_KEYS` (comma-separated) set: every `/v1` request needs
  `Authorization: Bearer <one of them>`; keys are compared in constant time and never
  logged or echoed.
- Unset, on a loopback host without a web UI login: the API is open, as the page is (only
  this machine can reach it).
- Unset while a web UI login is set: the API is closed (401 saying to set a key), so a
  login that protects the page is not bypassed through `/v1`.
- `exposure_check`: on a host other than loopback with neither a key nor a login,
  `citewise serve` refuses to start.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from app.config import Settings
from app.web.server import is_loopback
from ingest.errors import ConfigError


def api_keys(settings: Settings) -> tuple[str, ...]:
    """The configured keys, blanks dropped."""
    raw = settings.api_keys.get_secret_value() if settings.api_keys else ""
    return tuple(k.strip() for k in raw.split(",") if k.strip())


def has_login(settings: Settings) -> bool:
    return bool(settings.auth_username and settings.auth_password
                and settings.auth_password.get_secret_value())


def exposure_check(settings: Settings) -> str | None:
    """Raise `ConfigError` when the server would listen beyond this machine with neither an
    API key nor a web UI login; return a warning when only one of them guards it."""
    if is_loopback(settings.host):
        return None
    keys, login = bool(api_keys(settings)), has_login(settings)
    if not keys and not login:
        raise ConfigError(
            f"Refusing to serve on {settings.host} with neither an API key nor a login: "
            "anyone who can reach this machine could read and change the documents. Set "
            "CITEWISE_API_KEYS and CITEWISE_AUTH_USERNAME/CITEWISE_AUTH_PASSWORD, or serve "
            "on 127.0.0.1.")
    if not login:
        return (f"Warning: serving on {settings.host} without a web UI login: anyone who can "
                "reach this machine can use the page. Set CITEWISE_AUTH_USERNAME and "
                "CITEWISE_AUTH_PASSWORD.")
    return None


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking one request: `ok`, or the message of its 401."""

    ok: bool
    message: str = ""


class KeyCheck:
    """Checks the `Authorization` header of an API request against the settings."""

    def __init__(self, settings: Settings):
        self._keys = tuple(k.encode() for k in api_keys(settings))
        self._closed = not self._keys and has_login(settings)

    def __repr__(self) -> str:  # never the keys
        return f"KeyCheck(keys={len(self._keys)}, closed={self._closed})"

    def check(self, authorization: str | None) -> Verdict:
        if self._closed:
            return Verdict(False, "The API is closed because the web UI has a login: set "
                                  "CITEWISE_API_KEYS on the server and send one as "
                                  "'Authorization: Bearer <key>'.")
        if not self._keys:
            return Verdict(True)
        scheme, _, given = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            return Verdict(False, "Missing API key: send 'Authorization: Bearer <key>' with "
                                  "one of the keys in CITEWISE_API_KEYS.")
        token = given.strip().encode()
        if not any(hmac.compare_digest(token, key) for key in self._keys):
            return Verdict(False, "Incorrect API key: use one of the keys set in "
                                  "CITEWISE_API_KEYS on the server.")
        return Verdict(True)
