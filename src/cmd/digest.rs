//! DEBUG DIGEST and DEBUG DIGEST-VALUE with Redis's exact algorithm, so the same dataset
//! has the same digest in ferrodis and in Redis: SHA1-based, order-preserving mixing for
//! keys, strings and lists, XOR of per-element digests for sets, hashes and sorted sets
//! (scores as `%.17g`), and a marker when the key has an expire. Redis compat: debug.c.
use crate::db::stream::StreamId;
use crate::db::{Db, Obj, ValueRef};
use crate::util::num;

pub type Digest = [u8; 20];

fn sha1(data: &[u8]) -> Digest {
    let mut h = sha1_smol::Sha1::new();
    h.update(data);
    h.digest().bytes()
}

/// digest ^= SHA1(data). Redis compat: debug.c xorDigest.
pub fn xor_digest(d: &mut Digest, data: &[u8]) {
    for (x, y) in d.iter_mut().zip(sha1(data).iter()) {
        *x ^= y;
    }
}

/// digest = SHA1(digest ^ SHA1(data)). Redis compat: debug.c mixDigest.
pub fn mix_digest(d: &mut Digest, data: &[u8]) {
    xor_digest(d, data);
    *d = sha1(d);
}

/// Redis's type numbers (server.h OBJ_STRING ...), mixed in big-endian.
fn type_code(v: &ValueRef) -> u32 {
    match v {
        ValueRef::Str(_) => 0,
        ValueRef::List(_) => 1,
        ValueRef::Set(_) => 2,
        ValueRef::ZSet(_) => 3,
        ValueRef::Hash(_) => 4,
        ValueRef::Stream(_) => 6,
    }
}

/// Mixes one value (and whether it has an expire) into `d`. Redis compat: debug.c
/// xorObjectDigest.
pub fn object_digest(d: &mut Digest, o: &Obj, has_expire: bool) {
    let v = o.value();
    mix_digest(d, &type_code(&v).to_be_bytes());
    match v {
        ValueRef::Str(s) => mix_digest(d, s),
        ValueRef::List(l) => {
            for e in l.iter() {
                mix_digest(d, &e);
            }
        }
        ValueRef::Set(s) => {
            for m in s.iter() {
                xor_digest(d, &m);
            }
        }
        ValueRef::ZSet(z) => {
            let mut buf = Vec::with_capacity(32);
            for (m, score) in z.iter_any() {
                let mut e = [0u8; 20];
                mix_digest(&mut e, m);
                buf.clear();
                num::fmt_f64(score, &mut buf);
                mix_digest(&mut e, &buf);
                xor_digest(d, &e);
            }
        }
        ValueRef::Hash(h) => {
            for (f, val) in h.iter() {
                let mut e = [0u8; 20];
                mix_digest(&mut e, f);
                mix_digest(&mut e, val);
                xor_digest(d, &e);
            }
        }
        ValueRef::Stream(s) => {
            for e in s.log.range(StreamId::MIN, StreamId::MAX) {
                mix_digest(d, format!("{}.{}", e.id.ms, e.id.seq).as_bytes());
                for (f, v) in e.pairs() {
                    mix_digest(d, f);
                    mix_digest(d, v);
                }
            }
        }
    }
    if has_expire {
        xor_digest(d, b"!!expire!!");
    }
}

/// The digest of every db. Redis compat: debug.c computeDatasetDigest.
pub fn dataset_digest(dbs: &[Db]) -> Digest {
    let mut fin = [0u8; 20];
    for (j, db) in dbs.iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        mix_digest(&mut fin, &(j as u32).to_be_bytes());
        for o in db.iter() {
            let mut d = [0u8; 20];
            mix_digest(&mut d, o.key());
            object_digest(&mut d, o, o.has_expire());
            xor_digest(&mut fin, &d);
        }
    }
    fin
}

pub fn hex(d: &Digest) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_dataset_is_all_zeros() {
        assert_eq!(hex(&dataset_digest(&[Db::new(0)])), "0".repeat(40));
    }

    #[test]
    fn digests_match_redis() {
        // Values taken from Redis 7.0.15: SET big <300 x>, then DEBUG DIGEST-VALUE big.
        let o = Obj::new_str(b"big", &[b'x'; 300]);
        let mut d = [0u8; 20];
        object_digest(&mut d, &o, false);
        assert_eq!(hex(&d), "5b5ddd94ac991d9d6c62716e23b8d3143abbae7d");
    }
}
