#!/usr/bin/env python3
"""Resident memory per idle keep-alive connection of a proxy on loopback.

    bench/idle-connections.py [--tls] PORT COUNT PID [PID ...]

Opens COUNT HTTP/1.1 connections (over TLS with --tls, the certificate not checked) to 127.0.0.1:PORT, sends one GET on each and reads its whole
answer (so every connection has served a request and stays open, keep-alive, with nothing in
flight), waits a second, and prints one line: the summed VmRSS of the PIDs before and after, and
the growth per connection in KiB. Every connection is closed before it exits. Exits 1 when a
connection cannot be opened or does not get a 200.
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


def main():
    args = sys.argv[1:]
    tls = None
    if args and args[0] == "--tls":
        args = args[1:]
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        tls.check_hostname = False
        tls.verify_mode = ssl.CERT_NONE
        tls.set_alpn_protocols(["http/1.1"])
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
            sockets.append(sock)
            sock.sendall(request)
            status = read_response(sock)
            if status != 200:
                print(f"connection {i}: status {status}", file=sys.stderr)
                return 1
        time.sleep(1)
        after = rss_kib(pids)
        # Still open: each connection must still be served after the wait.
        alive = 0
        sample = sockets[:: max(1, count // 100)]
        for sock in sample:
            sock.sendall(request)
            if read_response(sock) == 200:
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
            sock.close()


if __name__ == "__main__":
    sys.exit(main())
