#!/usr/bin/env python3
"""CONFIG SET of every parameter to a range of values, on two servers.

    python3 tools/config-set.py REF_PORT SUT_PORT

For each parameter CONFIG GET * lists on the reference (but those that move the
server, its files or its clients: port, dir, bind, appendonly, requirepass, ...),
sets it to each value below on both servers, and compares the two replies and what
CONFIG GET shows afterwards. Each parameter gets its old value back. Prints the
differences, then how many."""
import socket
import sys

VALUES = ["yes", "no", "0", "1", "-1", "100", "1k", "1kb", "2mb", "1g", "3GB", "10%", "50%", "abc", "",
          "  5 ", "1.5", "9223372036854775807", "-5", "0x10", "allkeys-lru", "KEA", "debug", "warning",
          "notice", "everysec", "always", "1 2", "on", "off", "default"]

SKIP = {"port", "dir", "daemonize", "logfile", "pidfile", "bind", "unixsocket", "replicaof", "slaveof",
        "appendonly", "tls-port", "cluster-enabled", "io-threads", "requirepass", "masterauth", "aclfile",
        "dbfilename", "appendfilename", "appenddirname", "cluster-config-file", "bind-source-addr",
        "enable-debug-command", "enable-protected-configs", "enable-module-command", "save", "maxclients",
        "syslog-enabled", "supervised", "tls-cluster", "tls-replication", "maxmemory-clients", "timeout"}


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.f = self.s.makefile("rb")

    def cmd(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a.encode() if isinstance(a, str) else a
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.s.sendall(out)
        return self.read()

    def read(self):
        line = self.f.readline()
        t = line[:1]
        if t in (b"+", b"-", b":"):
            return line.rstrip()
        if t == b"$":
            n = int(line[1:])
            return None if n < 0 else self.f.read(n + 2)[:-2]
        if t == b"*":
            return [self.read() for _ in range(int(line[1:]))]
        raise RuntimeError("unexpected reply %r" % line)


def main():
    ref, sut = Conn(int(sys.argv[1])), Conn(int(sys.argv[2]))
    names = [n.decode() for n in ref.cmd("CONFIG", "GET", "*")[0::2]]
    diffs = 0
    for name in names:
        if name in SKIP:
            continue
        old = {c: c.cmd("CONFIG", "GET", name)[1] for c in (ref, sut)}
        for v in VALUES:
            got = [(c.cmd("CONFIG", "SET", name, v), c.cmd("CONFIG", "GET", name)) for c in (ref, sut)]
            if got[0] != got[1]:
                diffs += 1
                print("%s %r\n  ref: %s\n  sut: %s" % (name, v, got[0], got[1]))
        for c in (ref, sut):
            if old[c] is not None:
                c.cmd("CONFIG", "SET", name, old[c])
    print("differences=%d" % diffs)


if __name__ == "__main__":
    main()
