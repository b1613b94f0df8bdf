#!/usr/bin/env python3
"""Differential fuzzer for the wire protocol: sends the same damaged requests to a
redis-server and a ferrodis and reports every difference in what comes back.

Each case is one to three harmless requests (PING, ECHO, GET of a missing key,
EXISTS), multibulk or inline, damaged by one to three edits (a byte dropped, replaced
or inserted, a protocol character or number inserted, the rest cut off), sometimes
followed by a well-formed PING. Each case runs on a fresh connection on each server;
the bytes read until the server closes or stays quiet for a moment, and whether it
closed, must be the same. A HELLO's client id is masked.

    tools/proto-fuzz.py --ref-port 7501 --sut-port 7502 --seed 1 --count 2000 [--high]
"""
import argparse
import random
import re
import socket

HARMLESS = [
    [b"PING"],
    [b"PING", b"msg"],
    [b"ECHO", b"hello"],
    [b"ECHO", b"x\r\ny"],
    [b"GET", b"nokey"],
    [b"EXISTS", b"a", b"b"],
]
INSERTS = [b"\0", b"\r", b"\n", b"*", b"$", b"-", b"+", b" ", b'"', b"'", b"\\", b"\t",
           b"\x0b", b"9999999999", b"-1", b"0", b"2147483648", b"1024", b"1025"]


def multibulk(args):
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def exchange(port, data, quiet_s):
    """(bytes read, closed by the server)"""
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(quiet_s)
    out, closed = b"", False
    try:
        s.sendall(data)
        while True:
            d = s.recv(65536)
            if not d:
                closed = True
                break
            out += d
    except socket.timeout:
        pass
    except (ConnectionResetError, BrokenPipeError):
        closed = True
    finally:
        s.close()
    return re.sub(rb"id\r\n:\d+\r\n", b"id\r\n:N\r\n", out), closed


def damage(rng, data, high):
    b = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(4)
        i = rng.randrange(len(b) + 1)
        last = min(i, len(b) - 1)
        if op == 0 and b:
            del b[last]
        elif op == 1:
            b[i:i] = rng.choice(INSERTS)
        elif op == 2 and b:
            b[last] = rng.randrange(256 if high else 128)
        else:
            del b[i:]
    return bytes(b)


def case(rng, high):
    parts = []
    for _ in range(rng.randint(1, 3)):
        args = rng.choice(HARMLESS)
        if rng.random() < 0.6:
            parts.append(multibulk(args))
        else:
            parts.append(b" ".join(args) + rng.choice([b"\r\n", b"\n"]))
    data = damage(rng, b"".join(parts), high)
    if rng.random() < 0.5:
        data += multibulk([b"PING", b"end"])
    return data


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ref-port", type=int, required=True)
    ap.add_argument("--sut-port", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--high", action="store_true", help="also write bytes that are not ASCII")
    ap.add_argument("--quiet-ms", type=int, default=150, help="how long a server may stay quiet")
    ap.add_argument("--max-report", type=int, default=20)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    diffs = 0
    for _ in range(a.count):
        data = case(rng, a.high)
        ref = exchange(a.ref_port, data, a.quiet_ms / 1000)
        sut = exchange(a.sut_port, data, a.quiet_ms / 1000)
        if ref != sut:
            diffs += 1
            if diffs <= a.max_report:
                print(f"request {data!r}\n  ref {ref!r}\n  sut {sut!r}")
    print(f"seed={a.seed} cases={a.count} high={a.high} differences={diffs}")


if __name__ == "__main__":
    main()
