"""Credentials for a target: environment variables, an interactive prompt, or the OS keyring.

Never from the inventory file itself. Specs (YAML, under ``defaults.credentials`` or per target):

* ``{username_env: OFFHOST_WINRM_USER, password_env: OFFHOST_WINRM_PASSWORD}``
* ``{keyring: SERVICE, username: CORP\\auditor}`` (needs the optional ``keyring`` extra)
* ``{prompt: true, username: CORP\\auditor}`` (asks once per run on the terminal; with no terminal, as
  under cron, an error that says to use one of the other two)

Resolution is lazy and cached per spec, so one prompt serves every target that shares it.
"""

from __future__ import annotations

import getpass
import os
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from offhost_audit.errors import InputError

CredentialSpec = dict[str, Any]


@dataclass(frozen=True)
class Credentials:
    """Resolved credentials. ``repr`` never shows the password."""

    username: str
    password: str = field(repr=False)

    def __str__(self) -> str:  # pragma: no cover - defensive
        return f"Credentials({self.username!r}, ***)"


class CredentialError(InputError):
    title = "credentials unavailable"


@dataclass
class Resolver:
    """Turns specs into :class:`Credentials`; ``env`` defaults to ``os.environ``."""

    env: Mapping[str, str] | None = None
    interactive: bool = True

    def __post_init__(self) -> None:
        self._cache: dict[tuple[Any, ...], Credentials] = {}
        self._lock = threading.Lock()

    def resolve(self, spec: CredentialSpec | None, *, where: str) -> Credentials | None:
        if not spec:
            return None
        key = tuple(sorted((k, str(v)) for k, v in spec.items()))
        with self._lock:
            if key not in self._cache:
                self._cache[key] = self._resolve(spec, where)
            return self._cache[key]

    def _resolve(self, spec: CredentialSpec, where: str) -> Credentials:
        env = os.environ if self.env is None else self.env
        if "keyring" in spec:
            user = _need(spec, "username", where)
            try:
                import keyring  # optional extra: pip install offhost-audit[keyring]
            except ImportError:
                raise CredentialError(
                    f"{where}: credentials come from the OS keyring but the 'keyring' package "
                    "is not installed (pip install 'offhost-audit[keyring]')"
                ) from None
            try:
                password = keyring.get_password(str(spec["keyring"]), user)
            except Exception as e:  # noqa: BLE001 - keyring backends raise their own types
                raise CredentialError(
                    f"{where}: keyring lookup failed for service {spec['keyring']!r}: {type(e).__name__}"
                ) from None
            if password is None:
                raise CredentialError(
                    f"{where}: no password in the keyring for service {spec['keyring']!r}, user {user}"
                )
            return Credentials(user, password)
        if spec.get("prompt"):
            user = _need(spec, "username", where)
            if not self.interactive:
                raise CredentialError(
                    f"{where}: credentials need an interactive prompt, but this run is not interactive"
                )
            if not has_terminal():
                raise CredentialError(
                    f"{where}: credentials say prompt: true, but there is no terminal to ask on (cron, a "
                    "service, a pipe); give the password another way: password_env: VARIABLE (an environment "
                    "variable) or keyring: SERVICE (the OS keyring) in the inventory"
                )
            return Credentials(user, getpass.getpass(f"Password for {user} ({where}): "))
        user_env = spec.get("username_env")
        pass_env = spec.get("password_env")
        if not pass_env:
            raise CredentialError(f"{where}: give password_env, keyring or prompt (passwords never go in the file)")
        found = spec.get("username") or (env.get(str(user_env)) if user_env else None)
        if not found:
            raise CredentialError(f"{where}: environment variable {user_env} is not set (the user name)")
        password = env.get(str(pass_env))
        if password is None:
            raise CredentialError(f"{where}: environment variable {pass_env} is not set (the password)")
        return Credentials(str(found), password)


def has_terminal() -> bool:
    """Whether a prompt can be answered: getpass reads the controlling terminal (``/dev/tty``), or a
    terminal on standard input; without either (cron, a service) it would read the password from
    standard input in clear, after a GetPassWarning."""
    try:
        if sys.stdin is not None and sys.stdin.isatty():
            return True
    except (AttributeError, ValueError, OSError):  # a closed or replaced stdin
        pass
    if os.name != "posix":
        return False
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return False
    os.close(fd)
    return True


def _need(spec: CredentialSpec, key: str, where: str) -> str:
    value = spec.get(key)
    if not value:
        raise CredentialError(f"{where}: credentials need '{key}'")
    return str(value)
