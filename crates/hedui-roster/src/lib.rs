//! The roster (花名册) of a batch re-check, and the results file it yields.
//!
//! A county office keeps its rolls in Excel or WPS: one row per member, the
//! household's authorization (授权书) repeated or given once on one of its
//! rows. [`RosterReader`] reads such a file — CSV or tab-separated text in
//! UTF-8, GB18030/GBK or UTF-16, or the first worksheet of an `.xlsx`,
//! `.xlsb`, `.xls` or `.ods` workbook — and hands over one **whole**
//! household at a time: every row with the same 户编号, wherever it is in
//! the file. Every row is checked with the domain's own rules
//! (`hedui_domain` for ID numbers, names, relations and dates;
//! `hedui_trust` for the authorization), so a roster that passes here is one
//! the hub accepts household by household. Every problem names its row and
//! column.
//!
//! Memory stays flat in the size of the file: [`RosterReader::open`] reads
//! the file once, writing each row to an anonymous temporary file (`spill`)
//! and keeping in memory one fixed-size entry per household; the households
//! are then read back from it one at a time. The ID numbers already seen are
//! kept too, to catch a person listed in two households.
//!
//! [`results`] writes one row per checked household (CSV or XLSX), streamed
//! too, into a temporary file that replaces the target only when complete.
//!
//! The format is documented for caseworkers in `docs/roster.md`.

use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::path::Path;

use chrono::NaiveDate;
use hedui_proto::v1::{Authorization, Household, Purpose};

pub mod check;
mod columns;
mod household;
pub mod results;
mod source;
mod spill;
mod text;
pub mod write;

pub use columns::Column;
pub use text::TextEncoding;
pub use write::{write_example_csv, write_roster_csv};

use hedui_domain::household::MAX_MEMBERS;
use source::{Book, Broken, RawRow, RowSource};
use spill::Spill;

/// The largest roster accepted, in bytes (100 MiB). A 100,000-household
/// roster is about 30 MB as CSV and 13 MB as XLSX. A file over the limit
/// is refused before it is read, naming its size and the limit.
pub const MAX_ROSTER_BYTES: u64 = 100 * 1024 * 1024;

/// The most an XLSX roster's contents may expand to when unzipped (1 GiB),
/// as the zip directory declares them. Checked before anything is
/// decompressed, against zip bombs.
pub const MAX_XLSX_UNCOMPRESSED_BYTES: u64 = 1024 * 1024 * 1024;

/// One household of the roster, checked: every row of the file with its
/// 户编号, and no other.
#[derive(Debug, Clone, PartialEq)]
pub struct RosterHousehold {
    /// 1-based row number of its first member (the header is row 1).
    pub first_row: usize,
    /// 1-based row number of its last member. Rows of other households may
    /// lie between `first_row` and `last_row`.
    pub last_row: usize,
    /// The row of each member, in the order of `household.members` (file
    /// order).
    pub rows: Vec<usize>,
    /// The household: `household_ref` is the 户编号 (surrounding spaces
    /// removed), then the residence and the members in file order, ID
    /// numbers normalised (upper-case `X`). It passes
    /// `hedui_domain::household::ValidatedHousehold::parse`.
    pub household: Household,
    /// The authorization built from the authorization columns. It passes
    /// `hedui_trust::authorization::parse` and `check_covers` for this
    /// household on the reader's `today`. Its `purpose` is the one given
    /// with [`RosterReader::with_purpose`], or `PURPOSE_UNSPECIFIED` when
    /// none was given, which the caller must then set.
    pub authorization: Authorization,
    /// What was changed to read the household, for the caseworker to know
    /// (for example full-width digits in an ID number): warnings, not
    /// errors.
    pub notes: Vec<RowError>,
}

/// The kind of a problem, for the counts at the end of a long list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorKind {
    /// A required value is blank.
    Missing,
    /// A value is not in an accepted form, or not a valid value (a date, a
    /// relation word, an ID number's check character…).
    Invalid,
    /// A cell cannot be read at all (its bytes are not text in the file's
    /// encoding, Excel shows an error, a number lost its digits).
    Unreadable,
    /// Two cells disagree: within a household, or a person in two
    /// households.
    Conflict,
    /// The authorization does not cover a member: who signed, for whom.
    Authorization,
    /// The row's layout: a value under no header, no household number, too
    /// many rows for one household.
    Layout,
    /// Not a problem: something read differently from how it was typed,
    /// said so the caseworker knows (full-width digits, spaces).
    Note,
}

impl ErrorKind {
    /// The kind in the caseworker's words.
    pub fn zh(self) -> &'static str {
        match self {
            ErrorKind::Missing => "必填项为空",
            ErrorKind::Invalid => "格式或取值不对",
            ErrorKind::Unreadable => "无法读取（编码或单元格）",
            ErrorKind::Conflict => "前后不一致或重复",
            ErrorKind::Authorization => "授权书签字不完整",
            ErrorKind::Layout => "行列结构",
            ErrorKind::Note => "已自动更正",
        }
    }
}

/// A problem with one row (or, in [`RosterHousehold::notes`], a warning).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// 1-based row number as a spreadsheet shows it (the header is row 1).
    pub row: usize,
    /// The column header as written in the file, or `None` when the problem
    /// concerns the whole row or household.
    pub column: Option<String>,
    /// What kind of problem it is.
    pub kind: ErrorKind,
    /// What is wrong, in plain words.
    pub reason: String,
}

impl RowError {
    fn new(row: usize, column: Option<String>, reason: impl Into<String>) -> RowError {
        RowError::with_kind(row, column, ErrorKind::Invalid, reason)
    }

    fn with_kind(row: usize, column: Option<String>, kind: ErrorKind, reason: impl Into<String>) -> RowError {
        RowError {
            row,
            column,
            kind,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.column {
            Some(c) => write!(f, "row {}, column {}: {}", self.row, c, self.reason),
            None => write!(f, "row {}: {}", self.row, self.reason),
        }
    }
}

impl RowError {
    /// The problem said in `lang`: `第 3 行，身份证号：校验码应为 9，实为 8`. A
    /// reason this build cannot say in Chinese is given as its kind
    /// (格式或取值不对 …), never as an English sentence.
    pub fn said(&self, lang: hedui_i18n::Lang) -> String {
        use hedui_i18n::{Lang, explain, tr_args};
        let at = match &self.column {
            Some(c) => tr_args(
                lang,
                "roster-row-column",
                &[("row", self.row.to_string()), ("column", c.clone())],
            ),
            None => tr_args(lang, "roster-row", &[("row", self.row.to_string())]),
        };
        let message = if lang == Lang::En {
            self.reason.clone()
        } else {
            explain::say(lang, explain::ROSTER_TEMPLATES, &self.reason)
                .or_else(|| explain::say(lang, explain::VIOLATION_TEMPLATES, &self.reason))
                .unwrap_or_else(|| {
                    if hedui_i18n::has_english_sentence(&self.reason) {
                        format!("{}，请核对", self.kind.zh())
                    } else {
                        self.reason.clone()
                    }
                })
        };
        tr_args(lang, "roster-row-error", &[("where", at), ("message", message)])
    }
}

impl std::error::Error for RowError {}

/// A problem with the file as a whole: nothing in it is read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    /// The file could not be opened or read.
    #[error("could not read the roster: {0}")]
    Io(String),
    /// The file is larger than [`MAX_ROSTER_BYTES`].
    #[error(
        "the roster is {size} bytes ({} MiB); at most {limit} bytes ({} MiB) are accepted: split it into smaller files",
        size / (1024 * 1024),
        limit / (1024 * 1024)
    )]
    TooLarge {
        /// The file's size in bytes.
        size: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// The name ends in `.xlsx` but the bytes are not a zip archive.
    #[error(
        "the file is named .xlsx but is not an Excel workbook (an .xlsx file is a zip archive and starts with \"PK\"); \
         if it is a CSV, rename it to .csv, otherwise open it in Excel and save it as .xlsx (Excel 工作簿)"
    )]
    NotXlsx,
    /// The name ends in `.csv` but the bytes are a zip archive.
    #[error("the file is named .csv but is a zip archive, most likely an Excel workbook: rename it to .xlsx")]
    CsvIsZip,
    /// The extension is not a roster format (or is WPS's `.et`).
    #[error("{0}")]
    UnknownFormat(String),
    /// The zip archive or the workbook inside it is damaged.
    #[error("the Excel workbook cannot be read: {0}")]
    BadXlsx(String),
    /// The workbook would expand beyond [`MAX_XLSX_UNCOMPRESSED_BYTES`].
    #[error("the Excel workbook is refused as a possible zip bomb: {0}")]
    ZipBomb(String),
    /// The text's encoding cannot be told, or differs within the file, or
    /// the header cannot be decoded.
    #[error("{0}")]
    Encoding(String),
    /// The file is named as a workbook but is a web page or XML.
    #[error("{0}")]
    NotAWorkbook(String),
    /// Required columns are missing.
    #[error("the roster is missing the column(s) {}; see docs/roster.md for the columns", .0.join(", "))]
    MissingColumns(Vec<String>),
    /// Some headers are not roster columns.
    #[error(
        "the roster has column(s) {} that are not roster columns{}; the columns are {}",
        .unknown.join(", "),
        if .missing.is_empty() { String::new() } else { format!(", and is missing {}", .missing.join(", ")) },
        accepted_columns()
    )]
    UnknownColumns {
        /// The unknown headers with their column letters.
        unknown: Vec<String>,
        /// Required columns that are missing as well.
        missing: Vec<String>,
    },
    /// A column appears twice.
    #[error("the column {column} appears twice, in column {first} and column {second}")]
    DuplicateColumn {
        /// The column.
        column: String,
        /// The first column letter.
        first: String,
        /// The second column letter.
        second: String,
    },
    /// The file has no rows at all.
    #[error("the roster is empty: expected a header row and one row per household member")]
    Empty,
    /// The file has a header but no member rows.
    #[error("the roster has a header row but no members below it")]
    NoHouseholds,
    /// The header row could not be read.
    #[error("row {row}: {reason}")]
    Broken {
        /// The row.
        row: usize,
        /// What went wrong.
        reason: String,
    },
}

fn accepted_columns() -> String {
    let names: Vec<String> = Column::ALL.iter().map(|c| format!("{} ({})", c.zh(), c.en())).collect();
    names.join(", ")
}

/// How many title lines above the header are skipped.
const MAX_TITLE_ROWS: usize = 3;

/// A title line: one non-empty cell that is not a roster header.
fn is_title(row: &RawRow) -> bool {
    let mut filled = row.cells.iter().filter(|c| !c.trim().is_empty());
    matches!((filled.next(), filled.next()), (Some(only), None) if Column::from_header(only).is_none())
}

/// The kind of roster file, from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Delimited text: `.csv`, or `.txt`/`.tsv` (Excel's "Unicode 文本" and
    /// "文本文件（制表符分隔）"); comma or tab separated.
    Csv,
    /// An Excel 2007+ workbook (`.xlsx`, `.xlsm`); the first worksheet is
    /// read.
    Xlsx,
    /// An Excel binary workbook (`.xlsb`).
    Xlsb,
    /// An Excel 97–2003 workbook (`.xls`).
    Xls,
    /// An OpenDocument spreadsheet (`.ods`).
    Ods,
}

impl Format {
    /// The format a file name says, from its extension (any case).
    pub fn from_path(path: &Path) -> Result<Format, FileError> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        match ext.as_str() {
            "csv" | "txt" | "tsv" => Ok(Format::Csv),
            "xlsx" | "xlsm" => Ok(Format::Xlsx),
            "xlsb" => Ok(Format::Xlsb),
            "xls" => Ok(Format::Xls),
            "ods" => Ok(Format::Ods),
            "et" | "ett" => Err(FileError::UnknownFormat(
                "the roster is a WPS 表格 .et file, which cannot be read; in WPS choose 文件 → 另存为 → \
                 \"Excel 工作簿 (*.xlsx)\" and submit the .xlsx"
                    .to_owned(),
            )),
            "" => Err(FileError::UnknownFormat(
                "the roster file name has no extension; name it .xlsx, .xls, .csv or .txt".to_owned(),
            )),
            other => Err(FileError::UnknownFormat(format!(
                "the roster must be an .xlsx, .xlsb, .xls, .ods, .csv or .txt file, not .{other}"
            ))),
        }
    }
}

/// The start of a zip archive (`.xlsx`, `.xlsb`, `.ods`).
const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
/// The start of a compound file (`.xls`, and WPS's `.et`).
const CFB_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// What a file that is not a workbook, but named like one, is: a web page
/// or an XML spreadsheet (both common as "Excel" exports of web systems).
fn markup_kind(head: &[u8]) -> Option<&'static str> {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = head.iter().position(|b| !b.is_ascii_whitespace())?;
    if head[start] != b'<' {
        return None;
    }
    let lower = String::from_utf8_lossy(head).to_ascii_lowercase();
    if lower.contains("urn:schemas-microsoft-com:office:spreadsheet") && !lower.contains("<html") {
        Some("an XML spreadsheet (Excel 2003 XML)")
    } else {
        Some("a web page (HTML), as web systems often export")
    }
}

/// The spreadsheet letter of a 0-based column index: A, B, …, Z, AA, ….
pub fn column_letter(mut i: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).expect("ASCII letters")
}

/// The header of the file: which column is where, under which name.
#[derive(Debug, Clone)]
pub(crate) struct Header {
    /// The column at each index; `None` for an index without a header.
    by_index: Vec<Option<Column>>,
    /// The index and the header as written of each column present.
    by_column: HashMap<Column, (usize, String)>,
}

impl Header {
    fn parse(row: &RawRow) -> Result<Header, FileError> {
        let mut by_index = Vec::with_capacity(row.cells.len());
        let mut by_column: HashMap<Column, (usize, String)> = HashMap::new();
        let mut unknown = Vec::new();
        for (i, cell) in row.cells.iter().enumerate() {
            let name = cell.trim();
            if name.is_empty() {
                by_index.push(None);
                continue;
            }
            match Column::from_header(name) {
                Some(c) => {
                    if let Some((first, _)) = by_column.get(&c) {
                        return Err(FileError::DuplicateColumn {
                            column: format!("{} ({})", c.zh(), c.en()),
                            first: column_letter(*first),
                            second: column_letter(i),
                        });
                    }
                    by_column.insert(c, (i, name.to_owned()));
                    by_index.push(Some(c));
                }
                None => {
                    unknown.push(format!("{name:?} (column {})", column_letter(i)));
                    by_index.push(None);
                }
            }
        }
        let missing: Vec<String> = Column::ALL
            .iter()
            .filter(|c| c.required() && !by_column.contains_key(c))
            .map(|c| format!("{} ({})", c.zh(), c.en()))
            .collect();
        if !unknown.is_empty() {
            return Err(FileError::UnknownColumns { unknown, missing });
        }
        if !missing.is_empty() {
            return Err(FileError::MissingColumns(missing));
        }
        Ok(Header { by_index, by_column })
    }

    /// The 0-based index of `column`, when the file has it.
    pub(crate) fn index(&self, column: Column) -> Option<usize> {
        self.by_column.get(&column).map(|(i, _)| *i)
    }

    /// The cell of `column` in `row`, or "" when the column or cell is absent.
    pub(crate) fn get<'r>(&self, row: &'r RawRow, column: Column) -> &'r str {
        self.by_column
            .get(&column)
            .and_then(|(i, _)| row.cells.get(*i))
            .map_or("", String::as_str)
    }

    /// The header of `column` as written in the file, or its Chinese name
    /// when the file does not have it.
    pub(crate) fn name(&self, column: Column) -> String {
        self.by_column
            .get(&column)
            .map_or_else(|| column.zh().to_owned(), |(_, n)| n.clone())
    }

    /// The column at 0-based index `i`, if it has a roster header.
    pub(crate) fn column_at(&self, i: usize) -> Option<Column> {
        self.by_index.get(i).copied().flatten()
    }

    /// True when index `i` has a header.
    pub(crate) fn has_header_at(&self, i: usize) -> bool {
        self.column_at(i).is_some()
    }
}

/// What the reader remembers of the households already handed over:
/// each ID number, to catch a person listed in two households.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    /// ID number (18 characters, upper case) → the row it was first on and
    /// the household (its position in the roster) it belongs to.
    pub ids: HashMap<[u8; 18], (usize, usize)>,
}

/// One household in the index: where its rows are in the spill file.
/// Fixed size, so the index of a 100,000-household roster is a few MiB.
#[derive(Debug, Clone, Copy)]
struct Slot {
    first_row: usize,
    last_row: usize,
    /// How many rows have its 户编号.
    count: usize,
    /// The spill offset of its last row; each row links to the one before.
    last: u64,
}

/// Reads a roster, one whole household per item.
///
/// [`RosterReader::open`] reads the file through once, grouping rows by
/// 户编号 wherever they are; the households then come in the order of their
/// first row, each with all its rows, members in file order. Each item is
/// `Ok` with a household that will pass the hub's checks, or `Err` with the
/// problems of that household's rows. A household is never handed over in
/// part: a file that cannot be read to its end is a [`FileError`], since any
/// household might have more rows after the break. A row without a 户编号 is
/// an error of its own.
pub struct RosterReader {
    format: Format,
    read_as: String,
    header: Header,
    today: NaiveDate,
    purpose: Option<Purpose>,
    spill: Spill,
    slots: Vec<Slot>,
    /// Distinct 户编号 in the file.
    households: usize,
    /// Member rows (not blank, below the header).
    rows: usize,
    /// Rows without a 户编号, each an item of its own.
    keyless: usize,
    /// The next slot to hand over.
    next: usize,
    seen: Seen,
}

impl fmt::Debug for RosterReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RosterReader")
            .field("format", &self.format)
            .field("read_as", &self.read_as)
            .field("households", &self.households)
            .field("rows", &self.rows)
            .field("next", &self.next)
            .finish()
    }
}

impl RosterReader {
    /// Opens a roster, reads its header and indexes its rows by household.
    /// Up to three title lines (rows with a single cell that is not a roster
    /// header) above the header are skipped.
    ///
    /// Refused before reading: a file over [`MAX_ROSTER_BYTES`], an
    /// extension that is not a roster format (a WPS `.et` asks for `.xlsx`),
    /// a workbook whose bytes are not that kind of workbook (a `.xls` that
    /// is a web page, an `.xlsx` that is text, a `.csv` that is a zip), a
    /// text file whose encoding cannot be told or that mixes encodings, an
    /// empty file. Then the header must name every required column, no
    /// unknown column and no column twice (Chinese headers or their English
    /// aliases, see [`Column`]), and at least one member row must follow.
    /// A file that breaks off (a damaged worksheet, a read error) is
    /// refused whole.
    ///
    /// `today` is the day the roster is checked on: ID birth dates, signing
    /// dates and the authorization's validity are checked against it.
    pub fn open(path: &Path, today: NaiveDate) -> Result<RosterReader, FileError> {
        let meta = fs::metadata(path).map_err(|e| FileError::Io(format!("{}: {e}", path.display())))?;
        if !meta.is_file() {
            return Err(FileError::Io(format!("{} is not a file", path.display())));
        }
        if meta.len() > MAX_ROSTER_BYTES {
            return Err(FileError::TooLarge {
                size: meta.len(),
                limit: MAX_ROSTER_BYTES,
            });
        }
        let format = Format::from_path(path)?;
        if meta.len() == 0 {
            return Err(FileError::Empty);
        }
        let head = source::head(path, 4096)?;
        let zip = head.starts_with(ZIP_MAGIC);
        let cfb = head.starts_with(CFB_MAGIC);
        let book = |b: Book, label: &str| -> Result<(Box<dyn RowSource>, String), FileError> {
            let (rows, sheet) = source::open_book(path, b)?;
            Ok((Box::new(rows), format!("{label}, worksheet {sheet:?}")))
        };
        let (source, read_as): (Box<dyn RowSource>, String) = match format {
            Format::Csv if zip => return Err(FileError::CsvIsZip),
            Format::Csv if cfb => {
                return Err(FileError::UnknownFormat(
                    "the file is named as text but is an Excel 97-2003 workbook: rename it to .xls".to_owned(),
                ));
            }
            Format::Csv => {
                let (encoding, rows) = text::open(path)?;
                (Box::new(rows), format!("text, {}", encoding.label()))
            }
            Format::Xlsx if zip => book(Book::Xlsx, "Excel .xlsx")?,
            Format::Xlsb if zip => book(Book::Xlsb, "Excel .xlsb")?,
            Format::Ods if zip => book(Book::Ods, "OpenDocument .ods")?,
            Format::Xls if cfb => book(Book::Xls, "Excel 97-2003 .xls")?,
            // An .xlsx saved under the old name: read what it is.
            Format::Xls if zip => book(Book::Xlsx, "Excel .xlsx (named .xls)")?,
            Format::Xlsx | Format::Xlsb | Format::Ods | Format::Xls => {
                let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_owned();
                return Err(match markup_kind(&head) {
                    Some(kind) => FileError::NotAWorkbook(format!(
                        "the file is named .{ext} but is {kind}, not an Excel workbook; open it in Excel or WPS and \
                         choose 另存为 → \"Excel 工作簿 (*.xlsx)\", then submit the .xlsx"
                    )),
                    None if format == Format::Xlsx => FileError::NotXlsx,
                    None => FileError::NotAWorkbook(format!(
                        "the file is named .{ext} but is not such a workbook (if it is text, rename it to .csv); \
                         open it in Excel or WPS and save it as .xlsx"
                    )),
                });
            }
        };
        RosterReader::index(format, source, read_as, today)
    }

    /// Reads the header, then every row into the spill file and the index.
    fn index(
        format: Format,
        mut source: Box<dyn RowSource>,
        read_as: String,
        today: NaiveDate,
    ) -> Result<RosterReader, FileError> {
        let mut next_nonblank = || -> Option<Result<RawRow, Broken>> {
            loop {
                match source.next_row()? {
                    Ok(row) if row.is_blank() => continue,
                    other => return Some(other),
                }
            }
        };
        let broken = |b: Broken| FileError::Broken {
            row: b.row,
            reason: format!(
                "{}; nothing was read, because a household's rows may be anywhere in the file",
                b.reason
            ),
        };
        // Up to MAX_TITLE_ROWS title lines (a single cell such as
        // "某某镇2026年低保对象花名册") may sit above the header.
        let mut titles = 0;
        let mut first_title: Option<RawRow> = None;
        let header = loop {
            let header_row = match next_nonblank() {
                // Only "titles": the first was meant as the header.
                None => match &first_title {
                    Some(t) => return Err(Header::parse(t).err().unwrap_or(FileError::NoHouseholds)),
                    None => return Err(FileError::Empty),
                },
                Some(Err(b)) => return Err(broken(b)),
                Some(Ok(row)) => row,
            };
            if let Some((i, reason)) = header_row.bad.first() {
                return Err(match format {
                    Format::Csv => FileError::Encoding(format!(
                        "row {}, column {}: the header {reason}",
                        header_row.row,
                        column_letter(*i)
                    )),
                    _ => FileError::Broken {
                        row: header_row.row,
                        reason: format!("the header row cannot be read: {reason}"),
                    },
                });
            }
            if titles < MAX_TITLE_ROWS && is_title(&header_row) {
                titles += 1;
                first_title.get_or_insert(header_row);
                continue;
            }
            break Header::parse(&header_row)?;
        };
        let io = |e: std::io::Error| FileError::Io(format!("could not write the roster's temporary copy: {e}"));
        let mut spill = Spill::new().map_err(io)?;
        let mut slots: Vec<Slot> = Vec::new();
        let mut by_key: HashMap<Box<str>, usize> = HashMap::new();
        let mut rows = 0usize;
        let mut keyless = 0usize;
        while let Some(row) = next_nonblank() {
            let row = row.map_err(broken)?;
            rows += 1;
            let key = header.get(&row, Column::HouseholdNo).trim();
            // A row without a household number is a household of its own,
            // reported once.
            let slot = if key.is_empty() {
                keyless += 1;
                None
            } else {
                by_key.get(key).copied()
            };
            let at = match slot {
                Some(i) => i,
                None => {
                    slots.push(Slot {
                        first_row: row.row,
                        last_row: row.row,
                        count: 0,
                        last: spill::END,
                    });
                    if !key.is_empty() {
                        by_key.insert(key.into(), slots.len() - 1);
                    }
                    slots.len() - 1
                }
            };
            let slot = &mut slots[at];
            slot.last = spill.push(&row, slot.last).map_err(io)?;
            slot.last_row = row.row;
            slot.count += 1;
        }
        if rows == 0 {
            return Err(FileError::NoHouseholds);
        }
        spill.finish().map_err(io)?;
        slots.shrink_to_fit();
        Ok(RosterReader {
            format,
            read_as,
            header,
            today,
            purpose: None,
            spill,
            slots,
            households: by_key.len(),
            rows,
            keyless,
            next: 0,
            seen: Seen::default(),
        })
    }

    /// Sets the purpose of the batch. The authorization of each household
    /// then carries it, and is checked to cover it. Without a purpose the
    /// authorization is checked for everything else and its `purpose` is
    /// left `PURPOSE_UNSPECIFIED` for the caller to set.
    pub fn with_purpose(mut self, purpose: Purpose) -> RosterReader {
        self.purpose = Some(purpose);
        self
    }

    /// The format of the file.
    pub fn format(&self) -> Format {
        self.format
    }

    /// How the file was read, for the summary line: the kind of file and
    /// the text encoding (`text, GB18030/GBK`) or the worksheet
    /// (`Excel .xlsx, worksheet "Sheet1"`).
    pub fn read_as(&self) -> &str {
        &self.read_as
    }

    /// How many distinct 户编号 the roster has.
    pub fn households(&self) -> usize {
        self.households
    }

    /// How many member rows the roster has (not counting the header, title
    /// lines and blank rows).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// How many member rows have no 户编号 (each is an error of its own).
    pub fn rows_without_household(&self) -> usize {
        self.keyless
    }

    /// How many items have been handed over so far.
    pub fn households_read(&self) -> usize {
        self.next
    }

    /// Starts again from the first household, from the same copy of the
    /// file: a second pass sees exactly the households of the first, even
    /// if the file changed on disk in between.
    pub fn rewind(&mut self) {
        self.next = 0;
        self.seen = Seen::default();
    }

    /// The rows of a slot from the spill file, in file order.
    fn rows_of(&mut self, slot: Slot) -> std::io::Result<Vec<RawRow>> {
        let mut rows = Vec::with_capacity(slot.count);
        let mut at = slot.last;
        while at != spill::END && rows.len() < slot.count {
            let (row, prev) = self.spill.read(at)?;
            rows.push(row);
            at = prev;
        }
        rows.reverse();
        Ok(rows)
    }
}

impl Iterator for RosterReader {
    type Item = Result<RosterHousehold, Vec<RowError>>;

    fn next(&mut self) -> Option<Self::Item> {
        let slot = *self.slots.get(self.next)?;
        let position = self.next;
        self.next += 1;
        if slot.count > MAX_MEMBERS {
            // One cause, one message: the rows themselves are not read.
            return Some(Err(vec![RowError::with_kind(
                slot.first_row,
                Some(self.header.name(Column::HouseholdNo)),
                ErrorKind::Layout,
                format!(
                    "{} rows have this household number (first row {}, last row {}); a household has at most \
                     {MAX_MEMBERS} members",
                    slot.count, slot.first_row, slot.last_row
                ),
            )]));
        }
        let rows = match self.rows_of(slot) {
            Ok(rows) => rows,
            Err(e) => {
                return Some(Err(vec![RowError::new(
                    slot.first_row,
                    None,
                    format!("could not read back the roster's temporary copy: {e}"),
                )]));
            }
        };
        Some(household::build(
            rows,
            position,
            &self.header,
            self.today,
            self.purpose,
            &mut self.seen,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
        assert_eq!(column_letter(27), "AB");
        assert_eq!(column_letter(701), "ZZ");
        assert_eq!(column_letter(702), "AAA");
    }

    #[test]
    fn row_error_display() {
        let e = RowError::new(17, Some("身份证号".to_owned()), "wrong check character");
        assert_eq!(e.to_string(), "row 17, column 身份证号: wrong check character");
        assert_eq!(RowError::new(3, None, "x").to_string(), "row 3: x");
    }

    #[test]
    fn formats() {
        assert_eq!(Format::from_path(Path::new("a.CSV")), Ok(Format::Csv));
        assert_eq!(Format::from_path(Path::new("a.xlsx")), Ok(Format::Xlsx));
        assert_eq!(Format::from_path(Path::new("a.XLS")), Ok(Format::Xls));
        assert_eq!(Format::from_path(Path::new("a.txt")), Ok(Format::Csv));
        assert!(
            Format::from_path(Path::new("a.et"))
                .unwrap_err()
                .to_string()
                .contains(".xlsx")
        );
        assert!(
            Format::from_path(Path::new("a.docx"))
                .unwrap_err()
                .to_string()
                .contains(".docx")
        );
    }
}
