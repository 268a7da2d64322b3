//! Delimited text rosters (CSV, and Excel's tab-separated "Unicode 文本"):
//! which encoding the file is in, and its rows.
//!
//! The encoding is detected, never guessed silently:
//! - a byte order mark decides (UTF-8, UTF-16LE, UTF-16BE);
//! - otherwise a file that is valid UTF-8 throughout is UTF-8;
//! - otherwise it is decoded strictly as GB18030 (a superset of GBK, what
//!   Excel 中文版's "CSV (逗号分隔)" writes), every byte sequence that is not
//!   GB18030 reported with its row and column.
//!
//! A file in which some rows are UTF-8 and others are not is refused as a
//! whole (decoding UTF-8 as GB18030 gives plausible but wrong characters, so
//! a name would be queried misspelt). A file with NUL bytes and no byte order
//! mark is UTF-16 without a BOM, and refused: its byte order is a guess.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use encoding_rs::{Decoder, DecoderResult, GB18030, UTF_16BE, UTF_16LE};

use crate::FileError;
use crate::source::{Broken, MAX_COLUMNS, RawRow, RowSource};

/// The encoding a text roster was read in, as the summary line names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    /// UTF-8 without a byte order mark.
    Utf8,
    /// UTF-8 with a byte order mark (Excel's "CSV UTF-8（逗号分隔）").
    Utf8Bom,
    /// GB18030, which includes GBK (Excel 中文版's "CSV（逗号分隔）").
    Gb18030,
    /// UTF-16 little-endian with a byte order mark (Excel's "Unicode 文本").
    Utf16Le,
    /// UTF-16 big-endian with a byte order mark.
    Utf16Be,
}

impl TextEncoding {
    /// The name shown to the caseworker.
    pub fn label(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "UTF-8",
            TextEncoding::Utf8Bom => "UTF-8 (BOM)",
            TextEncoding::Gb18030 => "GB18030/GBK",
            TextEncoding::Utf16Le => "UTF-16LE (BOM)",
            TextEncoding::Utf16Be => "UTF-16BE (BOM)",
        }
    }
}

/// How many bytes of the file's start are looked at for the separator.
const HEAD_BYTES: usize = 64 * 1024;

/// Opens a text roster: detects its encoding and separator and returns its
/// rows.
pub(crate) fn open(path: &Path) -> Result<(TextEncoding, CsvRows), FileError> {
    let io = |e: io::Error| FileError::Io(format!("{}: {e}", path.display()));
    let mut head = Vec::with_capacity(HEAD_BYTES);
    File::open(path)
        .map_err(io)?
        .take(HEAD_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(io)?;
    let (encoding, bom) = if head.starts_with(b"\xEF\xBB\xBF") {
        (TextEncoding::Utf8Bom, 3)
    } else if head.starts_with(b"\xFF\xFE") {
        (TextEncoding::Utf16Le, 2)
    } else if head.starts_with(b"\xFE\xFF") {
        (TextEncoding::Utf16Be, 2)
    } else if head.contains(&0) {
        return Err(FileError::Encoding(
            "the file holds NUL bytes and has no byte order mark: it looks like UTF-16 text without a BOM, \
             whose byte order cannot be told for sure; in Excel save it as \"Unicode 文本\" (which writes a BOM), \
             as \"CSV UTF-8（逗号分隔）\", or as .xlsx"
                .to_owned(),
        ));
    } else {
        (prescan(path)?, 0)
    };
    let delimiter = sniff_delimiter(&head[bom..], encoding);
    let mut file = BufReader::new(File::open(path).map_err(io)?);
    let mut skip = [0u8; 3];
    file.read_exact(&mut skip[..bom]).map_err(io)?;
    let (reader, fields): (Box<dyn Read + Send>, Fields) = match encoding {
        TextEncoding::Utf8 => (Box::new(file), Fields::Utf8),
        TextEncoding::Utf8Bom => (Box::new(file), Fields::Utf8Bom),
        TextEncoding::Gb18030 => (Box::new(file), Fields::Gb18030),
        TextEncoding::Utf16Le => (
            Box::new(Utf16Reader::new(file, UTF_16LE.new_decoder_without_bom_handling())),
            Fields::Utf8,
        ),
        TextEncoding::Utf16Be => (
            Box::new(Utf16Reader::new(file, UTF_16BE.new_decoder_without_bom_handling())),
            Fields::Utf8,
        ),
    };
    Ok((encoding, CsvRows::new(reader, delimiter, fields)))
}

/// Reads the whole file once, as CSV records of bytes, to tell UTF-8 from
/// GB18030 before anything is decoded.
fn prescan(path: &Path) -> Result<TextEncoding, FileError> {
    let file = File::open(path).map_err(|e| FileError::Io(format!("{}: {e}", path.display())))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(BufReader::new(file));
    let mut record = csv::ByteRecord::new();
    let (mut utf8_row, mut other_row) = (None, None);
    let mut row = 0;
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                return Err(FileError::Broken {
                    row: row + 1,
                    reason: format!("the file cannot be read: {e}"),
                });
            }
        }
        row += 1;
        let bytes = record.as_slice();
        if bytes.is_ascii() {
            continue;
        }
        match std::str::from_utf8(bytes) {
            Ok(_) => {
                utf8_row.get_or_insert(row);
            }
            Err(_) => {
                other_row.get_or_insert(row);
            }
        }
        if let (Some(a), Some(b)) = (utf8_row, other_row) {
            return Err(FileError::Encoding(format!(
                "the file mixes encodings: row {a} is UTF-8 text but row {b} is not (most likely GBK), so one of \
                 them would be read with wrong characters; copy all rows into one workbook and save it once, as \
                 .xlsx or as \"CSV UTF-8（逗号分隔）\""
            )));
        }
    }
    Ok(if other_row.is_some() {
        TextEncoding::Gb18030
    } else {
        TextEncoding::Utf8
    })
}

/// A tab when the start of the file has more tabs than commas (Excel's
/// "Unicode 文本" and "文本文件（制表符分隔）"), a comma otherwise.
fn sniff_delimiter(head: &[u8], encoding: TextEncoding) -> u8 {
    let text: String = match encoding {
        TextEncoding::Utf16Le => UTF_16LE.decode_without_bom_handling(head).0.into_owned(),
        TextEncoding::Utf16Be => UTF_16BE.decode_without_bom_handling(head).0.into_owned(),
        // No UTF-8 or GB18030 sequence holds a tab or a comma byte (GB18030's
        // four-byte sequences hold ASCII digits, never separators), so the
        // bytes can be counted as they are.
        _ => head
            .iter()
            .map(|&b| if b.is_ascii() { b as char } else { ' ' })
            .collect(),
    };
    let tabs = text.bytes().filter(|&b| b == b'\t').count();
    let commas = text.bytes().filter(|&b| b == b',').count();
    if tabs > commas { b'\t' } else { b',' }
}

/// How the cells' bytes become text.
#[derive(Debug, Clone, Copy)]
enum Fields {
    /// UTF-8, checked by the prescan (or transcoded from UTF-16).
    Utf8,
    /// UTF-8 as the byte order mark says; not prescanned, so checked here.
    Utf8Bom,
    /// GB18030, strictly.
    Gb18030,
}

/// Rows of a delimited text file, double quotes around cells that hold the
/// separator or line breaks.
pub(crate) struct CsvRows {
    reader: csv::Reader<Box<dyn Read + Send>>,
    fields: Fields,
    record: csv::ByteRecord,
    row: usize,
    done: bool,
}

impl CsvRows {
    fn new(reader: Box<dyn Read + Send>, delimiter: u8, fields: Fields) -> CsvRows {
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(reader);
        CsvRows {
            reader,
            fields,
            record: csv::ByteRecord::new(),
            row: 0,
            done: false,
        }
    }

    fn decode(&self, field: &[u8]) -> Result<String, String> {
        match self.fields {
            Fields::Utf8 | Fields::Utf8Bom => std::str::from_utf8(field).map(str::to_owned).map_err(|e| {
                format!(
                    "is not UTF-8 text (byte 0x{:02X} at byte {} of the cell), although the file starts as UTF-8; \
                     save the roster again as \"CSV UTF-8（逗号分隔）\" or as .xlsx",
                    field[e.valid_up_to()],
                    e.valid_up_to() + 1
                )
            }),
            Fields::Gb18030 => match GB18030.decode_without_bom_handling_and_without_replacement(field) {
                Some(s) => Ok(s.into_owned()),
                None => {
                    let at = first_bad_gb18030(field);
                    Err(format!(
                        "holds bytes that are not GB18030/GBK text (byte 0x{:02X} at byte {} of the cell); retype \
                         the cell in Excel, or save the roster as .xlsx",
                        field.get(at).copied().unwrap_or(0),
                        at + 1
                    ))
                }
            },
        }
    }
}

/// The offset of the first byte of `bytes` that GB18030 cannot decode.
fn first_bad_gb18030(bytes: &[u8]) -> usize {
    let mut decoder = GB18030.new_decoder_without_bom_handling();
    let mut out = String::with_capacity(bytes.len() * 3 + 4);
    let (result, read) = decoder.decode_to_string_without_replacement(bytes, &mut out, true);
    match result {
        DecoderResult::Malformed(bad, pending) => read.saturating_sub(usize::from(bad) + usize::from(pending)),
        _ => read,
    }
}

impl RowSource for CsvRows {
    fn next_row(&mut self) -> Option<Result<RawRow, Broken>> {
        if self.done {
            return None;
        }
        match self.reader.read_byte_record(&mut self.record) {
            Ok(false) => {
                self.done = true;
                None
            }
            Ok(true) => {
                self.row += 1;
                let mut cells = Vec::with_capacity(self.record.len().min(MAX_COLUMNS));
                let mut bad = Vec::new();
                for (i, field) in self.record.iter().enumerate() {
                    if i >= MAX_COLUMNS {
                        if field.iter().any(|b| !b.is_ascii_whitespace()) {
                            bad.push((i, format!("the row has more than {MAX_COLUMNS} columns")));
                            break;
                        }
                        continue;
                    }
                    match self.decode(field) {
                        Ok(s) => cells.push(s),
                        Err(reason) => {
                            cells.push(String::new());
                            bad.push((i, reason));
                        }
                    }
                }
                Some(Ok(RawRow {
                    row: self.row,
                    cells,
                    bad,
                }))
            }
            Err(e) => {
                self.done = true;
                let row = self.row + 1;
                let reason = match e.kind() {
                    csv::ErrorKind::Io(io) => format!("could not read the file: {io}"),
                    _ => format!("the CSV is malformed: {e}"),
                };
                Some(Err(Broken { row, reason }))
            }
        }
    }
}

/// UTF-16 bytes in, UTF-8 bytes out, strictly: an unpaired surrogate is an
/// error naming the line.
struct Utf16Reader<R> {
    inner: R,
    decoder: Decoder,
    input: Vec<u8>,
    output: Vec<u8>,
    out_pos: usize,
    out_len: usize,
    lines: usize,
    finished: bool,
}

impl<R: Read> Utf16Reader<R> {
    fn new(inner: R, decoder: Decoder) -> Utf16Reader<R> {
        const CHUNK: usize = 16 * 1024;
        let out = decoder
            .max_utf8_buffer_length_without_replacement(CHUNK)
            .unwrap_or(CHUNK * 3)
            + 16;
        Utf16Reader {
            inner,
            decoder,
            input: vec![0; CHUNK],
            output: vec![0; out],
            out_pos: 0,
            out_len: 0,
            lines: 1,
            finished: false,
        }
    }
}

impl<R: Read> Read for Utf16Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.out_pos == self.out_len {
            if self.finished {
                return Ok(0);
            }
            let n = self.inner.read(&mut self.input)?;
            let last = n == 0;
            let (result, _read, written) =
                self.decoder
                    .decode_to_utf8_without_replacement(&self.input[..n], &mut self.output, last);
            if let DecoderResult::Malformed(..) = result {
                let line = self.lines + self.output[..written].iter().filter(|&&b| b == b'\n').count();
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("the UTF-16 text is damaged (an unpaired surrogate) on line {line}"),
                ));
            }
            self.lines += self.output[..written].iter().filter(|&&b| b == b'\n').count();
            self.out_pos = 0;
            self.out_len = written;
            self.finished = last;
        }
        let k = buf.len().min(self.out_len - self.out_pos);
        buf[..k].copy_from_slice(&self.output[self.out_pos..self.out_pos + k]);
        self.out_pos += k;
        Ok(k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_bad_gb18030_byte_is_found() {
        // 张 in GBK, then a lone 0xFF, which is never GB18030.
        assert_eq!(first_bad_gb18030(b"\xd5\xc5\xff"), 2);
        // A lead byte followed by a space is not a character either.
        assert_eq!(first_bad_gb18030(b"ab\x81 "), 2);
    }

    #[test]
    fn utf16_is_transcoded_strictly() {
        let text: Vec<u8> = "户编号\t姓名\n1\t张三\n"
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        let mut out = String::new();
        Utf16Reader::new(&text[..], UTF_16LE.new_decoder_without_bom_handling())
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, "户编号\t姓名\n1\t张三\n");
        // A lone high surrogate on line 2.
        let mut bad: Vec<u8> = "a\nb".encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        bad.extend([0x00, 0xD8, b'c', 0]);
        let e = Utf16Reader::new(&bad[..], UTF_16LE.new_decoder_without_bom_handling())
            .read_to_string(&mut out)
            .unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
    }
}
