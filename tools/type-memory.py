#!/usr/bin/env python3
"""Bytes per key of typical values of every type, on one or more running servers.

    python3 tools/type-memory.py [--big] PORT [PORT ...]      (needs the redis package)

For each load below: FLUSHALL, INFO used_memory, write N keys through a pipeline,
INFO used_memory again; prints the difference per key. With --big, one key each of
100,000 elements written 1,000 at a time (hash tables, skiplists, big lists and
streams), printing the difference per element. Small collections stay in
their compact encodings (listpack, intset), the larger ones do not. Compare servers
started fresh with the same settings (`list-compress-depth` applies to the `jobs`
load only when the server was started with it)."""
import json
import sys

import redis


def job(i):
    return json.dumps({"class": "Mailer", "args": [i, "user%d" % (i % 100)], "jid": "%024x" % i,
                       "retry": True, "queue": "default"})


LOADS = {
    "str3": (50000, lambda p, i: p.set(f"k:{i}", "val")),
    "str100": (50000, lambda p, i: p.set(f"k:{i}", "v" * 100)),
    "str3_ttl": (50000, lambda p, i: p.set(f"e:{i}", "val", ex=10000)),
    "list5": (50000, lambda p, i: p.rpush(f"l:{i}", *[f"item-{j}" for j in range(5)])),
    "list200": (1000, lambda p, i: p.rpush(f"L:{i}", *[f"e:{j}" for j in range(200)])),
    "hash5": (50000, lambda p, i: p.hset(f"h:{i}", mapping={f"f{j}": f"value{j}" for j in range(5)})),
    "hash1000": (100, lambda p, i: p.hset(f"H:{i}", mapping={f"field:{j}": f"v{j}" for j in range(1000)})),
    "set5": (50000, lambda p, i: p.sadd(f"s:{i}", *[f"member-{j}" for j in range(5)])),
    "intset400": (2000, lambda p, i: p.sadd(f"is:{i}", *range(0, 40000, 100))),
    "zset5": (50000, lambda p, i: p.zadd(f"z:{i}", {f"m{j}": j * 1.5 for j in range(5)})),
    "zset100": (2000, lambda p, i: p.zadd(f"z:{i}", {f"member:{j}": j * 1.5 for j in range(100)})),
    "zset100_int": (2000, lambda p, i: p.zadd(f"z:{i}", {f"member:{j}": j * 1000 for j in range(100)})),
    "hll50": (20000, lambda p, i: p.pfadd(f"hl:{i}", *[f"u{j}" for j in range(50)])),
    "hll1": (50000, lambda p, i: p.pfadd(f"hl:{i}", "u")),
    "geo20": (5000, lambda p, i: p.geoadd(f"g:{i}", [v for j in range(20)
                                                     for v in (13.0 + j * 0.01, 38.0 + j * 0.01, f"p{j}")])),
    "jobs": (1, lambda p, i: [p.rpush("jobs", job(j)) for j in range(100000)]),
}

BIG = {
    "set": (100, lambda p, i: p.sadd("S", *[f"member:{j}" for j in range(i * 1000, i * 1000 + 1000)])),
    "intset": (100, lambda p, i: p.sadd("I", *range(i * 7000, i * 7000 + 7000, 7))),
    "hash": (100, lambda p, i: p.hset("H", mapping={f"field:{j}": f"value:{j}"
                                                    for j in range(i * 1000, i * 1000 + 1000)})),
    "zset": (100, lambda p, i: p.zadd("Z", {f"member:{j}": j * 0.37 for j in range(i * 1000, i * 1000 + 1000)})),
    "zset_int": (100, lambda p, i: p.zadd("Zi", {f"member:{j}": j * 1000 for j in range(i * 1000, i * 1000 + 1000)})),
    "stream": (100, lambda p, i: [p.xadd("X", {"f": "v%d" % j, "g": "w"}) for j in range(1000)]),
    "list": (100, lambda p, i: p.rpush("L", *[f"item:{j}" for j in range(i * 1000, i * 1000 + 1000)])),
}


def main():
    big = "--big" in sys.argv
    loads, per = (BIG, 1000) if big else (LOADS, 1)
    for port in (int(a) for a in sys.argv[1:] if a != "--big"):
        r = redis.Redis(port=port)
        out = []
        for name, (n, load) in loads.items():
            r.flushall()
            before = r.info("memory")["used_memory"]
            p = r.pipeline(transaction=False)
            for i in range(n):
                load(p, i)
                if i % 200 == 199:
                    p.execute()
            p.execute()
            after = r.info("memory")["used_memory"]
            out.append(f"{name}={(after - before) / (n * per):.{1 if big else 0}f}")
        r.flushall()
        print(port, " ".join(out), flush=True)


if __name__ == "__main__":
    main()
