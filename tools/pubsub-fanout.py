#!/usr/bin/env python3
"""pubsub-fanout.py PORT_A PORT_B [SUBSCRIBERS] [MESSAGES]

Pub/sub fan-out throughput of two running servers (A = ferrodis, B = redis-server),
measured the same way one after the other: SUBSCRIBERS clients (default 1000) subscribe
to one channel, one publisher sends MESSAGES 64-byte messages (default 20000) in
pipelined batches, and the subscribers (one process, non-blocking sockets) count what
arrives. Prints messages delivered per second for each server and A/B.

Pin the servers and this script to different CPUs for a fair run, e.g.
  taskset -apc 0 <server pids>; taskset -c 1 tools/pubsub-fanout.py 7001 7002
"""
import multiprocessing as mp
import selectors
import socket
import sys
import time

CHANNEL = b"fanout"
PAYLOAD = b"x" * 64


def connect(port):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def subscribers(port, n, total, ready, done):
    sel = selectors.DefaultSelector()
    socks = []
    sub = b"*2\r\n$9\r\nSUBSCRIBE\r\n$%d\r\n%s\r\n" % (len(CHANNEL), CHANNEL)
    for _ in range(n):
        s = connect(port)
        s.sendall(sub)
        socks.append(s)
    # Wait for every confirmation, then go non-blocking.
    for s in socks:
        buf = b""
        while buf.count(b"\r\n") < 6:
            buf += s.recv(4096)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    ready.set()
    # Every message frame contains "$7\r\nmessage" exactly once; a frame can be split
    # across reads, so carry the last few bytes over.
    marker = b"$7\r\nmessage\r\n"
    tails = {s: b"" for s in socks}
    got = 0
    deadline = time.time() + 300
    while got < total and time.time() < deadline:
        for key, _ in sel.select(timeout=1):
            s = key.fileobj
            try:
                data = s.recv(1 << 20)
            except BlockingIOError:
                continue
            if not data:
                sel.unregister(s)
                continue
            chunk = tails[s] + data
            got += chunk.count(marker)
            tails[s] = chunk[-(len(marker) - 1):]
    done.value = got
    for s in socks:
        s.close()


def publish(port, messages, batch=200):
    s = connect(port)
    cmd = b"*3\r\n$7\r\nPUBLISH\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (
        len(CHANNEL), CHANNEL, len(PAYLOAD), PAYLOAD)
    sent = 0
    while sent < messages:
        k = min(batch, messages - sent)
        s.sendall(cmd * k)
        replies = 0
        while replies < k:
            replies += s.recv(65536).count(b"\r\n")
        sent += k
    s.close()


def run(port, n, messages):
    ready = mp.Event()
    done = mp.Value("q", 0)
    total = n * messages
    p = mp.Process(target=subscribers, args=(port, n, total, ready, done))
    p.start()
    ready.wait()
    t0 = time.time()
    publish(port, messages)
    p.join()
    dt = time.time() - t0
    if done.value < total:
        print(f"port {port}: only {done.value} of {total} messages arrived", file=sys.stderr)
    return done.value / dt


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        sys.exit(1)
    a, b = int(sys.argv[1]), int(sys.argv[2])
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    m = int(sys.argv[4]) if len(sys.argv) > 4 else 20000
    ra = run(a, n, m)
    rb = run(b, n, m)
    print(f"subscribers={n} messages={m} payload=64B")
    print(f"A port {a}: {ra:,.0f} msgs delivered/s")
    print(f"B port {b}: {rb:,.0f} msgs delivered/s")
    print(f"A/B = {ra / rb:.2f}")


if __name__ == "__main__":
    main()
