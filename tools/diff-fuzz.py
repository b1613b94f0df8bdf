#!/usr/bin/env python3
"""diff-fuzz.py - differential fuzzing of ferrodis against redis-server 7.0.

Usage: diff-fuzz.py --ref-port 7401 --sut-port 7402 --seed 1 --count 5000 [--resp3]
                    [--out mismatches.jsonl] [--families a,b,...] [--skip-unspecified]
       diff-fuzz.py --ref-port 7401 --sut-port 7402 --replay-session mismatches.jsonl:LINE

Start a redis-server and a ferrodis (both with --enable-debug-command yes) first.
Sends the same random command stream (every data type, keyspace commands, MULTI,
DUMP/RESTORE both ways, Lua scripts: their libraries, errors and the conversions of
every reply type both ways, and functions; and sessions of three connections each:
pub/sub, keyspace notifications, blocking commands served by others, CLIENT
UNBLOCK/KILL/REPLY, tracking, MONITOR, HELLO, RESET) to both servers on raw sockets, parses whole
RESP2/RESP3 replies keeping their types, and compares them exactly; only what is
random or timed by nature is normalized (random picks, hash order of hashtable
encodings, TTLs within a second, XINFO times, SCAN cursors). Each mismatch is
written to --out with the commands that led to it; the last line printed counts
commands and mismatches.
"""
import argparse
import json
import math
import random
import re
import select
import socket
import sys
import time

# ---------------------------------------------------------------- RESP client


class ProtoError(Exception):
    pass


class BothClosed(Exception):
    """Both servers dropped the connection (or timed out) on the same command."""


class Conn:
    def __init__(self, port, timeout=5.0):
        self.port = port
        self.timeout = timeout
        self.connect()

    def connect(self):
        self.s = socket.create_connection(("127.0.0.1", self.port), timeout=self.timeout)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self):
        try:
            self.s.close()
        except Exception:
            pass

    def send(self, args):
        self.s.sendall(self.encode(args))

    @staticmethod
    def encode(args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            if isinstance(a, str):
                a = a.encode()
            elif isinstance(a, int):
                a = str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        return b"".join(out)

    def _fill(self):
        try:
            d = self.s.recv(1 << 16)
        except TimeoutError:
            raise TimeoutError(f"no reply from port {self.port} in {self.s.gettimeout()} s") from None
        if not d:
            raise ProtoError(f"connection closed by port {self.port}")
        self.buf += d

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                ln = self.buf[:i]
                self.buf = self.buf[i + 2:]
                return ln
            self._fill()

    def _exact(self, n):
        if len(self.buf) < n + 2:
            parts = [self.buf]
            have = len(self.buf)
            while have < n + 2:
                d = self.s.recv(1 << 20)
                if not d:
                    raise ProtoError(f"connection closed by port {self.port}")
                parts.append(d)
                have += len(d)
            self.buf = b"".join(parts)
        d = self.buf[:n]
        if self.buf[n:n + 2] != b"\r\n":
            raise ProtoError("bad bulk terminator")
        self.buf = self.buf[n + 2:]
        return d

    def read(self):
        while True:
            r = self._read1()
            if r[0] == "|":  # attribute: skip, read real reply
                continue
            return r

    def _read1(self):
        ln = self._line()
        if not ln:
            raise ProtoError("empty line")
        t, rest = chr(ln[0]), ln[1:]
        if t == "+":
            return ("+", rest)
        if t == "-":
            return ("-", rest)
        if t == ":":
            return (":", int(rest))
        if t == "$":
            n = int(rest)
            if n < 0:
                return ("$", None)
            return ("$", self._exact(n))
        if t in "*~>":
            n = int(rest)
            if n < 0:
                return (t, None)
            return (t, tuple(self.read() for _ in range(n)))
        if t == "%":
            n = int(rest)
            return ("%", tuple((self.read(), self.read()) for _ in range(n)))
        if t == "|":
            n = int(rest)
            for _ in range(n):
                self.read(); self.read()
            return ("|",)
        if t == "_":
            return ("_",)
        if t == ",":
            return (",", rest)
        if t == "#":
            return ("#", rest)
        if t == "(":
            return ("(", rest)
        if t in "=!":
            n = int(rest)
            return (t, self._exact(n))
        raise ProtoError("unknown type byte %r in %r" % (t, ln[:80]))

    def cmd(self, args):
        self.send(args)
        return self.read()


def fmt(r, ind=0):
    """redis-cli-ish rendering for reports."""
    t = r[0]
    if t == "+":
        return r[1].decode("utf-8", "backslashreplace")
    if t in "-!":
        return "(error) " + r[1].decode("utf-8", "backslashreplace")
    if t == ":":
        return "(integer) %d" % r[1]
    if t == "$":
        if r[1] is None:
            return "(nil)"
        return json.dumps(r[1].decode("latin-1"))
    if t == "_":
        return "(nil)"
    if t == ",":
        return "(double) " + r[1].decode()
    if t == "#":
        return "(bool) " + r[1].decode()
    if t == "(":
        return "(big) " + r[1].decode()
    if t == "=":
        return "(verbatim) " + json.dumps(r[1].decode("latin-1"))
    if t in "*~>":
        if r[1] is None:
            return "(nil array)"
        if not r[1]:
            return "(empty %s)" % {"*": "array", "~": "set", ">": "push"}[t]
        pre = {"*": "", "~": "set:", ">": "push:"}[t]
        return pre + "[" + ", ".join(fmt(x) for x in r[1]) + "]"
    if t == "%":
        return "map:{" + ", ".join(fmt(k) + " => " + fmt(v) for k, v in r[1]) + "}"
    return repr(r)


def cli_quote(a):
    if isinstance(a, int):
        a = str(a)
    if isinstance(a, bytes):
        a = a.decode("latin-1")
    if a == "" or any(c in a for c in " \"'\\\t\n") or any(ord(c) < 32 or ord(c) > 126 for c in a):
        out = '"'
        for c in a:
            o = ord(c)
            if c == '"':
                out += '\\"'
            elif c == "\\":
                out += "\\\\"
            elif 32 <= o <= 126:
                out += c
            else:
                out += "\\x%02x" % o
        return out + '"'
    return a


def cli_line(args):
    s = " ".join(cli_quote(a) for a in args)
    if len(s) > 400:
        s = s[:400] + "...(%d chars)" % len(s)
    return s

# ---------------------------------------------------------------- value pools


KEYS = ["k%d" % i for i in range(8)]
FAMILY_KEYS = {
    "string": ["k0", "k1", "k2"], "bitmap": ["k0", "k1", "k2"], "list": ["k2", "k3", "k4"],
    "hash": ["k4", "k5"], "set": ["k5", "k6", "k7"], "zset": ["k6", "k7", "k0"],
    "hll": ["k1", "k3"], "geo": ["k7", "k6"], "stream": ["k3", "k4"],
    "keyspace": KEYS, "generic": KEYS, "script": KEYS, "function": KEYS, "admin": KEYS,
}
SMALL_VALS = [b"", b"a", b"b", b"c", b"foo", b"bar", b"hello world", b"0", b"1", b"-1", b"10",
              b"42", b"3.14", b"-2.5", b"1e3", b"inf", b"-inf", b"+inf", b"nan", b"9223372036854775807",
              b"-9223372036854775808", b"9223372036854775808", b" 1", b"1 ", b"0x1f", b"007", b"-0",
              b"a\x00b", "\u00e9t\u00e9".encode(), b"\xff\xfe", b"12345678901234567890", b"1.5e308",
              b"0.1", b"abcabcabc", b"xyz", b"5", b"100", b"-100", b"4294967296"]
MEMBERS = [b"a", b"b", b"c", b"d", b"e", b"1", b"2", b"3", b"10", b"-1", b"foo", b"0"]
INTS = [0, 1, -1, 2, 3, 5, 10, -5, 100, -100, 7]
BAD_INTS = [b"9223372036854775807", b"-9223372036854775808", b"9223372036854775808", b"abc",
            b"1.5", b"", b" 1", b"+1", b"-0", b"2147483648", b"4294967296", b"0x10", b"1e3"]
FLOATS = [b"0", b"1", b"-1", b"1.5", b"-2.25", b"0.1", b"3", b"10", b"inf", b"-inf", b"+inf", b"nan",
          b"1e308", b"1e309", b"-1e309", b"3.0000000000000001", b"abc", b".5", b"5.", b" 1", b"1e-320",
          b"-0", b"1.7976931348623157e308", b"2.5e-5", b"123456789.123456789", b"0x10", b""]


class Gen:
    def __init__(self, rnd):
        self.r = rnd
        self.xid = 1  # monotonically increasing stream ms

    # basic pickers
    def ch(self, seq):
        return self.r.choice(seq)

    def p(self, prob):
        return self.r.random() < prob

    def key(self, fam):
        if self.p(0.8):
            return self.ch(FAMILY_KEYS[fam])
        if self.p(0.05):
            return "nokey"
        return self.ch(KEYS)

    def bigval(self):
        n = self.ch([65, 100, 200, 1000, 5000])
        if self.p(0.5):
            return (b"x" * (n - 1)) + bytes([self.r.randint(97, 122)])
        return bytes(self.r.randint(97, 100) for _ in range(n))

    def val(self):
        x = self.r.random()
        if x < 0.05:
            return self.bigval()
        if x < 0.15:
            return str(self.r.randint(-1000, 100000)).encode()
        return self.ch(SMALL_VALS)

    def member(self):
        if self.p(0.03):
            return self.bigval()
        if self.p(0.1):
            return str(self.r.randint(0, 600)).encode()
        return self.ch(MEMBERS)

    def intarg(self):
        x = self.r.random()
        if x < 0.8:
            return str(self.ch(INTS) if self.p(0.6) else self.r.randint(-20, 20)).encode()
        if x < 0.9:
            return str(self.r.randint(-10**6, 10**6)).encode()
        return self.ch(BAD_INTS)

    def idx(self):
        x = self.r.random()
        if x < 0.85:
            return str(self.r.randint(-8, 8)).encode()
        if x < 0.95:
            return self.ch([b"100", b"-100", b"9223372036854775807", b"-9223372036854775808"])
        return self.ch([b"abc", b"1.5", b"", b"9223372036854775808"])

    def cnt(self):
        x = self.r.random()
        if x < 0.85:
            return str(self.r.randint(0, 6)).encode()
        if x < 0.92:
            return str(self.r.randint(-5, -1)).encode()
        return self.ch([b"100", b"abc", b"9223372036854775807", b"-9223372036854775808", b"0"])

    def flt(self):
        if self.p(0.6):
            return self.ch([b"0", b"1", b"2", b"-1", b"1.5", b"2.5", b"-3.5", b"10", b"100", b"0.5"])
        return self.ch(FLOATS)

    def nmembers(self, lo=1, hi=4):
        if self.p(0.03):
            n = self.ch([130, 200, 520])
            if self.p(0.5):
                return [str(i).encode() for i in range(n)]
            return [b"m%d" % i for i in range(n)]
        return [self.member() for _ in range(self.r.randint(lo, hi))]

    # stream IDs
    def sid(self, fresh=False):
        x = self.r.random()
        if fresh or x < 0.55:
            self.xid += self.r.randint(0, 3)
            if self.p(0.3):
                return b"%d-*" % self.xid
            return b"%d-%d" % (self.xid, self.r.randint(0, 3))
        if x < 0.8:
            return b"%d-%d" % (self.r.randint(0, self.xid + 1), self.r.randint(0, 3))
        if x < 0.9:
            return self.ch([b"0-0", b"0-1", b"0", b"1", b"5"])
        return self.ch([b"abc", b"-1", b"1-", b"-", b"18446744073709551615-18446744073709551615",
                        b"18446744073709551615-*", b"1-18446744073709551615", b"*" if self.p(0.3) else b"+"])

    def sid_range(self, low=True):
        x = self.r.random()
        if x < 0.25:
            return b"-" if low else b"+"
        if x < 0.3:
            return b"+" if low else b"-"
        base = b"%d-%d" % (self.r.randint(0, self.xid + 1), self.r.randint(0, 3))
        if x < 0.5:
            return b"%d" % self.r.randint(0, self.xid + 1)
        if x < 0.7:
            return b"(" + base
        if x < 0.75:
            return self.ch([b"(-", b"(+", b"(0-0", b"(18446744073709551615-18446744073709551615", b"abc", b"(abc"])
        return base


# Normalization spec: dict with keys
#   kind: 'exact' | 'unordered' | 'pairs_unordered' | 'random' | 'ttl' | 'pttl' | 'xinfo' |
#         'xpending' | 'scan' | 'keys' | 'randomkey' | 'dump' | 'spop'
#   enc_keys: keys whose redis-side encoding decides whether order matters
def N(kind="exact", **kw):
    d = {"kind": kind}
    d.update(kw)
    return d


# ---------------------------------------------------------------- generators

def g_string(g):
    k = g.key("string")
    c = g.r.randint(0, 21)
    if c == 0:
        a = ["SET", k, g.val()]
        opts = []
        if g.p(0.4):
            e = g.ch(["EX", "PX", "EXAT", "PXAT", "KEEPTTL", "EX", "PX"])
            if e == "EX":
                opts += [e, g.ch([b"100", b"1000", b"0", b"-1", b"abc", b"9223372036854775807", b"500"])]
            elif e == "PX":
                opts += [e, g.ch([b"100000", b"2000000", b"0", b"-5", b"9223372036854775807"])]
            elif e == "EXAT":
                opts += [e, g.ch([b"1", b"4000000000", b"0", str(int(time.time()) + 1000).encode()])]
            elif e == "PXAT":
                opts += [e, g.ch([b"1", b"4000000000000", str(int(time.time() * 1000) + 1000000).encode()])]
            else:
                opts += [e]
        if g.p(0.3):
            opts.append(g.ch(["NX", "XX"]))
        if g.p(0.3):
            opts.append("GET")
        if g.p(0.05):
            opts.append(g.ch(["EX", "NX", "XX", "KEEPTTL", "FOO", "PX"]))
        g.r.shuffle(opts) if g.p(0.2) else None
        return a + opts, N(keys=[k])
    if c == 1:
        a = ["GETEX", k]
        if g.p(0.6):
            o = g.ch(["EX", "PX", "EXAT", "PXAT", "PERSIST"])
            a.append(o)
            if o != "PERSIST":
                a.append(g.ch([b"1000", b"100000", b"0", b"-1", b"abc", b"4000000000000"]))
        if g.p(0.05):
            a.append(g.ch(["PERSIST", "EX", "FOO"]))
        return a, N(keys=[k])
    if c == 2:
        return ["GETDEL", k], N(keys=[k])
    if c == 3:
        return ["APPEND", k, g.val()], N(keys=[k])
    if c == 4:
        return ["SETRANGE", k, g.ch([g.intarg(), b"0", b"3", b"10", b"-1", b"536870912", b"100000"]),
                g.val()], N(keys=[k])
    if c == 5:
        return ["GETRANGE", k, g.idx(), g.idx()], N(keys=[k])
    if c == 6:
        return [g.ch(["INCR", "DECR"]), k], N(keys=[k])
    if c == 7:
        return [g.ch(["INCRBY", "DECRBY"]), k, g.intarg()], N(keys=[k])
    if c == 8:
        return ["INCRBYFLOAT", k, g.flt()], N(keys=[k])
    if c == 9:
        ks = [g.key("string") for _ in range(g.r.randint(1, 3))]
        a = ["MSETNX"]
        for kk in ks:
            a += [kk, g.val()]
        if g.p(0.05):
            a = a[:-1]
        return a, N(keys=ks)
    if c == 10:
        ks = [g.key("string") for _ in range(g.r.randint(1, 3))]
        a = ["MSET"]
        for kk in ks:
            a += [kk, g.val()]
        return a, N(keys=ks)
    if c == 11:
        ks = [g.key("string") for _ in range(g.r.randint(1, 4))]
        return ["MGET"] + ks, N(keys=ks)
    if c == 12:
        k2 = g.key("string")
        a = ["LCS", k, k2]
        opts = []
        if g.p(0.3):
            opts.append("LEN")
        if g.p(0.4):
            opts.append("IDX")
        if g.p(0.3):
            opts += ["MINMATCHLEN", g.ch([b"0", b"1", b"2", b"3", b"-1", b"abc"])]
        if g.p(0.3):
            opts.append("WITHMATCHLEN")
        g.r.shuffle(opts)
        return a + opts, N(keys=[k, k2])
    if c == 13:
        return ["STRLEN", k], N(keys=[k])
    if c == 14:
        return ["GET", k], N(keys=[k])
    if c == 15:
        return ["SETNX", k, g.val()], N(keys=[k])
    if c == 16:
        return [g.ch(["SETEX", "PSETEX"]), k, g.ch([b"1000", b"100000", b"0", b"-1", b"abc"]), g.val()], N(keys=[k])
    if c == 17:
        return ["GETSET", k, g.val()], N(keys=[k])
    if c == 18:
        # lcs-friendly values
        return ["SET", k, g.ch([b"ohmytext", b"mynewtext", b"abcdefgh", b"xaybzc", b"aaaa", b"", b"abcabcabc"])], N(keys=[k])
    if c == 19:
        # wrong arity
        return g.ch([["SET", k], ["GET"], ["APPEND", k], ["INCRBY", k], ["GETRANGE", k, b"0"],
                     ["SETRANGE", k, b"0"], ["MSET", k], ["LCS", k], ["GETEX"], ["STRLEN"]]), N(keys=[k])
    if c == 20:
        return ["SUBSTR", k, g.idx(), g.idx()], N(keys=[k])
    return ["SET", k, g.ch([b"10", b"-5", b"0", b"3.5", b"9223372036854775806", b"-9223372036854775807", b"1e2", b"5.0e3"])], N(keys=[k])


BF_TYPES = [b"i1", b"i4", b"u4", b"i8", b"u8", b"i16", b"u15", b"i32", b"u31", b"i63", b"i64", b"u63",
            b"u64", b"i65", b"u0", b"x8", b"I8"]


def g_bitmap(g):
    k = g.key("bitmap")
    c = g.r.randint(0, 8)
    if c == 0:
        return ["SETBIT", k, g.ch([b"0", b"1", b"7", b"8", b"15", b"100", b"-1", b"800000", b"4294967296", b"abc", str(g.r.randint(0, 64)).encode()]),
                g.ch([b"0", b"1", b"1", b"2", b"-1", b"a"])], N(keys=[k])
    if c == 1:
        return ["GETBIT", k, g.ch([b"0", b"1", b"7", b"100", b"-1", b"abc", str(g.r.randint(0, 64)).encode()])], N(keys=[k])
    if c == 2:
        a = ["BITCOUNT", k]
        if g.p(0.7):
            a += [g.idx(), g.idx()]
            if g.p(0.4):
                a.append(g.ch(["BYTE", "BIT", "byte", "bit", "FOO"]))
        elif g.p(0.2):
            a.append(g.idx())
        return a, N(keys=[k])
    if c == 3:
        a = ["BITPOS", k, g.ch([b"0", b"1", b"2", b"-1"])]
        if g.p(0.7):
            a.append(g.idx())
            if g.p(0.6):
                a.append(g.idx())
                if g.p(0.4):
                    a.append(g.ch(["BYTE", "BIT", "FOO"]))
        return a, N(keys=[k])
    if c == 4:
        op = g.ch(["AND", "OR", "XOR", "NOT", "and", "FOO"])
        dst = g.key("bitmap")
        srcs = [g.key("bitmap") for _ in range(1 if op == "NOT" and g.p(0.8) else g.r.randint(1, 3))]
        return ["BITOP", op, dst] + srcs, N(keys=[dst] + srcs)
    if c in (5, 6):
        ro = c == 6 and g.p(0.5)
        a = ["BITFIELD_RO" if ro else "BITFIELD", k]
        for _ in range(g.r.randint(1, 4)):
            sub = g.ch(["GET", "GET", "SET", "INCRBY", "OVERFLOW"]) if not ro else g.ch(["GET", "GET", "GET", "SET"])
            off = g.ch([b"0", b"1", b"8", b"#0", b"#1", b"#2", b"-1", b"100", b"abc", b"#-1", b"7"])
            if sub == "GET":
                a += ["GET", g.ch(BF_TYPES[:14]) if g.p(0.9) else g.ch(BF_TYPES), off]
            elif sub == "SET":
                a += ["SET", g.ch(BF_TYPES[:14]) if g.p(0.9) else g.ch(BF_TYPES), off, g.intarg()]
            elif sub == "INCRBY":
                a += ["INCRBY", g.ch(BF_TYPES[:14]) if g.p(0.9) else g.ch(BF_TYPES), off, g.ch([b"1", b"-1", b"100", b"-200", b"127", b"128", g.intarg()])]
            else:
                a += ["OVERFLOW", g.ch(["WRAP", "SAT", "FAIL", "wrap", "BAD"])]
        if g.p(0.03):
            a.append("GET")
        return a, N(keys=[k])
    if c == 7:
        return ["SET", k, g.ch([b"\xff\xf0\x00", b"\x00\x00\x00", b"foobar", b"\x00\xff", b"\x80", b"\xff\xff\xff\xff\xff\xff\xff\xff\x7f"])], N(keys=[k])
    return ["GET", k], N(keys=[k])


def g_list(g):
    k = g.key("list")
    c = g.r.randint(0, 22)
    if c in (0, 1):
        return [g.ch(["LPUSH", "RPUSH"]), k] + g.nmembers(), N(keys=[k])
    if c == 2:
        return [g.ch(["LPUSHX", "RPUSHX"]), k] + g.nmembers(), N(keys=[k])
    if c == 3:
        a = [g.ch(["LPOP", "RPOP"]), k]
        if g.p(0.5):
            a.append(g.cnt())
        return a, N(keys=[k])
    if c == 4:
        return ["LLEN", k], N(keys=[k])
    if c in (5, 6):
        return ["LRANGE", k, g.idx(), g.idx()], N(keys=[k])
    if c == 7:
        return ["LINDEX", k, g.idx()], N(keys=[k])
    if c == 8:
        return ["LSET", k, g.idx(), g.member()], N(keys=[k])
    if c == 9:
        return ["LTRIM", k, g.idx(), g.idx()], N(keys=[k])
    if c == 10:
        return ["LINSERT", k, g.ch(["BEFORE", "AFTER", "before", "MIDDLE"]), g.member(), g.member()], N(keys=[k])
    if c == 11:
        return ["LREM", k, g.ch([b"0", b"1", b"-1", b"2", b"-2", b"abc"]), g.member()], N(keys=[k])
    if c == 12:
        k2 = g.key("list")
        return ["LMOVE", k, k2, g.ch(["LEFT", "RIGHT"]), g.ch(["LEFT", "RIGHT", "left", "UP"])], N(keys=[k, k2])
    if c == 13:
        k2 = g.key("list")
        return ["RPOPLPUSH", k, k2], N(keys=[k, k2])
    if c in (14, 15):
        a = ["LPOS", k, g.member()]
        opts = []
        if g.p(0.5):
            opts += ["RANK", g.ch([b"1", b"-1", b"2", b"-2", b"0", b"5", b"-9223372036854775808", b"abc"])]
        if g.p(0.5):
            opts += ["COUNT", g.ch([b"0", b"1", b"2", b"5", b"-1"])]
        if g.p(0.3):
            opts += ["MAXLEN", g.ch([b"0", b"1", b"2", b"3", b"-1"])]
        if g.p(0.03):
            opts += ["FOO"]
        return a + opts, N(keys=[k])
    if c == 16:
        ks = [g.key("list") for _ in range(g.r.randint(1, 3))]
        nk = str(len(ks)).encode() if g.p(0.9) else g.ch([b"0", b"-1", b"5", b"abc"])
        a = ["LMPOP", nk] + ks + [g.ch(["LEFT", "RIGHT", "left", "MID"])]
        if g.p(0.5):
            a += ["COUNT", g.ch([b"1", b"2", b"3", b"10", b"0", b"-1", b"abc"])]
        return a, N(keys=ks)
    if c == 17:
        return ["RPUSH", k] + [g.ch([b"a", b"b", b"c", b"a", b"1"]) for _ in range(g.r.randint(3, 8))], N(keys=[k])
    if c == 18:
        return g.ch([["LPUSH", k], ["LRANGE", k, b"0"], ["LINSERT", k, "BEFORE", b"a"], ["LSET", k, b"0"],
                     ["LPOS", k], ["LMPOP", b"1", k], ["LMOVE", k, k, "LEFT"]]), N(keys=[k])
    if c == 19:
        return ["OBJECT", "ENCODING", k], N(keys=[k])
    if c == 20:
        return [g.ch(["BLPOP", "BRPOP"]), k, b"0.01"], N(keys=[k])
    if c == 21:
        k2 = g.key("list")
        return ["BLMOVE", k, k2, "LEFT", "RIGHT", b"0.01"], N(keys=[k, k2])
    return ["LRANGE", k, b"0", b"-1"], N(keys=[k])


def g_hash(g):
    k = g.key("hash")
    c = g.r.randint(0, 18)
    if c in (0, 1):
        a = [g.ch(["HSET", "HSET", "HMSET"]), k]
        ms = g.nmembers()
        for m in ms:
            a += [m, g.val()]
        if g.p(0.03):
            a = a[:-1]
        return a, N(keys=[k])
    if c == 2:
        return ["HSETNX", k, g.member(), g.val()], N(keys=[k])
    if c == 3:
        return ["HGET", k, g.member()], N(keys=[k])
    if c == 4:
        return ["HMGET", k] + g.nmembers(), N(keys=[k])
    if c == 5:
        return ["HDEL", k] + g.nmembers(), N(keys=[k])
    if c == 6:
        return ["HLEN", k], N(keys=[k])
    if c == 7:
        return ["HSTRLEN", k, g.member()], N(keys=[k])
    if c == 8:
        return ["HINCRBY", k, g.member(), g.intarg()], N(keys=[k])
    if c == 9:
        return ["HINCRBYFLOAT", k, g.member(), g.flt()], N(keys=[k])
    if c == 10:
        return ["HEXISTS", k, g.member()], N(keys=[k])
    if c == 11:
        return [g.ch(["HKEYS", "HVALS"]), k], N("unordered", keys=[k], enc_keys=[k])
    if c == 12:
        return ["HGETALL", k], N("pairs_unordered", keys=[k], enc_keys=[k])
    if c in (13, 14):
        a = ["HRANDFIELD", k]
        if g.p(0.8):
            a.append(g.ch([b"1", b"2", b"3", b"5", b"20", b"0", b"-1", b"-3", b"-10", b"abc", b"-9223372036854775808", b"9223372036854775807"]))
            if g.p(0.5):
                a.append("WITHVALUES")
        elif g.p(0.1):
            a += ["1", "WITHSCORES"]
        return a, N("random", keys=[k], rtype="hash")
    if c == 15:
        return ["HSCAN", k, b"0"] + (["COUNT", b"100"] if g.p(0.5) else []) + (["MATCH", g.ch([b"*", b"a*", b"1*", b"[ab]"])] if g.p(0.4) else []), N("scan", keys=[k], enc_keys=[k])
    if c == 16:
        return ["HSET", k, g.member(), g.ch([b"1", b"2.5", b"-3", b"abc", b"1e2", b"9223372036854775807", b"inf"])], N(keys=[k])
    if c == 17:
        return g.ch([["HSET", k, b"a"], ["HGET", k], ["HINCRBY", k, b"a"], ["HRANDFIELD"], ["HSTRLEN", k]]), N(keys=[k])
    return ["OBJECT", "ENCODING", k], N(keys=[k])


def g_set(g):
    k = g.key("set")
    c = g.r.randint(0, 20)
    if c in (0, 1, 2):
        return ["SADD", k] + g.nmembers(), N(keys=[k])
    if c == 3:
        return ["SREM", k] + g.nmembers(), N(keys=[k])
    if c == 4:
        return ["SMEMBERS", k], N("unordered", keys=[k], enc_keys=[k])
    if c == 5:
        return ["SISMEMBER", k, g.member()], N(keys=[k])
    if c == 6:
        return ["SMISMEMBER", k] + g.nmembers(), N(keys=[k])
    if c == 7:
        return ["SCARD", k], N(keys=[k])
    if c == 8:
        k2 = g.key("set")
        return ["SMOVE", k, k2, g.member()], N(keys=[k, k2])
    if c in (9, 10):
        ks = [g.key("set") for _ in range(g.r.randint(1, 3))]
        op = g.ch(["SINTER", "SUNION", "SDIFF"])
        return [op] + ks, N("unordered", keys=ks, enc_keys=ks)
    if c == 11:
        ks = [g.key("set") for _ in range(g.r.randint(1, 3))]
        dst = g.key("set")
        return [g.ch(["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"]), dst] + ks, N(keys=[dst] + ks)
    if c == 12:
        ks = [g.key("set") for _ in range(g.r.randint(1, 3))]
        nk = str(len(ks)).encode() if g.p(0.9) else g.ch([b"0", b"-1", b"5", b"abc"])
        a = ["SINTERCARD", nk] + ks
        if g.p(0.4):
            a += ["LIMIT", g.ch([b"0", b"1", b"2", b"-1", b"abc"])]
        return a, N(keys=ks)
    if c in (13, 14):
        a = ["SRANDMEMBER", k]
        if g.p(0.7):
            a.append(g.ch([b"1", b"2", b"3", b"5", b"20", b"0", b"-1", b"-3", b"-10", b"abc", b"-9223372036854775808"]))
        return a, N("random", keys=[k], rtype="set")
    if c == 15:
        a = ["SPOP", k]
        if g.p(0.6):
            a.append(g.ch([b"1", b"2", b"3", b"0", b"20", b"-1", b"abc"]))
        return a, N("spop", keys=[k], rtype="set")
    if c == 16:
        return ["SSCAN", k, b"0"] + (["COUNT", b"100"] if g.p(0.5) else []) + (["MATCH", g.ch([b"*", b"a*", b"1*", b"[ab]"])] if g.p(0.4) else []), N("scan", keys=[k], enc_keys=[k])
    if c == 17:
        return ["SADD", k] + [str(g.r.randint(-5, 20)).encode() for _ in range(g.r.randint(1, 5))], N(keys=[k])
    if c == 18:
        return ["OBJECT", "ENCODING", k], N(keys=[k])
    if c == 19:
        return g.ch([["SADD", k], ["SINTERCARD", b"1"], ["SMOVE", k, k], ["SPOP"], ["SMISMEMBER", k], ["SINTERCARD", b"2", k]]), N(keys=[k])
    return ["SADD", k] + [b"m%d" % i for i in range(g.r.randint(1, 6))], N(keys=[k])


def zscore(g):
    if g.p(0.7):
        return g.ch([b"0", b"1", b"2", b"3", b"1.5", b"-1", b"10", b"2.5", b"-0.5", b"100"])
    return g.ch(FLOATS)


def zrange_bound(g, mode):
    if mode == "score":
        return g.ch([b"-inf", b"+inf", b"0", b"1", b"2", b"(1", b"(2", b"1.5", b"(1.5", b"-1", b"inf", b"(-inf", b"abc", b"((1", b"3", b"nan"])
    if mode == "lex":
        return g.ch([b"-", b"+", b"[a", b"(a", b"[c", b"(c", b"[b", b"[1", b"(0", b"a", b"[", b"(", b"[e"])
    return g.idx()


def g_zset(g):
    k = g.key("zset")
    c = g.r.randint(0, 30)
    if c in (0, 1, 2):
        a = ["ZADD", k]
        opts = []
        if g.p(0.3):
            opts.append(g.ch(["NX", "XX"]))
        if g.p(0.3):
            opts.append(g.ch(["GT", "LT"]))
        if g.p(0.3):
            opts.append("CH")
        incr = g.p(0.15)
        if incr:
            opts.append("INCR")
        g.r.shuffle(opts)
        a += opts
        n = 1 if incr and g.p(0.8) else g.r.randint(1, 4)
        if g.p(0.03):
            ms = g.nmembers()
            for i, m in enumerate(ms):
                a += [str(i % 7).encode(), m]
        else:
            for _ in range(n):
                a += [zscore(g), g.member()]
        if g.p(0.03):
            a = a[:-1]
        return a, N(keys=[k])
    if c == 3:
        return ["ZADD", k] + sum([[b"0", m] for m in g.nmembers(2, 5)], []), N(keys=[k])
    if c == 4:
        return ["ZINCRBY", k, zscore(g), g.member()], N(keys=[k])
    if c == 5:
        return ["ZREM", k] + g.nmembers(), N(keys=[k])
    if c == 6:
        return ["ZSCORE", k, g.member()], N(keys=[k])
    if c == 7:
        return ["ZMSCORE", k] + g.nmembers(), N(keys=[k])
    if c == 8:
        return [g.ch(["ZRANK", "ZREVRANK"]), k, g.member()], N(keys=[k])
    if c == 9:
        return ["ZCARD", k], N(keys=[k])
    if c == 10:
        return ["ZCOUNT", k, zrange_bound(g, "score"), zrange_bound(g, "score")], N(keys=[k])
    if c == 11:
        return ["ZLEXCOUNT", k, zrange_bound(g, "lex"), zrange_bound(g, "lex")], N(keys=[k])
    if c in (12, 13, 14):
        mode = g.ch(["idx", "score", "lex"])
        a = ["ZRANGE", k, zrange_bound(g, mode), zrange_bound(g, mode)]
        opts = []
        if mode == "score":
            opts.append("BYSCORE")
        elif mode == "lex":
            opts.append("BYLEX")
        if g.p(0.3):
            opts.append("REV")
        if g.p(0.3):
            opts += ["LIMIT", g.ch([b"0", b"1", b"-1", b"2"]), g.ch([b"1", b"2", b"-1", b"0", b"10"])]
        if g.p(0.4):
            opts.append("WITHSCORES")
        if g.p(0.05):
            opts.append(g.ch(["BYSCORE", "BYLEX", "FOO"]))
        g.r.shuffle(opts)
        return a + opts, N(keys=[k])
    if c == 15:
        dst = g.key("zset")
        mode = g.ch(["idx", "score", "lex"])
        a = ["ZRANGESTORE", dst, k, zrange_bound(g, mode), zrange_bound(g, mode)]
        if mode == "score":
            a.append("BYSCORE")
        elif mode == "lex":
            a.append("BYLEX")
        if g.p(0.3):
            a.append("REV")
        if g.p(0.3):
            a += ["LIMIT", g.ch([b"0", b"1"]), g.ch([b"1", b"2", b"-1"])]
        if g.p(0.05):
            a.append("WITHSCORES")
        return a, N(keys=[dst, k])
    if c == 16:
        cmd = g.ch(["ZRANGEBYSCORE", "ZREVRANGEBYSCORE", "ZRANGEBYLEX", "ZREVRANGEBYLEX", "ZREVRANGE"])
        mode = "score" if "SCORE" in cmd else ("lex" if "LEX" in cmd else "idx")
        a = [cmd, k, zrange_bound(g, mode), zrange_bound(g, mode)]
        if mode != "lex" and g.p(0.4):
            a.append("WITHSCORES")
        if mode != "idx" and g.p(0.3):
            a += ["LIMIT", g.ch([b"0", b"1"]), g.ch([b"1", b"2", b"-1"])]
        return a, N(keys=[k])
    if c in (17, 18):
        op = g.ch(["ZINTER", "ZUNION", "ZDIFF", "ZINTERSTORE", "ZUNIONSTORE", "ZDIFFSTORE", "ZINTERCARD"])
        ks = [g.key("zset") for _ in range(g.r.randint(1, 3))]
        if g.p(0.15):
            ks[-1] = g.key("set")
        nk = str(len(ks)).encode() if g.p(0.92) else g.ch([b"0", b"-1", b"5", b"abc"])
        store = op.endswith("STORE")
        dst = g.key("zset")
        a = [op] + ([dst] if store else []) + [nk] + ks
        opts = []
        if op == "ZINTERCARD":
            if g.p(0.4):
                opts += ["LIMIT", g.ch([b"0", b"1", b"2", b"-1"])]
        else:
            if op != "ZDIFF" and op != "ZDIFFSTORE" and g.p(0.4):
                opts += ["WEIGHTS"] + [g.ch([b"1", b"2", b"0", b"-1", b"0.5", b"inf", b"-inf", b"abc"]) for _ in range(len(ks) if g.p(0.9) else len(ks) + 1)]
            if op != "ZDIFF" and op != "ZDIFFSTORE" and g.p(0.4):
                opts += ["AGGREGATE", g.ch(["SUM", "MIN", "MAX", "sum", "AVG"])]
            if not store and g.p(0.5):
                opts.append("WITHSCORES")
            if g.p(0.03):
                opts.append("FOO")
        return a + opts, N(keys=([dst] if store else []) + ks)
    if c == 19:
        ks = [g.key("zset") for _ in range(g.r.randint(1, 3))]
        nk = str(len(ks)).encode() if g.p(0.9) else g.ch([b"0", b"-1", b"5"])
        a = ["ZMPOP", nk] + ks + [g.ch(["MIN", "MAX", "min", "MID"])]
        if g.p(0.5):
            a += ["COUNT", g.ch([b"1", b"2", b"3", b"10", b"0", b"-1"])]
        return a, N(keys=ks)
    if c == 20:
        a = [g.ch(["ZPOPMIN", "ZPOPMAX"]), k]
        if g.p(0.5):
            a.append(g.ch([b"1", b"2", b"0", b"-1", b"10", b"abc"]))
        return a, N(keys=[k])
    if c in (21, 22):
        a = ["ZRANDMEMBER", k]
        if g.p(0.8):
            a.append(g.ch([b"1", b"2", b"3", b"5", b"20", b"0", b"-1", b"-3", b"-10", b"abc"]))
            if g.p(0.5):
                a.append("WITHSCORES")
        return a, N("random", keys=[k], rtype="zset")
    if c == 23:
        return ["ZREMRANGEBYSCORE", k, zrange_bound(g, "score"), zrange_bound(g, "score")], N(keys=[k])
    if c == 24:
        return ["ZREMRANGEBYLEX", k, zrange_bound(g, "lex"), zrange_bound(g, "lex")], N(keys=[k])
    if c == 25:
        return ["ZREMRANGEBYRANK", k, g.idx(), g.idx()], N(keys=[k])
    if c == 26:
        return ["ZSCAN", k, b"0"] + (["COUNT", b"100"] if g.p(0.5) else []), N("scan", keys=[k], enc_keys=[k])
    if c == 27:
        return ["ZRANGE", k, b"0", b"-1", "WITHSCORES"], N(keys=[k])
    if c == 28:
        return ["OBJECT", "ENCODING", k], N(keys=[k])
    if c == 29:
        return g.ch([["ZADD", k, b"1"], ["ZADD", k, "NX", "XX", b"1", b"a"], ["ZADD", k, "GT", "LT", b"1", b"a"],
                     ["ZADD", k, "NX", "GT", b"1", b"a"], ["ZADD", k, "INCR", b"1", b"a", b"2", b"b"],
                     ["ZRANGE", k, b"0"], ["ZINTER", b"1"], ["ZMSCORE", k], ["ZRANGE", k, b"0", b"1", "LIMIT", b"0", b"1"],
                     ["ZRANGE", k, b"0", b"1", "BYSCORE", "BYLEX"], ["ZADD", k, "INCR", "nan", b"a"]]), N(keys=[k])
    return ["ZADD", k, zscore(g), g.member(), zscore(g), g.member()], N(keys=[k])


def g_hll(g):
    k = g.key("hll")
    c = g.r.randint(0, 5)
    if c in (0, 1):
        if g.p(0.05):
            return ["PFADD", k] + [b"e%d" % i for i in range(g.ch([100, 500, 3000]))], N(keys=[k])
        return ["PFADD", k] + g.nmembers(0, 4), N(keys=[k])
    if c == 2:
        ks = [g.key("hll") for _ in range(g.r.randint(1, 3))]
        return ["PFCOUNT"] + ks, N(keys=ks)
    if c == 3:
        ks = [g.key("hll") for _ in range(g.r.randint(1, 3))]
        dst = g.key("hll")
        return ["PFMERGE", dst] + ks, N(keys=[dst] + ks)
    if c == 4:
        return ["GET", k], N(keys=[k])
    return ["STRLEN", k], N(keys=[k])


GEO_PTS = [(b"13.361389", b"38.115556", b"Palermo"), (b"15.087269", b"37.502669", b"Catania"),
           (b"12.758489", b"38.788135", b"edge1"), (b"17.241510", b"38.788135", b"edge2"),
           (b"13.5", b"38.0", b"a"), (b"-122.27652", b"37.805186", b"b"), (b"0", b"0", b"c"),
           (b"179.9", b"85.05", b"d"), (b"-180", b"-85.05112878", b"e"), (b"2.35", b"48.85", b"paris")]
BAD_PTS = [(b"181", b"0"), (b"0", b"86"), (b"abc", b"1"), (b"1", b"nan"), (b"inf", b"0")]
UNITS = ["m", "km", "mi", "ft", "M", "KM", "yd"]


def g_geo(g):
    k = g.key("geo")
    c = g.r.randint(0, 11)

    def member():
        return g.ch([p[2] for p in GEO_PTS] + [b"zz", b"a"])

    def center():
        if g.p(0.5):
            return ["FROMMEMBER", member()]
        if g.p(0.9):
            p = g.ch(GEO_PTS)
            return ["FROMLONLAT", p[0], p[1]]
        p = g.ch(BAD_PTS)
        return ["FROMLONLAT", p[0], p[1]]

    def shape():
        if g.p(0.5):
            return ["BYRADIUS", g.ch([b"0", b"10", b"100", b"200", b"500", b"5000", b"-1", b"abc"]), g.ch(UNITS)]
        return ["BYBOX", g.ch([b"100", b"400", b"1000", b"0", b"-1"]), g.ch([b"100", b"400", b"1000", b"50"]), g.ch(UNITS)]

    def with_opts(allow_store=False):
        o = []
        if g.p(0.4):
            o.append(g.ch(["ASC", "DESC"]))
        if g.p(0.4):
            o += ["COUNT", g.ch([b"1", b"2", b"3", b"0", b"-1"])]
            if g.p(0.3):
                o.append("ANY")
        if g.p(0.4):
            o.append("WITHCOORD")
        if g.p(0.4):
            o.append("WITHDIST")
        if g.p(0.3):
            o.append("WITHHASH")
        g.r.shuffle(o)
        return o

    if c in (0, 1):
        a = ["GEOADD", k]
        if g.p(0.3):
            a.append(g.ch(["NX", "XX"]))
        if g.p(0.3):
            a.append("CH")
        if g.p(0.05):
            a += ["NX", "XX"]
        for _ in range(g.r.randint(1, 3)):
            if g.p(0.9):
                p = g.ch(GEO_PTS)
                a += [p[0], p[1], p[2]]
            else:
                p = g.ch(BAD_PTS)
                a += [p[0], p[1], b"bad"]
        return a, N(keys=[k])
    if c == 2:
        a = ["GEODIST", k, member(), member()]
        if g.p(0.6):
            a.append(g.ch(UNITS))
        return a, N(keys=[k])
    if c == 3:
        return ["GEOPOS", k] + [member() for _ in range(g.r.randint(0, 3))], N(keys=[k])
    if c == 4:
        return ["GEOHASH", k] + [member() for _ in range(g.r.randint(0, 3))], N(keys=[k])
    if c in (5, 6):
        a = ["GEOSEARCH", k] + center() + shape() + with_opts()
        if g.p(0.1):
            g.r.shuffle(a[2:]) if g.p(0.3) else a.append(g.ch(["STOREDIST", "FOO"]))
        return a, N(keys=[k])
    if c == 7:
        dst = g.key("geo")
        a = ["GEOSEARCHSTORE", dst, k] + center() + shape()
        if g.p(0.4):
            a.append(g.ch(["ASC", "DESC"]))
        if g.p(0.3):
            a += ["COUNT", g.ch([b"1", b"2", b"3"])]
        if g.p(0.4):
            a.append("STOREDIST")
        if g.p(0.05):
            a.append("WITHDIST")
        return a, N(keys=[dst, k])
    if c in (8, 9):
        ro = g.p(0.3)
        if g.p(0.5):
            p = g.ch(GEO_PTS) if g.p(0.9) else g.ch(BAD_PTS)
            a = ["GEORADIUS_RO" if ro else "GEORADIUS", k, p[0], p[1]]
        else:
            a = ["GEORADIUSBYMEMBER_RO" if ro else "GEORADIUSBYMEMBER", k, member()]
        a += [g.ch([b"0", b"10", b"100", b"200", b"500", b"5000", b"-1"]), g.ch(UNITS)]
        a += with_opts()
        keys = [k]
        if g.p(0.2):
            dst = g.key("geo")
            keys.append(dst)
            a += [g.ch(["STORE", "STOREDIST"]), dst]
        return a, N(keys=keys)
    if c == 10:
        return ["ZRANGE", k, b"0", b"-1", "WITHSCORES"], N(keys=[k])
    return g.ch([["GEOADD", k, b"1", b"2"], ["GEODIST", k, b"a"], ["GEOSEARCH", k, "FROMMEMBER", b"a"],
                 ["GEOSEARCH", k, "BYRADIUS", b"10", b"km"], ["GEORADIUS", k, b"1", b"2", b"3"],
                 ["GEOSEARCH", k, "FROMMEMBER", b"a", "FROMLONLAT", b"1", b"2", "BYRADIUS", b"1", b"km"],
                 ["GEOSEARCH", k, "FROMMEMBER", b"Palermo", "BYRADIUS", b"1", b"km", "BYBOX", b"1", b"1", b"km"],
                 ["GEOSEARCH", k, "FROMLONLAT", b"15", b"37", "BYRADIUS", b"200", b"km", "ANY"],
                 ["GEOSEARCH", k, "FROMLONLAT", b"15", b"37", "BYRADIUS", b"200", b"km", "COUNT", b"1", "ANY", "ASC"]]), N(keys=[k])


GROUPS = [b"g1", b"g2"]
CONSUMERS = [b"c1", b"c2", b"c3"]


def g_stream(g):
    k = g.key("stream")
    c = g.r.randint(0, 27)

    if g.p(0.06):
        # scenario: populate, create group, deliver some entries
        seq = []
        for _ in range(g.r.randint(1, 5)):
            g.xid += 1
            seq.append((["XADD", k, b"%d-0" % g.xid, b"f", g.val()], N(keys=[k])))
        grp = g.ch(GROUPS)
        seq.append((["XGROUP", "CREATE", k, grp, g.ch([b"0", b"0", b"$", b"%d" % max(0, g.xid - 2)]), "MKSTREAM"], N(keys=[k])))
        for _ in range(g.r.randint(1, 3)):
            seq.append((["XREADGROUP", "GROUP", grp, g.ch(CONSUMERS), "COUNT", g.ch([b"1", b"2", b"3"]), "STREAMS", k, b">"], N(keys=[k])))
        return "SEQ", N(seq=seq)
    if c == 4 and g.p(0.5):
        c = 14

    def trim_opts():
        o = [g.ch(["MAXLEN", "MINID", "maxlen"])]
        if g.p(0.5):
            o.append(g.ch(["=", "~"]))
        if o[0].upper() == "MAXLEN":
            o.append(g.ch([b"0", b"1", b"2", b"3", b"5", b"-1", b"abc", b"100"]))
        else:
            o.append(g.sid_range())
        if g.p(0.2):
            o += ["LIMIT", g.ch([b"0", b"1", b"10", b"100", b"-1"])]
        return o

    if c in (0, 1, 2, 3):
        a = ["XADD", k]
        if g.p(0.1):
            a.append("NOMKSTREAM")
        if g.p(0.2):
            a += trim_opts()
        a.append(g.sid())
        nf = g.r.randint(1, 3)
        for _ in range(nf):
            a += [g.ch([b"f", b"g", b"h", b"name"]), g.val() if g.p(0.8) else g.ch([b"1", b"2"])]
        if g.p(0.03):
            a = a[:-1]
        if b"*" in a:
            return a, N("xadd_star", keys=[k])
        return a, N(keys=[k])
    if c == 4:
        if g.p(0.5):
            return ["XADD", k, b"*", b"f", b"v"], N("xadd_star", keys=[k])
        return ["XADD", k] + ([b"%d-*" % (g.xid + 1)] if g.p(0.5) else [b"%d" % (g.xid + 1)]) + [b"f", b"v"], N(keys=[k])
    if c in (5, 6):
        cmd = g.ch(["XRANGE", "XREVRANGE"])
        lo, hi = g.sid_range(True), g.sid_range(False)
        if cmd == "XREVRANGE":
            lo, hi = hi, lo
        a = [cmd, k, lo, hi]
        if g.p(0.4):
            a += ["COUNT", g.ch([b"0", b"1", b"2", b"5", b"-1", b"abc"])]
        return a, N(keys=[k])
    if c == 7:
        return ["XDEL", k] + [g.sid() if g.p(0.3) else b"%d-%d" % (g.r.randint(0, g.xid), g.r.randint(0, 3)) for _ in range(g.r.randint(1, 3))], N(keys=[k])
    if c == 8:
        return ["XTRIM", k] + trim_opts(), N(keys=[k])
    if c == 9:
        return ["XLEN", k], N(keys=[k])
    if c == 10:
        a = ["XGROUP", "CREATE", k, g.ch(GROUPS), g.ch([b"$", b"0", b"0-0", b"%d" % g.r.randint(0, g.xid), b"abc"])]
        if g.p(0.4):
            a.append("MKSTREAM")
        if g.p(0.2):
            a += ["ENTRIESREAD", g.ch([b"0", b"1", b"3", b"-1", b"-2", b"abc"])]
        return a, N(keys=[k])
    if c == 11:
        a = ["XGROUP", "SETID", k, g.ch(GROUPS), g.ch([b"$", b"0", b"%d-0" % g.r.randint(0, g.xid), b"abc"])]
        if g.p(0.3):
            a += ["ENTRIESREAD", g.ch([b"0", b"1", b"3", b"-1", b"-3"])]
        return a, N(keys=[k])
    if c == 12:
        return ["XGROUP", g.ch(["CREATECONSUMER", "DELCONSUMER"]), k, g.ch(GROUPS), g.ch(CONSUMERS)], N(keys=[k])
    if c == 13:
        return ["XGROUP", "DESTROY", k, g.ch(GROUPS)], N(keys=[k])
    if c in (14, 15, 16):
        a = ["XREADGROUP", "GROUP", g.ch(GROUPS), g.ch(CONSUMERS)]
        if g.p(0.5):
            a += ["COUNT", g.ch([b"1", b"2", b"3", b"0", b"-1"])]
        if g.p(0.2):
            a.append("NOACK")
        ks = [k] if g.p(0.8) else [k, g.key("stream")]
        a += ["STREAMS"] + ks + [g.ch([b">", b">", b"0", b"0-0", b"%d" % g.r.randint(0, g.xid), b"$"]) for _ in ks]
        return a, N(keys=ks)
    if c == 17:
        a = ["XREAD"]
        if g.p(0.5):
            a += ["COUNT", g.ch([b"1", b"2", b"0"])]
        a += ["STREAMS", k, g.ch([b"0", b"0-0", b"%d" % g.r.randint(0, g.xid), b"$", b"+"])]
        return a, N(keys=[k])
    if c == 18:
        return ["XACK", k, g.ch(GROUPS)] + [b"%d-%d" % (g.r.randint(0, g.xid), g.r.randint(0, 3)) for _ in range(g.r.randint(1, 3))], N(keys=[k])
    if c in (19, 20):
        a = ["XPENDING", k, g.ch(GROUPS)]
        if g.p(0.6):
            if g.p(0.2):
                a += ["IDLE", g.ch([b"0", b"100000000"])]
            a += [g.sid_range(True), g.sid_range(False), g.ch([b"1", b"5", b"10", b"0", b"-1"])]
            if g.p(0.4):
                a.append(g.ch(CONSUMERS))
        return a, N("xpending", keys=[k])
    if c == 21:
        a = ["XCLAIM", k, g.ch(GROUPS), g.ch(CONSUMERS), g.ch([b"0", b"0", b"100000000", b"-1"])]
        a += [b"%d-%d" % (g.r.randint(max(0, g.xid - 6), g.xid), 0 if g.p(0.7) else g.r.randint(0, 2)) for _ in range(g.r.randint(1, 3))]
        if g.p(0.2):
            a += ["RETRYCOUNT", g.ch([b"0", b"5"])]
        if g.p(0.2):
            a.append("FORCE")
        if g.p(0.4):
            a.append("JUSTID")
        if g.p(0.1):
            a += ["LASTID", g.sid_range()]
        if g.p(0.1):
            a += ["IDLE", b"1000"]
        return a, N("xclaim", keys=[k])
    if c == 22:
        a = ["XAUTOCLAIM", k, g.ch(GROUPS), g.ch(CONSUMERS), g.ch([b"0", b"0", b"100000000"]), g.ch([b"0", b"0-0", b"%d" % g.r.randint(0, g.xid), b"-", b"(0", b"abc"])]
        if g.p(0.4):
            a += ["COUNT", g.ch([b"1", b"2", b"10", b"0", b"-1"])]
        if g.p(0.3):
            a.append("JUSTID")
        return a, N(keys=[k])
    if c in (23, 24):
        x = g.r.randint(0, 2)
        if x == 0:
            a = ["XINFO", "STREAM", k]
            if g.p(0.4):
                a.append("FULL")
                if g.p(0.4):
                    a += ["COUNT", g.ch([b"0", b"1", b"2", b"-1", b"abc"])]
            elif g.p(0.1):
                a += g.ch([["NOPE"], ["FULL", "NOPE", b"1"], ["FULL", "COUNT"]])
        elif x == 1:
            a = ["XINFO", "GROUPS", k]
        else:
            a = ["XINFO", "CONSUMERS", k, g.ch(GROUPS)]
        return a, N("xinfo", keys=[k])
    if c == 25:
        a = ["XSETID", k, g.sid_range()]
        if g.p(0.3):
            a += ["ENTRIESADDED", g.ch([b"0", b"10", b"100"])]
        if g.p(0.3):
            a += ["MAXDELETEDID", g.sid_range()]
        return a, N(keys=[k])
    if c == 26:
        return ["OBJECT", "ENCODING", k], N(keys=[k])
    return g.ch([["XADD", k], ["XADD", k, b"1-1"], ["XADD", k, b"1-1", b"f"], ["XRANGE", k, b"-"], ["XGROUP", "CREATE", k],
                 ["XREADGROUP", "GROUP", b"g1", b"c1", "STREAMS", k], ["XPENDING", k], ["XACK", k, b"g1"],
                 ["XGROUP", "FOO"], ["XINFO", "FOO", k], ["XTRIM", k, "MAXLEN"], ["XADD", k, "NOMKSTREAM", b"1-0"]]), N(keys=[k])


def g_keyspace(g):
    k = g.key("keyspace")
    c = g.r.randint(0, 26)
    if c == 0:
        ks = [g.key("keyspace") for _ in range(g.r.randint(1, 3))]
        return [g.ch(["DEL", "UNLINK"])] + ks, N(keys=ks)
    if c == 1:
        ks = [g.key("keyspace") for _ in range(g.r.randint(1, 4))]
        return ["EXISTS"] + ks, N(keys=ks)
    if c == 2:
        return ["TYPE", k], N(keys=[k])
    if c == 3:
        k2 = g.key("keyspace")
        return [g.ch(["RENAME", "RENAMENX"]), k, k2], N(keys=[k, k2])
    if c == 4:
        k2 = g.key("keyspace")
        a = ["COPY", k, k2]
        if g.p(0.4):
            a.append("REPLACE")
        if g.p(0.1):
            a += ["DB", g.ch([b"0", b"1", b"abc", b"100"])]
        return a, N(keys=[k, k2])
    if c in (5, 6):
        cmd = g.ch(["EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"])
        now = int(time.time())
        if cmd == "EXPIRE":
            t = g.ch([b"100", b"1000", b"5000", b"0", b"-1", b"abc", b"9223372036854775807", b"200"])
        elif cmd == "PEXPIRE":
            t = g.ch([b"100000", b"2000000", b"0", b"-1", b"9223372036854775807"])
        elif cmd == "EXPIREAT":
            t = g.ch([str(now + 500).encode(), str(now + 3000).encode(), b"1", b"0", b"-5", b"9223372036854775807"])
        else:
            t = g.ch([str(now * 1000 + 800000).encode(), b"1", b"99999999999999"])
        a = [cmd, k, t]
        if g.p(0.5):
            a.append(g.ch(["NX", "XX", "GT", "LT", "nx", "FOO"]))
            if g.p(0.1):
                a.append(g.ch(["NX", "XX", "GT", "LT"]))
        return a, N(keys=[k])
    if c == 7:
        return ["PERSIST", k], N(keys=[k])
    if c == 8:
        return ["TTL", k], N("ttl", keys=[k])
    if c == 9:
        return ["PTTL", k], N("pttl", keys=[k])
    if c == 10:
        return [g.ch(["EXPIRETIME", "PEXPIRETIME"]), k], N("exptime", keys=[k])
    if c in (11, 12):
        return ["OBJECT", "ENCODING", k], N(keys=[k])
    if c == 13:
        return ["DUMPRT", k, g.key("keyspace")], N("dumprt", keys=[k])
    if c == 14:
        a = ["RESTORE", k, g.ch([b"0", b"0", b"100000", b"-1", b"abc"]), g.ch([b"garbage", b"\x00\x01a\x0a\x00\x00\x00\x00\x00\x00\x00\x00\x00", b""])]
        if g.p(0.3):
            a.append("REPLACE")
        return a, N(keys=[k])
    if c in (15, 16):
        a = [g.ch(["SORT", "SORT", "SORT_RO"]), k]
        if g.p(0.3):
            a += ["BY", g.ch([b"w_*", b"nosort", b"k*", b"w_*->f", b"k4->*"])]
        if g.p(0.3):
            a += ["LIMIT", g.ch([b"0", b"1", b"-1"]), g.ch([b"2", b"1", b"-1", b"10"])]
        for _ in range(g.r.randint(0, 2) if g.p(0.3) else 0):
            a += ["GET", g.ch([b"#", b"w_*", b"k*", b"w_*->f", b"k4->*"])]
        if g.p(0.3):
            a.append(g.ch(["ASC", "DESC"]))
        if g.p(0.4):
            a.append("ALPHA")
        if a[0] == "SORT" and g.p(0.2):
            a += ["STORE", g.key("keyspace")]
        return a, N("sort", keys=[k] + ([a[-1]] if "STORE" in a else []), enc_keys=[k])
    if c == 17:
        n = g.ch([b"w_a", b"w_b", b"w_c", b"w_1", b"w_2", b"w_3", b"w_foo", b"w_10"])
        if g.p(0.3):
            return ["HSET", n, b"f", g.ch([b"1", b"5", b"-2", b"abc", b"3.5"])], N(keys=[n])
        return ["SET", n, g.ch([b"1", b"5", b"-2", b"abc", b"3.5", b"2", b"10", b"0"])], N(keys=[n])
    if c == 18:
        return ["DBSIZE"], N(keys=[])
    if c == 19:
        return ["ECHO", g.val()], N(keys=[])
    if c == 20:
        return ["RANDOMKEY"], N("randomkey", keys=[])
    if c == 21:
        return ["KEYS", g.ch([b"*", b"k*", b"k[0-3]", b"w_*", b"?1", b"k\\1", b"[^k]*"])], N("keys", keys=[])
    if c == 22:
        a = ["SCAN", b"0", "COUNT", b"1000"]
        if g.p(0.4):
            a += ["MATCH", g.ch([b"k*", b"w*", b"*1"])]
        if g.p(0.4):
            a += ["TYPE", g.ch(["string", "list", "set", "zset", "hash", "stream", "foo"])]
        return a, N("keys", keys=[])
    if c == 23:
        return ["TOUCH"] + [g.key("keyspace") for _ in range(g.r.randint(1, 3))], N(keys=[])
    if c == 24:
        return g.ch([["ECHO"], ["DEL"], ["EXISTS"], ["RENAME", k], ["COPY", k], ["EXPIRE", k], ["TYPE"], ["OBJECT", "FOO", k],
                     ["OBJECT"], ["SORT"], ["SORT", k, "LIMIT", b"1"], ["SORT", k, "FOO"], ["NOSUCHCMD", b"a"], ["DBSIZE", b"x"],
                     ["RESTORE", k, b"0"], ["PERSIST"], ["TTL"], ["ECHO", b"a", b"b"]]), N(keys=[k])
    if c == 25:
        return ["OBJECT", g.ch(["REFCOUNT", "HELP"]) if g.p(0.1) else "ENCODING", k], N(keys=[k])
    return ["SET", k, g.val(), "EX", b"1000"], N(keys=[k])


def g_generic(g):
    c = g.r.randint(0, 3)
    if c == 0:
        return ["ECHO", g.val()], N(keys=[])
    if c == 1:
        return ["DBSIZE"], N(keys=[])
    if c == 2:
        ks = [g.ch(KEYS) for _ in range(g.r.randint(1, 6))]
        return ["EXISTS"] + ks, N(keys=ks)
    return ["PING"] + ([g.val()] if g.p(0.5) else []), N(keys=[])


# ---------------------------------------------------------------- scripting

LUA_D = (
    "local function D(v) local t = type(v) "
    "if t == 'table' then local ks = {} for k in pairs(v) do ks[#ks + 1] = k end "
    "local function K(x) return type(x) .. (type(x) == 'table' and D(x) or tostring(x)) end "
    "table.sort(ks, function(a, b) return K(a) < K(b) end) "
    "local o = {} for _, k in ipairs(ks) do o[#o + 1] = D(k) .. '=' .. D(v[k]) end "
    "return '{' .. table.concat(o, ',') .. '}' "
    "elseif t == 'number' then return 'n:' .. string.format('%.17g', v) "
    "elseif t == 'string' then return 's:' .. v elseif t == 'boolean' or t == 'nil' then return t .. ':' .. tostring(v) "
    "elseif t == 'userdata' and v == cjson.null then return 'null' else return t end end ")

WRAPS = [
    "return redis.call(unpack(ARGV))",
    "return redis.pcall(unpack(ARGV))",
    "redis.setresp(3) return redis.call(unpack(ARGV))",
    "redis.setresp(3) return redis.pcall(unpack(ARGV))",
    LUA_D + "return D(redis.pcall(unpack(ARGV)))",
    LUA_D + "redis.setresp(3) return D(redis.pcall(unpack(ARGV)))",
    LUA_D + "local ok, e = pcall(redis.call, unpack(ARGV)) return D({ok, e})",
    LUA_D + "redis.setresp(3) local ok, e = pcall(redis.call, unpack(ARGV)) return D({ok, e})",
]

JSONS = [b'{"a":1}', b'[1,2,3]', b'[1,null,3]', b'"x"', b'1e400', b'{"a":[1,{"b":null}]}', b'nul', b'[',
         b'{"a":1,"a":2}', b'"\\u00e9"', b'-0', b'1.5', b'123456789012345678', b'[[[[[[1]]]]]]', b'{}', b'[]',
         b'true', b'  false ', b'{"1":2}', b'"\\ud800"', b'[1,]', b'{"a":1}x', b'0.1', b'1e-7', b'"a\\/b"',
         b'[' * 1100 + b']' * 1100, b'{"a":{"b":{"c":[1,2,{"d":"e"}]}}}', b'9007199254740993', b'-1.5e300']

LUA_VALUES = ["1", "-1", "3.99", "-3.99", "1e20", "-1e20", "0/0", "1/0", "-1/0", "2^53", "2^63", "-2^63",
              "true", "false", "nil", "'x'", "''", "{}", "{1,2,3}", "{1,nil,3}", "{1,{2,{3}},'a',false,true,3.7}",
              "{a=1}", "{1,2,a=1}", "{'a','b',c='d'}", "{[1]=1,[3]=3}", "{[2]=2}", "0.5", "-0.5", "1e-300",
              "123456789012", "string.rep('x', 100)", "{err='bad'}", "{ok='fine'}", "{err=1}", "{ok=2}",
              "{{err='inner'}}", "{{ok='inner'}}", "{map={a=1}}", "{set={a=true}}", "{double=3.14}",
              "{double='x'}", "{big_number='123456789012345678901234567890'}", "{big_number=5}",
              "{verbatim_string={format='txt',string='hi'}}", "{map={a={1,2},b={map={c=1}}}}", "{set={}}",
              "{map={}}", "{map={[1]=true,[2]=false}}", "{double=0/0}", "{double=1/0}", "{double=-0.0}",
              "{ok='a',err='b'}", "{double=2.5,map={a=1}}", "{1,2,n=3}", "redis", "print", "ARGV", "KEYS"]

# error({}) is not asked: redis-server 7.0.15 crashes on it (and on error({err=nil})) (ferrodis replies with an empty
# error). getfenv, setfenv and newproxy are not asked about: Debian's redis-server build lacks them,
# where Redis's own build (and ferrodis) has them.
LUA_SNIPPETS = [
    # numbers and strings
    "return tonumber(ARGV[1])", "return tostring(tonumber(ARGV[1]))", "return {tonumber(ARGV[1])}",
    "return string.format('%d|%s|%5.2f|%x|%q', 42, ARGV[1], 3.14159, 255, ARGV[1])",
    "return string.format('%.17g', tonumber(ARGV[1]) or 0)", "return #ARGV[1]", "return string.upper(ARGV[1])",
    "return string.rep(ARGV[1], 3, ',')", "return {string.byte(ARGV[1], 1, -1)}", "return string.char(104, 105)",
    "return (string.gsub(ARGV[1], '%a', '.'))", "return string.find(ARGV[1], 'a', 1, true)",
    "return {string.match(ARGV[1], '(%d+)')}", "return string.sub(ARGV[1], 2, -2)", "return string.reverse(ARGV[1])",
    "return math.floor(tonumber(ARGV[1]) or 0)", "return string.rep('ab', 2.7)", "return string.sub('abcdef', 1.5, 3.5)",
    "return ('x'):rep(-1.5)", "return string.byte('abc', 2.9)", "return string.format('%d', 3.7)", "return ('abc'):sub(-1.5)", "return tostring(math.huge)", "return math.fmod(7, 3)",
    "return tostring(-0.0)", "return tostring(1e15)", "return tostring(1e16)", "return tostring(2^63)",
    "return tostring(0.1)", "return 7 % -3", "return tostring(7 // 2)", "return select('#', unpack(ARGV))",
    # JSON, msgpack, struct, bit, sha1
    "return cjson.encode(cjson.decode(ARGV[1]))", "local v = cjson.decode(ARGV[1]) return type(v)",
    "return cjson.encode({1,2,nil,4})", "return cjson.encode({[1]=1,[3]=3})", "return cjson.encode({a={}})",
    "return cjson.encode(0/0)", "return cjson.encode(1/0)", "return cjson.encode({1,2,a=3})",
    "return cjson.encode('\\1\\127/\"\\\\')", "return cjson.encode(ARGV[1])", "return cjson.encode(tonumber(ARGV[1]))",
    "return cjson.encode(cjson.null)", "return cjson.encode({cjson.null})", "return cjson.encode(function() end)",
    "return cjson.encode({[1.5]=1})", "return cjson.encode(3.14159265358979)", "return cjson.encode(1e300)",
    "return cjson.decode('[1,2]')[2]", "return cjson.encode_keep_buffer", "return type(cjson.decode_invalid_numbers)",
    "return cmsgpack.pack(ARGV[1])", "return cmsgpack.pack(tonumber(ARGV[1]) or 0)", "return cmsgpack.pack({1,2,3})",
    "return cmsgpack.pack({a=1})", "return cmsgpack.pack(1.5, true, false, nil)", "return {cmsgpack.unpack(ARGV[1])}",
    "return cmsgpack.unpack(cmsgpack.pack({1,{2,'x'},3.5}))", "return cmsgpack.pack(2^40, -2^40, -1, -33, 200, 70000)",
    "return cmsgpack.pack(string.rep('x', 40), string.rep('y', 300))", "return {cmsgpack.unpack_one(ARGV[1])}",
    "return {cmsgpack.unpack_limit(cmsgpack.pack(1,2,3), 2)}",
    "return struct.pack('>I2', 258)", "return struct.pack('<i4d', -2, 1.5)", "return {struct.unpack('<i4', ARGV[1])}",
    "return struct.pack('bBhHlL', 1, 2, 3, 4, 5, 6)", "return {struct.unpack('>I2I2', 'abcd')}",
    "return struct.pack('s', ARGV[1])", "return struct.size('<i4d')", "return struct.pack('q', 1)",
    "return struct.pack('i17', 1)", "return {struct.unpack('c0', 'abc')}", "return struct.pack('xXi', 1)",
    "return bit.band(0xff, tonumber(ARGV[1]) or 3)", "return bit.tohex(65535)", "return bit.tohex(-1, -4)",
    "return bit.bnot(0)", "return bit.lshift(1, 40)", "return bit.arshift(-256, 4)", "return bit.bxor(5, 3, 1)",
    "return bit.tobit(2^32 + 5)", "return bit.rol(1, 33)", "return bit.bswap(0x12345678)",
    "return redis.sha1hex(ARGV[1])", "return redis.sha1hex('')", "return redis.sha1hex()", "return redis.sha1hex(1)",
    # replies
    "return redis.error_reply(ARGV[1])", "return redis.status_reply(ARGV[1])", "return {err=ARGV[1]}",
    "return {ok=ARGV[1]}", "return redis.error_reply('-ERR x')", "return redis.error_reply('')",
    "return redis.error_reply('my error')", "return redis.error_reply('WRONGTYPE x')", "return redis.error_reply()",
    "return redis.status_reply()", "return redis.status_reply(1)", "return {err='-x y'}", "return {err=''}",
    "error(ARGV[1])", "error({err=ARGV[1] or 'none'})", "error()", "error(nil)", "error(123)",
    "error('x', 0)", "error({err='LOADING no'})", "error(redis.error_reply('E2 two'))", "error(true)",
    "local t = redis.error_reply('x') return t.err", "return redis.pcall('nosuch').err",
    "return redis.pcall('incr', 'nokey', 'x')", "return redis.pcall('set', 'k0', 'a', 'foo')",
    # redis API edges
    "return redis.call()", "return redis.call('')", "return redis.call(1)", "return redis.call('GET', {})",
    "return redis.call('GET', true)", "return redis.call('GET', nil)", "return redis.call('ECHO', 1.5)",
    "return redis.call('ECHO', 1e20)", "return redis.call('ECHO', 3)", "return redis.call('ECHO', -0.0)",
    "return redis.call('ECHO', 2^63)", "return redis.call('ECHO', 0.1)", "return redis.call('ECHO', 1/0)",
    "return redis.call('ping')", "return redis.call('PING', 'x')", "return redis.call('nosuch')",
    "return redis.call('EVAL', 'return 1', '0')", "return redis.call('multi')", "return redis.call('exec')",
    "return redis.call('subscribe', 'x')", "return redis.call('blpop', 'nokey', '0')", "return redis.call('client', 'id') > 0",
    "return redis.call('select', '1')", "return redis.call('select', '100')", "return redis.call('get')",
    "return redis.call('set', 'k0')", "return redis.call('wait', '0', '0')", "return redis.call('script', 'flush')",
    "return redis.call('function', 'list')", "return redis.call('fcall', 'nosuch', '0')",
    "return redis.call('object', 'encoding', 'nokey')", "return redis.call('config', 'get', 'maxmemory')",
    "return redis.call('debug', 'sleep', '0')", "return redis.call('info', 'nosuch')",
    "return redis.call('hello', '3')", "return redis.call('auth', 'x')", "return redis.call('watch', 'k0')",
    "return redis.call('monitor')", "return redis.call('save')", "return redis.call('xread', 'block', '0', 'streams', 'k3', '$')",
    "return redis.setresp(2)", "return redis.setresp(4)", "return redis.setresp()", "return redis.setresp('3')",
    "return redis.set_repl(redis.REPL_ALL)", "return redis.set_repl(99)", "return redis.set_repl()",
    "return redis.replicate_commands()", "return redis.breakpoint()", "return redis.debug('x')",
    "return redis.log(redis.LOG_WARNING, 'x')", "return redis.log(99, 'x')", "return redis.log()",
    "return redis.log(redis.LOG_DEBUG)", "return redis.REDIS_VERSION", "return redis.REDIS_VERSION_NUM",
    "return {redis.REPL_ALL, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_NONE}",
    "return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING}",
    "return redis.acl_check_cmd('get', 'x')", "return redis.acl_check_cmd('nosuch')", "return redis.acl_check_cmd()",
    "return redis.acl_check_cmd('set')", "return redis.setresp", "return type(redis.call)",
    "return redis.call('set', 'k0', 'x')", "return redis.call('incr', 'k0')", "return redis.call('get', 'k0')",
    # environment
    "x = 1", "return x", "return _G.x", "rawset(_G, 'x', 1) return 1", "setmetatable(_G, nil) return 1",
    "return loadstring('return 1')()", "return type(print)", "return type(dofile)", "return type(os)",
    "return type(io)", "return type(os.clock())", "return os.time", "return type(require)", "return type(module)",
    "return type(collectgarbage)",
    "return type(gcinfo)", "return type(debug)", "return type(coroutine)", "return type(string.dump)",
    "return type(table.getn)", "return type(math.mod)", "return type(string.gfind)", "return type(unpack)",
    "return _VERSION", "local t = {} t[1] = 1 return #t", "redis = nil return 1", "redis.call = nil return 1",
    "cjson.encode = nil return 1", "string.len = nil return 1", "KEYS[1] = 'x' return KEYS[1]",
    "table.insert(ARGV, 'z') return ARGV", "return math.random()", "math.randomseed(1) return math.random(100)",
    "return math.random(1, 10) <= 10", "return math.random(0)", "return {pcall(error, 'e')}",
    "return {pcall(redis.call, 'nosuch')}", "return (pcall(redis.call, 'nosuch'))", "local function f() return 1 + f() end return f()",
    "local s = '' for i = 1, 100 do s = s .. i end return s", "return nil", "return", "return 1, 2",
    "return ARGV", "return KEYS", "return {KEYS[1], ARGV[1]}", "return #KEYS", "return ...",
    "return table.concat({1, 2, 'x'}, '-')", "return {table.sort({3, 1, 2})}",
    "local t = {3, 1, 2} table.sort(t) return t", "return next({})", "return select(2, 'a', 'b', 'c')",
    "return string.format('%s', {})", "return tostring(nil) .. tostring(true)",
    "return 1 +", "return 'unterminated", "retur 1", "end", "local x = {} + 1", "return #nil",
    "return nil .. 'x'", "return ('x'):rep(2)", "return redis.call", "return _G",
]

SHEBANGS = [b"#!lua\n", b"#!lua flags=no-writes\n", b"#!lua flags=allow-oom\n", b"#!lua name=x\n", b"#!lua flags=bad\n",
            b"#!notlua\n", b"#!lua flags=no-writes,allow-stale\n", b"#!lua flags=no-cluster\n", b"#!lua  flags=\n",
            b"#!lua flags=allow-cross-slot-keys\n", b"#!\n", b"#!lua flags=no-writes flags=allow-oom\n"]

LIB_BODIES = [
    "redis.register_function('f1', function(keys, args) return args[1] end)",
    "redis.register_function('f1', function(keys, args) return redis.call('set', keys[1], args[1] or 'v') end)",
    "redis.register_function{function_name='f2', callback=function(keys, args) return #keys end, flags={'no-writes'}}",
    "redis.register_function{function_name='f2', callback=function(keys, args) return redis.call('set', 'k0', 'x') end, flags={'no-writes'}}",
    "redis.register_function{function_name='f3', callback=function() return 1 end, flags={'bad-flag'}}",
    "redis.register_function{function_name='f3', callback=function() return 1 end, description='d', flags={'allow-oom', 'no-cluster'}}",
    "redis.register_function{function_name='f3', callback=function() return 1 end, other=1}",
    "redis.register_function('f1', function() return 1 end) redis.register_function('f1', function() return 2 end)",
    "redis.register_function('bad name', function() return 1 end)", "redis.register_function('f4')",
    "redis.register_function('f4', 'notfunc')", "redis.register_function()", "return 1",
    "redis.call('ping')", "local x = redis.setresp", "redis.log(redis.LOG_WARNING, 'loading')",
    "redis.register_function('f5', function(keys, args) redis.setresp(3) return redis.call('hgetall', 'k4') end)",
    "redis.register_function('f6', function(keys, args) return {keys, args} end)",
    "error('boom')", "x = 1", "redis.register_function('f7', function() return redis.REDIS_VERSION end)",
    "redis.register_function('f8', function(k, a) return redis.pcall(unpack(a)) end)",
    "redis.register_function('', function() return 1 end)",
    "redis.register_function('f9', function() return math.random(10) end) redis.register_function('f10', function() return 10 end)",
]


def lua_arg(g):
    x = g.r.random()
    if x < 0.3:
        return g.ch(JSONS)
    return g.val()


def wrappable(g):
    for _ in range(20):
        fam = g.ch([f for f in FAMILIES if f not in ("script", "function")])
        args, norm = FAMILIES[fam][0](g)
        if args == "SEQ" or args[0] in ("DUMPRT",):
            continue
        if norm["kind"] in ("exact", "unordered", "pairs_unordered", "ttl", "pttl", "exptime"):
            return args, norm
    return ["PING"], N(keys=[])


def g_script(g):
    c = g.r.randint(0, 19)
    if c < 7:
        args, norm = wrappable(g)
        w = g.r.randrange(len(WRAPS))
        if w >= 4 and norm["kind"] != "exact":
            w = g.r.randrange(4)
        cmd = "EVAL_RO" if g.p(0.1) else "EVAL"
        keys = norm.get("keys", [])
        return [cmd, WRAPS[w], b"0"] + list(args), N(norm["kind"], keys=keys, enc_keys=norm.get("enc_keys", keys))
    if c < 14:
        body = g.ch(LUA_SNIPPETS)
        if g.p(0.15):
            body = g.ch(SHEBANGS).decode() + body
        nk = g.ch([b"0", b"0", b"1", b"2"])
        a = [g.ch(["EVAL"] * 5 + ["EVAL_RO"]), body, nk]
        a += [g.ch(KEYS) for _ in range(int(nk))]
        a += [lua_arg(g) for _ in range(g.r.randint(0, 3))]
        return a, N(keys=a[3:3 + int(nk)] + ["k0"])
    if c == 14:
        v = g.ch(LUA_VALUES)
        pre = "redis.setresp(3) " if g.p(0.5) else ""
        if g.p(0.3):
            return ["EVAL", LUA_D + pre + "return D(" + v + ")", b"0"], N(keys=[])
        return ["EVAL", pre + "return " + v, b"0"], N(keys=[])
    if c == 15:
        return g.ch([["EVAL"], ["EVAL", "return 1"], ["EVAL", "return 1", b"-1"], ["EVAL", "return 1", b"abc"],
                     ["EVAL", "return 1", b"2", b"a"], ["EVAL", "return KEYS[1]", b"1"], ["EVALSHA", b"abc", b"0"],
                     ["EVALSHA", b"e0e1f9fabfc9d4800c877a703b823ac0578ff8db", b"0"],
                     ["EVALSHA", b"E0E1F9FABFC9D4800C877A703B823AC0578FF8DB", b"0"], ["EVALSHA_RO", b"x" * 40, b"0"],
                     ["SCRIPT", "EXISTS", b"e0e1f9fabfc9d4800c877a703b823ac0578ff8db", b"x"], ["SCRIPT", "EXISTS"],
                     ["SCRIPT", "LOAD", "return 1"], ["SCRIPT", "LOAD", "return +"], ["SCRIPT", "LOAD"],
                     ["SCRIPT", "KILL"], ["SCRIPT", "FLUSH", "ASYNC"], ["SCRIPT", "FLUSH", "SYNC"], ["SCRIPT", "FLUSH", "x"],
                     ["SCRIPT", "FOO"], ["SCRIPT"], ["EVAL", "return 1", b"9223372036854775807"],
                     ["EVAL", "return 1", b"1"], ["EVAL", "", b"0"], ["EVAL", "#!lua", b"0"],
                     ["EVAL", "return redis.call('get', KEYS[1])", b"1", b"k0"]]), N(keys=["k0"])
    if c == 16:
        sha = None
        body = g.ch(LUA_SNIPPETS[:40])
        return "SEQ", N(seq=[(["SCRIPT", "LOAD", body], N(keys=[])),
                             (["EVALSHA", __import__("hashlib").sha1(body.encode()).hexdigest(), b"0", g.val()], N(keys=["k0"])),
                             (["SCRIPT", "EXISTS", __import__("hashlib").sha1(body.encode()).hexdigest(), b"00"], N(keys=[]))])
    # the same command in RESP3 conversions, many types at once
    v = g.ch(["hgetall", "smembers", "zrange", "zscore", "get", "lrange", "xrange", "type", "hrandfield", "exists", "ttl"])
    key = g.ch(KEYS)
    extra = {"zrange": [b"0", b"-1", b"WITHSCORES"], "zscore": [b"a"], "lrange": [b"0", b"-1"],
             "xrange": [b"-", b"+"], "hrandfield": [b"-2", b"WITHVALUES"] if False else [b"0"]}.get(v, [])
    # Hash-table encoded sets and hashes come in an order of their own: no D() for them.
    kind = {"smembers": "unordered", "hgetall": "pairs_unordered"}.get(v, "exact")
    call = "D(redis.pcall(unpack(ARGV)))" if kind == "exact" and g.p(0.5) else "redis.pcall(unpack(ARGV))"
    body = LUA_D + ("redis.setresp(3) " if g.p(0.6) else "") + "return " + call
    return ["EVAL", body, b"0", v, key] + extra, N(kind, keys=[key], enc_keys=[key])


def g_function(g):
    c = g.r.randint(0, 12)
    name = g.ch([b"lib", b"lib", b"lib2", b"lib-x", b"l*b", b""])
    if c <= 3:
        bodies = " ".join(g.ch(LIB_BODIES) for _ in range(g.r.randint(1, 2)))
        head = g.ch([b"#!lua name=" + name, b"#!lua name=" + name, b"#!lua", b"#!lua name=" + name + b" foo=bar", b"#!js name=x", b""])
        a = ["FUNCTION", "LOAD"] + (["REPLACE"] if g.p(0.5) else []) + [head + b"\n" + bodies.encode()]
        return a, N(keys=[])
    if c <= 6:
        f = g.ch([b"f1", b"f2", b"f3", b"f5", b"f6", b"f7", b"f8", b"f9", b"f10", b"nosuch"])
        nk = g.ch([b"0", b"1", b"2", b"-1", b"x"])
        a = [g.ch(["FCALL", "FCALL", "FCALL_RO"]), f, nk] + [g.ch(KEYS) for _ in range(max(0, int(nk) if nk.lstrip(b"-").isdigit() else 0))]
        a += [g.val() for _ in range(g.r.randint(0, 2))]
        if f == b"f8":
            a = [a[0], f, b"0", g.ch([b"get", b"hgetall", b"incr", b"set", b"nosuch"]), g.ch(KEYS)]
        return a, N(keys=["k0"] + [x for x in a if x in KEYS])
    if c == 7:
        return ["FUNCTION", "LIST"] + g.ch([[], ["WITHCODE"], ["LIBRARYNAME", g.ch([b"lib*", b"*", b"x"])], ["LIBRARYNAME"], ["FOO"], ["WITHCODE", "WITHCODE"]]), N("deep_unordered", keys=[])
    if c == 8:
        return ["FUNCTION", "DELETE", name], N(keys=[])
    if c == 9:
        return g.ch([["FUNCTION", "FLUSH"], ["FUNCTION", "FLUSH", "ASYNC"], ["FUNCTION", "FLUSH", "x"], ["FUNCTION", "STATS"],
                     ["FUNCTION", "KILL"], ["FUNCTION"], ["FUNCTION", "FOO"], ["FUNCTION", "RESTORE", b"garbage"],
                     ["FUNCTION", "RESTORE"], ["FUNCTION", "DELETE"]]), N(keys=[])
    if c == 10:
        return ["FUNCTION", "DUMP"], N("fdump", keys=[])
    if c == 11:
        return ["FUNCTION", "RESTORE", b"\xf5\xc3@X@]\x1f#!lua name=mylib\n\x10redis.register\x0e_function('foo',\x03() return 1 end)\n\x00\n\x00\xab\x12\x04\xb7\x7fvK\xc3", g.ch(["APPEND", "REPLACE", "FLUSH", "BAD"])], N(keys=[])
    return ["FUNCTION", "LIST", "WITHCODE"], N("deep_unordered", keys=[])


# ---------------------------------------------------------------- administration

ACL_RULES = [b"on", b"off", b">pass1", b">pass2", b"<pass1", b"#" + b"a" * 64,
             b"#5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8", b"nopass", b"resetpass",
             b"~key*", b"~*", b"%R~r*", b"%W~w*", b"%RW~x*", b"%X~bad", b"allkeys", b"resetkeys", b"&chan*", b"allchannels",
             b"resetchannels", b"+@read", b"-@write", b"+@all", b"-@dangerous", b"+@nosuchcat", b"+get", b"-set", b"+config|get",
             b"-config|set", b"+nosuchcmd", b"+select|0", b"allcommands", b"nocommands", b"reset", b"(~sel* +get)",
             b"(+set ~w*)", b"(bad", b"clearselectors", b"+@hash", b"-@all", b"+client|id", b"+client|nosuch",
             b"~", b"&", b"+", b"-", b"badrule", b"ON", b">", b"#xyz", b"-@keyspace +del"]
ACL_USERS = [b"default", b"alice", b"bob", b"nosuchuser", b"bad user", b""]
ACL_CATS = [b"keyspace", b"read", b"write", b"set", b"sortedset", b"list", b"hash", b"string", b"bitmap",
            b"hyperloglog", b"geo", b"stream", b"pubsub", b"admin", b"fast", b"slow", b"blocking", b"dangerous",
            b"connection", b"transaction", b"scripting", b"nosuch"]

CONFIG_SETS = {
    # No LFU policy: OBJECT FREQ's counters grow by chance.
    b"maxmemory-policy": [b"noeviction", b"allkeys-lru", b"volatile-lru", b"allkeys-random", b"bad", b"ALLKEYS-LRU"],
    b"hash-max-listpack-entries": [b"0", b"1", b"128", b"-1", b"abc", b"1k"],
    b"hash-max-ziplist-entries": [b"64", b"128"],
    b"list-max-listpack-size": [b"-2", b"-5", b"-6", b"0", b"4", b"128", b"2", b"3"],
    b"list-compress-depth": [b"0", b"1", b"2", b"-1", b"65536"],
    b"zset-max-listpack-value": [b"64", b"1", b"0"],
    b"set-max-intset-entries": [b"512", b"2", b"0"],
    b"notify-keyspace-events": [b"", b"KEA", b"Ex", b"AKE", b"gxK", b"z", b"Q", b"Kd", b"Em", b"KEAmn", b"tKE", b"nd"],
    b"slowlog-log-slower-than": [b"10000", b"-1", b"0", b"abc"],
    b"latency-tracking-info-percentiles": [b"50 99 99.9", b"", b"101", b"abc", b"0 100", b"50.5"],
    b"client-output-buffer-limit": [b"normal 0 0 0", b"pubsub 32mb 8mb 60", b"replica 256mb 64mb 60",
                                    b"normal 1 2", b"bad 0 0 0", b"normal 1gb 2gb 3 pubsub 1 1 1", b"slave 1kb 1kb 1"],
    b"maxmemory-clients": [b"0", b"10%", b"1gb", b"200%", b"-1", b"abc%"],
    b"oom-score-adj-values": [b"0 200 800", b"0 2000 800", b"1 2", b"-2000 0 2000"],
    b"proto-max-bulk-len": [b"512mb", b"1gb", b"abc", b"4294967296", b"1k"],
    b"hz": [b"10", b"0", b"501", b"100", b"-5"],
    b"timeout": [b"0", b"100", b"-1"],
    b"active-defrag-threshold-lower": [b"10", b"1000", b"-1"],
    b"stream-node-max-bytes": [b"4kb", b"4096", b"0"],
    b"busy-reply-threshold": [b"5000", b"0"],
    b"lua-time-limit": [b"5000"],
    b"activerehashing": [b"yes", b"no", b"maybe", b"YES"],
    b"appendfsync": [b"everysec", b"always", b"sometimes"],
    b"maxclients": [b"10000", b"0"],
    b"lfu-log-factor": [b"10", b"-1"],
    b"save": [b"", b"100 10", b"100", b"abc 1"],
    b"nosuch-param": [b"1"],
    b"port": [b"abc"],
    b"daemonize": [b"yes"],
    b"enable-debug-command": [b"no"],
    b"dir": [b"/nonexistent/dir"],
    b"replica-priority": [b"100", b"abc"],
    b"min-replicas-to-write": [b"0"],
    b"repl-backlog-size": [b"1mb", b"0"],
    b"zset-max-ziplist-value": [b"64"],
    b"io-threads": [b"4"],
    b"tracking-table-max-keys": [b"1000000", b"0"],
    b"lazyfree-lazy-user-del": [b"yes", b"no"],
    b"sanitize-dump-payload": [b"no", b"yes", b"clients", b"bad"],
    b"shutdown-on-sigterm": [b"default", b"save", b"nosave now", b"force", b"bad"],
}
CONFIG_GETS = [b"*max-*-entries*", b"maxmemory*", b"hz", b"save", b"notify-keyspace-events", b"client-output-buffer-limit",
               b"nosuch", b"*", b"hash-max-ziplist-*", b"oom-score-adj-values", b"latency-tracking-info-percentiles",
               b"maxmemory-clients", b"appendfsync", b"sanitize-dump-payload", b"shutdown-on-sigterm", b"slave*"]


def g_admin(g):
    c = g.r.randint(0, 24)
    if c <= 2:
        others = [f for f in FAMILIES if f not in ("admin", "script", "function")]
        args, _ = FAMILIES[g.ch(others)][0](g)
        if args == "SEQ":
            args = ["SET", "k0", "v"]
        return ["COMMAND", g.ch(["GETKEYS", "GETKEYS", "GETKEYSANDFLAGS"])] + list(args), N(keys=[])
    if c == 3:
        return ["COMMAND", "GETKEYS"] + g.ch([["EVAL", "x", "2", "a", "b", "c"], ["EVAL", "x", "5", "a"], ["SORT", "k", "STORE", "d"],
                                              ["ZUNIONSTORE", "d", "2", "a", "b"], ["ZUNIONSTORE", "d", "5", "a"], ["XREAD", "STREAMS", "a"],
                                              ["MIGRATE", "h", "1", "", "0", "0", "KEYS", "a", "b"], ["GET"], ["NOSUCH", "a"],
                                              ["PING"], ["LCS", "a", "b"], ["GEORADIUS", "k", "0", "0", "1", "m", "STORE", "x"],
                                              ["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s1", "s2", ">", ">"], ["BLMPOP", "0", "2", "a", "b", "LEFT"],
                                              ["FCALL", "f", "1", "a"], ["OBJECT", "ENCODING", "a"], ["MEMORY", "USAGE", "a"], ["SET"]]), N(keys=[])
    if c == 4:
        return ["COMMAND", "INFO"] + [g.ch([b"get", b"GET", b"config|get", b"config", b"nosuch", b"object|encoding", b"eval", b"xreadgroup", b"set"]) for _ in range(g.r.randint(0, 3))], N("cmdtexts", keys=[])
    if c == 5:
        return ["COMMAND", "DOCS"] + [g.ch([b"get", b"set", b"config|get", b"nosuch", b"zadd", b"xadd", b"client", b"georadius"]) for _ in range(g.r.randint(1, 2))], N("cmdtexts", keys=[])
    if c == 6:
        return g.ch([["COMMAND", "COUNT"], ["COMMAND", "LIST", "FILTERBY", "ACLCAT", g.ch(ACL_CATS)],
                     ["COMMAND", "LIST", "FILTERBY", "PATTERN", g.ch([b"x*", b"*get*", b"config*", b"client|*"])],
                     ["COMMAND", "LIST", "FILTERBY", "MODULE", b"x"], ["COMMAND", "LIST", "FILTERBY", "BAD", b"x"],
                     ["COMMAND", "FOO"], ["COMMAND", "GETKEYS"], ["COMMAND", "COUNT", b"x"]]), N("unordered_always", keys=[])
    if c <= 9:
        u = g.ch(ACL_USERS[1:4])
        return ["ACL", "SETUSER", u] + [g.ch(ACL_RULES) for _ in range(g.r.randint(0, 4))], N(keys=[])
    if c == 10:
        return ["ACL", "GETUSER", g.ch(ACL_USERS)], N("acl", keys=[])
    if c == 11:
        a = g.ch([["ACL", "LIST"], ["ACL", "USERS"], ["ACL", "WHOAMI"], ["ACL", "DELUSER", g.ch(ACL_USERS)],
                  ["ACL", "CAT"], ["ACL", "CAT", g.ch(ACL_CATS)], ["ACL", "FOO"], ["ACL", "LOG", b"abc"], ["ACL", "LOG", b"RESET"],
                  ["ACL", "GENPASS", b"0"], ["ACL", "GENPASS", b"5000"], ["ACL", "GENPASS", b"abc"]])
        # A category's commands come in the command table's hash order.
        return a, N("unordered_always" if a[1] == "CAT" and len(a) == 3 else "acl", keys=[])
    if c == 12:
        others = [f for f in FAMILIES if f not in ("admin", "script", "function")]
        args, _ = FAMILIES[g.ch(others)][0](g)
        if args == "SEQ":
            args = ["GET", "k0"]
        return ["ACL", "DRYRUN", g.ch(ACL_USERS[:4])] + list(args), N(keys=[])
    if c <= 15:
        p = g.ch(list(CONFIG_SETS))
        a = ["CONFIG", "SET", p, g.ch(CONFIG_SETS[p])]
        if g.p(0.2):
            p2 = g.ch(list(CONFIG_SETS))
            a += [p2, g.ch(CONFIG_SETS[p2])]
        if g.p(0.05):
            a = a[:3]
        return "SEQ", N(seq=[(a, N(keys=[])), (["CONFIG", "GET", p], N("config", keys=[]))])
    if c == 16:
        return ["CONFIG", "GET"] + [g.ch(CONFIG_GETS) for _ in range(g.r.randint(1, 2))], N("config", keys=[])
    if c == 17:
        return g.ch([["CLIENT", "SETNAME", g.ch([b"name", b"bad name", b"", b"x\ny", b"\xff"])], ["CLIENT", "GETNAME"],
                     ["CLIENT", "NO-EVICT", g.ch([b"on", b"off", b"bad"])], ["CLIENT", "GETREDIR"], ["CLIENT", "TRACKINGINFO"],
                     ["CLIENT", "CACHING", b"yes"], ["CLIENT", "CACHING", b"no"], ["CLIENT", "TRACKING", b"off"],
                     ["CLIENT", "TRACKING", b"on", b"BCAST", b"PREFIX", b"a", b"PREFIX", b"ab"], ["CLIENT", "TRACKING", b"on", b"OPTIN", b"OPTOUT"],
                     ["CLIENT", "TRACKING", b"on", b"REDIRECT", b"999999"], ["CLIENT", "TRACKING", b"bad"],
                     ["CLIENT", "KILL", b"ID", b"999999"], ["CLIENT", "KILL", b"1.2.3.4:5"], ["CLIENT", "KILL", b"TYPE", b"bad"],
                     ["CLIENT", "KILL", b"ADDR"], ["CLIENT", "UNPAUSE"], ["CLIENT", "FOO"], ["CLIENT"], ["CLIENT", "REPLY", b"bad"],
                     ["CLIENT", "UNBLOCK", b"999999"], ["CLIENT", "UNBLOCK", b"abc"], ["CLIENT", "UNBLOCK", b"1", b"bad"],
                     ["CLIENT", "PAUSE", b"abc"], ["CLIENT", "PAUSE", b"0", b"bad"], ["CLIENT", "LIST", b"TYPE", b"bad"],
                     ["CLIENT", "LIST", b"ID", b"abc"], ["CLIENT", "LIST", b"ID", b"999999"], ["CLIENT", "NO-TOUCH", b"on"]]), N(keys=[])
    if c == 18:
        k = g.ch(KEYS)
        a = g.ch([["OBJECT", "FREQ", k], ["OBJECT", "IDLETIME", "nokey"], ["OBJECT", "REFCOUNT", "nokey"], ["OBJECT", "FOO", k],
                     ["MEMORY", "USAGE", "nokey"], ["MEMORY", "USAGE", k, "SAMPLES", b"abc"], ["MEMORY", "FOO"], ["MEMORY", "DOCTOR", b"x"],
                     ["LATENCY", "LATEST"], ["LATENCY", "HISTORY", b"command"], ["LATENCY", "RESET", b"nosuch"], ["LATENCY", "FOO"],
                     ["LATENCY", "HISTOGRAM", b"nosuch"], ["SLOWLOG", "LEN", b"x"], ["SLOWLOG", "GET", b"abc"], ["SLOWLOG", "GET", b"-2"],
                     ["SLOWLOG", "FOO"], ["WAIT", b"0", b"0"], ["WAIT", b"abc", b"0"], ["WAIT", b"0", b"-1"],
                     ["SWAPDB", b"0", b"20"], ["SWAPDB", b"a", b"1"], ["MOVE", k, b"0"], ["MOVE", k, b"20"], ["MOVE", k, b"abc"],
                     ["SELECT", b"20"], ["SELECT", b"-1"], ["DBSIZE"], ["ECHO"], ["PING", b"a", b"b"],
                     ["HELLO", b"4"], ["HELLO", b"abc"], ["HELLO", b"2", b"AUTH", b"default"], ["HELLO", b"2", b"FOO"],
                     ["AUTH", b"x"], ["AUTH", b"a", b"b", b"c"], ["AUTH", b"nosuch", b"pw"], ["RESET", b"x"],
                     ["INFO", b"a", b"b", b"c", b"d"], ["LOLWUT", b"VERSION", b"abc"], ["TIME", b"x"], ["LASTSAVE", b"x"],
                     ["SAVE", b"x"], ["BGSAVE", b"FOO"], ["BGREWRITEAOF", b"x"], ["SHUTDOWN", b"BAD"], ["FAILOVER", b"BAD"],
                     ["REPLICAOF", b"a"], ["MONITOR", b"x"], ["DEBUG", b"FOO"], ["FLUSHALL", b"BAD"], ["FLUSHDB", b"ASYNC", b"x"],
                     ["PUBSUB", "CHANNELS"], ["PUBSUB", "NUMSUB", b"a", b"b"], ["PUBSUB", "NUMPAT"], ["PUBSUB", "SHARDCHANNELS"],
                     ["PUBSUB", "SHARDNUMSUB", b"a"], ["PUBSUB", "FOO"], ["PUBLISH", b"ch", b"m"], ["SPUBLISH", b"ch", b"m"],
                     ["UNSUBSCRIBE"], ["PUNSUBSCRIBE", b"x"], ["SUNSUBSCRIBE"], ["READONLY"], ["READWRITE"], ["ASKING"],
                     ["CLUSTER", "INFO"], ["CLUSTER", "KEYSLOT", k], ["CLUSTER", "FOO"]])
        # MEMORY USAGE counts each server's own bytes: only the kind of reply is compared.
        return a, N("ours" if a[:2] == ["MEMORY", "USAGE"] else "exact", keys=[k])
    if c == 19:
        db = g.ch([b"1", b"2", b"15"])
        k = g.ch(KEYS)
        return "SEQ", N(seq=[(["SELECT", db], N(keys=[])), (["SET", k, g.val()], N(keys=[k])), (["DBSIZE"], N(keys=[])),
                             (["SWAPDB", b"0", db], N(keys=KEYS)), (["SELECT", b"0"], N(keys=[])), (["GET", k], N(keys=[k])),
                             (["MOVE", k, db], N(keys=[k])), (["SWAPDB", db, b"0"], N(keys=KEYS)), (["EXISTS", k], N(keys=[k]))])
    if c == 20:
        k = g.ch(KEYS)
        return ["COPY", k, g.ch(KEYS), "DB", g.ch([b"1", b"0", b"16"])] + (["REPLACE"] if g.p(0.5) else []), N(keys=[k])
    if c == 21:
        # LOLWUT's art is each server's own: only its argument errors are compared.
        return ["LOLWUT", "VERSION", g.ch([b"abc", b"5"]), g.ch([b"abc", b"1.5"])], N(keys=[])
    if c == 22:
        return ["ACL", "SETUSER", g.ch([b"alice", b"bob"]), b"reset", b"on", b"nopass", g.ch(ACL_RULES), g.ch(ACL_RULES)], N(keys=[])
    return ["ACL", "GETUSER", g.ch([b"alice", b"bob"])], N("acl", keys=[])


FAMILIES = {
    "string": (g_string, 10), "bitmap": (g_bitmap, 5), "list": (g_list, 9), "hash": (g_hash, 8),
    "set": (g_set, 8), "zset": (g_zset, 11), "hll": (g_hll, 3), "geo": (g_geo, 5), "stream": (g_stream, 10),
    "keyspace": (g_keyspace, 9), "generic": (g_generic, 2), "script": (g_script, 6), "function": (g_function, 2),
    "admin": (g_admin, 4),
}


# ---------------------------------------------------------------- normalization

def skey(x):
    return repr(x)


def sort_items(r):
    t = r[0]
    if t in "*~" and r[1] is not None:
        return (t, tuple(sorted(r[1], key=skey)))
    return r


# COMMAND DOCS and COMMAND INFO texts each server words itself; what they describe
# (arguments, flags, key specs, groups, versions) is compared.
OWN_WORDS = {b"summary", b"complexity", b"history", b"notes", b"replaced_by"}
# CONFIG GET values of the running process rather than of behaviour.
OWN_CONFIG = {b"port", b"daemonize", b"pidfile", b"logfile", b"dir", b"busy-poll-us"}


def drop_texts(r):
    t = r[0]
    if t == "%":
        return (t, tuple((a, drop_texts(b)) for a, b in r[1] if not (a[0] in "$+" and a[1] in OWN_WORDS)))
    if t in "*~" and r[1] is not None:
        it = list(r[1])
        out = []
        i = 0
        while i < len(it):
            if i + 1 < len(it) and it[i][0] in "$+" and it[i][1] in OWN_WORDS:
                i += 2
                continue
            out.append(drop_texts(it[i]))
            i += 1
        return (t, tuple(out))
    return r


def norm_acl(r):
    """ACL rules name single commands in the command table's hash order: those tokens
    (+cmd, -cmd|sub, not categories) are sorted among their own places."""
    t = r[0]
    if t in "$+" and r[1] is not None and b" " in r[1]:
        toks = r[1].split(b" ")
        idx = [i for i, x in enumerate(toks) if x[:1] in (b"+", b"-") and b"@" not in x]
        vals = sorted(toks[i] for i in idx)
        for i, v in zip(idx, vals):
            toks[i] = v
        return (t, b" ".join(toks))
    if t in "*~" and r[1] is not None:
        return (t, tuple(norm_acl(x) for x in r[1]))
    if t == "%":
        return (t, tuple((a, norm_acl(b)) for a, b in r[1]))
    return r


def config_pairs(r):
    if r[0] == "%":
        return sorted(((a, b) for a, b in r[1] if a[1] not in OWN_CONFIG), key=skey)
    if r[0] == "*" and r[1] is not None:
        it = r[1]
        return sorted(((it[i], it[i + 1]) for i in range(0, len(it) - 1, 2) if it[i][1] not in OWN_CONFIG), key=skey)
    return r


def deep_sort(r):
    t = r[0]
    if t in "*~" and r[1] is not None:
        return (t, tuple(sorted((deep_sort(x) for x in r[1]), key=skey)))
    if t == "%":
        return (t, tuple(sorted(((deep_sort(a), deep_sort(b)) for a, b in r[1]), key=skey)))
    return r


def sort_pairs(r):
    t = r[0]
    if t == "%":
        return ("%", tuple(sorted(r[1], key=skey)))
    if t == "*" and r[1] is not None:
        it = r[1]
        pairs = [(it[i], it[i + 1]) for i in range(0, len(it) - 1, 2)]
        pairs.sort(key=skey)
        return ("*", tuple(x for p in pairs for x in p))
    return r


def shape(r):
    t = r[0]
    if t in "*~>":
        if r[1] is None:
            return (t, None)
        return (t, len(r[1]), tuple(sorted(set(shape(x) for x in r[1]), key=repr)))
    if t == "%":
        return (t, len(r[1]))
    if t == "$":
        return (t, r[1] is None)
    if t == "-":
        return r
    if t == ":":
        return (t,)
    return (t,)


def flat(r):
    """Flatten arrays / maps into list of leaves."""
    t = r[0]
    if t in "*~>":
        out = []
        for x in r[1] or ():
            out += flat(x)
        return out
    if t == "%":
        out = []
        for a, b in r[1]:
            out += flat(a) + flat(b)
        return out
    return [r]


PLAIN_NUMBER = re.compile(rb"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")

TIME_FIELDS = {b"seen-time", b"active-time", b"idle", b"inactive"}


def norm_xinfo(r, ctx=None):
    t = r[0]
    if t == "%":
        out = []
        for kk, v in r[1]:
            name = kk[1] if kk[0] in "$+" else None
            if name in TIME_FIELDS:
                v = ("T",)
            elif name in (b"pel", b"pending"):
                v = norm_pel(v)
            else:
                v = norm_xinfo(v)
            out.append((kk, v))
        return ("%", tuple(out))
    if t == "*" and r[1] is not None:
        it = list(r[1])
        # flat key/value array?
        if len(it) % 2 == 0 and it and all(it[i][0] in "$+" for i in range(0, len(it), 2)) and any(
                it[i][1] in (b"name", b"length", b"consumers", b"pending", b"entries", b"groups", b"last-delivered-id")
                for i in range(0, len(it), 2)):
            out = []
            for i in range(0, len(it), 2):
                name = it[i][1]
                v = it[i + 1]
                if name in TIME_FIELDS:
                    v = ("T",)
                elif name in (b"pel", b"pending"):
                    v = norm_pel(v)
                else:
                    v = norm_xinfo(v)
                out += [it[i], v]
            return ("*", tuple(out))
        return ("*", tuple(norm_xinfo(x) for x in it))
    return r


def norm_pel(v):
    if v[0] != "*" or v[1] is None:
        return v
    out = []
    for e in v[1]:
        if e[0] == "*" and e[1] is not None:
            it = list(e[1])
            if len(it) == 4:  # group pel: id, consumer, delivery-time, count
                it[2] = ("T",)
            elif len(it) == 3:  # consumer pel: id, delivery-time, count
                it[1] = ("T",)
            e = ("*", tuple(it))
        out.append(e)
    return ("*", tuple(out))


def norm_xpending(r):
    # extended form: array of [id, consumer, idle, count]
    if r[0] == "*" and r[1] is not None and r[1] and all(x[0] == "*" and x[1] is not None and len(x[1]) == 4 and x[1][2][0] == ":" for x in r[1]):
        return ("*", tuple(("*", (x[1][0], x[1][1], ("T",), x[1][3])) for x in r[1]))
    return r


# ---------------------------------------------------------------- fuzzer core

# ---------------------------------------------------------------- sessions: several connections at once
#
# A session opens SIDE connections to each server and sends the same steps to both:
# pub/sub, keyspace notifications, blocking pops and reads served by other connections,
# CLIENT UNBLOCK/KILL/REPLY, client-side caching with its invalidations, HELLO switching,
# RESET, transactions. After each step every connection is synchronized with two
# PINGs carrying a token (the second one ends what the step produced on it), so each
# connection's output (replies, messages, pushes, in order) is compared whole. A
# connection whose token does not come back is blocked (CLIENT LIST flags=b) or closed.

CHANNELS = [b"ch1", b"ch2", b"news.a", b"news.b", b"__keyspace@0__:k2", b"__keyevent@0__:lpush",
            b"__keyevent@0__:del", b"__redis__:invalidate", b"__keyspace@1__:k3", b"__keyevent@0__:new"]
PATTERNS = [b"ch*", b"news.*", b"__keyspace@0__:*", b"__keyevent@*__:*", b"*", b"ch[12]", b"__key*__:k?",
            b"news.[ab]", b"__keyspace@?__:k[234]"]
NOTIFY_LETTERS = "KEAg$lshztdmn"
SIDE = 3
# Words that make a command's effect depend on the clock: left out of sessions, whose
# notifications would otherwise report expiries at different moments.
TIMED = {"EX", "PX", "EXAT", "PXAT", "EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT", "SETEX", "PSETEX",
         "GETEX", "RESTORE", "DEBUG", "BLPOP", "BRPOP", "BLMOVE", "BLOCK", "OBJECT", "XCLAIM",
         "XAUTOCLAIM", "IDLE", "TIME", "PERSIST"}


class Id:
    """A session connection's id, spelled by each server in its own numbers."""

    def __init__(self, k):
        self.k = k


def upper(a):
    return (a if isinstance(a, str) else a.decode("latin-1")).upper()


def g_session_data(g):
    if g.p(0.5):
        for _ in range(20):
            fam = g.ch(["list", "list", "zset", "stream", "string", "hash", "set", "keyspace"])
            args, norm = FAMILIES[fam][0](g)
            if args == "SEQ" or norm["kind"] != "exact" or args[0] in ("DUMPRT",):
                continue
            if any(upper(a) in TIMED for a in args if isinstance(a, (str, bytes))):
                continue
            return args
    lk, zk, sk = FAMILY_KEYS["list"], FAMILY_KEYS["zset"], FAMILY_KEYS["stream"]
    c = g.r.randint(0, 22)
    if c < 5:
        return [g.ch(["LPUSH", "RPUSH", "LPUSH", "RPUSHX"]), g.ch(lk)] + [g.member() for _ in range(g.r.randint(1, 3))]
    if c == 5:
        return [g.ch(["LPOP", "RPOP"]), g.ch(lk)] + ([g.ch([b"1", b"2", b"0"])] if g.p(0.3) else [])
    if c == 6:
        return ["LMOVE", g.ch(lk), g.ch(lk), g.ch(["LEFT", "RIGHT"]), g.ch(["LEFT", "RIGHT"])]
    if c in (7, 8):
        return ["ZADD", g.ch(zk)] + [x for _ in range(g.r.randint(1, 3)) for x in (g.ch([b"1", b"2", b"-1", b"0.5"]), g.member())]
    if c == 9:
        return [g.ch(["ZPOPMIN", "ZPOPMAX"]), g.ch(zk)]
    if c in (10, 11):
        g.xid += 1
        return ["XADD", g.ch(sk), b"%d-1" % g.xid, b"f", g.member()]
    if c == 12:
        return ["XGROUP", "CREATE", g.ch(sk), g.ch(GROUPS), g.ch([b"$", b"0"]), "MKSTREAM"]
    if c == 13:
        return [g.ch(["DEL", "UNLINK"])] + [g.ch(KEYS) for _ in range(g.r.randint(1, 2))]
    if c == 14:
        return ["SET", g.ch(KEYS), g.val()]
    if c == 15:
        return [g.ch(["RENAME", "RENAMENX"]), g.ch(KEYS), g.ch(KEYS)]
    if c == 16:
        return ["MOVE", g.ch(KEYS), g.ch([b"1", b"0"])]
    if c == 17:
        return ["SWAPDB", b"0", b"1"]
    if c == 18:
        return [g.ch(["FLUSHDB", "FLUSHALL"])] if g.p(0.3) else ["COPY", g.ch(KEYS), g.ch(KEYS), "REPLACE"]
    if c == 19:
        return [g.ch(["ZUNIONSTORE", "ZINTERSTORE"]), g.ch(zk), b"2", g.ch(zk), g.ch(zk)]
    if c == 20:
        return ["SORT", g.ch(lk), "ALPHA", "STORE", g.ch(lk)]
    if c == 21:
        return [g.ch(["GET", "LRANGE", "ZRANGE", "XRANGE", "HGETALL", "EXISTS", "TYPE"]), g.ch(KEYS)] + \
            ([b"0", b"-1"] if g.p(0.5) else [])
    return ["XTRIM", g.ch(sk), "MAXLEN", g.ch([b"0", b"1"])]


def g_session_block(g):
    lk, zk, sk = FAMILY_KEYS["list"], FAMILY_KEYS["zset"], FAMILY_KEYS["stream"]
    t = g.ch([b"0", b"0", b"0", b"100", b"0.0"])
    c = g.r.randint(0, 9)
    if c < 2:
        return [g.ch(["BLPOP", "BRPOP"])] + g.r.sample(lk, g.r.randint(1, 2)) + [t]
    if c == 2:
        return ["BLMOVE", g.ch(lk), g.ch(lk), g.ch(["LEFT", "RIGHT"]), g.ch(["LEFT", "RIGHT"]), t] if g.p(0.7) \
            else ["BRPOPLPUSH", g.ch(lk), g.ch(lk), t]
    if c == 3:
        ks = g.r.sample(lk, g.r.randint(1, 2))
        return ["BLMPOP", t, b"%d" % len(ks)] + ks + [g.ch(["LEFT", "RIGHT"])] + (["COUNT", g.ch([b"1", b"2", b"5"])] if g.p(0.5) else [])
    if c == 4:
        return [g.ch(["BZPOPMIN", "BZPOPMAX"])] + g.r.sample(zk, g.r.randint(1, 2)) + [t]
    if c == 5:
        ks = g.r.sample(zk, g.r.randint(1, 2))
        return ["BZMPOP", t, b"%d" % len(ks)] + ks + [g.ch(["MIN", "MAX"])] + (["COUNT", g.ch([b"1", b"3"])] if g.p(0.5) else [])
    if c in (6, 7):
        a = ["XREAD"] + (["COUNT", g.ch([b"1", b"2"])] if g.p(0.4) else []) + ["BLOCK", g.ch([b"0", b"0", b"100000"])]
        ks = g.r.sample(sk, g.r.randint(1, 2))
        return a + ["STREAMS"] + ks + [g.ch([b"$", b"$", b"0", b"%d" % g.xid]) for _ in ks]
    if c == 8:
        a = ["XREADGROUP", "GROUP", g.ch(GROUPS), g.ch(CONSUMERS)] + (["COUNT", g.ch([b"1", b"2"])] if g.p(0.4) else [])
        a += ["BLOCK", b"0"] + (["NOACK"] if g.p(0.2) else [])
        return a + ["STREAMS", g.ch(sk), g.ch([b">", b">", b"0"])]
    return ["WAIT", g.ch([b"1", b"0"]), b"0"]


def g_session_pubsub(g):
    c = g.r.randint(0, 13)
    if c < 2:
        return ["SUBSCRIBE"] + g.r.sample(CHANNELS, g.r.randint(1, 3))
    if c == 2:
        return ["UNSUBSCRIBE"] + (g.r.sample(CHANNELS, g.r.randint(1, 2)) if g.p(0.6) else [])
    if c < 5:
        return ["PSUBSCRIBE"] + g.r.sample(PATTERNS, g.r.randint(1, 2))
    if c == 5:
        return ["PUNSUBSCRIBE"] + (g.r.sample(PATTERNS, g.r.randint(1, 2)) if g.p(0.6) else [])
    if c == 6:
        return ["SSUBSCRIBE"] + g.r.sample(CHANNELS[:4], g.r.randint(1, 2))
    if c == 7:
        return ["SUNSUBSCRIBE"] + (g.r.sample(CHANNELS[:4], 1) if g.p(0.6) else [])
    if c < 11:
        return [g.ch(["PUBLISH", "PUBLISH", "SPUBLISH"]), g.ch(CHANNELS), g.val()]
    if c == 11:
        return ["PUBSUB", g.ch(["CHANNELS", "SHARDCHANNELS"])] + ([g.ch(PATTERNS)] if g.p(0.5) else [])
    if c == 12:
        return ["PUBSUB", g.ch(["NUMSUB", "SHARDNUMSUB"])] + g.r.sample(CHANNELS, g.r.randint(0, 3))
    return ["PUBSUB", "NUMPAT"]


def g_session_client(g, me):
    other = Id(g.r.randrange(SIDE))
    c = g.r.randint(0, 19)
    if c == 19:
        # Writes from the other connections wait (CLIENT UNPAUSE is no write).
        return ["CLIENT", "PAUSE", b"100000", "WRITE"] if g.p(0.4) else ["CLIENT", "UNPAUSE"]
    if c == 18:
        return ["MONITOR"]
    if c < 4:
        a = ["CLIENT", "TRACKING", g.ch(["ON", "ON", "OFF"])]
        if g.p(0.3):
            a += ["REDIRECT", g.ch([other, other, b"999999"])]
        if g.p(0.3):
            a.append("BCAST")
            for _ in range(g.r.randint(0, 2)):
                a += ["PREFIX", g.ch([b"k", b"k2", b"k3", b"", b"x"])]
        if g.p(0.25):
            a.append(g.ch(["OPTIN", "OPTOUT"]))
        if g.p(0.25):
            a.append("NOLOOP")
        return a
    if c == 4:
        return ["CLIENT", "CACHING", g.ch(["YES", "NO"])]
    if c == 5:
        return ["CLIENT", g.ch(["GETREDIR", "TRACKINGINFO", "ID"])]
    if c in (6, 7):
        return ["CLIENT", "UNBLOCK", g.ch([other, other, b"999999"])] + ([g.ch(["TIMEOUT", "ERROR", "BAD"])] if g.p(0.5) else [])
    if c == 8:
        return ["CLIENT", "REPLY", g.ch(["SKIP", "ON", "SKIP", "BAD"])]
    if c == 9:
        return ["CLIENT", "KILL", "ID", other] if g.p(0.8) else ["CLIENT", "KILL", "ID", Id(me)]
    if c in (10, 11):
        return ["HELLO", g.ch([b"2", b"3", b"3", b"4"])]
    if c == 12:
        return ["RESET"]
    if c == 13:
        return ["SELECT", g.ch([b"0", b"1"])]
    if c == 14:
        return g.ch([["PING"], ["PING", b"hi"], ["ECHO", b"e"], ["QUIT"] if g.p(0.3) else ["PING"]])
    if c == 15:
        return ["CLIENT", "NO-EVICT", g.ch(["ON", "OFF"])]
    if c == 16:
        return ["WATCH", g.ch(KEYS)]
    return ["CLIENT", "SETNAME", g.ch([b"n1", b"n2"])]


def g_session_step(g):
    """One step: (connection, commands sent on it together)."""
    me = g.r.randrange(SIDE)
    x = g.r.random()
    if x < 0.35:
        return me, [g_session_data(g)]
    if x < 0.6:
        return me, [g_session_pubsub(g)]
    if x < 0.75:
        return me, [g_session_block(g)]
    if x < 0.9:
        return me, [g_session_client(g, me)]
    if x < 0.95:
        body = [g.ch([g_session_data, g_session_data, g_session_block, g_session_pubsub])(g) for _ in range(g.r.randint(1, 3))]
        return me, [["MULTI"]] + body + [[g.ch(["EXEC", "EXEC", "DISCARD"])]]
    if x < 0.97:
        return me, [["CLIENT", "REPLY", "OFF"], g_session_data(g), g_session_pubsub(g), ["CLIENT", "REPLY", "ON"]]
    return None, [["CONFIG", "SET", "notify-keyspace-events", "".join(l for l in NOTIFY_LETTERS if g.p(0.4))]]


def marker_of(m):
    if m[0] == "$" and isinstance(m[1], bytes) and m[1].startswith(b"\x01mk"):
        return m[1]
    if m[0] in "*>" and m[1] and len(m[1]) == 2 and m[1][0] == ("$", b"pong") and m[1][1][0] == "$" \
            and isinstance(m[1][1][1], bytes) and m[1][1][1].startswith(b"\x01mk"):
        return m[1][1][1]
    return None


def client_flags(ctl, cid):
    r = ctl.cmd(["CLIENT", "LIST", "ID", str(cid)])
    if r[0] not in "$=+" or not r[1]:
        return None
    for f in r[1].split():
        if f.startswith(b"flags="):
            return f[6:].decode()
    return None


def symbolize(m, ids):
    """Each server's connection ids as the session's own names."""
    if m[0] == ":" and m[1] in ids:
        return ("ID", ids[m[1]])
    if m[0] in "*~>%" and m[1]:
        if m[0] == "%":
            # HELLO's protocol version is no connection id, even when the numbers meet.
            return ("%", tuple((symbolize(a, ids), b if a == ("$", b"proto") else symbolize(b, ids)) for a, b in m[1]))
        xs = m[1]
        return (m[0], tuple(x if i and xs[i - 1] == ("$", b"proto") else symbolize(x, ids) for i, x in enumerate(xs)))
    return m


MONITOR_LINE = re.compile(rb"^\d+\.\d+ \[(\d+) [^\]]*\]")


def monitor_line(m):
    """A MONITOR line without its time and client address."""
    if m[0] == "+" and m[1][:1].isdigit():
        return ("+", MONITOR_LINE.sub(rb"[\1]", m[1]))
    return m


MONITOR_ID = re.compile(rb'("(?:REDIRECT|UNBLOCK|ID)" ")(\d+)"')


def normalize_all(out, inv):
    """Every connection's output with each server's own numbers and hash orders set
    aside: MONITOR lines without time and address, connection ids (in HELLO replies and
    in the arguments MONITOR shows) as session names, and the messages one publication
    sends a connection through several patterns in pattern order (Redis walks its
    pattern table in hash order)."""
    def mon(m):
        # A MONITOR line can land inside the connection's own reply array (it
        # monitors what its EXEC runs).
        if m[0] == "*" and m[1] and any(x[0] == "+" and x[1][:1].isdigit() for x in m[1]):
            m = ("*", tuple(mon(x) for x in m[1]))
        m = monitor_line(m)
        if m[0] == "+" and m[1][:1] == b"[":
            return ("+", MONITOR_ID.sub(lambda x: x.group(1) + (inv[int(x.group(2))].encode() if int(x.group(2)) in inv else x.group(2)) + b'"', m[1]))
        if m[0] in "*%" and m[1] and (m[1][0] == ("$", b"server") or (m[0] == "%" and m[1][0][0] == ("$", b"server"))):
            return symbolize(m, inv)
        return m
    out = [mon(m) for m in out]

    def pkey(m):
        if m[0] in "*>" and m[1] and len(m[1]) == 4 and m[1][0] == ("$", b"pmessage"):
            return (m[1][2], m[1][3])
        return None
    res, i = [], 0
    while i < len(out):
        k = pkey(out[i])
        j = i + 1
        while k is not None and j < len(out) and pkey(out[j]) == k:
            j += 1
        res += sorted(out[i:j], key=skey) if j - i > 1 else out[i:j]
        i = j
    return res


def sort_bulk_arrays(m):
    """Arrays of bulk strings sorted, at any depth (PUBSUB CHANNELS, also inside EXEC)."""
    if m[0] in "*~" and m[1] and all(x[0] == "$" for x in m[1]):
        return (m[0], tuple(sorted(m[1], key=skey)))
    if m[0] in "*~" and m[1]:
        return (m[0], tuple(sort_bulk_arrays(x) for x in m[1]))
    return m


UNSUBS = (b"unsubscribe", b"punsubscribe", b"sunsubscribe")


def is_unsub(m):
    return m[0] in "*>" and m[1] and len(m[1]) == 3 and m[1][0][0] == "$" and m[1][0][1] in UNSUBS


def nested_push(m):
    return m[0] in "*~%" and m[1] is not None and any(
        x[0] == ">" or nested_push(x) for y in m[1] for x in (y if m[0] == "%" else (y,)))


def normalize_own(out, split=True):
    """The output of the connection that sent the step's commands, with what Redis
    leaves open set aside: the order in which UNSUBSCRIBE without arguments names the
    channels (hash order: names sorted, counts kept in order), and where a push its own
    command caused goes relative to that command's reply (before or after, by
    command, in Redis 7.0): replies and pushes are compared as two sequences, unless
    `split` is off (--own-order), which compares where each push goes too."""
    res, i = [], 0
    while i < len(out):
        if is_unsub(out[i]):
            j = i
            while j < len(out) and is_unsub(out[j]) and out[j][1][0] == out[i][1][0]:
                j += 1
            run = out[i:j]
            names = sorted((x[1][1] for x in run), key=skey)
            res += [(x[0], (x[1][0], n, x[1][2])) for x, n in zip(run, names)]
            i = j
        else:
            res.append(out[i])
            i += 1
    if not split:
        return res
    return [("REPLIES",) + tuple(m for m in res if m[0] != ">"), ("PUSHES",) + tuple(m for m in res if m[0] == ">")]


class Session:
    def __init__(self, fz):
        self.fz = fz
        self.g = fz.g
        self.srv = {"ref": (fz.ref, fz.a.ref_port), "sut": (fz.sut, fz.a.sut_port)}
        self.conns = {s: [None] * SIDE for s in self.srv}
        self.ids = {s: [None] * SIDE for s in self.srv}
        self.transcript = []
        self.steps = []  # [connection, [argv, ...]] per step, for --replay-session
        # Per connection, the flags of commands sent while it was blocked: they apply to
        # its output until it is served.
        self.held = [set() for _ in range(SIDE)]
        self.notify = ""
        self.step_no = 0
        for k in range(SIDE):
            self.open(k)

    def open(self, k):
        for s, (ctl, port) in self.srv.items():
            c = Conn(port)
            self.conns[s][k] = c
            self.ids[s][k] = c.cmd(["CLIENT", "ID"])[1]

    def spell(self, s, args):
        return [str(self.ids[s][a.k]).encode() if isinstance(a, Id) else a for a in args]

    def line(self, k, args):
        return "c%s: %s" % ("*" if k is None else k, cli_line(["<id c%d>" % a.k if isinstance(a, Id) else a for a in args]))

    def drain(self, s, k, token):
        conn, ctl = self.conns[s][k], self.srv[s][0]
        out = []
        polls = 0
        while True:
            if not conn.buf:
                ready, _, _ = select.select([conn.s], [], [], 0.03)
                if not ready:
                    fl = client_flags(ctl, self.ids[s][k])
                    if fl is None:
                        out.append(("GONE",))
                        return out, "gone"
                    if "b" in fl:
                        out.append(("BLOCKED",))
                        return out, "blocked"
                    polls += 1
                    if polls > 30:
                        out.append(("TIMEOUT", fl))
                        return out, "timeout"
                    continue
            try:
                m = conn.read()
            except (ProtoError, OSError) as e:
                out.append(("CLOSED",))
                return out, "closed"
            mk = marker_of(m)
            if mk is not None:
                out.append(("MARK", mk))
                if mk == token:
                    return out, "ok"
                continue
            out.append(m)

    def sync(self, first, flags, pending=None):
        """Both servers' output on every connection up to this step's token. The step's
        own commands (`pending`) go out in one write with its connection's tokens, so
        each server reads them as one batch."""
        self.step_no += 1
        tok = b"\x01mk%d" % self.step_no
        order = ([first] if first is not None else []) + [k for k in range(SIDE) if k != first]
        res = {}
        for k in order:
            got = {}
            for s in self.srv:
                conn = self.conns[s][k]
                head = pending[s] if pending and k == first else b""
                try:
                    conn.s.sendall(head + Conn.encode(["PING", tok + b"a"]) + Conn.encode(["PING", tok + b"b"]))
                except OSError:
                    pass
                t0 = time.time()
                out, state = self.drain(s, k, tok + b"b")
                inv = {v: "c%d" % i for i, v in enumerate(self.ids[s])}
                out = normalize_all(out, inv)
                key = "session-%s:%s" % (s, state)
                self.fz.stats[key] = self.fz.stats.get(key, 0) + 1
                self.fz.stats[key + ":secs"] = round(self.fz.stats.get(key + ":secs", 0) + time.time() - t0, 3)
                mine = (flags if k == first else set()) | self.held[k]
                if "ids" in mine:
                    out = [symbolize(m, inv) for m in out]
                if "sort" in mine:
                    out = [sort_bulk_arrays(m) for m in out]
                own_order = getattr(self.fz.a, "own_order", False)
                if k == first and s == "ref" and not own_order and any(nested_push(m) for m in out):
                    # Redis 7.0 wrote a push inside its own reply (ZPOPMAX, ZMPOP, ...
                    # notifying their own RESP3 connection): the framing is off, so
                    # pushes cannot be set aside (--own-order compares them as they are).
                    return "known", "push-inside-reply"
                if k == first:
                    out = normalize_own(out, not own_order)
                got[s] = (out, state)
            res[k] = got
            self.held[k] = mine if got["ref"][1] == "blocked" else set()
            if getattr(self.fz.a, "verbose_session", False):
                print("   c%d ref: %s" % (k, str(got["ref"])[:600]))
                if got["ref"] != got["sut"]:
                    print("   c%d sut: %s" % (k, str(got["sut"])[:600]))
            if got["ref"] != got["sut"]:
                return k, got
            # A connection left silent (CLIENT REPLY OFF that ON could not undo) starts over.
            if got["ref"][1] in ("closed", "gone", "timeout"):
                for s in self.srv:
                    self.conns[s][k].close()
                self.open(k)
        return None, None

    def step(self, given=None):
        k, cmds = given or g_session_step(self.g)
        self.steps.append([k, [[{"id": x.k} if isinstance(x, Id) else (x.decode("latin-1") if isinstance(x, bytes) else str(x))
                                for x in a] for a in cmds]])
        flags = set()
        for a in cmds:
            w = [upper(x) for x in a[:2] if isinstance(x, (str, bytes))]
            if w[:1] == ["HELLO"] or w[:2] in (["CLIENT", "GETREDIR"], ["CLIENT", "TRACKINGINFO"], ["CLIENT", "ID"]):
                flags.add("ids")
            if w[:2] in (["PUBSUB", "CHANNELS"], ["PUBSUB", "SHARDCHANNELS"]):
                flags.add("sort")
            self.transcript.append(self.line(k, a))
            if getattr(self.fz.a, "verbose_session", False):
                print(self.transcript[-1])
            name = "session:" + " ".join(w[:2] if w[:1] in (["CLIENT"], ["PUBSUB"], ["XGROUP"]) else w[:1])
            self.fz.stats[name] = self.fz.stats.get(name, 0) + 1
        pending = {}
        for s, (ctl, _) in self.srv.items():
            if k is None:
                for a in cmds:
                    ctl.cmd(a)
                continue
            pending[s] = b"".join(Conn.encode(self.spell(s, a)) for a in cmds)
        bad, got = self.sync(k, flags, pending)
        if bad == "known":
            self.fz.known_counts[got] = self.fz.known_counts.get(got, 0) + 1
            return False
        if bad is not None:
            self.record(self.transcript[-1], "c%d: %r" % (bad, got["ref"]), "c%d: %r" % (bad, got["sut"]),
                        "(session: output of connection c%d after the last step)" % bad)
            return False
        return True

    def record(self, cmd, ref, sut, note):
        """A mismatch, with the steps that led to it (replayable)."""
        fz = self.fz
        m = {"seed": fz.a.seed, "resp3": fz.resp3, "n": fz.n, "cmd": cmd, "ref": ref, "sut": sut, "note": note,
             "history": self.transcript[-25:], "full": self.transcript, "kind": "session", "known": None,
             "steps": self.steps, "notify": self.notify}
        fz.mismatches.append(m)
        if fz.out:
            fz.out.write(json.dumps(m) + "\n")
            fz.out.flush()
        if not fz.a.quiet:
            print("MISMATCH #%d n=%d %s\n  ref: %s\n  sut: %s" % (len(fz.mismatches), fz.n, cmd, ref[:300], sut[:300]))

    def counted(self):
        """Calls, rejections and failures per command, and errors per code, as each
        server counted them during the session (the control connection's own polling
        left out)."""
        res = {}
        for s, (ctl, _) in self.srv.items():
            r = ctl.cmd(["INFO", "commandstats"])
            text = r[1].decode("latin-1") if r[0] in "$=" else ""
            d = {}
            for ln in text.split("\r\n"):
                if ln.startswith("cmdstat_") and ":" in ln:
                    name, _, rest = ln.partition(":")
                    if name in ("cmdstat_client|list", "cmdstat_info", "cmdstat_config|resetstat"):
                        continue
                    f = dict(x.split("=") for x in rest.split(","))
                    d[name] = (int(f["calls"]), int(f["rejected_calls"]), int(f["failed_calls"]))
            r = ctl.cmd(["INFO", "errorstats"])
            text = r[1].decode("latin-1") if r[0] in "$=" else ""
            d.update({ln.split(":")[0]: (int(ln.split("=")[1]),) for ln in text.split("\r\n") if ln.startswith("errorstat_")})
            res[s] = d
        return res

    def check_counts(self, before):
        """What each server counted since `before` (a `counted()`) must be the same."""
        now = self.counted()
        c = {s: {k: tuple(x - y for x, y in zip(v, before[s].get(k, (0, 0, 0))))
                 for k, v in now[s].items() if v != before[s].get(k)} for s in now}
        if c["ref"] != c["sut"]:
            a, b = c["ref"], c["sut"]
            diff = sorted(set(k for k in set(a) | set(b) if a.get(k) != b.get(k)))
            self.record("INFO commandstats/errorstats", repr({k: a.get(k) for k in diff}),
                        repr({k: b.get(k) for k in diff}), "(session: counted differently)")
            return False
        return True

    def close(self):
        for s, (ctl, _) in self.srv.items():
            for c in self.conns[s]:
                c.close()
            deadline = time.time() + 10
            while time.time() < deadline:
                r = ctl.cmd(["CLIENT", "LIST"])
                text = r[1] if r[0] in "$=" else b""
                live = {int(f[3:]) for f in text.split() if f.startswith(b"id=")}
                if not live & set(self.ids[s]):
                    break
                time.sleep(0.005)
            # A pause left on ends with the session (its held commands went with
            # their connections).
            ctl.cmd(["CLIENT", "UNPAUSE"])
            ctl.cmd(["CONFIG", "SET", "notify-keyspace-events", ""])


def run_session(fz, replay=None):
    """One session from an empty dataset: generated, or replayed from a mismatch record
    (its "steps" and "notify")."""
    ses = Session(fz)
    flags = replay["notify"] if replay else "".join(l for l in NOTIFY_LETTERS if fz.g.p(0.4))
    ses.notify = flags
    for s, (ctl, _) in ses.srv.items():
        ctl.cmd(["FLUSHALL"])
        ctl.cmd(["CONFIG", "SET", "notify-keyspace-events", flags])
    before = ses.counted()
    ok = True
    steps = [(k, [[Id(x["id"]) if isinstance(x, dict) else x for x in a] for a in cmds]) for k, cmds in replay["steps"]] \
        if replay else [None] * fz.rnd.randint(5, 30)
    try:
        for given in steps:
            if not ses.step(given):
                ok = False
                break
        if ok:
            ok = ses.check_counts(before)
    finally:
        ses.close()
    if not ok:
        fz.resync()
    return ok


class Fuzzer:
    def __init__(self, args):
        self.a = args
        self.rnd = random.Random(args.seed)
        self.g = Gen(self.rnd)
        self.ref = Conn(args.ref_port)
        self.sut = Conn(args.sut_port)
        self.resp3 = args.resp3
        self.history = []  # (n, args, keys) since last flush
        self.known_counts = {}
        self.cur_kind = "exact"
        self.lex_mixed = (None, False)
        self.mismatches = []
        self.n = 0
        self.stats = {}
        self.out = open(args.out, "a") if args.out else None
        fams = args.families.split(",") if args.families else list(FAMILIES) + ["session"]
        self.fams = [f for f in fams]
        self.weights = [FAMILIES[f][1] if f in FAMILIES else 2 for f in fams]
        self.setup()

    def setup(self):
        for c in (self.ref, self.sut):
            if self.resp3:
                r = c.cmd(["HELLO", "3"])
            c.cmd(["FLUSHALL"])
            c.cmd(["FUNCTION", "FLUSH"])
            c.cmd(["SCRIPT", "FLUSH"])
        self.history = []

    def both(self, args):
        """Send to both; return (ref_reply, sut_reply)."""
        self.ref.send(args)
        self.sut.send(args)
        try:
            rr = self.ref.read()
        except (ProtoError, socket.timeout) as e:
            # The reference dropped the connection (or is still writing): a mismatch
            # unless ours did the same.
            try:
                self.sut.read()
            except (ProtoError, socket.timeout, ConnectionError, OSError) as e2:
                raise BothClosed(f"ref: {e}; sut: {e2}")
            raise ProtoError(f"{e}; sut answered")
        try:
            sr = self.sut.read()
        except (ProtoError, socket.timeout, ConnectionError, OSError) as e:
            sr = ("EXC", str(e))
        return rr, sr

    def lookups(self):
        """INFO keyspace_hits and keyspace_misses of each server."""
        res = {}
        for s, conn in (("ref", self.ref), ("sut", self.sut)):
            r = conn.cmd(["INFO", "stats"])
            text = r[1].decode("latin-1") if r[0] in "$=" else ""
            f = dict(ln.split(":", 1) for ln in text.split("\r\n") if ln.startswith("keyspace_"))
            res[s] = (int(f.get("keyspace_hits", 0)), int(f.get("keyspace_misses", 0)))
        return res

    def dirt(self):
        """INFO rdb_changes_since_last_save of each server (the changes that count toward
        `save` points)."""
        res = {}
        for s, conn in (("ref", self.ref), ("sut", self.sut)):
            r = conn.cmd(["INFO", "persistence"])
            text = r[1].decode("latin-1") if r[0] in "$=" else ""
            f = dict(ln.split(":", 1) for ln in text.split("\r\n") if ln.startswith("rdb_changes"))
            res[s] = int(f.get("rdb_changes_since_last_save", 0))
        return res

    def ref_cmd(self, args):
        return self.ref.cmd(args)

    def enc(self, key):
        r = self.ref.cmd(["OBJECT", "ENCODING", key])
        if r[0] in "$+" and r[1] is not None:
            return r[1].decode()
        return None

    def intset_limit(self):
        r = self.ref.cmd(["CONFIG", "GET", "set-max-intset-entries"])
        try:
            return int(flat(r)[1][1])
        except (IndexError, TypeError, ValueError):
            return 512

    def any_ht(self, keys, skiplist=False):
        bad = ("hashtable", "skiplist") if skiplist else ("hashtable",)
        return any(self.enc(k) in bad for k in keys)

    def record(self, args, rr, sr, note="", keys=()):
        keys = set(keys or [])
        known = self.is_known(args, rr, sr, note)
        if known and self.a.known:
            self.known_counts[known] = self.known_counts.get(known, 0) + 1
            self.resync()
            return
        hist = [cli_line(h[1]) for h in self.history if keys & set(h[2])][-25:]
        m = {"seed": self.a.seed, "resp3": self.resp3, "n": self.n, "cmd": cli_line(args),
             "ref": fmt(rr) if isinstance(rr, tuple) else str(rr),
             "sut": fmt(sr) if isinstance(sr, tuple) else str(sr), "note": note, "history": hist,
             "full": [[(x.decode("latin-1") if isinstance(x, bytes) else str(x)) for x in h[1]] for h in self.history],
             "kind": self.cur_kind, "known": known}
        self.mismatches.append(m)
        if self.out:
            self.out.write(json.dumps(m) + "\n")
            self.out.flush()
        if not self.a.quiet:
            print("MISMATCH #%d n=%d %s\n  ref: %s\n  sut: %s  %s" % (len(self.mismatches), self.n, m["cmd"], m["ref"][:300], m["sut"][:300], note))
        self.resync()

    def reconnect_all(self):
        for c in (self.ref, self.sut):
            c.close()
            deadline = time.time() + 300
            while True:
                try:
                    c.connect()
                    c.s.settimeout(60)
                    r = c.cmd(["PING"])
                    if r[0] == "+":
                        break
                    if r[0] == "-" and r[1].startswith(b"BUSY"):
                        c.cmd(["SCRIPT", "KILL"])
                        c.cmd(["FUNCTION", "KILL"])
                except (ProtoError, OSError):
                    pass
                c.close()
                if time.time() > deadline:
                    raise SystemExit("port %d does not answer" % c.port)
                time.sleep(1)
            c.s.settimeout(c.timeout)
            if self.resp3:
                c.cmd(["HELLO", "3"])

    def resync(self):
        for c in (self.ref, self.sut):
            try:
                c.cmd(["DISCARD"])
                c.cmd(["UNWATCH"])
                c.cmd(["CLIENT", "UNPAUSE"])
                c.cmd(["FLUSHALL"])
                c.cmd(["FUNCTION", "FLUSH"])
                c.cmd(["SCRIPT", "FLUSH"])
                c.cmd(["SELECT", "0"])
                c.cmd(["ACL", "DELUSER", "alice", "bob"])
            except Exception:
                c.close()
                try:
                    c.connect()
                    if self.resp3:
                        c.cmd(["HELLO", "3"])
                    c.cmd(["FLUSHALL"])
                except Exception as e:
                    print("reconnect failed on port %d: %s" % (c.port, e))
                    raise
        self.history = []

    # ---- compare a single command with normalization
    def run_one(self, args, norm, in_multi=False):
        kind = norm["kind"]
        keys = norm.get("keys", [])
        self.stats[args[0].upper() if isinstance(args[0], str) else args[0]] = self.stats.get(args[0].upper() if isinstance(args[0], str) else args[0], 0) + 1
        if kind == "dumprt":
            return self.run_dumprt(args, keys)
        if kind == "fdump":
            return self.run_fdump(args)
        pre = None
        sort_it = False
        if kind in ("unordered", "pairs_unordered", "scan", "sort"):
            sort_it = self.any_ht(norm.get("enc_keys", keys), skiplist=(kind == "scan"))
        if kind in ("random", "spop"):
            pre = self.source(keys[0], norm["rtype"])
        if kind == "sort":
            pre = self.sort_nondet(args)
        self.cur_kind = kind
        self.lex_mixed = (args, self.lex_source_mixed(args))
        looked = self.lookups() if self.a.lookups else None
        dirt = self.dirt() if self.a.dirty else None
        rr, sr = self.both(args)
        looked_now = self.lookups() if looked else None
        dirt_now = self.dirt() if dirt else None
        self.history.append((self.n, args, keys))
        if sr[0] == "EXC":
            self.record(args, rr, sr, "SUT connection error", keys)
            return False
        ok, note = self.compare(args, norm, rr, sr, sort_it, pre)
        if not ok:
            self.record(args, rr, sr, note, keys)
            return False
        if looked:
            d = {s: tuple(x - y for x, y in zip(looked_now[s], looked[s])) for s in looked}
            if d["ref"] != d["sut"]:
                self.record(args, ("+", b"hits=%d misses=%d" % d["ref"]), ("+", b"hits=%d misses=%d" % d["sut"]),
                            "(keyspace hits/misses counted differently)", keys)
                return False
        if dirt:
            d = {s: dirt_now[s] - dirt[s] for s in dirt}
            if d["ref"] != d["sut"] and min(d.values()) >= 0:
                self.record(args, ("+", b"changes=%d" % d["ref"]), ("+", b"changes=%d" % d["sut"]),
                            "(changes toward save points counted differently)", keys)
                return False
        if kind == "spop" and rr[0] not in "-_" and not (rr[0] == "$" and rr[1] is None):
            self.resync_set(keys[0])
        if kind == "sort" and pre and "STORE" in args:
            dst = args[args.index("STORE") + 1]
            r = self.ref.cmd(["LRANGE", dst, "0", "-1"])
            mem = [x[1] for x in flat(r)] if r[0] == "*" else []
            self.both(["DEL", dst]); self.history.append((self.n, ["DEL", dst], [dst]))
            if mem:
                self.both(["RPUSH", dst] + mem); self.history.append((self.n, ["RPUSH", dst] + mem, [dst]))
        if kind == "xadd_star":
            self.both(["DEL", keys[0]])
            self.history.append((self.n, ["DEL", keys[0]], [keys[0]]))
        return True

    def is_known(self, args, rr, sr, note):
        """Names a difference in what Redis leaves unspecified (set aside with
        --skip-unspecified): lex ranges over members with different scores, where a
        skiplist's result depends on its random levels, which existing function a
        FUNCTION LOAD names, a numeric SORT Redis refuses for an errno left over, and
        the order of a RESP3 set handed to a script."""
        c = args[0].upper() if isinstance(args[0], str) else args[0].decode("latin-1").upper()
        # A library whose functions exist already: Redis names the first one its hash
        # table yields.
        if c == "FUNCTION" and rr[0] == sr[0] == "-" and rr[1].startswith(b"ERR Function ") and sr[1].startswith(b"ERR Function ") \
                and rr[1].endswith(b"already exists") and sr[1].endswith(b"already exists"):
            return "function-exists-order"
        if self.lex_mixed[0] is args and self.lex_mixed[1]:
            return "bylex-mixed-scores"
        if c in ("SORT", "SORT_RO") and self.sort_errno(args, rr, sr):
            return "sort-stale-errno"
        # A RESP3 set a script got (redis.setresp(3)) is a Lua table, walked by pairs()
        # in its hash order: redis-server 7.0.15 gives a new order after a restart
        # (three starts, two orders), so the order scripts see is unspecified.
        text = " ".join(x if isinstance(x, str) else x.decode("latin-1") for x in args) + " " + (note or "")
        if "setresp(3)" in text and rr[0] not in "-!" and deep_sort(rr) == deep_sort(sr):
            return "lua-set-order"
        return None

    def sort_errno(self, args, rr, sr):
        """Whether Redis refused a numeric SORT of plain finite numbers: sort.c tests
        `errno == ERANGE` after strtod without clearing errno first, so an ERANGE left by
        an earlier command (ZINCRBY key 1e-320 m) fails every string-encoded weight."""
        if not (rr[0] == "-" and rr[1].endswith(b"can't be converted into double") and sr[0] in "*~"):
            return False
        up = [x.upper() if isinstance(x, str) else x.decode("latin-1").upper() for x in args]
        if "BY" in up or "ALPHA" in up:
            return False
        key = args[1]
        t = self.ref.cmd(["TYPE", key])[1]
        read = {b"list": ["LRANGE", key, "0", "-1"], b"set": ["SMEMBERS", key], b"zset": ["ZRANGE", key, "0", "-1"]}.get(t)
        if read is None:
            return False
        for x in flat(self.ref.cmd(read)):
            if not PLAIN_NUMBER.fullmatch(x[1] or b""):
                return False
            v = float(x[1])
            # glibc's strtod sets ERANGE itself on overflow and on underflow to zero or
            # to a subnormal.
            if not math.isfinite(v) or (v == 0.0 and any(ch in x[1] for ch in b"123456789")) or 0 < abs(v) < 2.2250738585072014e-308:
                return False
        return True

    def lex_source_mixed(self, args):
        """Whether `args` is a lex range over a sorted set whose members do not all have
        one score (looked at before the command runs: ZRANGESTORE may overwrite its source)."""
        c = args[0].upper() if isinstance(args[0], str) else args[0].decode("latin-1").upper()
        up = [x.upper() if isinstance(x, str) else x.decode("latin-1").upper() for x in args]
        if c in ("ZRANGEBYLEX", "ZREVRANGEBYLEX", "ZLEXCOUNT", "ZREMRANGEBYLEX") or (c in ("ZRANGE", "ZRANGESTORE") and "BYLEX" in up):
            key = args[2] if c == "ZRANGESTORE" else args[1]
            r = self.ref.cmd(["ZRANGE", key, "0", "-1", "WITHSCORES"])
            return r[0] == "*" and len(set(repr(x) for x in flat(r)[1::2])) > 1
        return False

    def compare(self, args, norm, rr, sr, sort_it, pre):
        kind = norm["kind"]
        if rr == sr:
            return True, ""
        if rr[0] in "-!" or sr[0] in "-!":
            return False, ""
        if kind in ("unordered",) and sort_it:
            if sort_items(rr) == sort_items(sr):
                return True, ""
            return False, "(after sorting)"
        if kind == "unordered" and args[0] in ("SUNION", "SDIFF", "SINTER") and rr[0] in "*~" \
                and len(rr[1] or ()) > self.intset_limit():
            # A result past set-max-intset-entries is a hash table, in an order that
            # depends on the hash seed.
            return (sort_items(rr) == sort_items(sr)), "(after sorting)"
        if kind == "pairs_unordered" and sort_it:
            if sort_pairs(rr) == sort_pairs(sr):
                return True, ""
            return False, "(after sorting pairs)"
        if kind == "sort" and pre:
            up = [x.upper() if isinstance(x, str) else x for x in args]
            if "LIMIT" in up:
                return shape(rr) == shape(sr), "(nondeterministic SORT input order + LIMIT: shape only)"
            return (sort_items(rr) == sort_items(sr)), "(nondeterministic SORT input order: sorted)"
        if kind == "unordered_always" and rr[0] in "*~" and sr[0] in "*~":
            return sort_items(rr) == sort_items(sr), "(sorted)"
        if kind == "pairs_unordered_always":
            return sort_pairs(rr) == sort_pairs(sr), "(pairs sorted)"
        if kind == "cmdtexts":
            return deep_sort(drop_texts(rr)) == deep_sort(drop_texts(sr)), "(own words left out, every array sorted)"
        if kind == "ours":
            return rr[0] == sr[0] and (rr[0] == ":" or rr == sr), "(each server's own value: the reply kind only)"
        if kind == "acl":
            return norm_acl(rr) == norm_acl(sr), "(single-command rules sorted)"
        if kind == "config":
            return config_pairs(rr) == config_pairs(sr), "(pairs sorted; this server's own port, files and directives left out)"
        if kind == "deep_unordered":
            return deep_sort(rr) == deep_sort(sr), "(every array sorted)"
        if kind == "scan":
            return self.compare_scan(args, rr, sr, sort_it)
        if kind == "keys":
            if args[0] == "KEYS":
                return (sort_items(rr) == sort_items(sr)), "(after sorting)"
            # SCAN 0 COUNT 1000: compare elements sorted, ignore cursor
            try:
                a = sort_items(rr[1][1]); b = sort_items(sr[1][1])
                return (a == b and sr[1][0][1] == b"0" and rr[1][0][1] == b"0"), "(scan keys sorted)"
            except Exception:
                return False, "(scan shape)"
        if kind == "randomkey":
            if rr[0] == "$" and sr[0] == "$" and rr[1] is not None and sr[1] is not None:
                ex = self.ref.cmd(["EXISTS", sr[1]])
                return ex == (":", 1), "(randomkey validity)"
            return False, ""
        if kind in ("ttl", "pttl", "exptime"):
            if rr[0] == ":" and sr[0] == ":":
                tol = 1 if kind == "ttl" or (kind == "exptime" and args[0] == "EXPIRETIME") else 1500
                if rr[1] < 0 or sr[1] < 0:
                    return rr[1] == sr[1], ""
                return abs(rr[1] - sr[1]) <= tol, "(ttl tolerance %d)" % tol
            return False, ""
        if kind == "xinfo":
            return norm_xinfo(rr) == norm_xinfo(sr), "(after xinfo time normalization)"
        if kind == "xpending":
            return norm_xpending(rr) == norm_xpending(sr), "(after idle normalization)"
        if kind in ("random", "spop"):
            return self.validate_random(args, norm, rr, sr, pre)
        if kind == "xadd_star":
            return (rr[0] == sr[0] == "$" and rr[1] is not None and sr[1] is not None), "(xadd * id)"
        return False, ""

    def compare_scan(self, args, rr, sr, sort_it):
        if not sort_it:
            return False, ""
        # full iteration on both, compare sorted element sets
        def full(conn):
            cur = b"0"
            elems = []
            for _ in range(1000):
                a = list(args)
                a[2] = cur
                r = conn.cmd(a)
                if r[0] != "*":
                    return r
                cur = r[1][0][1]
                elems += list(r[1][1][1])
                if cur == b"0":
                    break
            if args[0] in ("HSCAN", "ZSCAN"):
                pairs = sorted(set((elems[i], elems[i + 1]) for i in range(0, len(elems), 2)), key=skey)
                return pairs
            return sorted(set(elems), key=skey)
        a, b = full(self.ref), full(self.sut)
        return a == b, "(full scan, sorted)"

    def source(self, key, rtype):
        if rtype == "set":
            r = self.ref.cmd(["SMEMBERS", key])
            if r[0] == "-":
                return None
            return {"members": [x[1] for x in flat(r)]}
        if rtype == "hash":
            r = self.ref.cmd(["HGETALL", key])
            if r[0] == "-":
                return None
            f = flat(r)
            if len(f) % 2:
                print("ODD", key, r)
            return {"members": [f[i][1] for i in range(0, len(f), 2)], "vals": {f[i][1]: f[i + 1] for i in range(0, len(f), 2)}}
        if rtype == "zset":
            r = self.ref.cmd(["ZRANGE", key, "0", "-1", "WITHSCORES"])
            if r[0] == "-":
                return None
            f = flat(r)
            if len(f) % 2:
                print("ODD", key, r)
            return {"members": [f[i][1] for i in range(0, len(f), 2)], "vals": {f[i][1]: f[i + 1] for i in range(0, len(f), 2)}}

    def validate_random(self, args, norm, rr, sr, pre):
        if shape(rr) != shape(sr):
            return False, "(shape differs)"
        if pre is None:
            return False, ""
        mem = pre["members"]
        withv = any(isinstance(x, str) and x.upper() in ("WITHVALUES", "WITHSCORES") for x in args[2:])
        if sr[0] == "$":
            return (sr[1] in mem), "(random single member validity)"
        if sr[0] not in "*~":
            return False, ""
        f = flat(sr)
        if withv:
            names = [f[i][1] for i in range(0, len(f), 2)]
            for i in range(0, len(f), 2):
                if pre.get("vals", {}).get(f[i][1]) != f[i + 1]:
                    return False, "(random value mismatch)"
        else:
            names = [x[1] for x in f]
        if any(n not in mem for n in names):
            return False, "(random member not in collection)"
        try:
            count = int(args[2])
        except Exception:
            count = None
        if args[0] == "SPOP" or (count is not None and count > 0):
            if len(set(names)) != len(names):
                return False, "(random: duplicates with positive count)"
        return True, ""

    def sort_nondet(self, args):
        """True when redis' SORT output order depends on hash-table iteration order."""
        key = args[1]
        t = self.ref.cmd(["TYPE", key])[1]
        enc = self.enc(key)
        up = [x.upper() if isinstance(x, str) else x for x in args]
        by = None
        for i, x in enumerate(up[:-1]):
            if x == "BY":
                by = args[i + 1]
        nosort = by is not None and b"*" not in by
        bypat = by is not None and b"*" in by
        alpha = "ALPHA" in up
        if t == b"set" and enc == "hashtable" and (nosort or (bypat and alpha)):
            return True
        if t == b"zset" and bypat and alpha:
            return True
        return False

    def resync_set(self, key):
        r = self.ref.cmd(["SMEMBERS", key])
        mem = [x[1] for x in flat(r)] if r[0] in "*~" else []
        self.both(["DEL", key])
        self.history.append((self.n, ["DEL", key], [key]))
        if mem:
            self.both(["SADD", key] + mem)
            self.history.append((self.n, ["SADD", key] + mem, [key]))

    def content(self, conn, key):
        t = conn.cmd(["TYPE", key])[1]
        if t == b"string":
            return [t, conn.cmd(["GET", key])]
        if t == b"list":
            return [t, conn.cmd(["LRANGE", key, "0", "-1"])]
        if t == b"set":
            return [t, sort_items(conn.cmd(["SMEMBERS", key]))]
        if t == b"zset":
            return [t, conn.cmd(["ZRANGE", key, "0", "-1", "WITHSCORES"])]
        if t == b"hash":
            return [t, sort_pairs(conn.cmd(["HGETALL", key]))]
        if t == b"stream":
            return [t, conn.cmd(["XRANGE", key, "-", "+"]), norm_xinfo(conn.cmd(["XINFO", "STREAM", key, "FULL"]))]
        return [t]

    def run_dumprt(self, args, keys):
        src, dst = args[1], args[2]
        ht = self.any_ht([src])
        self.history.append((self.n, ["DUMP", src], [src]))
        pr, ps = self.both(["DUMP", src])
        # A stream's payload holds delivery and seen times, which may be a millisecond
        # apart: one of the same length is judged by what it restores to, below.
        timed = self.enc(src) == "stream" and pr[0] == ps[0] == "$" and len(pr[1] or b"") == len(ps[1] or b"")
        if pr != ps and not ht and not timed:
            # compare exactly the payloads when encoding is deterministic
            self.record(["DUMP", src], pr, ps, "(DUMP payload differs; ref enc=%s)" % self.enc(src), [src])
            return False
        if pr[0] != "$" or pr[1] is None:
            return True
        # ferrodis must accept redis payload
        ra = ["RESTORE", dst, "0", pr[1], "REPLACE"]
        self.history.append((self.n, ra, [dst]))
        rr, sr = self.both(ra)
        if rr != sr:
            self.record(ra, rr, sr, "(RESTORE of redis DUMP payload)", [src, dst])
            return False
        cr, cs = self.content(self.ref, dst), self.content(self.sut, dst)
        if cr != cs:
            self.record(ra, ("+", repr(cr).encode()), ("+", repr(cs).encode()), "(content after RESTORE differs)", [src, dst])
            return False
        # redis must accept ferrodis payload with same content
        if ps[0] == "$" and ps[1] is not None:
            r = self.ref.cmd(["RESTORE", "__tmp", "0", ps[1], "REPLACE"])
            if r != ("+", b"OK"):
                self.record(["DUMP", src], pr, ps, "(redis cannot RESTORE ferrodis DUMP payload: %s)" % fmt(r), [src])
                self.ref.cmd(["DEL", "__tmp"])
                return False
            c1, c2 = self.content(self.ref, "__tmp"), self.content(self.ref, src)
            self.ref.cmd(["DEL", "__tmp"])
            if c1 != c2:
                self.record(["DUMP", src], pr, ps, "(ferrodis DUMP payload restores to different content in redis)", [src])
                return False
        return True

    def run_fdump(self, args):
        """FUNCTION DUMP lists libraries in hash order: when the payloads differ, each
        server must restore the other's to the same libraries."""
        self.history.append((self.n, args, ["*functions*"]))
        pr, ps = self.both(args)
        if pr == ps:
            return True
        if pr[0] != "$" or ps[0] != "$" or pr[1] is None or ps[1] is None:
            self.record(args, pr, ps, "(FUNCTION DUMP)", ["*functions*"])
            return False
        listing = ["FUNCTION", "LIST", "WITHCODE"]
        before = deep_sort(self.ref.cmd(listing))
        for conn, payload in ((self.sut, pr[1]), (self.ref, ps[1])):
            r = conn.cmd(["FUNCTION", "RESTORE", payload, "REPLACE"])
            if r != ("+", b"OK") or deep_sort(conn.cmd(listing)) != before:
                self.record(args, pr, ps, "(FUNCTION DUMP payload restores differently on port %d: %s)" % (conn.port, fmt(r)), ["*functions*"])
                return False
        return True

    def run_multi(self):
        items = []
        for _ in range(self.rnd.randint(1, 5)):
            fam = self.rnd.choices(self.fams, self.weights)[0]
            if fam == "session":
                continue
            args, norm = FAMILIES[fam][0](self.g)
            if args == "SEQ":
                args, norm = norm["seq"][-1]
            if norm["kind"] in ("exact",) and args[0] not in ("DUMPRT", "BLPOP", "BRPOP", "BLMOVE"):
                items.append((args, norm))
        if self.rnd.random() < 0.2:
            items.insert(self.rnd.randint(0, len(items)), (self.rnd.choice([["SET"], ["NOSUCH"], ["MULTI"], ["WATCH", "k0"], ["LPUSH", "k1"]]), N(keys=[])))
        seq = []
        if self.rnd.random() < 0.15:
            seq.append(["WATCH", self.rnd.choice(KEYS)])
        seq.append(["MULTI"])
        seq += [a for a, _ in items]
        seq.append([self.rnd.choice(["EXEC"] * 9 + ["DISCARD"])])
        allkeys = [k for _, n in items for k in n.get("keys", [])]
        for a in seq:
            self.stats["MULTI/EXEC-block"] = self.stats.get("MULTI/EXEC-block", 0) + (a[0] == "MULTI")
            rr, sr = self.both(a)
            self.history.append((self.n, a, allkeys + ["*multi*"]))
            if sr[0] == "EXC" or rr != sr:
                self.record(a, rr, sr, "(in MULTI block: %s)" % " | ".join(cli_line(x) for x in seq), allkeys + ["*multi*"])
                return False
        return True

    def run(self):
        t0 = time.time()
        while self.n < self.a.count:
            self.n += 1
            if self.rnd.random() < self.a.flush_prob:
                self.both(["FLUSHALL"])
                self.history = []
                self.g.xid = 1
                continue
            if self.rnd.random() < 0.03:
                self.run_multi()
                continue
            fam = self.rnd.choices(self.fams, self.weights)[0]
            if fam == "session":
                run_session(self)
                continue
            args, norm = FAMILIES[fam][0](self.g)
            try:
                if args == "SEQ":
                    for a2, n2 in norm["seq"]:
                        if not self.run_one(a2, n2):
                            break
                    continue
                self.run_one(args, norm)
            except BothClosed:
                self.reconnect_all()
            except (ProtoError, socket.timeout) as e:
                # A reply still owed would shift every later one: start both over on new
                # connections, once each server answers again.
                self.reconnect_all()
                self.record(args, ("?", "ref error"), ("EXC", str(e)), "protocol/timeout", norm.get("keys", []))
        dt = time.time() - t0
        self.compare_stats()
        return dt

    def compare_stats(self):
        """After the run: both servers must have counted errors under the same codes and
        calls under the same command names (the counts differ by the lookups sent to
        redis-server alone)."""
        def names(conn, section, prefix):
            r = conn.cmd(["INFO", section])
            text = r[1].decode("latin-1") if r[0] in "$=" else ""
            return {ln.split(":")[0] for ln in text.split("\r\n") if ln.startswith(prefix)}
        for section, prefix in (("errorstats", "errorstat_"), ("commandstats", "cmdstat_")):
            a, b = names(self.ref, section, prefix), names(self.sut, section, prefix)
            if a != b:
                self.record(["INFO", section], ("+", repr(sorted(a - b)).encode()), ("+", repr(sorted(b - a)).encode()),
                            "(names counted by one server only: ref-only, then sut-only)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ref-port", type=int, default=7401)
    ap.add_argument("--sut-port", type=int, default=7402)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=5000)
    ap.add_argument("--resp3", action="store_true")
    ap.add_argument("--out", default=None)
    ap.add_argument("--families", default=None)
    ap.add_argument("--flush-prob", type=float, default=0.004)
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--own-order", action="store_true",
                    help="sessions: compare where a connection's own pushes fall around its replies")
    ap.add_argument("--dirty", action="store_true",
                    help="compare INFO rdb_changes_since_last_save around every command (start both "
                         "servers with save \"\" and leave out the admin family)")
    ap.add_argument("--lookups", action="store_true",
                    help="also compare the keyspace hits and misses each command counts")
    ap.add_argument("--skip-unspecified", dest="known", action="store_true",
                    help="count, not record, differences in results Redis leaves unspecified")
    ap.add_argument("--replay-session", default=None, metavar="FILE:LINE",
                    help="run again the session of a mismatch record (line numbers from 0), printing what differs")
    args = ap.parse_args()
    if args.replay_session:
        path, _, line = args.replay_session.rpartition(":")
        rec = json.loads(open(path).readlines()[int(line)])
        args.families = "session"
        args.verbose_session = True
        f = Fuzzer(args)
        run_session(f, rec)
        for m in f.mismatches:
            print("\n".join(m["history"]))
            print("ref:", m["ref"])
            print("sut:", m["sut"])
        print("mismatches=%d" % len(f.mismatches))
        return
    f = Fuzzer(args)
    dt = f.run()
    print("seed=%d resp3=%s commands=%d mismatches=%d unspecified=%s time=%.1fs" % (args.seed, args.resp3, f.n, len(f.mismatches), f.known_counts, dt))
    if args.out:
        with open(args.out + ".stats.json", "a") as fh:
            fh.write(json.dumps({"seed": args.seed, "resp3": args.resp3, "n": f.n, "mismatches": len(f.mismatches), "known": f.known_counts, "stats": f.stats}) + "\n")


if __name__ == "__main__":
    main()
