//! The roster's rows spilled to an anonymous temporary file, so that a
//! household can be put together from rows anywhere in the file without
//! holding the file in memory.
//!
//! Each row is written once, in file order, with the offset of the previous
//! row of the same household: the rows of a household form a chain that is
//! walked backwards from its last row. The index in memory is then one small
//! fixed-size entry per household (see `Slot` in `lib.rs`), whatever the
//! roster's size. The file is created with `tempfile::tempfile()`: it has no
//! name (or is deleted at once where the system cannot do that) and is gone
//! when the reader is dropped, so the personal data in it does not outlive
//! the read.

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};

use crate::source::RawRow;

/// The offset that ends a chain.
pub(crate) const END: u64 = u64::MAX;

/// The spill file: written during the first pass, read after.
pub(crate) struct Spill {
    writer: Option<BufWriter<File>>,
    reader: Option<File>,
    len: u64,
    buf: Vec<u8>,
}

impl Spill {
    pub(crate) fn new() -> io::Result<Spill> {
        Ok(Spill {
            writer: Some(BufWriter::with_capacity(256 * 1024, tempfile::tempfile()?)),
            reader: None,
            len: 0,
            buf: Vec::new(),
        })
    }

    /// Appends a row whose household's previous row is at `prev` (or
    /// [`END`]); returns the row's offset.
    pub(crate) fn push(&mut self, row: &RawRow, prev: u64) -> io::Result<u64> {
        let w = self
            .writer
            .as_mut()
            .ok_or_else(|| io::Error::other("the spill file is already closed for writing"))?;
        let buf = &mut self.buf;
        buf.clear();
        buf.extend_from_slice(&prev.to_le_bytes());
        buf.extend_from_slice(&(row.row as u64).to_le_bytes());
        put_len(buf, row.cells.len());
        for c in &row.cells {
            put_len(buf, c.len());
            buf.extend_from_slice(c.as_bytes());
        }
        put_len(buf, row.bad.len());
        for (i, reason) in &row.bad {
            put_len(buf, *i);
            put_len(buf, reason.len());
            buf.extend_from_slice(reason.as_bytes());
        }
        let offset = self.len;
        let body = u32::try_from(buf.len()).map_err(|_| io::Error::other("a row is larger than 4 GiB"))?;
        w.write_all(&body.to_le_bytes())?;
        w.write_all(buf)?;
        self.len += 4 + u64::from(body);
        Ok(offset)
    }

    /// Ends the writing; rows can be read from now on.
    pub(crate) fn finish(&mut self) -> io::Result<()> {
        if let Some(w) = self.writer.take() {
            let file = w.into_inner().map_err(|e| e.into_error())?;
            self.reader = Some(file);
        }
        Ok(())
    }

    /// The row at `offset` and the offset of its household's previous row.
    pub(crate) fn read(&mut self, offset: u64) -> io::Result<(RawRow, u64)> {
        let file = self
            .reader
            .as_mut()
            .ok_or_else(|| io::Error::other("the spill file is still being written"))?;
        file.seek(SeekFrom::Start(offset))?;
        let mut len = [0u8; 4];
        file.read_exact(&mut len)?;
        let len = u32::from_le_bytes(len) as usize;
        self.buf.resize(len, 0);
        file.read_exact(&mut self.buf)?;
        decode(&self.buf).ok_or_else(|| io::Error::other("the spill file is corrupt"))
    }
}

fn put_len(buf: &mut Vec<u8>, n: usize) {
    // Cells, rows and reasons are far below 4 GiB: the roster is at most
    // 100 MiB.
    buf.extend_from_slice(&(n as u32).to_le_bytes());
}

/// Reads the fields back in the order `push` wrote them.
fn decode(b: &[u8]) -> Option<(RawRow, u64)> {
    let mut c = Cursor { b, at: 0 };
    let prev = c.u64()?;
    let row = c.u64()? as usize;
    let n = c.len()?;
    let mut cells = Vec::with_capacity(n.min(64));
    for _ in 0..n {
        cells.push(c.text()?);
    }
    let n = c.len()?;
    let mut bad = Vec::with_capacity(n.min(64));
    for _ in 0..n {
        let i = c.len()?;
        bad.push((i, c.text()?));
    }
    Some((RawRow { row, cells, bad }, prev))
}

struct Cursor<'b> {
    b: &'b [u8],
    at: usize,
}

impl<'b> Cursor<'b> {
    fn take(&mut self, n: usize) -> Option<&'b [u8]> {
        let s = self.b.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn len(&mut self) -> Option<usize> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?) as usize)
    }

    fn text(&mut self) -> Option<String> {
        let n = self.len()?;
        String::from_utf8(self.take(n)?.to_vec()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_come_back_as_written_with_their_chain() {
        let mut s = Spill::new().unwrap();
        let a = RawRow {
            row: 2,
            cells: vec!["DJ-1".into(), String::new(), "张三".into()],
            bad: vec![],
        };
        let b = RawRow {
            row: 7,
            cells: vec!["DJ-1".into()],
            bad: vec![(3, "is not text".into())],
        };
        let oa = s.push(&a, END).unwrap();
        let ob = s.push(&b, oa).unwrap();
        s.finish().unwrap();
        assert_eq!(s.read(ob).unwrap(), (b, oa));
        assert_eq!(s.read(oa).unwrap(), (a, END));
    }
}
