#!/usr/bin/env python3
"""Resident memory per idle keep-alive connection of a proxy on loopback.

    bench/idle-connections.py [--tls | --h2] PORT COUNT PID [PID ...]

Opens COUNT HTTP/1.1 connections (over TLS with --tls, the certificate not checked; HTTP/2 over
TLS with --h2, chosen by ALPN) to 127.0.0.1:PORT, sends one GET on each and reads its whole
answer (so every connection has served a request and stays open, keep-alive, with nothing in
flight), waits a second, and prints one line: the summed VmRSS of the PIDs before and after, and
the growth per connection in KiB. Every connection is closed before it exits. Exits 1 when a
connection cannot be opened or does not get a 200.

HTTP/2 is spoken by the few lines below (Python's standard library has no HTTP/2 client): the
preface and an empty SETTINGS, then per request one HEADERS frame whose block uses only HPACK's
static table and literals without indexing; the answer's status is read from its first header
field, which every proxy here sends as the static table's `:status: 200` (index 8).
"""
import socket
import ssl
import sys
import time

PATH = "/item/1"


def rss_kib(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except FileNotFoundError:
            pass
    return total


def read_response(sock):
    """Reads one response with a Content-Length body; returns its status code."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed before the response head")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(rest) < length:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed inside the response body")
        rest += chunk
    return status


class HTTP2:
    """One HTTP/2 connection's client side: enough to send GETs and wait for their answers."""

    PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

    def __init__(self, sock, authority):
        self.sock = sock
        self.authority = authority.encode()
        self.next_stream = 1
        self.pending = b""
        sock.sendall(self.PREFACE + self.frame(0x4, 0, 0, b""))

    @staticmethod
    def frame(kind, flags, stream, payload):
        return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big") + payload

    @staticmethod
    def literal(index, value):
        """A literal field without indexing, its name from the static table, its value raw."""
        assert index < 15 and len(value) < 127
        return bytes([index, len(value)]) + value

    def read_frame(self):
        while True:
            if len(self.pending) >= 9:
                length = int.from_bytes(self.pending[:3], "big")
                if len(self.pending) >= 9 + length:
                    head, self.pending = self.pending[:9 + length], self.pending[9 + length:]
                    return head[3], head[4], int.from_bytes(head[5:9], "big") & 0x7FFFFFFF, head[9:]
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed before the response ended")
            self.pending += chunk

    def get(self, path):
        """Sends a GET on a new stream; returns its status once the stream has ended."""
        stream = self.next_stream
        self.next_stream += 2
        block = (b"\x82\x87" + self.literal(4, path.encode()) + self.literal(1, self.authority))
        self.sock.sendall(self.frame(0x1, 0x5, stream, block))  # HEADERS, END_STREAM | END_HEADERS
        status = None
        while True:
            kind, flags, on, payload = self.read_frame()
            if kind == 0x4 and not flags & 0x1:  # SETTINGS: acknowledge
                self.sock.sendall(self.frame(0x4, 0x1, 0, b""))
            elif kind == 0x6 and not flags & 0x1:  # PING: answer
                self.sock.sendall(self.frame(0x6, 0x1, 0, payload))
            elif kind == 0x7:
                raise ConnectionError(f"GOAWAY {payload[4:8].hex()}")
            elif kind == 0x3 and on == stream:
                raise ConnectionError(f"RST_STREAM {payload.hex()}")
            elif on == stream and kind in (0x0, 0x1):
                if kind == 0x1 and status is None:
                    block = payload
                    if flags & 0x8:  # PADDED
                        block = block[1:len(block) - block[0]]
                    if flags & 0x20:  # PRIORITY
                        block = block[5:]
                    while block and block[0] & 0xE0 == 0x20:  # dynamic table size updates
                        prefix, block = block[0], block[1:]
                        if prefix & 0x1F == 0x1F:  # the size goes on in continuation bytes
                            while block and block[0] & 0x80:
                                block = block[1:]
                            block = block[1:]
                    status = 200 if block[:1] == b"\x88" else f"not 200 (first field 0x{block[:1].hex()})"
                if kind == 0x0 and payload:  # give the window back
                    self.sock.sendall(self.frame(0x8, 0, 0, len(payload).to_bytes(4, "big"))
                                      + self.frame(0x8, 0, stream, len(payload).to_bytes(4, "big")))
                if flags & 0x1:
                    return status


def exchange(connection, request):
    """One GET on a connection (HTTP/2 or HTTP/1.1); returns the answer's status."""
    if isinstance(connection, HTTP2):
        return connection.get(PATH)
    connection.sendall(request)
    return read_response(connection)


def main():
    args = sys.argv[1:]
    tls = None
    h2 = False
    if args and args[0] in ("--tls", "--h2"):
        h2 = args[0] == "--h2"
        args = args[1:]
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        tls.check_hostname = False
        tls.verify_mode = ssl.CERT_NONE
        tls.set_alpn_protocols(["h2"] if h2 else ["http/1.1"])
    if len(args) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    port, count = int(args[0]), int(args[1])
    pids = [int(p) for p in args[2:]]
    request = f"GET {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: idle-connections\r\n\r\n".encode()
    before = rss_kib(pids)
    sockets = []
    try:
        for i in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            # Without TCP_NODELAY a TLS client's request waits for the ACK of its Finished (the
            # proxy's delayed ACK, ~40 ms): 10,000 connections would take minutes, the first ones
            # would reach the proxy's idle timeout (the gateway's default is 60 s) and be closed,
            # and the figure would count only the survivors' memory.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if tls:
                sock = tls.wrap_socket(sock, server_hostname="localhost")
            if h2:
                if sock.selected_alpn_protocol() != "h2":
                    print(f"connection {i}: ALPN chose {sock.selected_alpn_protocol()}, not h2", file=sys.stderr)
                    return 1
                sock = HTTP2(sock, f"127.0.0.1:{port}")
            sockets.append(sock)
            status = exchange(sock, request)
            if status != 200:
                print(f"connection {i}: status {status}", file=sys.stderr)
                return 1
        time.sleep(1)
        after = rss_kib(pids)
        # Still open: each connection must still be served after the wait.
        alive = 0
        sample = sockets[:: max(1, count // 100)]
        for sock in sample:
            if exchange(sock, request) == 200:
                alive += 1
        per = (after - before) / count
        print(f"{count} connections, {alive} of a sample of {len(sample)} still served; "
              f"RSS {before / 1024:.1f} -> {after / 1024:.1f} MiB; {per:.1f} KiB per connection")
        return 0
    except OSError as error:
        print(f"after {len(sockets)} connections: {error}", file=sys.stderr)
        return 1
    finally:
        for sock in sockets:
            (sock.sock if isinstance(sock, HTTP2) else sock).close()


if __name__ == "__main__":
    sys.exit(main())
