#!/usr/bin/env python3
"""SORT ... BY ... LIMIT among equal weights, on two servers.

    python3 tools/sort-ties.py REF_PORT SUT_PORT [SEED]

Fills a list of 3-300 elements with duplicates and weight keys w_<element> drawn
from three values (or missing), then compares SORT l BY w_* LIMIT start count ALPHA
[DESC] on both servers, 2,000 cases. Both servers are flushed."""
import random
import socket
import sys


def conn(p):
    s = socket.create_connection(("127.0.0.1", p))
    return s, s.makefile("rb")


def cmd(c, *a):
    s, f = c
    args = [y.encode() if isinstance(y, str) else y for y in a]
    s.sendall(b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(x), x) for x in args))
    return rd(f)


def rd(f):
    line = f.readline()
    if line[:1] == b"*":
        return [rd(f) for _ in range(int(line[1:]))]
    if line[:1] == b"$":
        n = int(line[1:])
        return None if n < 0 else f.read(n + 2)[:-2]
    return line.strip()


A = conn(int(sys.argv[1]))
B = conn(int(sys.argv[2]))
rnd = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 5)
bad = 0
N = 0
for t in range(400):
    for c in (A,B): cmd(c,"FLUSHALL")
    n=rnd.choice([3,8,12,30,41,60,100,300])
    els=[str(rnd.randint(0,n)) for _ in range(n)]
    ws={}
    for e in sorted(set(els)):
        if rnd.random()<0.6: ws[e]=rnd.choice(["a","b","c"])
    for c in (A,B):
        cmd(c,"RPUSH","l",*els)
        for k,v in ws.items(): cmd(c,"SET","w_"+k,v)
    for q in range(5):
        st=rnd.randint(-2,n+2); cnt=rnd.randint(-1,n)
        args=["SORT","l","BY","w_*","LIMIT",str(st),str(cnt),"ALPHA"]+(["DESC"] if rnd.random()<0.5 else [])
        ra=cmd(A,*args); rb=cmd(B,*args); N+=1
        if ra!=rb:
            bad+=1
            if bad<4: print(args, n, ra[:10], rb[:10])
print("cases",N,"diffs",bad)
