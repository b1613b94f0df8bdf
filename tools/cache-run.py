#!/usr/bin/env python3
"""cache-run.py - a cache workload against ferrodis and redis-server, side by side.

Both servers run with the same cache config (maxmemory 200mb, allkeys-lru, no
persistence) and receive exactly the same command stream: OPS operations on keys drawn
from a Zipf distribution (s = 1.0) over KEYS keys; each operation is a GET, or a SET of
a VALUE-byte value with probability SET_P. The key universe is several times what fits
in maxmemory, so the eviction policy decides the hit ratio.

For each server it prints the GET hit ratio, the startup RSS, the peak RSS sampled
every 50 ms, and whether the peak stayed under 1.1 x maxmemory + startup RSS.

usage: cache-run.py FERRODIS_BIN [REDIS_BIN] [--ops N] [--keys N] [--set-p P]
                    [--value N] [--maxmemory-mb N] [--seed N]
Ports 7451/7452 are used; servers run in temporary directories and are shut down.
"""
import argparse
import array
import bisect
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

BATCH = 10000


def zipf_cdf(n, s):
    cdf = array.array("d", bytes(8 * n))
    acc = 0.0
    for i in range(n):
        acc += 1.0 / ((i + 1) ** s)
        cdf[i] = acc
    for i in range(n):
        cdf[i] /= acc
    return cdf


def make_trace(ops, keys, set_p, seed):
    """(key index, is_set) per op, packed: key * 2 + is_set."""
    rnd = random.Random(seed)
    cdf = zipf_cdf(keys, 1.0)
    # A fixed permutation spreads popular keys over the key space (and hash table).
    perm = list(range(keys))
    rnd.shuffle(perm)
    trace = array.array("Q")
    for _ in range(ops):
        k = perm[bisect.bisect_left(cdf, rnd.random())]
        trace.append(k * 2 + (1 if rnd.random() < set_p else 0))
    return trace


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def wait_port(port, proc, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"server on {port} exited")
        try:
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"PING\r\n")
            if s.recv(64).startswith(b"+PONG"):
                return s
            s.close()
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"server on {port} did not start")


def run(binary, port, trace, value, maxmemory_mb):
    d = tempfile.mkdtemp(prefix="cache-run-")
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", d, "--save", "",
            "--appendonly", "no", "--maxmemory", f"{maxmemory_mb}mb",
            "--maxmemory-policy", "allkeys-lru", "--logfile", os.path.join(d, "log")]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        s = wait_port(port, proc)
        startup = rss_kb(proc.pid)
        peak = [startup]
        done = threading.Event()

        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], rss_kb(proc.pid))
                time.sleep(0.05)

        t = threading.Thread(target=sample, daemon=True)
        t.start()
        val = b"v" * value
        set_tail = b"\r\n$%d\r\n%s\r\n" % (value, val)
        gets = hits = 0
        start = time.time()
        for b in range(0, len(trace), BATCH):
            parts = []
            n_get = 0
            for op in trace[b:b + BATCH]:
                k = b"key:%d" % (op >> 1)
                if op & 1:
                    parts.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s%s" % (len(k), k, set_tail))
                else:
                    parts.append(b"*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n" % (len(k), k))
                    n_get += 1
            parts.append(b"*1\r\n$4\r\nPING\r\n")
            s.sendall(b"".join(parts))
            buf = bytearray()
            while not buf.endswith(b"+PONG\r\n"):
                chunk = s.recv(1 << 20)
                if not chunk:
                    raise RuntimeError("connection closed")
                buf += chunk
            gets += n_get
            hits += n_get - buf.count(b"$-1\r\n")
            if buf.count(b"-OOM") or buf.count(b"-ERR"):
                raise RuntimeError("error replies")
        secs = time.time() - start
        done.set()
        t.join()
        peak[0] = max(peak[0], rss_kb(proc.pid))
        s.sendall(b"INFO stats\r\n")
        info = b""
        while b"evicted_keys:" not in info or not info.endswith(b"\r\n\r\n"):
            info += s.recv(1 << 16)
        evicted = int(re.search(rb"evicted_keys:(\d+)", info).group(1))
        s.sendall(b"SHUTDOWN NOSAVE\r\n")
        proc.wait(timeout=20)
        return {"hit_ratio": hits / max(gets, 1), "startup_kb": startup, "peak_kb": peak[0],
                "secs": secs, "evicted": evicted}
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("ferrodis")
    ap.add_argument("redis", nargs="?", default="redis-server")
    ap.add_argument("--ops", type=int, default=40_000_000)
    ap.add_argument("--keys", type=int, default=4_000_000)
    ap.add_argument("--set-p", type=float, default=0.5)
    ap.add_argument("--value", type=int, default=100)
    ap.add_argument("--maxmemory-mb", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    t0 = time.time()
    trace = make_trace(a.ops, a.keys, a.set_p, a.seed)
    print(f"trace: {a.ops} ops over {a.keys} keys, zipf s=1.0, set_p={a.set_p}, "
          f"value={a.value}B ({time.time() - t0:.0f}s to build)", flush=True)
    limit_mb = a.maxmemory_mb
    results = {}
    for name, binary, port in (("ferrodis", a.ferrodis, 7451), ("redis", a.redis, 7452)):
        r = run(binary, port, trace, a.value, limit_mb)
        bound_kb = 1.1 * limit_mb * 1024 + r["startup_kb"]
        r["within"] = r["peak_kb"] <= bound_kb
        results[name] = r
        print(f"{name}: hit_ratio={r['hit_ratio']:.4f} startup_rss_mb={r['startup_kb'] / 1024:.1f} "
              f"peak_rss_mb={r['peak_kb'] / 1024:.1f} bound_mb={bound_kb / 1024:.1f} "
              f"within_bound={r['within']} evicted_keys={r['evicted']} secs={r['secs']:.0f}", flush=True)
    f, rd = results["ferrodis"], results["redis"]
    print(f"hit_ratio_ferrodis={f['hit_ratio']:.4f} hit_ratio_redis={rd['hit_ratio']:.4f} "
          f"ferrodis_within_bound={f['within']} hit_ratio_ok={f['hit_ratio'] >= rd['hit_ratio']}")
    return 0 if f["within"] and f["hit_ratio"] >= rd["hit_ratio"] else 1


if __name__ == "__main__":
    sys.exit(main())
