#!/bin/bash
# bench-scripts.sh PORT_A PORT_B [ROUNDS] : redis-benchmark throughput of scripts against
# two running servers, A then B per test, 50 clients, pipeline 16 (-n N16, default
# 1000000) and pipeline 1 (-n N1, default 200000): EVAL and EVALSHA of a one-line
# script (INCR of one key), and EVAL and EVALSHA of a 50-line script (a rate limiter
# plus a job record: string, hash, list and sorted set calls, loops and string work).
# Prints rps of each and A/B (median over ROUNDS, default 3). Both servers on CPU 0,
# the load generator on CPU 1.
set -u
A=$1 B=$2 ROUNDS=${3:-3}
N1=${N1:-200000} N16=${N16:-1000000}
SMALL="return redis.call('incr',KEYS[1])"
read -r -d '' BIG <<'LUA'
-- KEYS[1]: limiter hash, KEYS[2]: job hash, KEYS[3]: queue list, KEYS[4]: index zset
-- ARGV[1]: job id, ARGV[2]: limit, ARGV[3]: payload
local limiter, job, queue, index = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local id = ARGV[1]
local limit = tonumber(ARGV[2])
local payload = ARGV[3]
local used = redis.call('hincrby', limiter, 'used', 1)
if used > limit then
  redis.call('hset', limiter, 'used', 0)
  redis.call('hincrby', limiter, 'windows', 1)
  used = 1
end
local parts = {}
for word in string.gmatch(payload, '[^,]+') do
  parts[#parts + 1] = string.upper(word)
end
local checksum = 0
for i = 1, #payload do
  checksum = (checksum * 31 + string.byte(payload, i)) % 1000000007
end
local fields = {
  'id', id,
  'parts', table.concat(parts, ':'),
  'checksum', tostring(checksum),
  'used', tostring(used),
}
redis.call('hset', job, unpack(fields))
local n = redis.call('rpush', queue, id)
if n > 100 then
  redis.call('ltrim', queue, -100, -1)
end
redis.call('zadd', index, checksum % 1000, id)
local count = redis.call('zcard', index)
if count > 200 then
  redis.call('zremrangebyrank', index, 0, count - 201)
end
local head = redis.call('lindex', queue, 0)
local seen = redis.call('hget', job, 'parts')
local result = {}
result[1] = used
result[2] = n
result[3] = count
result[4] = head or ''
result[5] = seen
if #parts > 2 then
  result[6] = parts[1] .. parts[#parts]
else
  result[6] = 'short'
end
return result
LUA
[ "$(printf '%s\n' "$BIG" | wc -l)" -ge 50 ] || { echo "the big script should have 50 lines" >&2; exit 1; }
declare -A PID SHA_S SHA_B
for p in "$A" "$B"; do
  PID[$p]=$(redis-cli -p "$p" info server | awk -F: '/^process_id/{print $2+0}')
  taskset -apc 0 "${PID[$p]}" >/dev/null
  redis-cli -p "$p" flushall >/dev/null
  SHA_S[$p]=$(redis-cli -p "$p" script load "$SMALL")
  SHA_B[$p]=$(redis-cli -p "$p" script load "$BIG")
done
rps() { # port pipeline n command...
  local p=$1 pl=$2 n=$3; shift 3
  # The test name (the command) may hold commas and newlines: rps is the field after
  # the name on the last line.
  taskset -c 1 redis-benchmark -p "$p" -c 50 -P "$pl" -n "$n" -r 100000 --csv "$@" 2>/dev/null |
    tail -n 1 | awk -F'","' '{print int($2)}'
}
median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
bench() { # name pipeline n (command built per port by cmd_for)
  local name=$1 pl=$2 n=$3 ra=() rb=()
  for _ in $(seq "$ROUNDS"); do
    ra+=("$(rps "$A" "$pl" "$n" $(cmd_for "$name" "$A"))")
    rb+=("$(rps "$B" "$pl" "$n" $(cmd_for "$name" "$B"))")
  done
  local ma mb
  ma=$(printf "%s\n" "${ra[@]}" | median); mb=$(printf "%s\n" "${rb[@]}" | median)
  printf "%-14s %10s %10s %6.2f\n" "$name" "$ma" "$mb" "$(awk -v a="$ma" -v b="$mb" 'BEGIN{print (b>0)?a/b:0}')"
}
cmd_for() { # name port -> the benchmark's command words (script bodies go through files)
  case $1 in
    EVAL) echo "eval $SMALL_ARG 1 counter:__rand_int__" ;;
    EVALSHA) echo "evalsha ${SHA_S[$2]} 1 counter:__rand_int__" ;;
    EVAL_50) echo "eval $BIG_ARG 4 lim:{x} job:__rand_int__ q:{x} idx:{x} j:__rand_int__ 50 a,bb,ccc,dddd" ;;
    EVALSHA_50) echo "evalsha ${SHA_B[$2]} 4 lim:{x} job:__rand_int__ q:{x} idx:{x} j:__rand_int__ 50 a,bb,ccc,dddd" ;;
  esac
}
# redis-benchmark takes each word as an argument; the script bodies must be one word
# each, so they are passed with their spaces turned into a character Lua ignores
# (\v is whitespace to Lua's lexer) and split on spaces and tabs only.
SMALL_ARG=${SMALL// /$'\v'}
BIG_ARG=$(printf '%s' "$BIG" | tr ' ' '\v')
IFS=$' \t'
for pl in 16 1; do
  n=$N16; [ "$pl" = 1 ] && n=$N1
  echo "# pipeline $pl, 50 clients, -n $n"
  printf "%-14s %10s %10s %6s\n" test rps_A rps_B A/B
  for t in EVAL EVALSHA EVAL_50 EVALSHA_50; do bench "$t" "$pl" "$n"; done
done
