//! The replication buffer: one copy of the replication stream, shared by the backlog
//! and every replica's output. Replicas hold a position in it (the offset of the next
//! byte to send) instead of a copy of what they have not received yet, so N replicas
//! cost the memory of one stream, and the backlog keeps whatever a slow replica still
//! needs: a replica that reconnects may resume from anywhere it holds, even past
//! `repl-backlog-size`. The front is freed once no replica needs it and the rest
//! still covers `repl-backlog-size`. Redis compat: replication.c
//! feedReplicationBuffer, incrementalTrimReplicationBacklog (Redis 7.0's shared
//! replication buffer).
use std::collections::VecDeque;

/// The smallest block: small writes fill one before another is allocated.
/// Redis compat: PROTO_REPLY_CHUNK_BYTES.
pub const MIN_BLOCK: usize = 16 * 1024;
/// What each block costs besides its bytes.
pub const BLOCK_OVERHEAD: usize = std::mem::size_of::<Block>();

struct Block {
    /// Offset of its first byte.
    start: u64,
    data: Vec<u8>,
    /// Memory of every block allocated up to this one, since the buffer was made:
    /// what the blocks from one to the end hold is a subtraction.
    upto: u64,
}

impl Block {
    fn end(&self) -> u64 {
        self.start + self.data.len() as u64
    }
}

pub struct ReplBuffer {
    blocks: VecDeque<Block>,
    /// Offset of the first byte held (the backlog's first byte).
    start: u64,
    /// Offset the next byte appended will have.
    end: u64,
    /// Bytes allocated for the blocks' data.
    mem: usize,
    /// Bytes ever allocated for blocks (see `Block::upto`).
    allocated: u64,
}

impl Default for ReplBuffer {
    fn default() -> Self {
        ReplBuffer::new(1)
    }
}

impl ReplBuffer {
    /// An empty buffer whose next byte has offset `next`.
    pub fn new(next: u64) -> Self {
        ReplBuffer {
            blocks: VecDeque::new(),
            start: next,
            end: next,
            mem: 0,
            allocated: 0,
        }
    }

    /// Offset of the first byte held.
    pub fn first_byte(&self) -> u64 {
        self.start
    }

    /// Offset the next byte will have.
    pub fn next_offset(&self) -> u64 {
        self.end
    }

    /// Bytes of history held (repl_backlog_histlen).
    pub fn histlen(&self) -> u64 {
        self.end - self.start
    }

    /// Memory held (mem_total_replication_buffers): the blocks and the table of them.
    pub fn mem(&self) -> usize {
        self.mem + self.blocks.capacity() * BLOCK_OVERHEAD
    }

    /// Whether a replica may continue from `off` (the next byte it needs).
    pub fn holds(&self, off: u64) -> bool {
        off >= self.start && off <= self.end
    }

    /// Appends `bytes`. Blocks are at least MIN_BLOCK (small writes share one) and at
    /// most a sixteenth of the backlog size, so a big write never pins one huge block
    /// that could only be freed whole. Returns whether a block was added (when
    /// replicas' limits and trimming are worth checking).
    pub fn append(&mut self, mut bytes: &[u8], backlog_size: usize) -> bool {
        let mut added = false;
        while !bytes.is_empty() {
            if let Some(tail) = self.blocks.back_mut().filter(|b| b.data.len() < b.data.capacity()) {
                let take = (tail.data.capacity() - tail.data.len()).min(bytes.len());
                tail.data.extend_from_slice(&bytes[..take]);
                bytes = &bytes[take..];
                self.end += take as u64;
                continue;
            }
            let limit = (backlog_size / 16).max(MIN_BLOCK);
            let size = bytes.len().clamp(MIN_BLOCK, limit);
            let data = Vec::with_capacity(size);
            self.mem += data.capacity();
            self.allocated += (data.capacity() + BLOCK_OVERHEAD) as u64;
            self.blocks.push_back(Block {
                start: self.end,
                data,
                upto: self.allocated,
            });
            added = true;
        }
        added
    }

    /// The index of the block holding offset `off` (the last block for the offset
    /// just past the end).
    fn block_of(&self, off: u64) -> Option<usize> {
        if !self.holds(off) || self.blocks.is_empty() {
            return None;
        }
        let i = self.blocks.partition_point(|b| b.start <= off);
        Some(i.saturating_sub(1))
    }

    /// The bytes from `off` to the end of the block holding it (empty when `off` is
    /// the end or no longer held).
    pub fn chunk_from(&self, off: u64) -> &[u8] {
        let Some(b) = self.block_of(off).and_then(|i| self.blocks.get(i)) else {
            return &[];
        };
        b.data.get((off - b.start) as usize..).unwrap_or_default()
    }

    /// Memory a replica whose next byte is `off` keeps in use: from the start of its
    /// block to the end of the buffer. What its output buffer limit is checked against.
    /// Redis compat: networking.c getClientOutputBufferMemoryUsage.
    pub fn mem_from(&self, off: u64) -> usize {
        let Some(b) = self.block_of(off).and_then(|i| self.blocks.get(i)) else {
            return 0;
        };
        (self.allocated - b.upto) as usize + b.data.capacity() + BLOCK_OVERHEAD
    }

    /// Frees front blocks (at most `max_blocks`) that no replica needs (every replica's
    /// next byte is at `keep_from` or after) while the rest still holds more than
    /// `backlog_size` bytes. One block always stays. Returns whether any was freed.
    pub fn trim(&mut self, keep_from: u64, backlog_size: usize, max_blocks: usize) -> bool {
        let mut freed = 0;
        while freed < max_blocks && self.blocks.len() > 1 {
            let Some(front) = self.blocks.front() else {
                break;
            };
            let rest = self.histlen() - front.data.len() as u64;
            if front.end() > keep_from || rest <= backlog_size as u64 {
                break;
            }
            let cap = front.data.capacity();
            self.start = front.end();
            self.blocks.pop_front();
            self.mem -= cap;
            freed += 1;
        }
        // The table shrinks with the buffer once it is mostly empty.
        let cap = self.blocks.capacity();
        if freed > 0 && cap > 64 && self.blocks.len() < cap / 4 {
            self.blocks.shrink_to(self.blocks.len() * 2);
        }
        freed > 0
    }

    /// Whether trimming could free anything now (a cheap test before working out
    /// which replica is furthest behind).
    pub fn over(&self, backlog_size: usize) -> bool {
        self.blocks.len() > 1
            && self
                .blocks
                .front()
                .is_some_and(|f| self.histlen() - f.data.len() as u64 > backlog_size as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A copy of the bytes from `from` to the end.
    fn collect(b: &ReplBuffer, from: u64) -> Vec<u8> {
        let mut v = Vec::new();
        let mut off = from;
        loop {
            let c = b.chunk_from(off);
            if c.is_empty() {
                return v;
            }
            v.extend_from_slice(c);
            off += c.len() as u64;
        }
    }

    #[test]
    fn appended_bytes_are_read_back_across_blocks() {
        let mut b = ReplBuffer::new(1);
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        for piece in data.chunks(777) {
            b.append(piece, 1 << 20);
        }
        assert_eq!(b.histlen(), data.len() as u64);
        assert_eq!(collect(&b, 1), data);
        assert_eq!(collect(&b, 5001), data[5000..]);
        assert!(b.chunk_from(b.next_offset()).is_empty());
        assert!(b.chunk_from(0).is_empty());
        assert!(b.mem() >= data.len());
        assert!(b.mem_from(1) >= data.len());
        assert!(b.mem_from(b.next_offset()) < 2 * MIN_BLOCK);
    }

    #[test]
    fn blocks_are_capped_at_a_sixteenth_of_the_backlog() {
        let mut b = ReplBuffer::new(1);
        // A 1 MB write with a 16 MB backlog: blocks of 1 MB at most.
        assert!(b.append(&vec![7u8; 3 << 20], 16 << 20));
        assert_eq!(b.blocks.len(), 3);
        // With a small backlog, blocks are MIN_BLOCK.
        let mut b = ReplBuffer::new(1);
        b.append(&vec![7u8; 256 * 1024], 16 * 1024);
        assert_eq!(b.blocks.len(), 16);
        assert!(b.mem_from(b.next_offset()) < 2 * MIN_BLOCK);
    }

    #[test]
    fn trimming_keeps_the_backlog_and_what_replicas_need() {
        let mut b = ReplBuffer::new(1);
        b.append(&vec![1u8; 200 * MIN_BLOCK], 16 * 1024);
        let mem = b.mem();
        // A replica still at offset 1 keeps everything.
        assert!(!b.trim(1, 16 * 1024, usize::MAX));
        assert_eq!(b.mem(), mem);
        // Once it moved on, the front goes, down to more than the backlog size.
        let at = 1 + 100 * MIN_BLOCK as u64;
        assert!(b.trim(at, 16 * 1024, usize::MAX));
        assert_eq!(b.first_byte(), at);
        // A block only goes if what stays still holds more than the backlog size.
        assert!(b.trim(u64::MAX, 16 * 1024, usize::MAX));
        assert_eq!(b.histlen(), 2 * MIN_BLOCK as u64);
        assert_eq!(b.blocks.len(), 2);
        assert!(!b.over(16 * 1024));
        // What is left, and the table of blocks, is all that is still counted.
        assert!(b.mem() < 3 * MIN_BLOCK, "{}", b.mem());
        // A little more, and the older of the two is freed.
        b.append(b"+PING\r\n", 16 * 1024);
        assert!(b.trim(u64::MAX, 16 * 1024, usize::MAX));
        assert_eq!(b.histlen(), MIN_BLOCK as u64 + 7);
        // The data left is the newest.
        assert_eq!(collect(&b, b.first_byte()).len() as u64, b.histlen());
        assert!(b.holds(b.next_offset()) && !b.holds(1));
    }
}
