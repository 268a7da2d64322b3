//! The roster (花名册) of a batch re-check, and the results file it yields.
//!
//! A county office keeps its rolls in Excel: one row per member, the rows of
//! a household next to each other, the household's authorization (授权书)
//! repeated or given once on its first row. [`RosterReader`] reads such a
//! file, CSV or XLSX, one household at a time, and checks every row with the
//! domain's own rules (`hedui_domain` for ID numbers, names, relations and
//! dates; `hedui_trust` for the authorization), so a roster that passes here
//! is one the hub accepts household by household. Every problem names its
//! row and column. Memory stays flat in the size of the file: rows are
//! streamed, and only the household numbers and ID numbers already seen are
//! kept, to catch a household split over non-adjacent rows and a person
//! listed in two households.
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

mod columns;
mod household;
pub mod results;
mod source;
pub mod write;

pub use columns::Column;
pub use write::{write_example_csv, write_roster_csv};

use source::{Broken, CsvRows, RawRow, RowSource, XlsxRows};

/// The largest roster accepted, in bytes (100 MiB). A 100,000-household
/// roster is about 25 MiB as CSV; a bigger file is refused before it is
/// read, naming its size and this limit.
pub const MAX_ROSTER_BYTES: u64 = 100 * 1024 * 1024;

/// The most an XLSX roster's contents may expand to when unzipped (1 GiB),
/// as the zip directory declares them. Checked before anything is
/// decompressed, against zip bombs.
pub const MAX_XLSX_UNCOMPRESSED_BYTES: u64 = 1024 * 1024 * 1024;

/// One household of the roster, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct RosterHousehold {
    /// 1-based row number of its first member (the header is row 1).
    pub first_row: usize,
    /// 1-based row number of its last member.
    pub last_row: usize,
    /// The household: `household_ref` is the 户编号, then the residence and
    /// the members in row order, ID numbers normalised (upper-case `X`). It
    /// passes `hedui_domain::household::ValidatedHousehold::parse`.
    pub household: Household,
    /// The authorization built from the authorization columns. It passes
    /// `hedui_trust::authorization::parse` and `check_covers` for this
    /// household on the reader's `today`. Its `purpose` is the one given
    /// with [`RosterReader::with_purpose`], or `PURPOSE_UNSPECIFIED` when
    /// none was given, which the caller must then set.
    pub authorization: Authorization,
}

/// A problem with one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// 1-based row number as a spreadsheet shows it (the header is row 1).
    pub row: usize,
    /// The column header as written in the file, or `None` when the problem
    /// concerns the whole row or household.
    pub column: Option<String>,
    /// What is wrong, in plain words.
    pub reason: String,
}

impl RowError {
    fn new(row: usize, column: Option<String>, reason: impl Into<String>) -> RowError {
        RowError {
            row,
            column,
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
    /// The extension is neither `.csv` nor `.xlsx`.
    #[error("{0}")]
    UnknownFormat(String),
    /// The zip archive or the workbook inside it is damaged.
    #[error("the Excel workbook cannot be read: {0}")]
    BadXlsx(String),
    /// The workbook would expand beyond [`MAX_XLSX_UNCOMPRESSED_BYTES`].
    #[error("the Excel workbook is refused as a possible zip bomb: {0}")]
    ZipBomb(String),
    /// The CSV header is not UTF-8.
    #[error(
        "the roster is not UTF-8 text (Excel's plain \"CSV\" is GBK on Chinese Windows); in Excel choose 另存为 → \
         \"CSV UTF-8（逗号分隔）\" (Save As → CSV UTF-8), or save the roster as .xlsx"
    )]
    NotUtf8,
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

/// The kind of roster file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated text, UTF-8.
    Csv,
    /// An Excel workbook; the first worksheet is read.
    Xlsx,
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
            "csv" => Ok(Format::Csv),
            "xlsx" => Ok(Format::Xlsx),
            "xls" => Err(FileError::UnknownFormat(
                "the roster is an old Excel 97-2003 .xls file; open it in Excel and save it as .xlsx (Excel 工作簿)"
                    .to_owned(),
            )),
            "" => Err(FileError::UnknownFormat(
                "the roster file name has no extension; name it .csv or .xlsx".to_owned(),
            )),
            other => Err(FileError::UnknownFormat(format!(
                "the roster must be a .csv or .xlsx file, not .{other}"
            ))),
        }
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

    /// How a 0-based column index is named in an error.
    pub(crate) fn name_at(&self, i: usize) -> String {
        match self.column_at(i) {
            Some(c) => self.name(c),
            None => column_letter(i),
        }
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

/// What the reader remembers of the households already read: enough to
/// catch a household number that comes back and an ID number listed twice,
/// and nothing more.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    /// Household number → (first row, last row) of its rows.
    pub households: HashMap<String, (usize, usize)>,
    /// ID number (18 characters, upper case) → the row it was first on.
    pub ids: HashMap<[u8; 18], usize>,
}

/// Reads a roster, one household per item, in file order.
///
/// Each item is `Ok` with a household that will pass the hub's checks, or
/// `Err` with every problem of every row of that household. Problems that
/// need earlier rows (a household number seen before, an ID number in an
/// earlier household) are reported on the later household, naming the
/// earlier rows. Reading ends after an item reporting that the file itself
/// broke off (a read error or a damaged worksheet).
pub struct RosterReader {
    format: Format,
    source: Box<dyn RowSource>,
    header: Header,
    today: NaiveDate,
    purpose: Option<Purpose>,
    /// The next non-blank row, read ahead.
    pending: Option<Result<RawRow, Broken>>,
    seen: Seen,
    finished: bool,
}

impl fmt::Debug for RosterReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RosterReader")
            .field("format", &self.format)
            .field("households_seen", &self.seen.households.len())
            .field("finished", &self.finished)
            .finish()
    }
}

impl RosterReader {
    /// Opens a roster and reads its header and first row.
    ///
    /// Refused before reading: a file over [`MAX_ROSTER_BYTES`], an
    /// extension other than `.csv` or `.xlsx`, an `.xlsx` that is not a zip
    /// archive (or a `.csv` that is), an empty file. Then the header must
    /// name every required column, no unknown column and no column twice
    /// (Chinese headers or their English aliases, see [`Column`]), and at
    /// least one member row must follow.
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
        let zip = source::starts_with_zip(path)?;
        let source: Box<dyn RowSource> = match (format, zip) {
            (Format::Csv, true) => return Err(FileError::CsvIsZip),
            (Format::Xlsx, false) => return Err(FileError::NotXlsx),
            (Format::Csv, false) => {
                let file = fs::File::open(path).map_err(|e| FileError::Io(e.to_string()))?;
                Box::new(CsvRows::open(file))
            }
            (Format::Xlsx, true) => Box::new(XlsxRows::open(path)?),
        };
        let mut reader = RosterReader {
            format,
            source,
            header: Header {
                by_index: Vec::new(),
                by_column: HashMap::new(),
            },
            today,
            purpose: None,
            pending: None,
            seen: Seen::default(),
            finished: false,
        };
        let header_row = match reader.next_nonblank() {
            None => return Err(FileError::Empty),
            Some(Err(b)) => {
                return Err(FileError::Broken {
                    row: b.row,
                    reason: b.reason,
                });
            }
            Some(Ok(row)) => row,
        };
        if !header_row.bad.is_empty() {
            return Err(match format {
                Format::Csv => FileError::NotUtf8,
                Format::Xlsx => FileError::Broken {
                    row: header_row.row,
                    reason: format!("the header row cannot be read: {}", header_row.bad[0].1),
                },
            });
        }
        reader.header = Header::parse(&header_row)?;
        match reader.next_nonblank() {
            None => return Err(FileError::NoHouseholds),
            Some(first) => reader.pending = Some(first),
        }
        Ok(reader)
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

    /// How many distinct household numbers have been read so far.
    pub fn households_read(&self) -> usize {
        self.seen.households.len()
    }

    fn next_nonblank(&mut self) -> Option<Result<RawRow, Broken>> {
        loop {
            match self.source.next_row()? {
                Ok(row) if row.is_blank() => continue,
                other => return Some(other),
            }
        }
    }

    fn next_row(&mut self) -> Option<Result<RawRow, Broken>> {
        match self.pending.take() {
            Some(r) => Some(r),
            None => self.next_nonblank(),
        }
    }
}

impl Iterator for RosterReader {
    type Item = Result<RosterHousehold, Vec<RowError>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        let first = match self.next_row() {
            None => {
                self.finished = true;
                return None;
            }
            Some(Err(b)) => {
                self.finished = true;
                return Some(Err(vec![RowError::new(b.row, None, b.reason)]));
            }
            Some(Ok(row)) => row,
        };
        let key = self.header.get(&first, Column::HouseholdNo).to_owned();
        let mut group = household::Group::new(first);
        // A row without a household number is a household of its own, so
        // that it is reported once and does not swallow its neighbours.
        if !key.is_empty() {
            loop {
                match self.next_row() {
                    None => break,
                    Some(Err(b)) => {
                        // The household may be cut short: never hand it on.
                        self.finished = true;
                        let mut errors = vec![RowError::new(
                            b.row,
                            None,
                            format!("{}; the household above could not be read to its end", b.reason),
                        )];
                        if let Err(mut more) =
                            household::build(&group, &self.header, self.today, self.purpose, &mut self.seen)
                        {
                            more.append(&mut errors);
                            errors = more;
                        }
                        return Some(Err(errors));
                    }
                    Some(Ok(row)) => {
                        if self.header.get(&row, Column::HouseholdNo) == key {
                            group.push(row);
                        } else {
                            self.pending = Some(Ok(row));
                            break;
                        }
                    }
                }
            }
        }
        Some(household::build(
            &group,
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
        assert!(
            Format::from_path(Path::new("a.xls"))
                .unwrap_err()
                .to_string()
                .contains(".xlsx")
        );
        assert!(
            Format::from_path(Path::new("a.txt"))
                .unwrap_err()
                .to_string()
                .contains(".txt")
        );
    }
}
