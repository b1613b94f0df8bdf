//! Interop with the real Redis tools (`redis-cli`, `redis-benchmark`). Ignored in a
//! plain `cargo test` (the tools may be absent); `.ci/run` installs them and runs these.
use std::io::Write;
use std::process::{Command, Stdio};

use crate::cmd;
use crate::harness::Server;

#[test]
#[ignore]
fn redis_cli_commands_and_pipe() {
    let s = Server::start();
    let port = s.port.to_string();
    let out = Command::new("redis-cli")
        .args(["-p", &port, "SET", "a", "hello"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "OK");
    let mut child = Command::new("redis-cli")
        .args(["-p", &port, "--pipe"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = String::new();
    for i in 0..1000 {
        input.push_str(&format!(
            "*3\r\n$3\r\nSET\r\n${}\r\nk{i}\r\n$1\r\nv\r\n",
            format!("k{i}").len()
        ));
    }
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("errors: 0, replies: 1000"), "{text}");
    let mut c = s.raw();
    assert_eq!(cmd!(c, "DBSIZE"), b":1001\r\n");
}

#[test]
#[ignore]
fn redis_benchmark_runs_without_errors() {
    let s = Server::start();
    let out = Command::new("redis-benchmark")
        .args([
            "-p",
            &s.port.to_string(),
            "-t",
            "ping,set,get,incr,mset",
            "-P",
            "16",
            "-q",
            "-n",
            "20000",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    for t in ["PING_INLINE", "SET", "GET", "INCR", "MSET"] {
        assert!(text.contains(t), "{t} missing in {text}");
    }
    assert!(!text.to_lowercase().contains("error"), "{text}");
}
