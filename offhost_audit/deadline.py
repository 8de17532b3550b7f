"""Wall-clock deadlines for HTTP calls made through requests/urllib3 (pywinrm, the OPA client).

A read timeout restarts on every byte: a server that trickles one byte a second never trips it.
Inside ``with wall_clock(seconds) as w:``, every urllib3 connection the current thread takes from
a pool is remembered; when the time is up a timer shuts those sockets down, so the blocked read
returns at once and the library raises (``ConnectionError`` and friends). The caller then sees
``w.expired`` and reports its own timeout. Outside such a block nothing changes.

The hook is one subclass per urllib3 pool class, registered for every pool manager created after
this module is imported (pywinrm builds its session, and sends its first request, inside the
library, so there is no session to hook before that). It only records connections while a deadline
is armed in the calling thread.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from typing import Any

from urllib3 import connectionpool, poolmanager

_local = threading.local()


class Watch:
    """One armed deadline: the connections used under it, and whether it fired."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._conns: list[Any] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(0.0, seconds), self._fire)
        self._timer.daemon = True

    def add(self, conn: Any) -> None:
        with self._lock:
            self._conns.append(conn)
            if self.expired:
                _shut(conn)

    def _fire(self) -> None:
        with self._lock:
            self.expired = True
            for conn in self._conns:
                _shut(conn)


def _shut(conn: Any) -> None:
    sock = getattr(conn, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def wall_clock(seconds: float) -> Iterator[Watch]:
    """Arm a deadline of ``seconds`` for the HTTP calls this thread makes inside the block."""
    watch = Watch(seconds)
    stack = _stack()
    stack.append(watch)
    watch._timer.start()
    try:
        yield watch
    finally:
        watch._timer.cancel()
        stack.remove(watch)


def _stack() -> list[Watch]:
    if not hasattr(_local, "stack"):
        _local.stack = []
    return _local.stack


def _register(conn: Any) -> Any:
    for watch in getattr(_local, "stack", ()):
        watch.add(conn)
    return conn


class _HTTPPool(connectionpool.HTTPConnectionPool):
    def _get_conn(self, timeout: float | None = None) -> Any:
        return _register(super()._get_conn(timeout))


class _HTTPSPool(connectionpool.HTTPSConnectionPool):
    def _get_conn(self, timeout: float | None = None) -> Any:
        return _register(super()._get_conn(timeout))


poolmanager.pool_classes_by_scheme["http"] = _HTTPPool
poolmanager.pool_classes_by_scheme["https"] = _HTTPSPool
