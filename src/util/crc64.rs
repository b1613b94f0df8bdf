//! CRC-64/Jones ("CRC-64/REDIS" in the CRC catalogue): the checksum of RDB files and DUMP
//! payloads. Reflected, init 0, no final xor, so a running checksum is just a digest fed
//! chunk by chunk. Redis compat: crc64.c.
//! A save checksums every byte it writes and a load every byte it reads: long inputs
//! are folded with carry-less multiplies (`crc-fast`), short ones (DUMP payloads of
//! small values) read sixteen bytes a step from slice-by-16 tables, which start faster.
use crc::{Crc, Table, CRC_64_REDIS};
use crc_fast::CrcAlgorithm::Crc64Redis;

static CRC64: Crc<u64, Table<16>> = Crc::<u64, Table<16>>::new(&CRC_64_REDIS);

/// Below this many bytes the tables beat the folding code's setup.
const SHORT: usize = 128;

/// The checksum of `data` in one call.
pub fn crc64(data: &[u8]) -> u64 {
    if data.len() < SHORT {
        CRC64.checksum(data)
    } else {
        crc_fast::checksum(Crc64Redis, data)
    }
}

/// A running checksum for data that arrives in pieces (an RDB file being written).
pub struct Crc64(crc_fast::Digest);

impl Default for Crc64 {
    fn default() -> Self {
        Crc64(crc_fast::Digest::new(Crc64Redis))
    }
}

impl Crc64 {
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    /// The checksum of everything fed so far (the digest keeps going).
    pub fn value(&self) -> u64 {
        self.0.finalize()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_redis_test_vector() {
        // Redis compat: crc64.c self test ("123456789" -> e9c6d914c4b8d9ca).
        assert_eq!(crc64(b"123456789"), 0xe9c6d914c4b8d9ca);
        let mut c = Crc64::default();
        c.update(b"1234");
        c.update(b"56789");
        assert_eq!(c.value(), 0xe9c6d914c4b8d9ca);
    }

    #[test]
    fn short_and_long_inputs_and_any_split_agree() {
        let data: Vec<u8> = (0..5000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for len in [0, 1, SHORT - 1, SHORT, SHORT + 1, 1000, 5000] {
            let whole = crc64(&data[..len]);
            assert_eq!(whole, CRC64.checksum(&data[..len]), "{len}");
            for cut in [0, 1.min(len), len / 3, len] {
                let mut c = Crc64::default();
                c.update(&data[..cut]);
                c.update(&data[cut..len]);
                assert_eq!(c.value(), whole, "{len} {cut}");
            }
        }
    }
}
