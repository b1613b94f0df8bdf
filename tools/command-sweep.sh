#!/bin/bash
# command-sweep.sh PORT_A PORT_B [FILTER] : one redis-benchmark run per command of a
# broad set (about 120: every data type, scripts, functions, streams, geo, keyspace
# and introspection commands) against two running servers, A then B, 50 clients,
# pipeline 16. Prints per command the rps of each, the server CPU microseconds per
# request of each (utime+stime from /proc, all threads), rps A/B and cpu B/A. FILTER
# (a regular expression) keeps the commands whose names match.
#
# Both servers are flushed and given the same data first: DEBUG POPULATE 100,000
# string keys of 100 bytes, ten 10-field hashes, a 1,000-field hash and 1,000-member
# set, list and sorted set, two overlapping 100-member sets, a 100,000-member sorted
# set, a 100-entry stream with a group, geo points and a function library. Both need
# `enable-debug-command yes`. Like bench-throughput.sh both servers run on CPU 0 and
# the load generator on CPU 1; at pipeline 16 the server is the limit for all but
# the biggest replies, which redis-benchmark's parsing limits (compare cpu there).
# SET=2 runs a second set of about 90 commands instead, on bigger values and
# collections added to the same data: 10 KB and 1 MB strings, a 100,000-element list,
# hash, set, sorted set and HyperLogLog, writes to them, consumer-group commands and
# cheap administrative ones. SET=3 runs a third set of about 90: replies in RESP3
# (names starting r3_, run with redis-benchmark -3), whole 1,000-element replies,
# blocking commands served at once, scans with MATCH and TYPE, SORT, a 10,000-entry
# stream of five fields, a dense HyperLogLog, and administrative commands with long
# replies (CLIENT LIST, CONFIG GET *, INFO sections, ACL, COMMAND DOCS).
# Environment: N (requests per command, default 100000), SET (1, 2 or 3, default 1).
set -u -f
A=$1 B=$2 FILTER=${3:-.}
N=${N:-100000}
SET=${SET:-1}
declare -A PID
TICK=$(getconf CLK_TCK)
for p in "$A" "$B"; do
  PID[$p]=$(redis-cli -p "$p" info server | awk -F: '/^process_id/{print $2+0}')
  taskset -apc 0 "${PID[$p]}" >/dev/null
done
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }

prep() {
  local p=$1
  local c=(redis-cli -p "$p")
  "${c[@]}" flushall >/dev/null
  "${c[@]}" function flush >/dev/null
  "${c[@]}" debug populate 100000 key 100 >/dev/null
  "${c[@]}" eval "
    for i = 1, 10 do
      for f = 1, 10 do redis.call('hset', 'h:' .. i, 'f' .. f, 'v' .. f) end
    end
    for i = 1, 1000 do
      redis.call('hset', 'bigh', 'field:' .. i, 'value:' .. i)
      redis.call('zadd', 'bigz', i, 'member:' .. i)
      redis.call('sadd', 'bigs', 'm:' .. i)
      redis.call('rpush', 'bigl', 'element:' .. i)
    end
    for i = 1, 100 do
      redis.call('sadd', 's1', 'x' .. i)
      redis.call('sadd', 's2', 'x' .. (i + 50))
      redis.call('xadd', 'st', '*', 'f', 'v' .. i)
    end
    for i = 1, 10 do
      redis.call('zadd', 'smz', i, 'm' .. i)
      redis.call('rpush', 'sml', 'e' .. i)
    end
    for i = 1, 50 do
      redis.call('rpush', 'sl', (i * 7919) % 101)
      redis.call('set', 'w_' .. i, 100 - i)
      redis.call('hset', 'o_' .. i, 'f', 'val' .. i)
    end
    for i = 1, 100000 do redis.call('zadd', 'lb', i, 'player:' .. i) end
    for i = 1, 200 do
      redis.call('geoadd', 'bgeo', -10 + (i % 20), 40 + (i / 20) / 10, 'p' .. i)
    end
    redis.call('geoadd', 'geo', 13.361389, 38.115556, 'Palermo', 15.087269, 37.502669, 'Catania')
    redis.call('pfadd', 'hll', 'a', 'b', 'c', 'd', 'e', 'f', 'g')
    redis.call('xgroup', 'create', 'st', 'g1', '0')
    return 1" 0 >/dev/null
  "${c[@]}" function load "#!lua name=sweep
redis.register_function('myget', function(keys, args) return redis.call('get', keys[1]) end)
redis.register_function{function_name='myro', callback=function(keys, args) return redis.call('get', keys[1]) end, flags={'no-writes'}}" >/dev/null
  if [[ $SET == 3 ]]; then
    "${c[@]}" eval "
      for i = 1, 10000 do
        redis.call('xadd', 'bigst', '*', 'name', 'n' .. i, 'age', i, 'city', 'c' .. (i % 50), 'score', i * 1.5, 'tag', 't')
      end
      for i = 1, 100000 do redis.call('zadd', 'pz', i, 'p' .. i) end
      for i = 1, 100000 do redis.call('pfadd', 'hlld', i) end
      local batch = {}
      for j = 1, 100 do batch[j] = 'e' .. (j % 10) end
      for i = 1, 10000 do redis.call('rpush', 'q3', unpack(batch)) end
      redis.call('set', 'bv1m', string.rep('b', 1000000))
      redis.call('set', 'bv1m2', string.rep('c', 1000000))
      redis.call('xgroup', 'create', 'bigst', 'g1', '0')
      redis.call('xreadgroup', 'group', 'g1', 'c1', 'count', 1000, 'streams', 'bigst', '>')
      return 1" 0 >/dev/null
    return 0
  fi
  [[ $SET == 2 ]] || return 0
  "${c[@]}" eval "
    for i = 1, 100000 do redis.call('rpush', 'longl', 'x') end
    redis.call('linsert', 'longl', 'after', 'x', 'mark')
    redis.call('lset', 'longl', 50001, 'mark')
    for i = 1, 100000 do redis.call('rpush', 'qlist', 'job' .. i) end
    for i = 1, 100000 do redis.call('zadd', 'lbl', 0, 'm:' .. i) end
    for i = 1, 100000 do redis.call('zadd', 'lb3', i, 'p' .. i) redis.call('zadd', 'lb4', i, 'p' .. i) end
    for i = 1, 100000 do redis.call('hset', 'bigh2', 'f:' .. i, 'v') end
    for i = 1, 100000 do redis.call('sadd', 'bigs2', i) end
    for i = 1, 500 do redis.call('sadd', 'ints', i * 3) end
    for i = 1, 100000 do redis.call('pfadd', 'hllbig', i) end
    redis.call('set', 'bv10k', string.rep('a', 10000))
    redis.call('set', 'bv1m', string.rep('b', 1000000))
    redis.call('set', 'zeros', string.rep('\\0', 1000000))
    redis.call('set', 'rn1', 'v')
    return 1" 0 >/dev/null
}

R=key:__rand_int__
BIG10K=$(head -c 10000 /dev/zero | tr "\\0" a)
tests=(
  "get|GET $R"
  "mget10|MGET $R $R $R $R $R $R $R $R $R $R"
  "set_ex|SET $R hello EX 1000"
  "set_get|SET $R v GET"
  "setnx|SETNX $R v"
  "getex|GETEX $R PX 100000"
  "psetex|PSETEX px:__rand_int__ 100000 v"
  "getrange|GETRANGE $R 10 50"
  "setrange|SETRANGE sr 10 hello"
  "strlen|STRLEN $R"
  "append|APPEND ap x"
  "incrbyfloat|INCRBYFLOAT fl 1.5"
  "decrby|DECRBY cnt 3"
  "mset10|MSET a1 1 a2 2 a3 3 a4 4 a5 5 a6 6 a7 7 a8 8 a9 9 a10 10"
  "lcs|LCS key:1 key:2"
  "bitcount|BITCOUNT $R"
  "getbit|GETBIT $R 100"
  "bitpos|BITPOS $R 1"
  "bitfield|BITFIELD $R GET u8 0"
  "bitop|BITOP AND bdst key:1 key:2"
  "exists|EXISTS $R"
  "type|TYPE $R"
  "ttl|TTL $R"
  "expire|EXPIRE $R 10000"
  "expiretime|EXPIRETIME $R"
  "persist|PERSIST $R"
  "touch|TOUCH key:1 key:2 key:3"
  "unlink_missing|UNLINK nokey:__rand_int__"
  "copy|COPY h:1 hcopy REPLACE"
  "dump|DUMP h:1"
  "object_encoding|OBJECT ENCODING $R"
  "object_idletime|OBJECT IDLETIME $R"
  "memory_usage|MEMORY USAGE $R"
  "scan|SCAN 0 COUNT 10"
  "scan_match|SCAN 0 MATCH 'key:1*' COUNT 1000"
  "randomkey|RANDOMKEY"
  "dbsize|DBSIZE"
  "hget|HGET h:1 f5"
  "hget_big|HGET bigh field:500"
  "hmget|HMGET h:3 f1 f2 f3 f4"
  "hgetall10|HGETALL h:2"
  "hgetall1000|HGETALL bigh"
  "hkeys|HKEYS h:1"
  "hexists|HEXISTS bigh field:77"
  "hstrlen|HSTRLEN h:1 f3"
  "hincrby|HINCRBY h:4 f11 1"
  "hincrbyfloat|HINCRBYFLOAT h:5 fl 1.5"
  "hsetnx|HSETNX h:6 f1 v"
  "hdel_missing|HDEL h:7 nosuch"
  "hset5|HSET hm:__rand_int__ a 1 b 2 c 3 d 4 e 5"
  "hrandfield|HRANDFIELD bigh 5 WITHVALUES"
  "hscan|HSCAN bigh 0 COUNT 10"
  "lindex|LINDEX bigl 500"
  "lrange10|LRANGE sml 0 -1"
  "lrange100|LRANGE bigl 0 99"
  "llen|LLEN bigl"
  "lset|LSET bigl 10 x"
  "lpos|LPOS bigl element:900"
  "lrem_missing|LREM bigl 0 nothere"
  "linsert_missing|LINSERT sml BEFORE nothere x"
  "lmove|LMOVE bigl bigl LEFT RIGHT"
  "rpush10|RPUSH rl a b c d e f g h i j"
  "ltrim|LTRIM rl 0 99"
  "sismember|SISMEMBER bigs m:500"
  "smismember10|SMISMEMBER s1 x1 x2 x3 x4 x5 y1 y2 y3 y4 x100"
  "smembers100|SMEMBERS s1"
  "sinter|SINTER s1 s2"
  "sinter3|SINTER s1 s2 bigs"
  "sintercard|SINTERCARD 2 s1 s2"
  "sinterstore|SINTERSTORE sdst s1 s2"
  "sunion|SUNION s1 s2"
  "sunionstore|SUNIONSTORE sdst s1 s2"
  "sdiff|SDIFF s1 s2"
  "sdiff_big|SDIFF bigs s1"
  "srandmember5|SRANDMEMBER bigs 5"
  "srandmember50|SRANDMEMBER s1 50"
  "srandmember-50|SRANDMEMBER s1 -50"
  "sadd8|SADD sm:__rand_int__ a b c d e f g h"
  "smove|SMOVE s1 s1 x1"
  "sscan|SSCAN bigs 0"
  "zscore|ZSCORE lb player:__rand_int__"
  "zmscore|ZMSCORE lb player:1 player:2 player:3 nope"
  "zrank|ZRANK lb player:__rand_int__"
  "zrevrank|ZREVRANK lb player:__rand_int__"
  "zrange10|ZRANGE lb 0 9 WITHSCORES"
  "zrevrange10|ZREVRANGE lb 0 9 WITHSCORES"
  "zrangebyscore10|ZRANGEBYSCORE lb 5000 6000 LIMIT 0 10"
  "zrangebyscore100|ZRANGEBYSCORE lb 1000 1100 WITHSCORES"
  "zrangebylex|ZRANGEBYLEX smz - + LIMIT 0 5"
  "zcount|ZCOUNT lb 100 50000"
  "zincrby|ZINCRBY lb 1 player:__rand_int__"
  "zadd5|ZADD zm:__rand_int__ 1 a 2 b 3 c 4 d 5 e"
  "zrandmember|ZRANDMEMBER lb 5 WITHSCORES"
  "zrange_small|ZRANGE smz 0 -1 WITHSCORES"
  "zinter|ZINTER 2 smz bigz"
  "zunion|ZUNION 2 smz bigz"
  "zunionstore|ZUNIONSTORE zdst 2 smz s1"
  "zdiff|ZDIFF 2 bigz smz"
  "zrangestore|ZRANGESTORE zdst lb 0 99"
  "zscan|ZSCAN bigz 0"
  "sort|SORT sl LIMIT 0 10"
  "sort_by_get|SORT sl BY 'w_*' GET 'o_*->f' LIMIT 0 10"
  "geosearch|GEOSEARCH geo FROMLONLAT 15 37 BYRADIUS 200 km ASC"
  "geosearch20|GEOSEARCH bgeo FROMLONLAT 0 41 BYRADIUS 500 km ASC COUNT 20 WITHDIST"
  "geobox|GEOSEARCH bgeo FROMLONLAT 0 41 BYBOX 1000 1000 km"
  "geodist|GEODIST geo Palermo Catania"
  "geopos|GEOPOS geo Palermo Catania"
  "pfcount|PFCOUNT hll"
  "pfmerge|PFMERGE hll3 hll"
  "xrange10|XRANGE st - + COUNT 10"
  "xrevrange10|XREVRANGE st + - COUNT 10"
  "xlen|XLEN st"
  "xadd|XADD xs MAXLEN '~' 1000 '*' f v"
  "xreadgroup|XREADGROUP GROUP g1 c1 COUNT 1 STREAMS st '>'"
  "xpending|XPENDING st g1"
  "xpending10|XPENDING st g1 - + 10"
  "xinfo_stream|XINFO STREAM st"
  "eval|EVAL \"return 1\" 0"
  "eval_loop|EVAL \"local s=0 for i=1,10 do s=s+redis.call('incr','cnt2') end return s\" 0"
  "eval_hgetall|EVAL \"return redis.call('hgetall', KEYS[1])\" 1 h:1"
  "fcall|FCALL myget 1 $R"
  "fcall_ro|FCALL_RO myro 1 $R"
  "publish|PUBLISH ch msg"
  "info_memory|INFO memory"
  "info|INFO"
  "config_get|CONFIG GET maxmemory"
  "client_info|CLIENT INFO"
  "command_count|COMMAND COUNT"
  "echo|ECHO hello"
  "time|TIME"
)
tests2=(
  "set_10k|SET bv:__rand_int__ $BIG10K"
  "get_10k|GET bv10k"
  "getrange_big|GETRANGE bv1m 500000 500100"
  "setrange_big|SETRANGE bv1m 500000 hello"
  "append_big|APPEND apb 0123456789012345678901234567890123456789"
  "strlen_big|STRLEN bv1m"
  "bitcount_big|BITCOUNT bv1m"
  "bitpos_big|BITPOS zeros 1"
  "setbit_big|SETBIT bits 123456 1"
  "getbit_big|GETBIT bits 123456"
  "bitfield_incr|BITFIELD bf INCRBY u8 800 1"
  "lindex_mid|LINDEX longl 50000"
  "lset_mid|LSET longl 50000 x"
  "linsert_mid|LINSERT longl BEFORE mark y"
  "lrem_mid|LREM longl 1 y"
  "lrange_mid|LRANGE longl 50000 50009"
  "lpop_big|LPOP qlist"
  "rpush_big|RPUSH qlist v"
  "lpos_rank|LPOS longl x RANK 2"
  "zadd_big|ZADD lb __rand_int__ player:__rand_int__"
  "zrem_add|ZADD lb2 INCR 1 m:__rand_int__"
  "zrem_big|ZREM lb player:__rand_int__"
  "zrangebyscore_rev|ZREVRANGEBYSCORE lb 60000 50000 LIMIT 0 10"
  "zrangebylex_big|ZRANGEBYLEX lbl '[m:5' + LIMIT 0 10"
  "zremrangebyrank|ZREMRANGEBYRANK lb3 0 0"
  "zpopmin_big|ZPOPMIN lb4"
  "zcount_small|ZCOUNT smz 2 7"
  "zlexcount|ZLEXCOUNT lbl - +"
  "zrank_small|ZRANK smz m5"
  "zinterstore_big|ZINTERSTORE zd2 2 bigz lb"
  "zinter_card|ZINTERCARD 2 bigz lb"
  "hset_big|HSET bigh2 f:__rand_int__ v"
  "hdel_big|HDEL bigh2 f:__rand_int__"
  "hget_bighash|HGET bigh2 f:__rand_int__"
  "hincr_big|HINCRBY bigh2 c:__rand_int__ 1"
  "hlen|HLEN bigh2"
  "hvals10|HVALS h:1"
  "hmset10|HMSET hmm a 1 b 2 c 3 d 4 e 5 f 6 g 7 h 8 i 9 j 10"
  "hrandfield1|HRANDFIELD bigh2"
  "sadd_big|SADD bigs2 __rand_int__"
  "srem_big|SREM bigs2 __rand_int__"
  "sismember_int|SISMEMBER ints __rand_int__"
  "sadd_int|SADD ints2 __rand_int__"
  "spop_big|SPOP bigs2"
  "scard|SCARD bigs"
  "srandmember1|SRANDMEMBER bigs"
  "smembers1000|SMEMBERS bigs"
  "sunion_big|SUNION bigs s1"
  "xadd_noTrim|XADD xs2 '*' a 1 b 2 c 3"
  "xadd_id|XADD xs3 '*' f v"
  "xack|XACK st g1 0-1 0-2"
  "xclaim|XCLAIM st g1 c2 0 0-1 JUSTID"
  "xautoclaim|XAUTOCLAIM st g1 c3 0 0 COUNT 10 JUSTID"
  "xread|XREAD COUNT 10 STREAMS st 0"
  "xinfo_groups|XINFO GROUPS st"
  "xtrim|XTRIM xs3 MAXLEN '~' 100"
  "xdel|XDEL st 1-1"
  "pfadd|PFADD hll2 __rand_int__"
  "pfcount_big|PFCOUNT hllbig"
  "pfcount3|PFCOUNT hll hllbig hll2"
  "geoadd|GEOADD geo2 13.36 38.11 m:__rand_int__"
  "georadius|GEORADIUS bgeo 0 41 300 km WITHDIST COUNT 5"
  "geohash|GEOHASH geo Palermo Catania"
  "incr|INCR cnt:__rand_int__"
  "del|DEL key:__rand_int__"
  "rename|RENAME rn1 rn1"
  "exists5|EXISTS key:1 key:2 key:3 key:4 nokey"
  "keys_none|KEYS nothing*"
  "pttl|PTTL key:__rand_int__"
  "pexpireat|PEXPIREAT key:__rand_int__ 99999999999999"
  "object_freq|OBJECT REFCOUNT key:__rand_int__"
  "msetnx|MSETNX nx:__rand_int__ 1 nx2:__rand_int__ 2"
  "getdel|GETDEL key:__rand_int__"
  "lmpop|LMPOP 2 nol qlist LEFT COUNT 2"
  "zmpop|ZMPOP 2 noz lb4 MIN COUNT 2"
  "evalsha_ro|EVAL_RO \"return redis.call('get',KEYS[1])\" 1 key:1"
  "select|SELECT 0"
  "ping_arg|PING hello"
  "client_getname|CLIENT GETNAME"
  "client_id|CLIENT ID"
  "hello3|HELLO 2"
  "lastsave|LASTSAVE"
  "slowlog_len|SLOWLOG LEN"
  "memory_usage_big|MEMORY USAGE bigh"
  "object_enc_big|OBJECT ENCODING lb"
  "debug_obj|DEBUG OBJECT key:1"
  "watch|WATCH key:1"
  "unwatch|UNWATCH"
  "command_info|COMMAND INFO get"
  "acl_whoami|ACL WHOAMI"
  "type_big|TYPE lb"
  "wait0|WAIT 0 0"
  "role|ROLE"

)
tests3=(
  "r3_get|GET $R"
  "r3_hgetall10|HGETALL h:2"
  "r3_hgetall1000|HGETALL bigh"
  "r3_zrange10|ZRANGE lb 0 9 WITHSCORES"
  "r3_zrange_small|ZRANGE smz 0 -1 WITHSCORES"
  "r3_zscore|ZSCORE lb player:__rand_int__"
  "r3_zrandmember|ZRANDMEMBER lb 5 WITHSCORES"
  "r3_smembers100|SMEMBERS s1"
  "r3_hrandfield|HRANDFIELD bigh 5 WITHVALUES"
  "r3_config_get|CONFIG GET maxmemory"
  "r3_xrange10|XRANGE st - + COUNT 10"
  "r3_xinfo_stream|XINFO STREAM st"
  "r3_xinfo_groups|XINFO GROUPS st"
  "r3_xpending|XPENDING st g1"
  "r3_geosearch20|GEOSEARCH bgeo FROMLONLAT 0 41 BYRADIUS 500 km ASC COUNT 20 WITHDIST"
  "r3_eval_table|EVAL \"return {1, 'two', {3, 4}}\" 0"
  "r3_command_docs|COMMAND DOCS get"
  "r3_memory_stats|MEMORY STATS"
  "r3_hello|HELLO 3"
  "r3_incrbyfloat|INCRBYFLOAT fl3 1.5"
  "r3_exists|EXISTS $R"
  "lrange1000|LRANGE bigl 0 -1"
  "zrange1000|ZRANGE bigz 0 -1"
  "zadd_gt|ZADD lb GT __rand_int__ player:__rand_int__"
  "zadd10_upd|ZADD lb 1 player:1 2 player:2 3 player:3 4 player:4 5 player:5 6 player:6 7 player:7 8 player:8 9 player:9 10 player:10"
  "zincrby_small|ZINCRBY smz 0 m5"
  "zremrangebyscore_none|ZREMRANGEBYSCORE smz 100 200"
  "zrevrangebylex|ZREVRANGEBYLEX smz + - LIMIT 0 5"
  "zcard|ZCARD lb"
  "bzpopmin|BZPOPMIN pz 0"
  "expire_nx|EXPIRE $R 100 NX"
  "set_keepttl|SET $R v KEEPTTL"
  "set_pxat|SET $R v PXAT 99999999999999"
  "getset|GETSET $R v"
  "substr|SUBSTR $R 0 10"
  "mget50|MGET $R $R $R $R $R $R $R $R $R $R $R $R $R $R $R $R $R $R $R $R $R $R $R $R $R $R $R $R $R $R $R $R $R $R $R $R $R $R $R $R $R $R $R $R $R $R $R $R $R $R"
  "del10|DEL d1 d2 d3 d4 d5 d6 d7 d8 d9 d10"
  "lpushx|LPUSHX nolist x"
  "rpoplpush|RPOPLPUSH bigl bigl"
  "blmove|BLMOVE bigl bigl LEFT RIGHT 0"
  "brpoplpush|BRPOPLPUSH bigl bigl 0"
  "lpop_count|LPOP q3 10"
  "lpos_count|LPOS bigl element:1 COUNT 0"
  "srandmember100|SRANDMEMBER bigs 100"
  "smove_same|SMOVE bigs bigs m:1"
  "sdiffstore|SDIFFSTORE sdst s1 s2"
  "sintercard_limit|SINTERCARD 2 bigs s1 LIMIT 5"
  "zrandmember_neg|ZRANDMEMBER smz -20"
  "hmget10_big|HMGET bigh field:1 field:2 field:3 field:4 field:5 field:6 field:7 field:8 field:9 nofield"
  "hvals1000|HVALS bigh"
  "hkeys1000|HKEYS bigh"
  "hscan_match|HSCAN bigh 0 MATCH 'field:1*' COUNT 100"
  "sscan_match|SSCAN bigs 0 MATCH 'm:1*' COUNT 100"
  "zscan_match|ZSCAN bigz 0 MATCH 'member:1*' COUNT 100"
  "scan_type|SCAN 0 TYPE hash COUNT 100"
  "sort_alpha|SORT sl ALPHA LIMIT 0 10"
  "sort_store|SORT sl STORE sortdst"
  "sort_big|SORT bigl ALPHA LIMIT 0 10"
  "georadiusbymember|GEORADIUSBYMEMBER bgeo p1 200 km COUNT 5 ASC"
  "geosearchstore|GEOSEARCHSTORE gdst bgeo FROMLONLAT 0 41 BYRADIUS 300 km"
  "xadd5|XADD xs4 MAXLEN '~' 1000 '*' a 1 b 2 c 3 d 4 e 5"
  "xrange100|XRANGE bigst - + COUNT 100"
  "xrevrange100|XREVRANGE bigst + - COUNT 100"
  "xread100|XREAD COUNT 100 STREAMS bigst 0"
  "xinfo_full|XINFO STREAM st FULL COUNT 10"
  "xpending_big|XPENDING bigst g1 - + 10 c1"
  "xinfo_consumers|XINFO CONSUMERS bigst g1"
  "pfadd10|PFADD hll4:__rand_int__ a b c d e f g h i j"
  "pfcount_dense|PFCOUNT hlld"
  "pfmerge_dense|PFMERGE hlldst hlld hll"
  "bitop_big|BITOP OR bdst bv1m bv1m2"
  "bitfield_multi|BITFIELD bf3 SET u8 0 1 GET u4 4 INCRBY i16 32 5"
  "copy_big|COPY bigz bigzc REPLACE"
  "dump_big|DUMP bigh"
  "echo_10k|ECHO $BIG10K"
  "client_list|CLIENT LIST"
  "info_commandstats|INFO commandstats"
  "info_keyspace|INFO keyspace"
  "info_stats|INFO stats"
  "config_get_star|CONFIG GET *"
  "config_set|CONFIG SET maxmemory-samples 5"
  "latency_latest|LATENCY LATEST"
  "acl_list|ACL LIST"
  "acl_getuser|ACL GETUSER default"
  "acl_cat|ACL CAT"
  "command_getkeys|COMMAND GETKEYS SET a b"
  "script_exists|SCRIPT EXISTS a42059b356c875f0717db19a51f6aaca9ae659ea"
  "function_list|FUNCTION LIST"
  "pubsub_numsub|PUBSUB NUMSUB ch"
)
[[ $SET == 2 ]] && tests=("${tests2[@]}")
[[ $SET == 3 ]] && tests=("${tests3[@]}")
prep "$A"
prep "$B"
printf '%-18s %10s %8s %10s %8s %6s %6s\n' command rps_A cpu_A rps_B cpu_B rps_AB cpu_BA
for t in "${tests[@]}"; do
  name=${t%%|*} cmd=${t#*|}
  [[ $name =~ $FILTER ]] || continue
  # Words split as the shell would, quotes kept (no globbing: `set -f` above).
  eval "args=($cmd)"
  row=()
  proto=()
  [[ $name == r3_* ]] && proto=(-3)
  for p in "$A" "$B"; do
    t0=$(cpu_ticks "${PID[$p]}")
    r=$(taskset -c 1 redis-benchmark -p "$p" -n "$N" -c 50 -P 16 -r 100000 -q "${proto[@]}" "${args[@]}" 2>/dev/null |
      tr '\r' '\n' | grep -o '[0-9.]* requests per second' | tail -1 | cut -d' ' -f1)
    t1=$(cpu_ticks "${PID[$p]}")
    row+=("${r:-0}" "$(awk -v d=$((t1 - t0)) -v n="$N" -v hz="$TICK" 'BEGIN{printf "%.2f", d*1e6/hz/n}')")
  done
  awk -v n="$name" -v ra="${row[0]}" -v ca="${row[1]}" -v rb="${row[2]}" -v cb="${row[3]}" 'BEGIN{
    printf "%-18s %10.0f %8.2f %10.0f %8.2f %6.2f %6.2f\n", n, ra, ca, rb, cb, (rb > 0 ? ra / rb : 0), (ca > 0 ? cb / ca : 0)}'
done
