//! Where rows come from: a CSV file read record by record, or the first
//! worksheet of an XLSX file read cell by cell on a helper thread. Both hand
//! over one row at a time, so memory does not depend on the file's length.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread;

use calamine::{DataRef, Reader, Xlsx};

use crate::{FileError, MAX_XLSX_UNCOMPRESSED_BYTES};

/// The most columns a row may have. A roster has thirteen; a cell far to
/// the right is a stray value, reported rather than allocated for.
pub(crate) const MAX_COLUMNS: usize = 64;

/// One row as read, before its cells mean anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawRow {
    /// 1-based row number as a spreadsheet shows it (the header is row 1 in
    /// a normal file).
    pub row: usize,
    /// The cells, as text, by 0-based column index.
    pub cells: Vec<String>,
    /// Cells that could not be read as text, by column index, with the
    /// reason.
    pub bad: Vec<(usize, String)>,
}

impl RawRow {
    /// True when every cell is empty and none is bad: a blank line, skipped.
    pub fn is_blank(&self) -> bool {
        self.bad.is_empty() && self.cells.iter().all(|c| c.trim().is_empty())
    }
}

/// A problem that ends reading: the rest of the file cannot be trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Broken {
    /// The row being read, or the last row read.
    pub row: usize,
    /// What went wrong, in plain words.
    pub reason: String,
}

/// A stream of rows.
pub(crate) trait RowSource: Send {
    /// The next row, `None` at the end, or the error that ends the file.
    fn next_row(&mut self) -> Option<Result<RawRow, Broken>>;
}

// ---------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------

/// Rows of a CSV file: UTF-8, with or without a byte order mark, comma
/// separated, double quotes around cells that hold commas or line breaks.
pub(crate) struct CsvRows {
    reader: csv::Reader<BufReader<File>>,
    record: csv::ByteRecord,
    row: usize,
    done: bool,
}

impl CsvRows {
    pub(crate) fn open(file: File) -> CsvRows {
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(BufReader::new(file));
        CsvRows {
            reader,
            record: csv::ByteRecord::new(),
            row: 0,
            done: false,
        }
    }
}

const NOT_UTF8: &str = "is not UTF-8 text; in Excel choose 另存为 → \"CSV UTF-8（逗号分隔）\" (Save As → CSV UTF-8), \
                        or save the roster as .xlsx";

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
                    let field = if self.row == 1 && i == 0 {
                        field.strip_prefix("\u{FEFF}".as_bytes()).unwrap_or(field)
                    } else {
                        field
                    };
                    match std::str::from_utf8(field) {
                        Ok(s) => cells.push(s.to_owned()),
                        Err(_) => {
                            cells.push(String::new());
                            bad.push((i, NOT_UTF8.to_owned()));
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

// ---------------------------------------------------------------------------
// XLSX
// ---------------------------------------------------------------------------

/// How many rows the XLSX thread may read ahead of the caller.
const XLSX_READ_AHEAD: usize = 256;

/// Rows of the first worksheet of an XLSX file, read on a helper thread that
/// streams the sheet's XML (calamine's cell reader) and sends one row at a
/// time over a bounded channel. The thread stops when the reader is
/// dropped.
pub(crate) struct XlsxRows {
    rx: Receiver<Result<RawRow, Broken>>,
    done: bool,
}

impl XlsxRows {
    /// Opens the workbook, checking first that the zip's declared contents
    /// are not a zip bomb. Errors are file-level.
    pub(crate) fn open(path: &Path) -> Result<XlsxRows, FileError> {
        check_zip(path)?;
        let file = File::open(path).map_err(|e| FileError::Io(e.to_string()))?;
        let workbook: Xlsx<BufReader<File>> =
            Xlsx::new(BufReader::new(file)).map_err(|e| FileError::BadXlsx(e.to_string()))?;
        let sheet = workbook
            .sheet_names()
            .first()
            .cloned()
            .ok_or_else(|| FileError::BadXlsx("the workbook has no worksheet".to_owned()))?;
        let (tx, rx) = sync_channel(XLSX_READ_AHEAD);
        thread::Builder::new()
            .name("hedui-roster-xlsx".to_owned())
            .spawn(move || read_sheet(workbook, &sheet, &tx))
            .map_err(|e| FileError::Io(format!("could not start the XLSX reader: {e}")))?;
        Ok(XlsxRows { rx, done: false })
    }
}

impl RowSource for XlsxRows {
    fn next_row(&mut self) -> Option<Result<RawRow, Broken>> {
        if self.done {
            return None;
        }
        match self.rx.recv() {
            Ok(Ok(row)) => Some(Ok(row)),
            Ok(Err(e)) => {
                self.done = true;
                Some(Err(e))
            }
            Err(_) => {
                self.done = true;
                None
            }
        }
    }
}

/// Checks the sizes the zip directory declares before anything is
/// decompressed: at most [`MAX_XLSX_UNCOMPRESSED_BYTES`] in all, and no
/// entry over 1 MiB that claims to expand more than 1000 times. The
/// worksheet itself is then decompressed as a stream, one row at a time;
/// only the shared-strings table is held in memory whole, and its declared
/// size counts towards the limit.
fn check_zip(path: &Path) -> Result<(), FileError> {
    let file = File::open(path).map_err(|e| FileError::Io(e.to_string()))?;
    let mut zip = zip::ZipArchive::new(BufReader::new(file)).map_err(|e| FileError::BadXlsx(e.to_string()))?;
    let mut total: u64 = 0;
    for i in 0..zip.len() {
        let entry = zip.by_index_raw(i).map_err(|e| FileError::BadXlsx(e.to_string()))?;
        let size = entry.size();
        let packed = entry.compressed_size().max(1);
        if size > 1 << 20 && size / packed > 1000 {
            return Err(FileError::ZipBomb(format!(
                "entry {:?} claims to expand from {packed} to {size} bytes",
                entry.name()
            )));
        }
        total = total.saturating_add(size);
    }
    if total > MAX_XLSX_UNCOMPRESSED_BYTES {
        return Err(FileError::ZipBomb(format!(
            "its contents expand to {total} bytes; at most {MAX_XLSX_UNCOMPRESSED_BYTES} are allowed"
        )));
    }
    Ok(())
}

/// The helper thread: streams the sheet's cells and sends whole rows.
fn read_sheet(mut workbook: Xlsx<BufReader<File>>, sheet: &str, tx: &SyncSender<Result<RawRow, Broken>>) {
    let mut cells = match workbook.worksheet_cells_reader(sheet) {
        Ok(c) => c,
        Err(e) => {
            let _ = tx.send(Err(Broken {
                row: 1,
                reason: format!("could not read the first worksheet: {e}"),
            }));
            return;
        }
    };
    let mut current: Option<RawRow> = None;
    loop {
        match cells.next_cell() {
            Ok(Some(cell)) => {
                let (r, c) = cell.get_position();
                let row = r as usize + 1;
                let col = c as usize;
                if current.as_ref().is_some_and(|cur| cur.row != row) {
                    let done = current.take().expect("checked above");
                    if tx.send(Ok(done)).is_err() {
                        return;
                    }
                }
                let cur = current.get_or_insert_with(|| RawRow {
                    row,
                    cells: Vec::new(),
                    bad: Vec::new(),
                });
                let value = cell_text(cell.get_value());
                if col >= MAX_COLUMNS {
                    if !matches!(&value, Ok(s) if s.trim().is_empty())
                        && !cur.bad.iter().any(|(i, _)| *i >= MAX_COLUMNS)
                    {
                        cur.bad
                            .push((col, format!("the row has more than {MAX_COLUMNS} columns")));
                    }
                    continue;
                }
                if cur.cells.len() <= col {
                    cur.cells.resize(col + 1, String::new());
                }
                match value {
                    Ok(s) => cur.cells[col] = s,
                    Err(reason) => cur.bad.push((col, reason)),
                }
            }
            Ok(None) => {
                if let Some(done) = current.take() {
                    let _ = tx.send(Ok(done));
                }
                return;
            }
            Err(e) => {
                let row = current.as_ref().map_or(1, |c| c.row);
                let _ = tx.send(Err(Broken {
                    row,
                    reason: format!("the worksheet is damaged: {e}"),
                }));
                return;
            }
        }
    }
}

/// Excel keeps 15 significant digits of a number; an ID number typed into a
/// cell formatted as a number has lost its last digits.
const EXCEL_DIGITS: f64 = 1e15;

/// A cell as the text the caseworker sees, or why it cannot be used.
fn cell_text(v: &DataRef<'_>) -> Result<String, String> {
    match v {
        DataRef::Empty => Ok(String::new()),
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => Ok(s.clone()),
        DataRef::SharedString(s) => Ok((*s).to_owned()),
        DataRef::Int(i) => Ok(i.to_string()),
        DataRef::Float(f) => {
            if f.abs() >= EXCEL_DIGITS {
                Err("is stored as a number and Excel has dropped digits beyond the 15th; \
                     format the column as text (文本) and type the value again"
                    .to_owned())
            } else if f.fract() == 0.0 {
                Ok(format!("{}", *f as i64))
            } else {
                Ok(f.to_string())
            }
        }
        DataRef::Bool(b) => Ok(if *b { "是" } else { "否" }.to_owned()),
        DataRef::DateTime(d) => match d.as_datetime() {
            Some(dt) if dt.time() == chrono::NaiveTime::MIN => Ok(dt.date().format("%Y-%m-%d").to_string()),
            Some(dt) => Ok(dt.format("%Y-%m-%d %H:%M:%S").to_string()),
            None => Err(format!("holds a date Excel cannot place (serial {})", d.as_f64())),
        },
        DataRef::Error(e) => Err(format!("shows the Excel error {e}")),
    }
}

/// Reads the first bytes of a file, to tell a zip (xlsx) from text.
pub(crate) fn starts_with_zip(path: &Path) -> Result<bool, FileError> {
    let mut head = [0u8; 4];
    let mut file = File::open(path).map_err(|e| FileError::Io(e.to_string()))?;
    let mut n = 0;
    while n < head.len() {
        match file.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) => return Err(FileError::Io(e.to_string())),
        }
    }
    Ok(n == 4 && head == *b"PK\x03\x04")
}
