#!/usr/bin/env bash
# Side-by-side stream throughput and memory: ferrodis (PORT_A) against a reference
# redis-server (PORT_B), both already running and pinned by the caller.
#   tools/stream-bench.sh PORT_A PORT_B [ROUNDS]
# Per round and pipeline depth (1, 16): XADD to one stream, XADD to random streams
# (-r 100000), XRANGE of 100 entries; A then B each time. Then bytes per entry of a
# 1M-entry stream (RSS delta of the server process) on each.
set -euo pipefail
A=$1 B=$2 ROUNDS=${3:-3}
N=${N:-500000}
CLIENT_CPU=${CLIENT_CPU:-1}
bench() { # port pipeline args...
    local p=$1 pl=$2; shift 2
    taskset -c "$CLIENT_CPU" redis-benchmark -p "$p" -c 50 -n "$N" -P "$pl" -q "$@" 2>/dev/null |
        tr '\r' '\n' | grep -oE '[0-9.]+ requests per second' | tail -1 | cut -d' ' -f1
}
pid_of() { redis-cli -p "$1" info server | tr -d '\r' | awk -F: '/^process_id/{print $2}'; }
cpu_ticks() { awk '{print $14 + $15}' /proc/"$1"/stat; }
prep() { # port
    redis-cli -p "$1" flushall >/dev/null
    for i in $(seq 1 1000); do echo "XADD r * f v$i"; done | redis-cli -p "$1" >/dev/null
}
for pl in 1 16; do
    for r in $(seq 1 "$ROUNDS"); do
        for t in xadd1 xaddr xrange100; do
            for p in $A $B; do
                prep "$p"
                pid=$(pid_of "$p"); c0=$(cpu_ticks "$pid")
                case $t in
                    xadd1) v=$(bench "$p" "$pl" XADD s '*' f v) ;;
                    xaddr) v=$(bench "$p" "$pl" -r 100000 XADD 's:__rand_int__' '*' f v) ;;
                    xrange100) v=$(bench "$p" "$pl" XRANGE r - + COUNT 100) ;;
                esac
                c1=$(cpu_ticks "$pid")
                us=$(awk -v d=$((c1 - c0)) -v n="$N" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.3f", d / hz * 1e6 / n}')
                echo "P$pl round$r $t port$p rps=$v cpu_us_per_req=$us"
            done
        done
    done
done
rss() { local pid; pid=$(pid_of "$1"); awk '/VmRSS/{print $2*1024}' /proc/"$pid"/status; }
for p in $A $B; do
    redis-cli -p "$p" flushall >/dev/null; sleep 1
    before=$(rss "$p")
    python3 -c '
import sys
out = sys.stdout.buffer
for i in range(1000000):
    out.write(b"*5\r\n$4\r\nXADD\r\n$3\r\nbig\r\n$1\r\n*\r\n$1\r\nf\r\n$1\r\nv\r\n")
' | redis-cli -p "$p" --pipe >/dev/null
    sleep 1
    after=$(rss "$p")
    echo "port$p entries=$(redis-cli -p "$p" xlen big) bytes_per_entry=$(( (after - before) / 1000000 )) memory_usage=$(redis-cli -p "$p" memory usage big)"
done
