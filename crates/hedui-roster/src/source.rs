//! Where rows come from: a text file read record by record (`text.rs`), or
//! the first worksheet of a workbook read cell by cell on a helper thread.
//! Both hand over one row at a time.

use std::any::Any;
use std::fs::File;
use std::io::{BufReader, Read};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread;

use calamine::{Data, Ods, Range, Reader, Xls, Xlsb, Xlsx};

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
// Workbooks
// ---------------------------------------------------------------------------

/// The kinds of workbook calamine reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Book {
    /// Excel 2007 and later (zip of XML), streamed cell by cell.
    Xlsx,
    /// Excel binary workbook (zip of binary records), streamed cell by cell.
    Xlsb,
    /// Excel 97–2003 (a compound file); calamine reads the sheet whole, and
    /// the format holds at most 65,536 rows.
    Xls,
    /// OpenDocument spreadsheet (LibreOffice, WPS); read whole.
    Ods,
}

/// The last row and column Excel has: XFD1048576. A cell reference beyond
/// them is not one Excel wrote.
pub(crate) const EXCEL_MAX_ROWS: u32 = 1_048_576;
/// See [`EXCEL_MAX_ROWS`].
pub(crate) const EXCEL_MAX_COLUMNS: u32 = 16_384;

/// How many rows the reader thread may read ahead of the caller.
const READ_AHEAD: usize = 256;

/// Rows of the first worksheet of a workbook, read on a helper thread and
/// handed over one row at a time on a bounded channel. The thread stops
/// when the reader is dropped. A panic inside calamine (a workbook that
/// lies about its cells, tafia/calamine#709) is caught on that thread and
/// becomes a [`Broken`] naming the worksheet.
pub(crate) struct SheetRows {
    rx: Receiver<Result<RawRow, Broken>>,
    done: bool,
}

/// Opens a workbook and starts reading its first worksheet. Returns the
/// rows and the worksheet's name.
pub(crate) fn open_book(path: &Path, book: Book) -> Result<(SheetRows, String), FileError> {
    if book != Book::Xls {
        check_zip(path)?;
    }
    let file = File::open(path).map_err(|e| FileError::Io(e.to_string()))?;
    let reader = BufReader::new(file);
    let bad = |e: String| FileError::BadXlsx(e);
    // Opening parses the workbook's directory and shared strings; calamine
    // may panic there too on a crafted file.
    let opened = catch_unwind(AssertUnwindSafe(move || -> Result<(Opened, String), FileError> {
        let (opened, names) = match book {
            Book::Xlsx => {
                let w: Xlsx<_> = Xlsx::new(reader).map_err(|e| bad(e.to_string()))?;
                let names = w.sheet_names();
                (Opened::Xlsx(w), names)
            }
            Book::Xlsb => {
                let w: Xlsb<_> = Xlsb::new(reader).map_err(|e| bad(e.to_string()))?;
                let names = w.sheet_names();
                (Opened::Xlsb(w), names)
            }
            Book::Xls => {
                let w: Xls<_> = Xls::new(reader).map_err(|e| bad(e.to_string()))?;
                let names = w.sheet_names();
                (Opened::Xls(w), names)
            }
            Book::Ods => {
                let w: Ods<_> = Ods::new(reader).map_err(|e| bad(e.to_string()))?;
                let names = w.sheet_names();
                (Opened::Ods(w), names)
            }
        };
        let sheet = names
            .first()
            .cloned()
            .ok_or_else(|| bad("the workbook has no worksheet".to_owned()))?;
        Ok((opened, sheet))
    }));
    let (opened, sheet) = match opened {
        Ok(r) => r?,
        Err(panic) => {
            return Err(FileError::BadXlsx(format!(
                "the workbook's structure is damaged and the reader stopped ({}); open it in Excel or WPS and \
                 save it again as .xlsx",
                panic_text(&panic)
            )));
        }
    };
    let (tx, rx) = sync_channel(READ_AHEAD);
    let name = sheet.clone();
    thread::Builder::new()
        .name("hedui-roster-sheet".to_owned())
        .spawn(move || read_sheet(opened, &name, tx))
        .map_err(|e| FileError::Io(format!("could not start the workbook reader: {e}")))?;
    Ok((SheetRows { rx, done: false }, sheet))
}

/// A workbook opened, of any kind.
enum Opened {
    Xlsx(Xlsx<BufReader<File>>),
    Xlsb(Xlsb<BufReader<File>>),
    Xls(Xls<BufReader<File>>),
    Ods(Ods<BufReader<File>>),
}

impl RowSource for SheetRows {
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

/// The text of a panic's payload.
fn panic_text(panic: &Box<dyn Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic".to_owned()
    }
}

/// Collects cells into rows and sends each row when the next one starts.
struct RowBuilder {
    tx: SyncSender<Result<RawRow, Broken>>,
    current: Option<RawRow>,
    /// The last cell placed, 0-based, to hold calamine to the file's order.
    last: Option<(u32, u32)>,
    /// The last row sent or being built, 1-based; 0 before any.
    row: usize,
}

/// Why a sheet stops being read.
enum Stop {
    /// The caller dropped the reader.
    Gone,
    /// The sheet cannot be trusted past this point.
    Broken(String),
}

impl RowBuilder {
    /// Places one cell. Cells must come row by row, left to right, at
    /// positions Excel can have.
    fn cell(&mut self, r: u32, c: u32, value: Result<String, String>) -> Result<(), Stop> {
        if r >= EXCEL_MAX_ROWS || c >= EXCEL_MAX_COLUMNS {
            return Err(Stop::Broken(format!(
                "a cell is at row {}, column {}, beyond Excel's last cell XFD1048576; the workbook was not written \
                 by Excel or is damaged",
                u64::from(r) + 1,
                u64::from(c) + 1
            )));
        }
        if let Some((lr, lc)) = self.last
            && (r < lr || (r == lr && c <= lc))
        {
            return Err(Stop::Broken(format!(
                "cell {}{} comes after cell {}{}; the cells are out of order, so the workbook was not written by \
                 Excel or is damaged; open it in Excel or WPS and save it again",
                crate::column_letter(c as usize),
                r + 1,
                crate::column_letter(lc as usize),
                lr + 1
            )));
        }
        self.last = Some((r, c));
        let row = r as usize + 1;
        let col = c as usize;
        if self.current.as_ref().is_some_and(|cur| cur.row != row) {
            self.flush()?;
        }
        self.row = row;
        let cur = self.current.get_or_insert_with(|| RawRow {
            row,
            cells: Vec::new(),
            bad: Vec::new(),
        });
        if col >= MAX_COLUMNS {
            if !matches!(&value, Ok(s) if s.trim().is_empty()) && !cur.bad.iter().any(|(i, _)| *i >= MAX_COLUMNS) {
                cur.bad
                    .push((col, format!("the row has more than {MAX_COLUMNS} columns")));
            }
            return Ok(());
        }
        if cur.cells.len() <= col {
            cur.cells.resize(col + 1, String::new());
        }
        match value {
            Ok(s) => cur.cells[col] = s,
            Err(reason) => cur.bad.push((col, reason)),
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), Stop> {
        match self.current.take() {
            Some(done) => self.tx.send(Ok(done)).map_err(|_| Stop::Gone),
            None => Ok(()),
        }
    }
}

/// The helper thread: reads the sheet's cells into rows and sends them.
fn read_sheet(opened: Opened, sheet: &str, tx: SyncSender<Result<RawRow, Broken>>) {
    let mut rows = RowBuilder {
        tx: tx.clone(),
        current: None,
        last: None,
        row: 0,
    };
    let outcome = catch_unwind(AssertUnwindSafe(|| read_cells(opened, sheet, &mut rows)));
    let broken = match outcome {
        Ok(Ok(())) => match rows.flush() {
            Ok(()) | Err(Stop::Gone) => return,
            Err(Stop::Broken(reason)) => reason,
        },
        Ok(Err(Stop::Gone)) => return,
        Ok(Err(Stop::Broken(reason))) => reason,
        Err(panic) => format!(
            "the Excel reader failed on a malformed cell ({}); the workbook was not written by Excel or is \
             damaged; open it in Excel or WPS and save it again as .xlsx",
            panic_text(&panic)
        ),
    };
    let reason = if rows.row == 0 {
        format!("worksheet {sheet:?} cannot be read: {broken}")
    } else {
        format!("worksheet {sheet:?} cannot be read after row {}: {broken}", rows.row)
    };
    let _ = tx.send(Err(Broken {
        row: rows.row.max(1),
        reason,
    }));
}

fn read_cells(opened: Opened, sheet: &str, rows: &mut RowBuilder) -> Result<(), Stop> {
    let damaged = |e: &dyn std::fmt::Display| Stop::Broken(format!("the worksheet is damaged: {e}"));
    match opened {
        Opened::Xlsx(mut w) => {
            let mut cells = w.worksheet_cells_reader(sheet).map_err(|e| damaged(&e))?;
            while let Some(cell) = cells.next_cell().map_err(|e| damaged(&e))? {
                let (r, c) = cell.get_position();
                rows.cell(r, c, cell_text(&Data::from(cell.get_value().clone())))?;
            }
        }
        Opened::Xlsb(mut w) => {
            let mut cells = w.worksheet_cells_reader(sheet).map_err(|e| damaged(&e))?;
            while let Some(cell) = cells.next_cell().map_err(|e| damaged(&e))? {
                let (r, c) = cell.get_position();
                rows.cell(r, c, cell_text(&Data::from(cell.get_value().clone())))?;
            }
        }
        Opened::Xls(mut w) => range_cells(&w.worksheet_range(sheet).map_err(|e| damaged(&e))?, rows)?,
        Opened::Ods(mut w) => range_cells(&w.worksheet_range(sheet).map_err(|e| damaged(&e))?, rows)?,
    }
    Ok(())
}

/// The non-empty cells of a sheet read whole, in order.
fn range_cells(range: &Range<Data>, rows: &mut RowBuilder) -> Result<(), Stop> {
    let Some((r0, c0)) = range.start() else {
        return Ok(());
    };
    for (r, c, value) in range.used_cells() {
        let (r, c) = (r0.saturating_add(r as u32), c0.saturating_add(c as u32));
        rows.cell(r, c, cell_text(value))?;
    }
    Ok(())
}

/// The largest shared-strings table accepted (256 MiB unzipped). Calamine
/// holds it in memory whole; a 100,000-household roster needs about 30 MiB.
const MAX_SHARED_STRINGS_BYTES: u64 = 256 * 1024 * 1024;

/// The highest compression ratio accepted for an entry over 1 MiB. Excel's
/// worksheets compress about 10 to 30 times; deflate cannot exceed about
/// 1030.
const MAX_RATIO: u64 = 200;

/// Checks the sizes the zip directory declares before anything is
/// decompressed: at most [`MAX_XLSX_UNCOMPRESSED_BYTES`] in all, a
/// shared-strings table of at most [`MAX_SHARED_STRINGS_BYTES`], and no
/// entry over 1 MiB that claims to expand more than [`MAX_RATIO`] times. The
/// worksheet itself is then decompressed as a stream, one row at a time;
/// only the shared-strings table is held in memory whole, and its declared
/// size counts towards the limit.
fn check_zip(path: &Path) -> Result<(), FileError> {
    let file = File::open(path).map_err(|e| FileError::Io(e.to_string()))?;
    let mut zip = zip::ZipArchive::new(BufReader::new(file)).map_err(|e| FileError::BadXlsx(e.to_string()))?;
    let mut total: u64 = 0;
    for i in 0..zip.len() {
        let entry = zip.by_index_raw(i).map_err(|e| FileError::BadXlsx(e.to_string()))?;
        let name = entry.name().map(|n| n.into_owned()).unwrap_or_default();
        let size = entry.size();
        let packed = entry.compressed_size().max(1);
        if size > 1 << 20 && size / packed > MAX_RATIO {
            return Err(FileError::ZipBomb(format!(
                "entry {name:?} claims to expand from {packed} to {size} bytes"
            )));
        }
        if name == "xl/sharedStrings.xml" && size > MAX_SHARED_STRINGS_BYTES {
            return Err(FileError::ZipBomb(format!(
                "its shared-strings table expands to {size} bytes; at most {MAX_SHARED_STRINGS_BYTES} are allowed"
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

/// Excel keeps 15 significant digits of a number; an ID number typed into a
/// cell formatted as a number has lost its last digits.
const EXCEL_DIGITS: f64 = 1e15;

/// A cell as the text the caseworker sees, or why it cannot be used.
fn cell_text(v: &Data) -> Result<String, String> {
    match v {
        Data::Empty => Ok(String::new()),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => Ok(s.clone()),
        Data::Int(i) => Ok(i.to_string()),
        Data::Float(f) => {
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
        Data::Bool(b) => Ok(if *b { "是" } else { "否" }.to_owned()),
        Data::DateTime(d) => match d.as_datetime() {
            Some(dt) if dt.time() == chrono::NaiveTime::MIN => Ok(dt.date().format("%Y-%m-%d").to_string()),
            Some(dt) => Ok(dt.format("%Y-%m-%d %H:%M:%S").to_string()),
            None => Err(format!("holds a date Excel cannot place (serial {})", d.as_f64())),
        },
        Data::Error(e) => Err(format!("shows the Excel error {e}")),
    }
}

/// The first bytes of a file (up to `n`), to tell a zip, a compound file
/// (.xls) and text apart.
pub(crate) fn head(path: &Path, n: usize) -> Result<Vec<u8>, FileError> {
    let mut out = Vec::with_capacity(n);
    File::open(path)
        .map_err(|e| FileError::Io(e.to_string()))?
        .take(n as u64)
        .read_to_end(&mut out)
        .map_err(|e| FileError::Io(e.to_string()))?;
    Ok(out)
}
