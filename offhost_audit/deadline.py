"""Wall-clock deadlines for network calls: pywinrm and the OPA client (urllib3), ldap3, impacket.

A read timeout restarts on every byte: a server that trickles one byte a second never trips it.
Inside ``with wall_clock(seconds) as w:``, the sockets the current thread uses are remembered; when
the time is up a timer shuts them down, so the blocked read or handshake returns at once and the
library raises (``ConnectionError``, ``SSLEOFError``, ``LDAPSocketReceiveError``...). The caller then
sees ``w.expired`` and reports its own timeout. Outside such a block nothing changes.

Two hooks record sockets, only while a deadline is armed in the calling thread:

* every socket object created by the thread (the ``socket.__new__`` audit event, which TLS-wrapped
  sockets raise too): whatever library opened it;
* every urllib3 connection the thread takes from a pool, so a keep-alive connection opened before
  the block is covered as well (one pool subclass per scheme, registered for every pool manager:
  pywinrm builds its session and sends its first request inside the library).
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import weakref
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
        self._sockets: weakref.WeakSet[socket.socket] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(0.0, seconds), self._fire)
        self._timer.daemon = True

    def add(self, conn: Any) -> None:
        with self._lock:
            self._conns.append(conn)
            if self.expired:
                _shut(conn)

    def disarm(self) -> None:
        self._timer.cancel()
        with contextlib.suppress(ValueError):
            _stack().remove(self)

    def add_socket(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)

    def _fire(self) -> None:
        with self._lock:
            self.expired = True
            for conn in self._conns:
                _shut(conn)
            for sock in list(self._sockets):
                if sock.fileno() != -1:  # a socket wrapped by TLS is detached: its SSLSocket is here too
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)


def _shut(conn: Any) -> None:
    sock = getattr(conn, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def wall_clock(seconds: float) -> Iterator[Watch]:
    """Arm a deadline of ``seconds`` for the network calls this thread makes inside the block."""
    watch = arm(seconds)
    try:
        yield watch
    finally:
        watch.disarm()


def arm(seconds: float) -> Watch:
    """:func:`wall_clock` without the block: call ``disarm()`` on the result, in the same thread."""
    watch = Watch(seconds)
    _stack().append(watch)
    watch._timer.start()
    return watch


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


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event != "socket.__new__":
        return
    try:
        for watch in getattr(_local, "stack", ()):
            if isinstance(args[0], socket.socket):
                watch.add_socket(args[0])
    except Exception:  # noqa: BLE001 - an audit hook must never break the call it observes
        pass


poolmanager.pool_classes_by_scheme["http"] = _HTTPPool
poolmanager.pool_classes_by_scheme["https"] = _HTTPSPool
sys.addaudithook(_audit)
