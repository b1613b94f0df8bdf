//! The cluster bus wire format: Redis 7.0's `clusterMsg` (a 2256-byte header in
//! network byte order, then a body per message type), so ferrodis and redis-server
//! nodes can share one cluster. Pure encoding and decoding; no sockets here.
//! Redis compat: cluster.h clusterMsg, clusterMsgDataGossip, clusterMsgPingExt.

/// Length of a node name (40 hex characters).
pub const NAMELEN: usize = 40;
pub const SLOTS: usize = 16384;
/// Bytes of the slot bitmap.
pub const SLOT_BYTES: usize = SLOTS / 8;
/// The header that starts every message. Redis compat: CLUSTERMSG_MIN_LEN.
pub const HDR_LEN: usize = 2256;
/// One gossip entry of PING, PONG and MEET.
pub const GOSSIP_LEN: usize = 104;
/// Room an IP address takes in the header and in gossip entries (NET_IP_STR_LEN).
const IP_LEN: usize = 46;
/// The largest message accepted from a peer (a PUBLISH of a big payload may be large,
/// but nothing legitimate comes near this).
pub const MAX_MSG: usize = 1 << 30;

pub type Name = [u8; NAMELEN];
pub type SlotBits = [u8; SLOT_BYTES];

pub const PING: u16 = 0;
pub const PONG: u16 = 1;
pub const MEET: u16 = 2;
pub const FAIL: u16 = 3;
pub const PUBLISH: u16 = 4;
pub const AUTH_REQUEST: u16 = 5;
pub const AUTH_ACK: u16 = 6;
pub const UPDATE: u16 = 7;
pub const MFSTART: u16 = 8;
pub const MODULE: u16 = 9;
pub const PUBLISHSHARD: u16 = 10;
/// Message types counted in CLUSTER INFO.
pub const TYPES: usize = 11;

/// Names of the message types in CLUSTER INFO's statistics.
pub const TYPE_NAMES: [&str; TYPES] = [
    "ping",
    "pong",
    "meet",
    "fail",
    "publish",
    "auth-req",
    "auth-ack",
    "update",
    "mfstart",
    "module",
    "publishshard",
];

/// mflags[0] bits.
pub const MF_PAUSED: u8 = 1;
pub const MF_FORCEACK: u8 = 2;
pub const MF_EXT_DATA: u8 = 4;

/// Ping extension carrying the sender's hostname.
const EXT_HOSTNAME: u16 = 0;

/// The header fields of a message.
#[derive(Clone)]
pub struct Header {
    pub ty: u16,
    pub count: u16,
    pub port: u16,
    pub pport: u16,
    pub cport: u16,
    pub current_epoch: u64,
    pub config_epoch: u64,
    pub offset: u64,
    pub sender: Name,
    pub myslots: Box<SlotBits>,
    /// The sender's master (all zeroes on the wire: none).
    pub slaveof: Option<Name>,
    /// The sender's announced IP (empty: use the socket's peer address).
    pub myip: String,
    pub flags: u16,
    /// The cluster state from the sender's point of view (0 ok, 1 fail).
    pub state: u8,
    pub mflags: [u8; 3],
}

impl Header {
    pub fn new(ty: u16, sender: Name) -> Header {
        Header {
            ty,
            count: 0,
            port: 0,
            pport: 0,
            cport: 0,
            current_epoch: 0,
            config_epoch: 0,
            offset: 0,
            sender,
            myslots: Box::new([0; SLOT_BYTES]),
            slaveof: None,
            myip: String::new(),
            flags: 0,
            state: 0,
            mflags: [0; 3],
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gossip {
    pub name: Name,
    /// Seconds (the sender's clock).
    pub ping_sent: u32,
    pub pong_received: u32,
    pub ip: String,
    pub port: u16,
    pub cport: u16,
    pub flags: u16,
    pub pport: u16,
}

/// What follows the header.
pub enum Body {
    /// PING, PONG, MEET: gossip about other nodes, and the sender's hostname.
    Ping {
        gossip: Vec<Gossip>,
        hostname: Option<String>,
    },
    Fail(Name),
    Publish {
        channel: Vec<u8>,
        message: Vec<u8>,
    },
    Update {
        config_epoch: u64,
        name: Name,
        slots: Box<SlotBits>,
    },
    /// AUTH_REQUEST, AUTH_ACK, MFSTART, MODULE and types we do not know.
    None,
}

pub struct Msg {
    pub hdr: Header,
    pub body: Body,
}

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_be_bytes([b[i], b[i + 1]])
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

fn u64_at(b: &[u8], i: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[i..i + 8]);
    u64::from_be_bytes(a)
}

fn name_at(b: &[u8], i: usize) -> Name {
    let mut n = [0u8; NAMELEN];
    n.copy_from_slice(&b[i..i + NAMELEN]);
    n
}

/// A NUL-padded string field.
fn cstr(b: &[u8]) -> String {
    String::from_utf8_lossy(crate::util::c_str(b)).into_owned()
}

fn put_cstr(out: &mut [u8], s: &str) {
    let n = s.len().min(out.len() - 1);
    out[..n].copy_from_slice(&s.as_bytes()[..n]);
}

/// The length a message announces in its first 8 bytes, if they are a message's.
/// None: not a cluster bus message (the link is dropped).
pub fn announced_len(first8: &[u8]) -> Option<usize> {
    if first8.len() < 8 || &first8[..4] != b"RCmb" {
        return None;
    }
    let len = u32_at(first8, 4) as usize;
    (HDR_LEN..=MAX_MSG).contains(&len).then_some(len)
}

/// Why a whole message was refused (logged; the message is ignored).
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// Another protocol version: ignored silently.
    Version,
    /// Its length does not match its type's: (type, totlen, expected).
    Length(u16, usize, usize),
    /// A ping extension not padded to 8 bytes, or past the end.
    Extension(u16, usize),
}

/// Decodes one whole message (`buf` holds exactly `totlen` bytes). Redis compat:
/// cluster.c clusterProcessPacket's length checks.
pub fn decode(buf: &[u8]) -> Result<Msg, Refused> {
    let totlen = buf.len();
    if totlen < HDR_LEN {
        return Err(Refused::Length(0, totlen, HDR_LEN));
    }
    if u16_at(buf, 8) != 1 {
        return Err(Refused::Version);
    }
    let ty = u16_at(buf, 12);
    let count = u16_at(buf, 14);
    let slaveof = name_at(buf, 2128);
    let mut myslots = Box::new([0u8; SLOT_BYTES]);
    myslots.copy_from_slice(&buf[80..80 + SLOT_BYTES]);
    let hdr = Header {
        ty,
        count,
        port: u16_at(buf, 10),
        current_epoch: u64_at(buf, 16),
        config_epoch: u64_at(buf, 24),
        offset: u64_at(buf, 32),
        sender: name_at(buf, 40),
        myslots,
        slaveof: if slaveof.iter().all(|&c| c == 0) {
            None
        } else {
            Some(slaveof)
        },
        myip: cstr(&buf[2168..2168 + IP_LEN]),
        pport: u16_at(buf, 2246),
        cport: u16_at(buf, 2248),
        flags: u16_at(buf, 2250),
        state: buf[2252],
        mflags: [buf[2253], buf[2254], buf[2255]],
    };
    let extensions = u16_at(buf, 2214);
    let data = &buf[HDR_LEN..];
    let expect = |n: usize| -> Result<(), Refused> {
        if totlen == n {
            Ok(())
        } else {
            Err(Refused::Length(ty, totlen, n))
        }
    };
    let body = match ty {
        PING | PONG | MEET => {
            let glen = GOSSIP_LEN * count as usize;
            let mut explen = HDR_LEN + glen;
            let mut hostname = None;
            if hdr.mflags[0] & MF_EXT_DATA != 0 {
                let mut at = explen;
                for _ in 0..extensions {
                    if at + 8 > totlen {
                        return Err(Refused::Extension(ty, totlen));
                    }
                    let ext_ty = u16_at(buf, at);
                    let len = u32_at(buf, at + 4) as usize;
                    if len % 8 != 0 || len < 8 {
                        return Err(Refused::Extension(ty, len));
                    }
                    if totlen - at < len {
                        return Err(Refused::Extension(ty, totlen));
                    }
                    if ext_ty == EXT_HOSTNAME {
                        hostname = Some(cstr(&buf[at + 8..at + len]));
                    }
                    at += len;
                    explen += len;
                }
            }
            expect(explen)?;
            let gossip = (0..count as usize)
                .map(|i| {
                    let g = &data[i * GOSSIP_LEN..(i + 1) * GOSSIP_LEN];
                    Gossip {
                        name: name_at(g, 0),
                        ping_sent: u32_at(g, 40),
                        pong_received: u32_at(g, 44),
                        ip: cstr(&g[48..48 + IP_LEN]),
                        port: u16_at(g, 94),
                        cport: u16_at(g, 96),
                        flags: u16_at(g, 98),
                        pport: u16_at(g, 100),
                    }
                })
                .collect();
            Body::Ping { gossip, hostname }
        }
        FAIL => {
            expect(HDR_LEN + NAMELEN)?;
            Body::Fail(name_at(data, 0))
        }
        PUBLISH | PUBLISHSHARD => {
            if data.len() < 8 {
                return Err(Refused::Length(ty, totlen, HDR_LEN + 8));
            }
            let cl = u32_at(data, 0) as usize;
            let ml = u32_at(data, 4) as usize;
            expect((HDR_LEN + 8).saturating_add(cl).saturating_add(ml))?;
            Body::Publish {
                channel: data[8..8 + cl].to_vec(),
                message: data[8 + cl..8 + cl + ml].to_vec(),
            }
        }
        AUTH_REQUEST | AUTH_ACK | MFSTART => {
            expect(HDR_LEN)?;
            Body::None
        }
        UPDATE => {
            expect(HDR_LEN + 8 + NAMELEN + SLOT_BYTES)?;
            let mut slots = Box::new([0u8; SLOT_BYTES]);
            slots.copy_from_slice(&data[48..48 + SLOT_BYTES]);
            Body::Update {
                config_epoch: u64_at(data, 0),
                name: name_at(data, 8),
                slots,
            }
        }
        MODULE => {
            // module_id (8), len (4), type (1), then the payload.
            if data.len() < 13 {
                return Err(Refused::Length(ty, totlen, HDR_LEN + 13));
            }
            expect((HDR_LEN + 13).saturating_add(u32_at(data, 8) as usize))?;
            Body::None
        }
        _ => Body::None,
    };
    Ok(Msg { hdr, body })
}

/// Writes the header of `h` into a new message buffer; `finish` sets its length.
fn start(h: &Header, extensions: u16) -> Vec<u8> {
    let mut b = vec![0u8; HDR_LEN];
    b[0..4].copy_from_slice(b"RCmb");
    b[8..10].copy_from_slice(&1u16.to_be_bytes());
    b[10..12].copy_from_slice(&h.port.to_be_bytes());
    b[12..14].copy_from_slice(&h.ty.to_be_bytes());
    b[14..16].copy_from_slice(&h.count.to_be_bytes());
    b[16..24].copy_from_slice(&h.current_epoch.to_be_bytes());
    b[24..32].copy_from_slice(&h.config_epoch.to_be_bytes());
    b[32..40].copy_from_slice(&h.offset.to_be_bytes());
    b[40..80].copy_from_slice(&h.sender);
    b[80..80 + SLOT_BYTES].copy_from_slice(&h.myslots[..]);
    if let Some(m) = &h.slaveof {
        b[2128..2168].copy_from_slice(m);
    }
    put_cstr(&mut b[2168..2168 + IP_LEN], &h.myip);
    b[2214..2216].copy_from_slice(&extensions.to_be_bytes());
    b[2246..2248].copy_from_slice(&h.pport.to_be_bytes());
    b[2248..2250].copy_from_slice(&h.cport.to_be_bytes());
    b[2250..2252].copy_from_slice(&h.flags.to_be_bytes());
    b[2252] = h.state;
    b[2253..2256].copy_from_slice(&h.mflags);
    b
}

fn finish(mut b: Vec<u8>) -> Vec<u8> {
    let len = b.len() as u32;
    b[4..8].copy_from_slice(&len.to_be_bytes());
    b
}

/// Encodes a message.
pub fn encode(h: &Header, body: &Body) -> Vec<u8> {
    let mut h = h.clone();
    match body {
        Body::Ping { gossip, hostname } => {
            h.count = gossip.len() as u16;
            let host = hostname.as_deref().filter(|s| !s.is_empty());
            if host.is_some() {
                h.mflags[0] |= MF_EXT_DATA;
            }
            let mut b = start(&h, host.is_some() as u16);
            for g in gossip {
                let mut e = [0u8; GOSSIP_LEN];
                e[0..40].copy_from_slice(&g.name);
                e[40..44].copy_from_slice(&g.ping_sent.to_be_bytes());
                e[44..48].copy_from_slice(&g.pong_received.to_be_bytes());
                put_cstr(&mut e[48..48 + IP_LEN], &g.ip);
                e[94..96].copy_from_slice(&g.port.to_be_bytes());
                e[96..98].copy_from_slice(&g.cport.to_be_bytes());
                e[98..100].copy_from_slice(&g.flags.to_be_bytes());
                e[100..102].copy_from_slice(&g.pport.to_be_bytes());
                b.extend_from_slice(&e);
            }
            if let Some(host) = host {
                // Type, unused, length (of the whole extension), the name with its NUL,
                // padded to 8 bytes.
                let len = 8 + (host.len() + 1).div_ceil(8) * 8;
                b.extend_from_slice(&EXT_HOSTNAME.to_be_bytes());
                b.extend_from_slice(&[0, 0]);
                b.extend_from_slice(&(len as u32).to_be_bytes());
                let from = b.len();
                b.extend_from_slice(host.as_bytes());
                b.resize(from + len - 8, 0);
            }
            finish(b)
        }
        Body::Fail(name) => {
            let mut b = start(&h, 0);
            b.extend_from_slice(name);
            finish(b)
        }
        Body::Publish { channel, message } => {
            let mut b = start(&h, 0);
            b.extend_from_slice(&(channel.len() as u32).to_be_bytes());
            b.extend_from_slice(&(message.len() as u32).to_be_bytes());
            b.extend_from_slice(channel);
            b.extend_from_slice(message);
            finish(b)
        }
        Body::Update {
            config_epoch,
            name,
            slots,
        } => {
            let mut b = start(&h, 0);
            b.extend_from_slice(&config_epoch.to_be_bytes());
            b.extend_from_slice(name);
            b.extend_from_slice(&slots[..]);
            finish(b)
        }
        Body::None => finish(start(&h, 0)),
    }
}

/// Whether slot `j` is set in a bitmap.
#[inline]
pub fn bit(bits: &SlotBits, j: usize) -> bool {
    bits[j >> 3] & (1 << (j & 7)) != 0
}

#[inline]
pub fn set_bit(bits: &mut SlotBits, j: usize, on: bool) {
    if on {
        bits[j >> 3] |= 1 << (j & 7);
    } else {
        bits[j >> 3] &= !(1 << (j & 7));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(c: u8) -> Name {
        [c; NAMELEN]
    }

    #[test]
    fn a_ping_round_trips_with_gossip_and_hostname() {
        let mut h = Header::new(PING, name(b'a'));
        h.port = 7000;
        h.cport = 17000;
        h.current_epoch = 5;
        h.config_epoch = 3;
        h.offset = 12345;
        h.slaveof = Some(name(b'b'));
        h.flags = 2;
        set_bit(&mut h.myslots, 0, true);
        set_bit(&mut h.myslots, 16383, true);
        let g = Gossip {
            name: name(b'c'),
            ping_sent: 1,
            pong_received: 2,
            ip: "127.0.0.1".into(),
            port: 7001,
            cport: 17001,
            flags: 1,
            pport: 0,
        };
        let body = Body::Ping {
            gossip: vec![g.clone()],
            hostname: Some("host-a".into()),
        };
        let b = encode(&h, &body);
        assert_eq!(b.len(), HDR_LEN + GOSSIP_LEN + 16);
        assert_eq!(announced_len(&b[..8]), Some(b.len()));
        let m = decode(&b).unwrap();
        assert_eq!(m.hdr.ty, PING);
        assert_eq!(m.hdr.count, 1);
        assert_eq!(m.hdr.port, 7000);
        assert_eq!(m.hdr.cport, 17000);
        assert_eq!(m.hdr.current_epoch, 5);
        assert_eq!(m.hdr.config_epoch, 3);
        assert_eq!(m.hdr.offset, 12345);
        assert_eq!(m.hdr.slaveof, Some(name(b'b')));
        assert!(bit(&m.hdr.myslots, 0) && bit(&m.hdr.myslots, 16383) && !bit(&m.hdr.myslots, 1));
        match m.body {
            Body::Ping { gossip, hostname } => {
                assert_eq!(gossip, vec![g]);
                assert_eq!(hostname.as_deref(), Some("host-a"));
            }
            _ => panic!("not a ping"),
        }
    }

    #[test]
    fn lengths_that_do_not_match_the_type_are_refused() {
        let h = Header::new(FAIL, name(b'a'));
        let mut b = encode(&h, &Body::Fail(name(b'z')));
        assert!(decode(&b).is_ok());
        b.push(0);
        assert!(matches!(decode(&b), Err(Refused::Length(FAIL, _, _))));
        let mut p = Header::new(PING, name(b'a'));
        p.count = 0;
        let mut b = encode(
            &p,
            &Body::Ping {
                gossip: vec![],
                hostname: None,
            },
        );
        // Claims two gossip entries it does not carry.
        b[14..16].copy_from_slice(&2u16.to_be_bytes());
        assert!(decode(&b).is_err());
        let u = Header::new(PUBLISH, name(b'a'));
        let mut b = encode(
            &u,
            &Body::Publish {
                channel: b"ch".to_vec(),
                message: b"msg".to_vec(),
            },
        );
        b[HDR_LEN..HDR_LEN + 4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(decode(&b).is_err());
        assert!(announced_len(b"RCmb\0\0\0\x10").is_none());
        assert!(announced_len(b"XXXX\0\0\x10\0").is_none());
    }

    #[test]
    fn an_update_round_trips() {
        let h = Header::new(UPDATE, name(b'a'));
        let mut slots = Box::new([0u8; SLOT_BYTES]);
        set_bit(&mut slots, 42, true);
        let b = encode(
            &h,
            &Body::Update {
                config_epoch: 9,
                name: name(b'q'),
                slots,
            },
        );
        match decode(&b).unwrap().body {
            Body::Update {
                config_epoch,
                name: n,
                slots,
            } => {
                assert_eq!(config_epoch, 9);
                assert_eq!(n, name(b'q'));
                assert!(bit(&slots, 42));
            }
            _ => panic!("not an update"),
        }
    }
}
