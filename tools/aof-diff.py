#!/usr/bin/env python3
"""What two servers wrote to their append-only files for the same traffic, compared.

    python3 tools/aof-diff.py REF_DIR SUT_DIR [--context N] [--max N]

REF_DIR and SUT_DIR are the servers' `dir`s (their `appendonlydir` is read through its
manifest: every incr file, in order). Run the same commands against two servers started
with `--appendonly yes --auto-aof-rewrite-percentage 0` (for instance with
tools/diff-fuzz.py), then compare what each would replay, which is also what it
propagates to its replicas. Before comparing, absolute times (unix seconds or
milliseconds within a day of now) become `<T>`, and stream ids with such a time part
`<ID>`; `--skip` leaves out commands sent to one side only (tools/diff-fuzz.py restores
the other server's DUMP payloads under `__tmp` in the reference). Differences are printed as unified-diff hunks of commands; the last line is
`ref=N sut=N differing_hunks=N`."""
import argparse
import difflib
import os
import re
import sys
import time


def read_manifest(d):
    adir = os.path.join(d, "appendonlydir")
    names = [n for n in os.listdir(adir) if n.endswith(".manifest")]
    if not names:
        sys.exit(f"no manifest in {adir}")
    files = []
    with open(os.path.join(adir, names[0])) as f:
        for line in f:
            fields = line.split()
            kv = dict(zip(fields[0::2], fields[1::2]))
            if kv.get("type") == "i":
                files.append((int(kv.get("seq", 0)), os.path.join(adir, kv["file"])))
    return [p for _, p in sorted(files)]


def parse_commands(data):
    """RESP arrays of bulk strings, as an AOF holds them."""
    out = []
    i = 0
    n = len(data)
    while i < n:
        if data[i:i + 1] != b"*":
            # An annotation (`#TS:...`) or garbage: skip the line.
            j = data.find(b"\r\n", i)
            i = n if j < 0 else j + 2
            continue
        j = data.index(b"\r\n", i)
        count = int(data[i + 1:j])
        i = j + 2
        args = []
        for _ in range(count):
            j = data.index(b"\r\n", i)
            ln = int(data[i + 1:j])
            i = j + 2
            args.append(data[i:i + ln])
            i += ln + 2
        out.append(args)
    return out


def normalizer():
    now = time.time()
    lo_s, hi_s = int(now - 86400 * 400), int(now + 86400 * 400)

    def norm_arg(a):
        s = a.decode("latin-1")
        m = re.fullmatch(r"(\d+)-(\d+)", s)
        if m and lo_s * 1000 <= int(m.group(1)) <= hi_s * 1000:
            return "<ID>-" + m.group(2)
        if re.fullmatch(r"\d{9,13}", s):
            v = int(s)
            if lo_s <= v <= hi_s or lo_s * 1000 <= v <= hi_s * 1000:
                return "<T>"
        return s

    def norm(cmd):
        parts = [norm_arg(a) for a in cmd]
        return " ".join(repr(p)[1:-1] if any(c in p for c in " \r\n") else p for p in parts)

    return norm


def load(d, norm):
    cmds = []
    for path in read_manifest(d):
        with open(path, "rb") as f:
            cmds.extend(norm(c) for c in parse_commands(f.read()))
    return cmds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ref")
    ap.add_argument("sut")
    ap.add_argument("--context", type=int, default=3)
    ap.add_argument("--max", type=int, default=50, help="hunks printed at most")
    ap.add_argument("--skip", default=None, metavar="REGEX",
                    help="leave out commands (as normalized) this matches, on both sides")
    a = ap.parse_args()
    norm = normalizer()
    ref, sut = load(a.ref, norm), load(a.sut, norm)
    if a.skip:
        rx = re.compile(a.skip)
        ref, sut = [c for c in ref if not rx.search(c)], [c for c in sut if not rx.search(c)]
    hunks = 0
    cut = lambda s: s if len(s) <= 300 else s[:300] + "...(%d chars)" % len(s)
    for line in difflib.unified_diff([cut(c) for c in ref], [cut(c) for c in sut], "ref", "sut",
                                     n=a.context, lineterm=""):
        if line.startswith("@@"):
            hunks += 1
        if hunks <= a.max:
            print(line)
    print(f"ref={len(ref)} sut={len(sut)} differing_hunks={hunks}")
    return 0 if hunks == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
