//! Bitmap commands over TCP: SETBIT/GETBIT growth and limits, BITCOUNT/BITPOS with
//! BYTE and BIT ranges, BITOP over strings of different lengths (against a model),
//! BITFIELD types, `#` offsets and the three overflow policies, BITFIELD_RO, and the
//! exact error texts. Cases follow tests/unit/bitops.tcl and tests/unit/bitfield.tcl.
use crate::cmd;
use crate::harness::Server;
use redis::Commands;

#[test]
fn setbit_getbit_grow_and_limits() {
    let s = Server::start();
    let mut c = s.raw();
    assert_eq!(cmd!(c, "SETBIT", "b", "7", "1"), b":0\r\n");
    assert_eq!(cmd!(c, "GET", "b"), b"$1\r\n\x01\r\n");
    assert_eq!(cmd!(c, "SETBIT", "b", "7", "0"), b":1\r\n");
    assert_eq!(cmd!(c, "SETBIT", "b", "23", "1"), b":0\r\n");
    assert_eq!(cmd!(c, "STRLEN", "b"), b":3\r\n");
    assert_eq!(cmd!(c, "GETBIT", "b", "23"), b":1\r\n");
    assert_eq!(cmd!(c, "GETBIT", "b", "1000000"), b":0\r\n");
    assert_eq!(cmd!(c, "GETBIT", "nokey", "0"), b":0\r\n");
    // Integer-encoded strings are read by their digits: "1" is 0x31.
    cmd!(c, "SET", "n", "1");
    assert_eq!(cmd!(c, "GETBIT", "n", "2"), b":1\r\n");
    assert_eq!(cmd!(c, "GETBIT", "n", "7"), b":1\r\n");
    assert_eq!(cmd!(c, "GETBIT", "n", "6"), b":0\r\n");
    let off_err: &[u8] = b"-ERR bit offset is not an integer or out of range\r\n";
    assert_eq!(cmd!(c, "SETBIT", "b", "-1", "1"), off_err);
    assert_eq!(cmd!(c, "SETBIT", "b", "4294967296", "1"), off_err);
    assert_eq!(cmd!(c, "GETBIT", "b", "x"), off_err);
    assert_eq!(
        cmd!(c, "SETBIT", "b", "0", "2"),
        b"-ERR bit is not an integer or out of range\r\n"
    );
    assert_eq!(
        cmd!(c, "SETBIT", "b", "0", "-1"),
        b"-ERR bit is not an integer or out of range\r\n"
    );
    cmd!(c, "LPUSH", "l", "x");
    assert_eq!(&cmd!(c, "SETBIT", "l", "0", "1")[..10], b"-WRONGTYPE");
    assert_eq!(&cmd!(c, "GETBIT", "l", "0")[..10], b"-WRONGTYPE");
    // The limit follows proto-max-bulk-len.
    cmd!(c, "CONFIG", "SET", "proto-max-bulk-len", "1048576");
    assert_eq!(cmd!(c, "SETBIT", "big", "8388608", "1"), off_err);
    assert_eq!(cmd!(c, "SETBIT", "big", "8388607", "1"), b":0\r\n");
}

#[test]
fn bitcount_and_bitpos_ranges() {
    let s = Server::start();
    let mut c = s.raw();
    cmd!(c, "SET", "s", "foobar");
    assert_eq!(cmd!(c, "BITCOUNT", "s"), b":26\r\n");
    assert_eq!(cmd!(c, "BITCOUNT", "s", "0", "0"), b":4\r\n");
    assert_eq!(cmd!(c, "BITCOUNT", "s", "1", "1"), b":6\r\n");
    assert_eq!(cmd!(c, "BITCOUNT", "s", "1", "1", "BYTE"), b":6\r\n");
    assert_eq!(cmd!(c, "BITCOUNT", "s", "5", "30", "BIT"), b":17\r\n");
    assert_eq!(cmd!(c, "BITCOUNT", "s", "-1", "-2"), b":0\r\n");
    assert_eq!(cmd!(c, "BITCOUNT", "s", "0", "-1", "bit"), b":26\r\n");
    assert_eq!(cmd!(c, "BITCOUNT", "nokey"), b":0\r\n");
    assert_eq!(cmd!(c, "BITCOUNT", "s", "0"), b"-ERR syntax error\r\n");
    assert_eq!(cmd!(c, "BITCOUNT", "s", "0", "1", "nibble"), b"-ERR syntax error\r\n");
    assert_eq!(
        cmd!(c, "BITCOUNT", "s", "a", "1"),
        b"-ERR value is not an integer or out of range\r\n"
    );

    let mut r = s.client();
    let _: () = r.set("p", &[0u8, 0xff, 0xf0][..]).unwrap();
    assert_eq!(cmd!(c, "BITPOS", "p", "1"), b":8\r\n");
    assert_eq!(cmd!(c, "BITPOS", "p", "1", "2"), b":16\r\n");
    assert_eq!(cmd!(c, "BITPOS", "p", "0", "1", "1"), b":-1\r\n");
    assert_eq!(cmd!(c, "BITPOS", "p", "1", "7", "15", "BIT"), b":8\r\n");
    assert_eq!(cmd!(c, "BITPOS", "p", "0", "7", "15", "BIT"), b":7\r\n");
    let _: () = r.set("ones", &[0xffu8, 0xff][..]).unwrap();
    // Without an end the string is zero padded on the right; with one it is not.
    assert_eq!(cmd!(c, "BITPOS", "ones", "0"), b":16\r\n");
    assert_eq!(cmd!(c, "BITPOS", "ones", "0", "0"), b":16\r\n");
    assert_eq!(cmd!(c, "BITPOS", "ones", "0", "0", "-1"), b":-1\r\n");
    assert_eq!(cmd!(c, "BITPOS", "nokey", "0"), b":0\r\n");
    assert_eq!(cmd!(c, "BITPOS", "nokey", "1"), b":-1\r\n");
    assert_eq!(
        cmd!(c, "BITPOS", "p", "2"),
        b"-ERR The bit argument must be 1 or 0.\r\n"
    );
}

#[test]
fn bitop_matches_model() {
    let s = Server::start();
    let mut r = s.client();
    let mut c = s.raw();
    let mut x = 88172645463325252u64;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for round in 0..30 {
        let n = 1 + (next() % 4) as usize;
        let mut vals: Vec<Vec<u8>> = Vec::new();
        for i in 0..n {
            // Past a few 32-byte blocks, often of one length for all.
            let len = if round % 3 == 0 { 130 } else { (next() % 300) as usize };
            let v: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let _: () = r.set(format!("k{i}"), &v).unwrap();
            vals.push(v);
        }
        let max = vals.iter().map(|v| v.len()).max().unwrap();
        let at = |v: &Vec<u8>, j: usize| v.get(j).copied().unwrap_or(0);
        for op in ["AND", "OR", "XOR"] {
            let want: Vec<u8> = (0..max)
                .map(|j| {
                    vals.iter().skip(1).fold(at(&vals[0], j), |acc, v| match op {
                        "AND" => acc & at(v, j),
                        "OR" => acc | at(v, j),
                        _ => acc ^ at(v, j),
                    })
                })
                .collect();
            let mut q = redis::cmd("BITOP");
            q.arg(op).arg("dst");
            for i in 0..n {
                q.arg(format!("k{i}"));
            }
            let len: usize = q.query(&mut r).unwrap();
            assert_eq!(len, max, "round {round} {op}");
            if max > 0 {
                let got: Vec<u8> = r.get("dst").unwrap();
                assert_eq!(got, want, "round {round} {op}");
            } else {
                assert!(!r.exists::<_, bool>("dst").unwrap());
            }
        }
        let len: usize = redis::cmd("BITOP")
            .arg("NOT")
            .arg("dst")
            .arg("k0")
            .query(&mut r)
            .unwrap();
        assert_eq!(len, vals[0].len());
        if len > 0 {
            let got: Vec<u8> = r.get("dst").unwrap();
            assert_eq!(
                got,
                vals[0].iter().map(|b| !b).collect::<Vec<u8>>(),
                "round {round} NOT"
            );
        }
        // The destination may be a source.
        let mut q = redis::cmd("BITOP");
        q.arg("XOR").arg("k0");
        for i in 0..n {
            q.arg(format!("k{i}"));
        }
        let len: usize = q.query(&mut r).unwrap();
        assert_eq!(len, max);
        let want: Vec<u8> = (0..max)
            .map(|j| vals.iter().skip(1).fold(at(&vals[0], j), |acc, v| acc ^ at(v, j)))
            .collect();
        if max > 0 {
            let got: Vec<u8> = r.get("k0").unwrap();
            assert_eq!(got, want, "round {round} XOR into k0");
        }
    }
    assert_eq!(
        cmd!(c, "BITOP", "NOT", "d", "a", "b"),
        b"-ERR BITOP NOT must be called with a single source key.\r\n"
    );
    assert_eq!(cmd!(c, "BITOP", "NAND", "d", "a"), b"-ERR syntax error\r\n");
    cmd!(c, "LPUSH", "l", "x");
    assert_eq!(&cmd!(c, "BITOP", "OR", "d", "k0", "l")[..10], b"-WRONGTYPE");
}

#[test]
fn bitfield_types_offsets_and_overflow() {
    let s = Server::start();
    let mut c = s.raw();
    assert_eq!(
        cmd!(c, "BITFIELD", "f", "SET", "i8", "0", "-100", "GET", "i8", "0"),
        b"*2\r\n:0\r\n:-100\r\n"
    );
    assert_eq!(cmd!(c, "BITFIELD", "f", "GET", "u8", "0"), b"*1\r\n:156\r\n");
    // `#n` offsets are multiples of the type width.
    assert_eq!(
        cmd!(c, "BITFIELD", "g", "SET", "u8", "#1", "255", "GET", "u8", "8"),
        b"*2\r\n:0\r\n:255\r\n"
    );
    assert_eq!(cmd!(c, "STRLEN", "g"), b":2\r\n");
    assert_eq!(
        cmd!(c, "BITFIELD", "o", "INCRBY", "u2", "100", "1", "OVERFLOW", "SAT", "INCRBY", "u2", "102", "5"),
        b"*2\r\n:1\r\n:3\r\n"
    );
    assert_eq!(
        cmd!(c, "BITFIELD", "o", "OVERFLOW", "FAIL", "INCRBY", "u2", "102", "1"),
        b"*1\r\n$-1\r\n"
    );
    assert_eq!(
        cmd!(c, "BITFIELD", "o", "INCRBY", "i8", "0", "127", "INCRBY", "i8", "0", "1"),
        b"*2\r\n:127\r\n:-128\r\n"
    );
    assert_eq!(
        cmd!(
            c,
            "BITFIELD",
            "w",
            "SET",
            "i64",
            "0",
            "9223372036854775807",
            "INCRBY",
            "i64",
            "0",
            "1"
        ),
        b"*2\r\n:0\r\n:-9223372036854775808\r\n"
    );
    assert_eq!(
        cmd!(c, "BITFIELD", "w", "SET", "u63", "0", "-1", "GET", "u63", "0"),
        b"*2\r\n:4611686018427387904\r\n:9223372036854775807\r\n"
    );
    assert_eq!(cmd!(c, "BITFIELD_RO", "f", "GET", "i8", "0"), b"*1\r\n:-100\r\n");
    assert_eq!(cmd!(c, "BITFIELD", "nokey", "GET", "u4", "0"), b"*1\r\n:0\r\n");
    assert_eq!(cmd!(c, "EXISTS", "nokey"), b":0\r\n");
    assert_eq!(
        cmd!(c, "BITFIELD_RO", "f", "SET", "i8", "0", "1"),
        b"-ERR BITFIELD_RO only supports the GET subcommand\r\n"
    );
    let type_err: &[u8] =
        b"-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.\r\n";
    assert_eq!(cmd!(c, "BITFIELD", "f", "GET", "u64", "0"), type_err);
    assert_eq!(cmd!(c, "BITFIELD", "f", "GET", "i0", "0"), type_err);
    assert_eq!(cmd!(c, "BITFIELD", "f", "GET", "x8", "0"), type_err);
    assert_eq!(
        cmd!(c, "BITFIELD", "f", "OVERFLOW", "MAYBE"),
        b"-ERR Invalid OVERFLOW type specified\r\n"
    );
    assert_eq!(cmd!(c, "BITFIELD", "f", "GET", "i8"), b"-ERR syntax error\r\n");
    assert_eq!(
        cmd!(c, "BITFIELD", "f", "GET", "i8", "-1"),
        b"-ERR bit offset is not an integer or out of range\r\n"
    );
    assert_eq!(
        cmd!(c, "BITFIELD", "f", "SET", "i8", "0", "x"),
        b"-ERR value is not an integer or out of range\r\n"
    );
}
