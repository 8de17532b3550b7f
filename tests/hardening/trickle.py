"""A loopback server that answers every request one byte per second: it defeats any timeout that
restarts on each byte (requests', ldap3's and impacket's read timeouts do).

The default answer is an HTTP response announcing a 100,000-byte body; :data:`LDAP` and :data:`SMB`
are the start of a large LDAP message (BER) and of a large SMB message (NetBIOS session header).
"""

from __future__ import annotations

import socket
import threading

LDAP = b"\x30\x84\x00\x01\x00\x00" + b"\x02" * 65536
SMB = b"\x00\x00\xff\xff" + b"\xfe" * 65535
ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml\r\nContent-Length: 100000\r\n\r\n" + b"<" * 100000


class Trickle:
    def __init__(self, interval_s: float = 1.0, answer: bytes = ANSWER) -> None:
        self.interval_s = interval_s
        self.answer = answer
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self.connections = 0
        self._thread = threading.Thread(target=self._accept, name="trickle", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Trickle:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._sock.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(0.5)
            try:
                conn.recv(65536)  # the request (its first part is enough)
            except OSError:
                pass
            for byte in self.answer:
                if self._stop.wait(self.interval_s):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return
