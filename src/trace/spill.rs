//! `pybench record --defer`: the hook's records spill to a nameless file while the program
//! runs and are converted once it has exited.

use super::record::{convert_from, Converted, Pipe, PipeEnd};
use super::Meta;
use crate::sys::fs::AtomicFile;
use anyhow::Context as _;
use std::io::{self, BufReader, Read};
use std::path::Path;

/// The spill file of `--defer`: anonymous, beside the trace `out`, on the disk the user chose
/// for it.
pub(super) fn spill_file(out: &Path) -> anyhow::Result<std::fs::File> {
    let dir = out.parent().unwrap_or(Path::new("."));
    crate::sys::fs::anonymous_file_in(dir)
        .with_context(|| format!("cannot create a spill file in {}", dir.display()))
}

/// `record --defer`: the channel is copied to `spill` while the program runs (a copy costs a
/// few ns an event where converting costs 40 – 50, so a busy second core slows the program
/// less), and converted once it has exited. A spill that cannot be written (disk full) is
/// still drained, so the program never blocks on a full channel; the error is reported after.
pub(super) fn convert_deferred(
    mut pipe: Pipe,
    meta: Meta,
    file: AtomicFile,
    pace: bool,
    spill: std::fs::File,
) -> anyhow::Result<(Converted, PipeEnd)> {
    use std::io::{Seek, Write};
    let mut out = io::BufWriter::with_capacity(1 << 20, spill);
    let mut buf = vec![0u8; 1 << 16];
    let mut failed: Option<io::Error> = None;
    loop {
        let n = pipe.read(&mut buf)?;
        if n == 0 {
            break;
        }
        if failed.is_none() {
            failed = out.write_all(&buf[..n]).err();
        }
    }
    if let Some(e) = failed.or_else(|| out.flush().err()) {
        anyhow::bail!("cannot write the spill file of --defer: {e}");
    }
    let mut spill = out.into_inner().map_err(|e| e.into_error())?;
    spill.rewind()?;
    let spilled = Spilled {
        file: BufReader::with_capacity(1 << 20, spill),
        foreign: pipe.end.foreign_bytes,
    };
    let converted = convert_from(spilled, meta, file, pace)?;
    Ok((converted, pipe.end))
}

/// Where the converter reads the hook's records: the channel, or its spill. Either knows how
/// many bytes foreign writers sent (refused, and counted in the trace's end block).
pub(super) trait Records: Read {
    fn foreign_bytes(&self) -> u64;
}

impl Records for &mut Pipe {
    fn foreign_bytes(&self) -> u64 {
        self.end.foreign_bytes
    }
}

/// A spill file of `record --defer`, with the foreign bytes refused while it was written.
struct Spilled {
    file: BufReader<std::fs::File>,
    foreign: u64,
}

impl Read for Spilled {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.file.read(buf)
    }
}

impl Records for Spilled {
    fn foreign_bytes(&self) -> u64 {
        self.foreign
    }
}
