//! How long this machine's disk takes to make a write durable: 8 KiB (a
//! WAL page) written and `fdatasync`ed, again and again, in the directory
//! the private PostgreSQL keeps its data in. Every commit on the command's
//! path (the `commands` row, the decision) waits for at least one of these,
//! so it bounds what the pipeline's latency can be here.

use std::io::Write as _;
use std::path::Path;
use std::time::Instant;

use super::stats::{Latency, histogram, micros};

const PAGE: usize = 8 * 1024;
const PAGES: u64 = 128;

/// `samples` flushes of one page each, cycling over `PAGES` pages of a
/// scratch file in `dir` (removed afterwards).
pub fn flush_latency(dir: &Path, samples: u32) -> anyhow::Result<Latency> {
    let path = dir.join("flush-probe");
    let mut file = std::fs::File::create(&path)?;
    let page = [0x5a_u8; PAGE];
    let mut h = histogram();
    for n in 0..u64::from(samples) {
        use std::io::Seek as _;
        file.seek(std::io::SeekFrom::Start((n % PAGES) * PAGE as u64))?;
        file.write_all(&page)?;
        let started = Instant::now();
        file.sync_data()?;
        h.record(micros(started.elapsed()))?;
    }
    drop(file);
    std::fs::remove_file(&path)?;
    Ok(Latency::of(&h))
}
