#!/bin/bash
# small-collections.sh PORT : requests per second of commands on 100 small collections
# (-r 100: keys and members drawn from 100 values, so lists, hashes and sorted sets stay
# in their listpack encodings), redis-benchmark -P 16, load pinned to CPU 1. Run it
# against each server in turn, alternating, and compare the same column.
p=$1
redis-cli -p $p flushall >/dev/null
run() { timeout 60 taskset -c 1 redis-benchmark -p $p -n 200000 -P 16 -r 100 -q "$@" 2>&1 | tr '\r' '\n' | tail -1 | sed 's/ requests per second.*//; s/.*: //'; }
echo -n "$p"
for c in "sadd s:__rand_int__ m:__rand_int__" "sismember s:__rand_int__ m:__rand_int__" \
    "hset h:__rand_int__ f:__rand_int__ __rand_int__" "hincrby hc:__rand_int__ f:__rand_int__ 1" \
    "hget h:__rand_int__ f:__rand_int__" "lpush l:__rand_int__ e:__rand_int__" "lrange l:__rand_int__ 0 9" \
    "zadd z:__rand_int__ __rand_int__ m:__rand_int__" "zincrby z:__rand_int__ 1 m:__rand_int__" \
    "zrange z:__rand_int__ 0 9 withscores" "zrevrange z:__rand_int__ 0 4" "zrank z:__rand_int__ m:__rand_int__" \
    "hgetall h:__rand_int__" "srem s:__rand_int__ m:__rand_int__" "hdel h:__rand_int__ f:__rand_int__"; do
  name=${c%% *}
  echo -n " $name=$(run $c | cut -d. -f1)"
done
echo
