#!/usr/bin/env python3
"""Corrupted append-only files, loaded by two servers side by side.

    python3 tools/aof-corruption.py REF_BIN SUT_BIN [--cases N] [--seed S] [--port P]

Writes one multi-part AOF directory with the reference server (a base written by a
rewrite, with or without an RDB preamble, then an incr file of every type's writes,
MULTI/EXEC blocks, SELECTs and expiries), then makes corrupted copies of it: bytes
flipped, cut, deleted, inserted or repeated in the incr file, the base or the
manifest, counts and lengths of the RESP commands changed, manifest lines dropped,
repeated or rewritten. Each copy is started by both servers, with
`aof-load-truncated` yes or no. Per server a start ends as
  loaded    answers PING: the DEBUG DIGEST of its data is taken
  refused   exits non-zero without a signal or a panic
  crash     killed by a signal, or a panic (exit 101, "panicked at")
  hang      neither within the time limit
A case differs when the two servers end differently (or load different data). The last
line is `cases=N differ=N crashes=N hangs=N` (the counts of SUT_BIN); differing cases
are printed with the reference's and our last log lines, and kept under --keep."""
import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

import redis

LOAD_TIMEOUT = 20.0


def start(binary, port, workdir, truncated, extra=()):
    log = os.path.join(workdir, "server.log")
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", workdir, "--save", "",
            "--appendonly", "yes", "--appendfilename", "appendonly.aof", "--appenddirname", "appendonlydir",
            "--aof-load-truncated", "yes" if truncated else "no", "--enable-debug-command", "yes",
            "--logfile", log, "--daemonize", "no", *extra]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE), log


def outcome(binary, port, workdir, truncated):
    """How one start of `binary` on `workdir` ends: (kind, detail)."""
    proc, log = start(binary, port, workdir, truncated)
    deadline = time.time() + LOAD_TIMEOUT
    kind, detail = "hang", ""
    while time.time() < deadline:
        rc = proc.poll()
        if rc is not None:
            err = proc.stderr.read().decode(errors="replace")
            text = read(log) + err
            if rc < 0 or rc == 101 or "panicked at" in text or "BUG REPORT" in text:
                kind = "crash"
            else:
                kind = "refused"
            detail = last_lines(text)
            break
        try:
            r = redis.Redis(port=port, socket_timeout=5)
            if r.ping():
                if r.info("persistence").get("loading", 0) == 1:
                    raise redis.exceptions.BusyLoadingError()
                digest = r.execute_command("DEBUG", "DIGEST")
                sizes = [r.execute_command("SELECT", db) and r.dbsize() for db in range(16)]
                kind, detail = "loaded", f"{digest!r} {sizes}"
                r.close()
                break
        except (redis.exceptions.ConnectionError, redis.exceptions.BusyLoadingError,
                redis.exceptions.TimeoutError):
            pass
        except redis.exceptions.ResponseError as e:
            if "LOADING" not in str(e):
                kind, detail = "loaded", f"error {e}"
                break
        time.sleep(0.02)
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    return kind, detail


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def last_lines(text, n=2):
    lines = [re.sub(r"^\d+:[A-Z] [^*#.-]*[*#.-] ", "", l) for l in text.strip().splitlines()]
    return " | ".join(lines[-n:])


def make_template(binary, port, root, preamble, rng):
    """An AOF dir (base from a rewrite, then an incr file) written by `binary`."""
    d = os.path.join(root, "template-" + ("rdb" if preamble else "aof"))
    os.makedirs(d)
    proc, _ = start(binary, port, d, True, ("--aof-use-rdb-preamble", "yes" if preamble else "no"))
    r = redis.Redis(port=port)
    for _ in range(200):
        try:
            r.ping()
            break
        except redis.exceptions.ConnectionError:
            time.sleep(0.05)
    writes(r, rng, 300)
    r.bgrewriteaof()
    for _ in range(400):
        if r.info("persistence")["aof_rewrite_in_progress"] == 0:
            break
        time.sleep(0.05)
    writes(r, rng, 600)
    r.shutdown(nosave=True)
    proc.wait()
    os.remove(os.path.join(d, "server.log"))
    return d


def writes(r, rng, n):
    for i in range(n):
        k = f"k{rng.randrange(40)}"
        c = rng.randrange(16)
        try:
            if c == 0:
                r.set(k, rng.choice(["v", "12345", "x" * rng.randrange(1, 200)]))
            elif c == 1:
                r.rpush("l" + k, *[f"e{j}" for j in range(rng.randrange(1, 6))])
            elif c == 2:
                r.hset("h" + k, mapping={f"f{j}": str(j) for j in range(rng.randrange(1, 5))})
            elif c == 3:
                r.sadd("s" + k, *[rng.randrange(100) for _ in range(3)])
            elif c == 4:
                r.zadd("z" + k, {f"m{rng.randrange(20)}": rng.random() * 10})
            elif c == 5:
                r.xadd("x" + k, {"f": str(i)})
            elif c == 6:
                r.expire(k, 10000)
            elif c == 7:
                r.pexpireat("l" + k, int(time.time() * 1000) + 1_000_000)
            elif c == 8:
                p = r.pipeline(transaction=True)
                p.incr("counter")
                p.lpush("lq", i)
                p.execute()
            elif c == 9:
                r.execute_command("SELECT", rng.randrange(3))
                r.set(f"db:{i % 7}", i)
                r.execute_command("SELECT", 0)
            elif c == 10:
                r.delete(k)
            elif c == 11:
                r.pfadd("hll", f"u{i}")
            elif c == 12:
                r.setrange("sr" + k, rng.randrange(50), "abc")
            elif c == 13:
                r.lpop("l" + k)
            elif c == 14:
                r.execute_command("EVAL", "redis.call('set', KEYS[1], ARGV[1]) return 1", 1, "ev" + k, i)
            else:
                r.incrbyfloat("f" + k, 1.5)
        except redis.exceptions.ResponseError:
            pass


def files(d):
    adir = os.path.join(d, "appendonlydir")
    names = sorted(os.listdir(adir))
    pick = {"manifest": None, "base": None, "incr": None}
    for n in names:
        if n.endswith(".manifest"):
            pick["manifest"] = n
        elif ".base." in n:
            pick["base"] = n
        elif ".incr." in n:
            pick["incr"] = n
    return adir, pick


def mutate(data, rng, kind):
    """One corruption of `data` (bytes) of the given kind; returns (new data, label)."""
    n = len(data)
    if n == 0:
        return b"x", "fill"
    pos = rng.randrange(n)
    if kind == "flip":
        b = bytearray(data)
        b[pos] ^= 1 << rng.randrange(8)
        return bytes(b), f"flip@{pos}"
    if kind == "byte":
        b = bytearray(data)
        b[pos] = rng.randrange(256)
        return bytes(b), f"byte@{pos}"
    if kind == "cut":
        return data[:pos], f"cut@{pos}"
    if kind == "cut_line":
        ends = [m.end() for m in re.finditer(rb"\r\n", data)]
        at = rng.choice(ends) if ends else pos
        return data[:at], f"cut_line@{at}"
    if kind == "delete":
        ln = rng.randrange(1, 40)
        return data[:pos] + data[pos + ln:], f"delete@{pos}+{ln}"
    if kind == "insert":
        junk = bytes(rng.choice(b"*$\r\n0123456789abcXYZ-+: ") for _ in range(rng.randrange(1, 12)))
        return data[:pos] + junk + data[pos:], f"insert@{pos}:{junk!r}"
    if kind == "repeat":
        ln = rng.randrange(1, 80)
        return data[:pos] + data[pos:pos + ln] + data[pos:], f"repeat@{pos}+{ln}"
    if kind == "number":
        nums = list(re.finditer(rb"([*$])(\d+)\r\n", data))
        if not nums:
            return mutate(data, rng, "flip")
        m = rng.choice(nums)
        new = rng.choice([b"0", b"-1", b"1", b"99999999999", b"2147483648", b"-5",
                          str(int(m.group(2)) + rng.choice([-1, 1])).encode(), b"", b"1x"])
        return data[:m.start(2)] + new + data[m.end(2):], f"number@{m.start(2)}:{m.group(0)!r}->{new!r}"
    if kind == "garbage_tail":
        junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 30)))
        return data + junk, f"tail:{junk!r}"
    if kind == "open_multi":
        return data + b"*1\r\n$5\r\nMULTI\r\n", "open_multi"
    raise ValueError(kind)


def manifest_mutation(text, rng):
    lines = text.splitlines(keepends=True)
    c = rng.randrange(9)
    if c == 0 and lines:
        i = rng.randrange(len(lines))
        return "".join(lines[:i] + lines[i + 1:]), f"drop line {i}"
    if c == 1 and lines:
        i = rng.randrange(len(lines))
        return "".join(lines[:i + 1] + lines[i:]), f"repeat line {i}"
    if c == 2 and lines:
        return "".join(reversed(lines)), "reverse"
    if c == 3:
        return re.sub(r"seq (\d+)", lambda m: "seq " + rng.choice(["0", "-1", "x", "99999999999999999999",
                                                                     str(int(m.group(1)) + 1)]), text, count=1), "seq"
    if c == 4:
        return re.sub(r"type (\w)", lambda m: "type " + rng.choice(["h", "x", "", "bb"]), text, count=1), "type"
    if c == 5:
        return re.sub(r"file (\S+)", lambda m: "file " + rng.choice(["", "nosuch.aof", "a b",
                                                                    m.group(1) + "x"]), text, count=1), "file"
    if c == 6:
        return text + rng.choice(["junk\n", "file x seq 1\n", "file x.aof seq 9 type i\n", "\n",
                                  "file appendonly.aof.1.incr.aof seq 1 type i newkey v\n"]), "append line"
    if c == 7:
        return text.replace("\n", "\r\n"), "crlf"
    data, label = mutate(text.encode(), rng, rng.choice(["flip", "byte", "cut", "delete", "insert"]))
    return data.decode(errors="replace"), label


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ref")
    ap.add_argument("sut")
    ap.add_argument("--cases", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--port", type=int, default=7620)
    ap.add_argument("--keep", default="/tmp/aof-corruption-differ")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    root = tempfile.mkdtemp(prefix="aofc-")
    os.makedirs(a.keep, exist_ok=True)
    templates = [make_template(a.ref, a.port, root, p, rng) for p in (True, False)]
    kinds = ["flip", "byte", "cut", "cut_line", "delete", "insert", "repeat", "number", "number",
             "garbage_tail", "open_multi"]
    counts = {"cases": 0, "differ": 0, "crashes": 0, "hangs": 0, "loaded": 0, "refused": 0}
    for case in range(a.cases):
        tpl = rng.choice(templates)
        target = rng.choice(["incr", "incr", "incr", "base", "manifest"])
        truncated = rng.random() < 0.5
        d = os.path.join(root, f"case{case}")
        shutil.copytree(tpl, d)
        adir, pick = files(d)
        path = os.path.join(adir, pick[target])
        if target == "manifest":
            new, label = manifest_mutation(read(path), rng)
            with open(path, "w") as f:
                f.write(new)
        else:
            with open(path, "rb") as f:
                data = f.read()
            new, label = mutate(data, rng, rng.choice(kinds))
            with open(path, "wb") as f:
                f.write(new)
        results = []
        for binary in (a.ref, a.sut):
            run = d + "-run"
            shutil.copytree(d, run)
            results.append(outcome(binary, a.port, run, truncated))
            shutil.rmtree(run)
        (rk, rd), (sk, sd) = results
        counts["cases"] += 1
        counts["crashes"] += sk == "crash"
        counts["hangs"] += sk == "hang"
        counts["loaded"] += sk == "loaded"
        counts["refused"] += sk == "refused"
        same = rk == sk and (rk != "loaded" or rd == sd)
        if not same:
            counts["differ"] += 1
            keep = os.path.join(a.keep, f"seed{a.seed}-case{case}")
            shutil.rmtree(keep, ignore_errors=True)
            shutil.copytree(d, keep)
            print(f"case {case}: {target} {label} truncated={'yes' if truncated else 'no'} ({keep})")
            print(f"  ref {rk}: {rd}")
            print(f"  sut {sk}: {sd}")
            sys.stdout.flush()
        shutil.rmtree(d)
    shutil.rmtree(root)
    print(" ".join(f"{k}={v}" for k, v in counts.items()))
    return 0 if counts["crashes"] == counts["hangs"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
