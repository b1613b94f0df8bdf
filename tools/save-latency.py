#!/usr/bin/env python3
"""save-latency.py - what a background save costs the clients of a server.

Usage: save-latency.py BINARY PORT wholedb
       save-latency.py BINARY PORT bigvalue zset|list|hash|set|string
       save-latency.py BINARY PORT bigwrite zset|list|hash|set
       save-latency.py BINARY PORT busywrite zset|list|hash|set
       save-latency.py BINARY PORT bigdel zset|list|hash|set
       save-latency.py BINARY PORT bigread zset|list|hash|set|string
       save-latency.py BINARY PORT bigrename zset|list|hash|set|string

Starts BINARY (ferrodis or redis-server) on PORT in a scratch directory, then:

  wholedb   fills db 0 with 3M keys of 100 bytes (DEBUG POPULATE), starts BGSAVE and
            at once times SWAPDB 0 1; then, after that save, again with FLUSHDB ASYNC.
  bigvalue  builds one value of 2M elements of the given type (a string: 256 MB of
            incompressible bytes), starts BGSAVE and
            measures the slowest PING round trip of a second client pinging every
            millisecond until the save ends.
  bigwrite  builds one value of 2M elements of the given type, then three times
            starts BGSAVE and at once times one write to that value (ZADD,
            LPUSH, HSET, SADD), waiting for each save to end.
  bigdel    builds one value of 2M elements of the given type and times DEL of it,
            three times right after starting BGSAVE, then once with no save running.
  bigread   under maxmemory-policy allkeys-lru (saves keep idle times), builds one
            value as bigvalue does, then three times starts BGSAVE and at once times
            one read of it (ZSCORE, LINDEX, HGET, SISMEMBER, GETRANGE), waiting for
            each save to end.
  bigrename builds one value as bigvalue does, then three times starts BGSAVE and at
            once times RENAME of it (back to its name after each save).
  busywrite builds one value of 2M elements of the given type, starts BGSAVE and
            writes to random elements of it every millisecond until the save ends
            (ZADD of a new score, LSET, HSET, SADD of a new member), measuring the
            slowest write round trip.

Prints one line per measurement; the server is shut down at the end.
"""
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time


class Client:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.f = self.s.makefile("rb")

    def cmd(self, *args):
        parts = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.s.sendall(b"".join(parts))
        line = self.f.readline()
        if line[:1] == b"$" and int(line[1:]) >= 0:
            return self.f.read(int(line[1:]) + 2)[:-2]
        return line


def start(binary, port):
    d = tempfile.mkdtemp()
    p = subprocess.Popen(
        [binary, "--port", str(port), "--save", "", "--appendonly", "no",
         "--enable-debug-command", "yes", "--dir", d],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=d)
    deadline = time.time() + 10
    while True:
        try:
            return p, Client(port)
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.05)


def wait_save(c):
    while b"rdb_bgsave_in_progress:1" in c.cmd("INFO", "persistence"):
        time.sleep(0.02)


def wholedb(name, c):
    c.cmd("DEBUG", "POPULATE", 3_000_000, "key", 100)
    for op in (("SWAPDB", 0, 1), ("FLUSHDB", "ASYNC")):
        c.cmd("BGSAVE")
        t = time.perf_counter()
        c.cmd(*op)
        took = time.perf_counter() - t
        wait_save(c)
        print(f"{name} {op[0]} right after BGSAVE: {took * 1000:.1f} ms")
        c.cmd("DEBUG", "POPULATE", 3_000_000, "key", 100)


FILL = {
    "zset": "redis.call('zadd', KEYS[1], i, 'member:' .. i)",
    "list": "redis.call('rpush', KEYS[1], 'element:' .. i)",
    "hash": "redis.call('hset', KEYS[1], 'field:' .. i, 'v' .. i)",
    "set": "redis.call('sadd', KEYS[1], 'member:' .. i)",
}


WRITE = {
    "zset": ("ZADD", "big", 5, "new"),
    "list": ("LPUSH", "big", "new"),
    "hash": ("HSET", "big", "new", "v"),
    "set": ("SADD", "big", "new"),
}


def fill(c, kind):
    step = 200_000
    for lo in range(1, 2_000_001, step):
        c.cmd("EVAL", f"for i = {lo}, {lo + step - 1} do {FILL[kind]} end return 1", 1, "big")


def after_bgsave(c, cmd, then=None):
    """Three times: starts BGSAVE, times `cmd` at once, waits for the save, runs
    `then`. Returns the times in ms, formatted."""
    took = []
    for _ in range(3):
        c.cmd("BGSAVE")
        t = time.perf_counter()
        c.cmd(*cmd)
        took.append((time.perf_counter() - t) * 1000)
        wait_save(c)
        if then:
            c.cmd(*then)
    return " ".join(f"{x:.1f}" for x in took)


def bigwrite(name, c, kind):
    fill(c, kind)
    took = after_bgsave(c, WRITE[kind])
    print(f"{name} {kind} of 2M elements: {WRITE[kind][0]} right after BGSAVE: {took} ms")


BUSY = {
    "zset": lambda i, r: ("ZADD", "big", r, f"member:{r}"),
    "list": lambda i, r: ("LSET", "big", r, f"set:{i}"),
    "hash": lambda i, r: ("HSET", "big", f"field:{r}", f"set:{i}"),
    "set": lambda i, r: ("SADD", "big", f"new:{i}"),
}


def bigdel(name, c, kind):
    took = []
    for save in (True, True, True, False):
        fill(c, kind)
        if save:
            c.cmd("BGSAVE")
        t = time.perf_counter()
        c.cmd("DEL", "big")
        took.append((time.perf_counter() - t) * 1000)
        wait_save(c)
    print(f"{name} {kind} of 2M elements: DEL right after BGSAVE: "
          + " ".join(f"{x:.1f}" for x in took[:3]) + f" ms; with no save: {took[3]:.1f} ms")


READ = {
    "zset": ("ZSCORE", "big", "member:7"),
    "list": ("LINDEX", "big", 7),
    "hash": ("HGET", "big", "field:7"),
    "set": ("SISMEMBER", "big", "member:7"),
    "string": ("GETRANGE", "big", 0, 7),
}


def build(c, kind):
    if kind == "string":
        block = os.urandom(1 << 20)
        for i in range(256):
            c.cmd("SETRANGE", "big", i << 20, block)
    else:
        fill(c, kind)


def bigread(name, c, kind):
    c.cmd("CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
    build(c, kind)
    took = after_bgsave(c, READ[kind])
    print(f"{name} {kind}: {READ[kind][0]} right after BGSAVE (allkeys-lru): {took} ms")


def bigrename(name, c, kind):
    build(c, kind)
    took = after_bgsave(c, ("RENAME", "big", "renamed"), ("RENAME", "renamed", "big"))
    print(f"{name} {kind}: RENAME right after BGSAVE: {took} ms")


def busywrite(name, c, port, kind):
    fill(c, kind)
    writer = Client(port)
    rng = random.Random(7)
    c.cmd("BGSAVE")
    t = time.perf_counter()
    worst, n = 0.0, 0
    while b"rdb_bgsave_in_progress:1" in c.cmd("INFO", "persistence"):
        for _ in range(20):
            w = time.perf_counter()
            writer.cmd(*BUSY[kind](n, rng.randrange(1, 2_000_000)))
            worst = max(worst, time.perf_counter() - w)
            n += 1
            time.sleep(0.001)
    print(f"{name} {kind} of 2M elements: {n} writes during BGSAVE, slowest "
          f"{worst * 1000:.1f} ms, save {time.perf_counter() - t:.2f} s")


def bigvalue(name, c, port, kind):
    build(c, kind)
    pinger = Client(port)
    worst, done = [0.0], threading.Event()

    def ping():
        while not done.is_set():
            t = time.perf_counter()
            pinger.cmd("PING")
            worst[0] = max(worst[0], time.perf_counter() - t)
            time.sleep(0.001)

    th = threading.Thread(target=ping)
    th.start()
    time.sleep(0.3)
    worst[0] = 0.0
    t = time.perf_counter()
    c.cmd("BGSAVE")
    time.sleep(0.2)
    wait_save(c)
    done.set()
    th.join()
    size = "256 MB" if kind == "string" else "2M elements"
    print(f"{name} {kind} of {size}: slowest PING during BGSAVE {worst[0] * 1000:.1f} ms, "
          f"save {time.perf_counter() - t:.2f} s")


def main():
    # mode: (the kinds of value it takes, what it runs)
    modes = {
        "bigwrite": (WRITE, lambda name, c, port, kind: bigwrite(name, c, kind)),
        "bigdel": (WRITE, lambda name, c, port, kind: bigdel(name, c, kind)),
        "busywrite": (WRITE, busywrite),
        "bigvalue": (READ, bigvalue),
        "bigread": (READ, lambda name, c, port, kind: bigread(name, c, kind)),
        "bigrename": (READ, lambda name, c, port, kind: bigrename(name, c, kind)),
    }
    if len(sys.argv) < 4 or (sys.argv[3] not in modes and sys.argv[3] != "wholedb"):
        sys.exit(__doc__)
    binary, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    kind = sys.argv[4] if len(sys.argv) > 4 else "zset"
    if mode in modes and kind not in modes[mode][0]:
        sys.exit(__doc__)
    p, c = start(binary, port)
    name = os.path.basename(binary)
    try:
        if mode == "wholedb":
            wholedb(name, c)
        else:
            modes[mode][1](name, c, port, kind)
    finally:
        try:
            c.cmd("SHUTDOWN", "NOSAVE")
        except OSError:
            pass
        p.wait(timeout=30)


if __name__ == "__main__":
    main()
