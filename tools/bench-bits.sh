#!/bin/bash
# bench-bits.sh PORT_A PORT_B [ROUNDS] : redis-benchmark throughput of HyperLogLog and
# bitmap loads against two running servers, A then B per test, 50 clients, pipeline 1
# and 16. Prints rps of each and A/B (median over ROUNDS, default 3). Both servers are
# flushed first. PFADD adds random elements to one HLL (it turns dense); the bitmap
# tests spread over 1000 keys of 12.5 KB (redis-benchmark's random numbers are
# zero-padded, which no bit offset parser accepts, so the randomness is in the key).
set -u
A=$1 B=$2 ROUNDS=${3:-3}
N1=${N1:-100000} N16=${N16:-500000}
tests=(
  "PFADD|pfadd hll:{k} __rand_int__"
  "PFCOUNT|pfcount hll:{k}"
  "SETBIT|setbit bits:__rand_int__ 99999 1"
  "GETBIT|getbit bits:__rand_int__ 4242"
  "BITCOUNT|bitcount bits:__rand_int__"
)
# Like bench-throughput.sh: both servers on CPU 0, the load generator on CPU 1. At
# pipeline 1 the load generator is the bottleneck, so the server CPU time per request
# (utime+stime from /proc, all threads) is reported too: cpu_B/cpu_A > 1 means A
# spends less CPU per request.
declare -A PID
for p in "$A" "$B"; do
  PID[$p]=$(redis-cli -p "$p" info server | awk -F: '/^process_id/{print $2+0}')
  taskset -apc 0 "${PID[$p]}" >/dev/null
done
TICK=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
run() { # port pipeline n command... -> "rps cpu_us_per_req"
  local p=$1 pl=$2 n=$3; shift 3
  local t0 r t1
  t0=$(cpu_ticks "${PID[$p]}")
  r=$(rps "$p" "$pl" "$n" "$@")
  t1=$(cpu_ticks "${PID[$p]}")
  echo "$r $(awk -v d=$((t1 - t0)) -v n="$n" -v hz="$TICK" 'BEGIN{printf "%.3f", d*1e6/hz/n}')"
}
rps() { # port pipeline n command...
  local p=$1 pl=$2 n=$3; shift 3
  local r=1000000
  [[ "$*" == *bits:* ]] && r=1000
  taskset -c 1 redis-benchmark -p "$p" -c 50 -P "$pl" -n "$n" -r "$r" --csv "$@" 2>/dev/null |
    awk -F, 'NR==2{gsub(/"/,"",$2); print int($2)}'
}
median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
for p in "$A" "$B"; do redis-cli -p "$p" flushall >/dev/null; done
for pl in 1 16; do
  n=$N1; [ "$pl" = 16 ] && n=$N16
  echo "# pipeline $pl, 50 clients, -n $n"
  printf "%-10s %10s %10s %6s %9s %9s %8s\n" test rps_A rps_B A/B us/req_A us/req_B cpuB/A
  for t in "${tests[@]}"; do
    name=${t%%|*}; cmd=${t#*|}; cmd=${cmd//\{k\}/1}
    ra=(); rb=(); ca=(); cb=()
    for _ in $(seq "$ROUNDS"); do
      read -r x y <<<"$(run "$A" "$pl" "$n" $cmd)"; ra+=("$x"); ca+=("$y")
      read -r x y <<<"$(run "$B" "$pl" "$n" $cmd)"; rb+=("$x"); cb+=("$y")
    done
    ma=$(printf "%s\n" "${ra[@]}" | median); mb=$(printf "%s\n" "${rb[@]}" | median)
    ua=$(printf "%s\n" "${ca[@]}" | median); ub=$(printf "%s\n" "${cb[@]}" | median)
    printf "%-10s %10s %10s %6.2f %9s %9s %8.2f\n" "$name" "$ma" "$mb" \
      "$(awk -v a="$ma" -v b="$mb" 'BEGIN{print (b>0)?a/b:0}')" "$ua" "$ub" \
      "$(awk -v a="$ua" -v b="$ub" 'BEGIN{print (a>0)?b/a:0}')"
  done
done
