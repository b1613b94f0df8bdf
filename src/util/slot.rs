//! Cluster hash slots. Redis compat: cluster.c keyHashSlot, crc16.c.

/// How many hash slots a cluster has.
pub const SLOTS: usize = 16384;

/// The hash slot of a key: CRC16 (XMODEM) of the key, or of the part between the
/// first `{` and the next `}` when that part is not empty, modulo 16384.
pub fn key_slot(key: &[u8]) -> u16 {
    const CRC: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_XMODEM);
    let tagged = key.iter().position(|&c| c == b'{').and_then(|s| {
        let rest = &key[s + 1..];
        let e = rest.iter().position(|&c| c == b'}')?;
        (e > 0).then(|| &rest[..e])
    });
    CRC.checksum(tagged.unwrap_or(key)) & 0x3FFF
}
