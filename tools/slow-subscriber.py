#!/usr/bin/env python3
"""slow-subscriber.py PORT [MEGABYTES]

A subscriber that never reads, against a running server on PORT (same machine): it
subscribes with a small receive buffer and stops reading, while a publisher sends
MEGABYTES (default 1024) of 16 KB messages to its channel. Samples the server's RSS
(/proc/<pid>/status) all along and reports the peak growth against the configured
pubsub hard limit (client-output-buffer-limit), and whether the subscriber was
disconnected. Exit status 0 when RSS stayed under limit + 50 MB and the subscriber
was dropped.
"""
import socket
import sys
import threading
import time


def connect(port):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def command(s, *args):
    req = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        req += b"$%d\r\n%s\r\n" % (len(a), a)
    s.sendall(req)
    buf = b""
    while True:
        buf += s.recv(65536)
        if reply_complete(buf):
            return buf


def reply_complete(b):
    try:
        return parse(b, 0) is not None
    except IndexError:
        return False


def parse(b, i):
    nl = b.index(b"\r\n", i)
    t, head = b[i:i + 1], b[i + 1:nl]
    if t in (b"+", b"-", b":"):
        return nl + 2
    if t == b"$":
        n = int(head)
        end = nl + 2 + max(n, 0) + (2 if n >= 0 else 0)
        return end if len(b) >= end else None
    if t == b"*":
        pos = nl + 2
        for _ in range(max(int(head), 0)):
            pos = parse(b, pos)
            if pos is None:
                return None
        return pos
    raise ValueError(b)


def rss(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    port = int(sys.argv[1])
    total_mb = int(sys.argv[2]) if len(sys.argv) > 2 else 1024
    ctl = connect(port)
    info = command(ctl, "INFO", "server").decode()
    pid = int(next(l.split(":")[1] for l in info.split("\r\n") if l.startswith("process_id:")))
    cfg = command(ctl, "CONFIG", "GET", "client-output-buffer-limit").decode()
    words = cfg.split("\r\n")[4].split()
    hard = int(words[words.index("pubsub") + 1])
    base = rss(pid)

    sub = socket.socket()
    sub.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sub.connect(("127.0.0.1", port))
    sub.sendall(b"*2\r\n$9\r\nSUBSCRIBE\r\n$4\r\nslow\r\n")
    conf = b""
    while conf.count(b"\r\n") < 6:
        conf += sub.recv(4096)
    # From here on the subscriber never reads.

    peak = [base]
    stop = threading.Event()

    def sampler():
        while not stop.is_set():
            peak[0] = max(peak[0], rss(pid))
            time.sleep(0.005)

    t = threading.Thread(target=sampler)
    t.start()
    pub = connect(port)
    msg = b"y" * 16384
    cmd = b"*3\r\n$7\r\nPUBLISH\r\n$4\r\nslow\r\n$%d\r\n%s\r\n" % (len(msg), msg)
    batch = 64
    sent = 0
    t0 = time.time()
    while sent < total_mb * 1024 * 1024:
        pub.sendall(cmd * batch)
        replies = 0
        while replies < batch:
            replies += pub.recv(65536).count(b"\r\n")
        sent += batch * len(msg)
    elapsed = time.time() - t0
    time.sleep(0.2)
    stop.set()
    t.join()
    numsub = command(ctl, "PUBSUB", "NUMSUB", "slow")
    dropped = numsub.endswith(b":0\r\n")
    growth = peak[0] - base
    mb = 1024 * 1024
    print(f"published {sent / mb:.0f} MB in {elapsed:.1f}s; pubsub hard limit {hard / mb:.0f} MB")
    print(f"server RSS: start {base / mb:.1f} MB, peak {peak[0] / mb:.1f} MB (+{growth / mb:.1f} MB)")
    print(f"subscriber disconnected: {'yes' if dropped else 'no'}")
    ok = dropped and growth < hard + 50 * mb
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
