#!/usr/bin/env python3
"""unlink-latency.py PORT [MEMBERS]

Builds a set of MEMBERS members (default 10,000,000) on a running server, then UNLINKs it
while a second connection PINGs in a tight loop. Prints how long UNLINK took to answer
and the worst PING round trip seen from just before the UNLINK until 2 s after it.
"""
import socket
import sys
import threading
import time


def connect(port):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_reply(s, buf=b""):
    while b"\r\n" not in buf:
        buf += s.recv(65536)
    return buf


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    port = int(sys.argv[1])
    members = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000_000
    c = connect(port)
    c.sendall(b"*2\r\n$3\r\nDEL\r\n$3\r\nbig\r\n")
    read_reply(c)
    batch = 1000
    t0 = time.time()
    for start in range(0, members, batch):
        n = min(batch, members - start)
        parts = [b"*%d\r\n$4\r\nSADD\r\n$3\r\nbig\r\n" % (n + 2)]
        for i in range(start, start + n):
            m = b"m%d" % i
            parts.append(b"$%d\r\n%s\r\n" % (len(m), m))
        c.sendall(b"".join(parts))
        read_reply(c)
    print(f"built a set of {members} members in {time.time() - t0:.1f}s")

    worst = [0.0]
    stop = threading.Event()

    def pinger():
        p = connect(port)
        while not stop.is_set():
            t = time.perf_counter()
            p.sendall(b"*1\r\n$4\r\nPING\r\n")
            read_reply(p)
            worst[0] = max(worst[0], time.perf_counter() - t)

    th = threading.Thread(target=pinger)
    th.start()
    time.sleep(0.2)
    worst[0] = 0.0
    t = time.perf_counter()
    c.sendall(b"*2\r\n$6\r\nUNLINK\r\n$3\r\nbig\r\n")
    reply = read_reply(c)
    took = time.perf_counter() - t
    time.sleep(2)
    stop.set()
    th.join()
    print(f"UNLINK replied {reply.strip().decode()} in {took * 1000:.3f} ms (round trip)")
    print(f"worst PING round trip around it: {worst[0] * 1000:.3f} ms")


if __name__ == "__main__":
    main()
