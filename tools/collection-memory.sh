#!/bin/bash
# collection-memory.sh PORT : RSS bytes per element of a 1M-element list (RPUSH, ~11-byte
# items) and a 1M-member sorted set (ZADD, random integer scores), on a fresh server.
P=$1
pid=$(redis-cli -p $P info server | grep process_id | tr -dc 0-9)
rss() { grep VmRSS /proc/$pid/status | awk '{print $2*1024}'; }
redis-cli -p $P flushall >/dev/null; sleep 1; r0=$(rss)
awk 'BEGIN{for(i=0;i<1000;i++){printf "*1002\r\n$5\r\nRPUSH\r\n$6\r\nbiglst\r\n"; for(j=0;j<1000;j++){v=sprintf("item:%06d",i*1000+j); printf "$%d\r\n%s\r\n",length(v),v}}}' | redis-cli -p $P --pipe >/dev/null
sleep 1; r1=$(rss)
awk 'BEGIN{srand(1);for(i=0;i<1000;i++){printf "*2002\r\n$4\r\nZADD\r\n$5\r\nbigzs\r\n"; for(j=0;j<1000;j++){s=sprintf("%d",int(rand()*1000000000)); v=sprintf("member:%07d",i*1000+j); printf "$%d\r\n%s\r\n$%d\r\n%s\r\n",length(s),s,length(v),v}}}' | redis-cli -p $P --pipe >/dev/null
sleep 1; r2=$(rss)
echo "port=$P list_len=$(redis-cli -p $P llen biglst) zcard=$(redis-cli -p $P zcard bigzs) list_bytes_per_elem=$(( (r1-r0)/1000000 )) zset_bytes_per_member=$(( (r2-r1)/1000000 ))"
