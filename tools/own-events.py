#!/usr/bin/env python3
"""Where a connection's own keyspace events fall around its replies, on two servers.

    python3 tools/own-events.py REF_PORT SUT_PORT [FLAGS]

For each write command below, on a fresh dataset with notify-keyspace-events FLAGS
(default KEA; KEAn adds the events of created keys),
runs it on a connection subscribed to every keyevent channel of db 0: in RESP2 as
MULTI; PSUBSCRIBE __keyevent@0__:*; <command>; EXEC, and in RESP3 as HELLO 3;
PSUBSCRIBE ...; <command>. Prints the commands whose bytes differ between the two
servers (stream ids masked), then how many matched. Both servers are flushed."""
import re
import socket
import sys
import time

COMMANDS = """
LPUSH n1 a
XADD n1 * f v
XGROUP CREATE n1 g 0 MKSTREAM
SADD n1 a
HSET n1 f v
SET n1 v
ZADD n1 1 a
INCR n1
APPEND n1 x
SETRANGE n1 1 x
GEOADD n1 1 1 a
PFADD n1 a
SETBIT n1 1 1
LMOVE l n1 LEFT RIGHT
COPY src n1
SORT l ALPHA STORE n1
ZUNIONSTORE n1 1 z
SUNIONSTORE n1 s
BITOP OR n1 src
RENAME src n1
GETSET n1 v
SETNX n1 v
MSET n1 v n2 w
HINCRBY n1 f 1
ZINCRBY n1 1 m
SMOVE s n1 x
LPUSHX l z
HSETNX n1 f v
INCRBYFLOAT n1 1.5
XADD n1 NOMKSTREAM * f v
ZRANGESTORE n1 z 0 -1
GEOSEARCHSTORE n1 z FROMLONLAT 0 0 BYRADIUS 1 km
PFMERGE n1 src
RESTORE n1 0 x
SET src 2 GET
GETEX src PX 100
BLMOVE l n1 LEFT RIGHT 0
BRPOPLPUSH l n1 0
BITFIELD n1 SET u8 0 1
DEL l
EXPIRE l 100
LPOP l
SPOP s
ZPOPMIN z
RPOPLPUSH l n1
SADD s y
SREM s x
HDEL h f
ZREM z m
LREM l 0 a
LSET l 0 q
LTRIM l 0 0
LINSERT l BEFORE a q
RPUSH l q
RPUSHX l q
RPOP l
HMSET n1 f v
HINCRBYFLOAT n1 f 1.5
ZINTERSTORE n1 1 z
ZDIFFSTORE n1 1 z
SINTERSTORE n1 s
SDIFFSTORE n1 s
ZREMRANGEBYRANK z 0 0
ZREMRANGEBYSCORE z 0 10
ZREMRANGEBYLEX z - +
ZPOPMAX z
ZMPOP 1 z MIN
LMPOP 1 l LEFT
SINTERCARD 1 s
SET n1 v EX 100
SETEX n1 100 v
PSETEX n1 100000 v
GETDEL src
GETEX src PERSIST
GETEX src EX 100
PERSIST src
PEXPIRE src 100000
EXPIREAT src 99999999999
INCRBY src 2
DECR src
DECRBY src 2
MSETNX n1 v n2 w
MOVE src 1
UNLINK src
RENAMENX src n1
XADD x * f v
XDEL x 1-1
XTRIM x MAXLEN 0
XSETID x 0-1
XGROUP CREATE x g $ MKSTREAM
XGROUP CREATECONSUMER x g c
SETRANGE src 0 abc
PFMERGE n1 n1
PFCOUNT src
GEOSEARCHSTORE n1 z FROMLONLAT 0 0 BYRADIUS 1000 km
FLUSHDB
SWAPDB 0 1
EXPIRE src 0
SET src v KEEPTTL
SET src v GET
GETSET src w
LPUSH l2 a b c
HSET h f2 v2
"""


def enc(args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode() if isinstance(a, str) else a
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def drain(s):
    """What the server sent until it has been quiet for a moment."""
    out = b""
    s.settimeout(0.1)
    while True:
        try:
            d = s.recv(65536)
        except socket.timeout:
            return out
        if not d:
            return out
        out += d


def run(port, cmd, resp3, flags):
    s = socket.create_connection(("127.0.0.1", port))
    setup = [["FLUSHALL"], ["CONFIG", "SET", "notify-keyspace-events", flags], ["SET", "src", "1"],
             ["RPUSH", "l", "a", "b"], ["HSET", "h", "f", "v"], ["XADD", "x", "1-1", "f", "v"],
             ["SADD", "s", "x"], ["ZADD", "z", "1", "m"]]
    s.sendall(b"".join(enc(a) for a in setup))
    time.sleep(0.05)
    drain(s)
    sub = enc(["PSUBSCRIBE", "__keyevent@0__:*"])
    if resp3:
        s.sendall(enc(["HELLO", "3"]))
        time.sleep(0.02)
        drain(s)
        s.sendall(sub + enc(cmd) + enc(["PUNSUBSCRIBE"]))
    else:
        s.sendall(enc(["MULTI"]) + sub + enc(cmd) + enc(["EXEC"]) + enc(["PUNSUBSCRIBE"]))
    time.sleep(0.05)
    out = drain(s)
    s.close()
    return re.sub(rb"\d{10,}-\d+", b"ID", out)


def main():
    ref, sut = int(sys.argv[1]), int(sys.argv[2])
    flags = sys.argv[3] if len(sys.argv) > 3 else "KEA"
    cmds = [ln.split() for ln in COMMANDS.strip().splitlines()]
    same = 0
    for cmd in cmds:
        diff = [p for p in (False, True) if run(ref, cmd, p, flags) != run(sut, cmd, p, flags)]
        if diff:
            print("differs (%s): %s" % ("/".join("RESP3" if p else "RESP2" for p in diff), " ".join(cmd)))
        else:
            same += 1
    print("same=%d of %d" % (same, len(cmds)))


if __name__ == "__main__":
    main()
