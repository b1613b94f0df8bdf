//! Integration tests: sort.

use crate::harness::Server;

#[test]
fn a_part_sorted_by_pattern_keeps_redis_order_among_equal_weights() {
    // Redis sorts a part with its own quicksort, the whole with a stable sort: equal
    // weights (here, all missing) leave the elements in different orders.
    let s = Server::start();
    let mut c = s.client();
    let _: i64 = redis::cmd("RPUSH")
        .arg("l")
        .arg(&["1", "a", "a", "a", "1", "1", "1", "a"])
        .query(&mut c)
        .unwrap();
    let sort = |c: &mut redis::Connection, limit: bool| -> Vec<String> {
        let mut q = redis::cmd("SORT");
        q.arg("l").arg("BY").arg("nokey*");
        if limit {
            q.arg("LIMIT").arg(1).arg(10);
        }
        q.arg("ALPHA").query(c).unwrap()
    };
    assert_eq!(sort(&mut c, false), ["1", "a", "a", "a", "1", "1", "1", "a"]);
    assert_eq!(sort(&mut c, true), ["a", "a", "a", "1", "1", "1", "1"]);
}
