//! Client-side caching over TCP: CLIENT TRACKING in default, OPTIN and BCAST (with
//! prefixes and NOLOOP) modes, RESP3 invalidation pushes after the reply that caused
//! them, redirection to a RESP2 subscriber of `__redis__:invalidate`, invalidation of
//! everything on FLUSHALL, and the introspection (TRACKINGINFO, GETREDIR, INFO).
use crate::cmd;
use crate::harness::Server;

fn invalidate(keys: &[&str]) -> Vec<u8> {
    let mut v = format!(">2\r\n$10\r\ninvalidate\r\n*{}\r\n", keys.len()).into_bytes();
    for k in keys {
        v.extend(format!("${}\r\n{}\r\n", k.len(), k).bytes());
    }
    v
}

#[test]
fn default_mode_invalidates_read_keys_once() {
    let s = Server::start();
    let mut c = s.raw();
    let mut w = s.raw();
    cmd!(c, "HELLO", "3");
    assert_eq!(cmd!(c, "CLIENT", "TRACKING", "ON"), b"+OK\r\n");
    cmd!(w, "SET", "k", "1");
    cmd!(w, "SET", "unread", "1");
    assert_eq!(cmd!(c, "GET", "k"), b"$1\r\n1\r\n");
    cmd!(w, "SET", "unread", "2");
    cmd!(w, "INCR", "k");
    assert_eq!(c.read(), invalidate(&["k"]));
    // The key is forgotten once invalidated: a second write tells nothing.
    cmd!(w, "INCR", "k");
    assert_eq!(cmd!(c, "PING"), b"+PONG\r\n");
    // A change the client makes itself arrives after its own reply.
    cmd!(c, "HSET", "h", "f", "1");
    cmd!(c, "HGET", "h", "f");
    assert_eq!(cmd!(c, "HDEL", "h", "f"), b":1\r\n");
    assert_eq!(c.read(), invalidate(&["h"]));
    // ... and after a whole transaction's reply.
    cmd!(c, "GET", "k");
    cmd!(c, "MULTI");
    cmd!(c, "INCR", "k");
    cmd!(c, "GET", "unread");
    assert_eq!(cmd!(c, "EXEC"), b"*2\r\n:4\r\n$1\r\n2\r\n");
    assert_eq!(c.read(), invalidate(&["k"]));
    // FLUSHALL invalidates everything with a null.
    cmd!(c, "GET", "k");
    cmd!(w, "FLUSHALL");
    assert_eq!(c.read(), b">2\r\n$10\r\ninvalidate\r\n_\r\n");
    let info = String::from_utf8_lossy(&cmd!(w, "INFO", "clients")).into_owned();
    assert!(info.contains("tracking_clients:1\r\n"), "{info}");
    assert_eq!(cmd!(c, "CLIENT", "TRACKING", "OFF"), b"+OK\r\n");
    let info = String::from_utf8_lossy(&cmd!(w, "INFO", "clients")).into_owned();
    assert!(info.contains("tracking_clients:0\r\n"), "{info}");
}

#[test]
fn redirection_to_a_resp2_subscriber() {
    let s = Server::start();
    let mut r = s.raw();
    let mut c = s.raw();
    let mut w = s.raw();
    let id = String::from_utf8_lossy(&cmd!(r, "CLIENT", "ID"))
        .trim_start_matches(':')
        .trim()
        .to_string();
    cmd!(r, "SUBSCRIBE", "__redis__:invalidate");
    assert_eq!(
        cmd!(c, "CLIENT", "TRACKING", "ON", "REDIRECT", "999999"),
        b"-ERR The client ID you want redirect to does not exist\r\n"
    );
    assert_eq!(cmd!(c, "CLIENT", "TRACKING", "ON", "REDIRECT", &id), b"+OK\r\n");
    assert_eq!(cmd!(c, "CLIENT", "GETREDIR"), format!(":{id}\r\n").into_bytes());
    cmd!(c, "MGET", "a", "b");
    cmd!(w, "SET", "b", "1");
    assert_eq!(
        r.read(),
        b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$1\r\nb\r\n"
    );
    // The redirection client goes away: the tracking client is flagged.
    drop(r);
    // Until the server has seen the close, an invalidation still goes to the old
    // connection and uses up the tracked key: read it again each round.
    crate::harness::wait_for("broken redirect", std::time::Duration::from_secs(5), || {
        cmd!(c, "GET", "a");
        cmd!(w, "SET", "a", "1");
        let info = cmd!(c, "CLIENT", "TRACKINGINFO");
        String::from_utf8_lossy(&info).contains("broken_redirect").then_some(())
    });
}

#[test]
fn bcast_prefixes_noloop_and_optin() {
    let s = Server::start();
    let mut c = s.raw();
    let mut w = s.raw();
    cmd!(c, "HELLO", "3");
    assert_eq!(
        cmd!(c, "CLIENT", "TRACKING", "ON", "PREFIX", "user:"),
        b"-ERR PREFIX option requires BCAST mode to be enabled\r\n"
    );
    assert!(
        cmd!(c, "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "user:", "PREFIX", "us")
            .starts_with(b"-ERR Prefix 'user:' overlaps with another provided prefix 'us'.")
    );
    assert_eq!(
        cmd!(c, "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "user:", "NOLOOP"),
        b"+OK\r\n"
    );
    // Changed keys under the prefix come in one batch, sorted; other keys do not.
    cmd!(w, "MSET", "user:2", "b", "user:1", "a", "other", "c");
    assert_eq!(c.read(), invalidate(&["user:1", "user:2"]));
    // NOLOOP: the client's own changes are not sent back.
    cmd!(c, "SET", "user:3", "x");
    assert_eq!(cmd!(c, "PING"), b"+PONG\r\n");
    let info = cmd!(c, "CLIENT", "TRACKINGINFO");
    assert_eq!(
        info,
        b"%3\r\n$5\r\nflags\r\n~3\r\n$2\r\non\r\n$5\r\nbcast\r\n$6\r\nnoloop\r\n$8\r\nredirect\r\n:0\r\n$8\r\nprefixes\r\n*1\r\n$5\r\nuser:\r\n"
    );
    cmd!(c, "CLIENT", "TRACKING", "OFF");
    // OPTIN: only reads after CLIENT CACHING yes are tracked.
    assert_eq!(cmd!(c, "CLIENT", "TRACKING", "ON", "OPTIN"), b"+OK\r\n");
    cmd!(c, "GET", "p");
    cmd!(w, "SET", "p", "1");
    assert_eq!(cmd!(c, "PING"), b"+PONG\r\n");
    assert_eq!(cmd!(c, "CLIENT", "CACHING", "YES"), b"+OK\r\n");
    cmd!(c, "GET", "p");
    cmd!(w, "SET", "p", "2");
    assert_eq!(c.read(), invalidate(&["p"]));
    assert_eq!(
        cmd!(c, "CLIENT", "CACHING", "NO"),
        b"-ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.\r\n"
    );
}
