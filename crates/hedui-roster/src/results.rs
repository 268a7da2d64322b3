//! The results of a batch: one row per household with its verdict, the main
//! reasons, the flags and the departments that did not answer, written as
//! CSV or XLSX.
//!
//! Rows are written as they come, so the caller can stream records from the
//! hub without holding them: the CSV writer is buffered, and the XLSX writer
//! uses rust_xlsxwriter's constant-memory mode, which flushes each row to a
//! temporary file as soon as the next one starts. Either way the output
//! goes to a temporary file beside the target, renamed over it only by
//! [`ResultsSink::finish`]; a sink dropped without finishing removes its
//! temporary file, so a failed download leaves no half file.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use hedui_proto::v1::{Verdict, VerificationRecord};
use hedui_report::words::{answered, department_zh, flag_zh, outcome_zh, rule_zh, verdict_zh};
use rust_xlsxwriter::{Format as CellFormat, Workbook, XlsxError};

/// The results file's headers.
pub const HEADERS: [&str; 8] = [
    "户编号",
    "花名册行号",
    "核对记录编号",
    "核对结论",
    "主要依据",
    "核查提示",
    "未答复部门",
    "需入户核查",
];

/// Column widths of the XLSX results, in characters. Set before any row,
/// as constant-memory mode requires.
const WIDTHS: [f64; 8] = [14.0, 10.0, 38.0, 24.0, 60.0, 60.0, 30.0, 10.0];

/// The most rows an XLSX worksheet holds, header included.
const XLSX_MAX_ROWS: u32 = 1_048_576;

/// One household's line in the results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultRow {
    /// The 户编号.
    pub household_ref: String,
    /// The roster row of the household's first member.
    pub first_row: usize,
    /// The verification record's id.
    pub record_id: String,
    /// The verdict in Chinese and as the enum, for example
    /// `符合条件 MEETS_CRITERIA`.
    pub verdict: String,
    /// The reasons, `依据：说明`, separated by `；`.
    pub reasons: String,
    /// The flags, `提示（成员 n）：说明`, separated by `；`.
    pub flags: String,
    /// The departments that did not answer, `部门（超时）`, separated by `、`.
    pub missing_sources: String,
    /// True when the household needs a home visit: the verdict is
    /// NEEDS_REVIEW or the record carries a flag.
    pub flagged: bool,
}

impl ResultRow {
    /// The results line of one record.
    pub fn from_record(first_row: usize, record: &VerificationRecord) -> ResultRow {
        let verdict_name = Verdict::try_from(record.verdict)
            .map(|v| v.as_str_name().trim_start_matches("VERDICT_").to_owned())
            .unwrap_or_else(|_| format!("UNKNOWN_{}", record.verdict));
        let reasons: Vec<String> = record
            .reasons
            .iter()
            .map(|r| format!("{}：{}", rule_zh(&r.rule), r.detail))
            .collect();
        let flags: Vec<String> = record
            .flags
            .iter()
            .map(|f| match f.member_index {
                Some(i) => format!("{}（成员 {}）：{}", flag_zh(f.kind), i + 1, f.detail),
                None => format!("{}：{}", flag_zh(f.kind), f.detail),
            })
            .collect();
        let missing: Vec<String> = record
            .sources
            .iter()
            .filter(|s| !answered(s.outcome))
            .map(|s| format!("{}（{}）", department_zh(s.department), outcome_zh(s.outcome)))
            .collect();
        ResultRow {
            household_ref: record
                .household
                .as_ref()
                .map(|h| h.household_ref.clone())
                .unwrap_or_default(),
            first_row,
            record_id: record.record_id.clone(),
            verdict: format!("{} {verdict_name}", verdict_zh(record.verdict)),
            reasons: reasons.join("；"),
            flags: flags.join("；"),
            missing_sources: missing.join("、"),
            flagged: record.verdict == Verdict::NeedsReview as i32 || !record.flags.is_empty(),
        }
    }

    /// The cells in [`HEADERS`] order.
    pub fn cells(&self) -> [String; 8] {
        [
            self.household_ref.clone(),
            // 0 is no row: a household the results do not place (one not
            // finished yet); roster rows start at 1.
            if self.first_row == 0 {
                String::new()
            } else {
                self.first_row.to_string()
            },
            self.record_id.clone(),
            self.verdict.clone(),
            self.reasons.clone(),
            self.flags.clone(),
            self.missing_sources.clone(),
            if self.flagged { "是" } else { "否" }.to_owned(),
        ]
    }
}

/// Why the results could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    /// Writing the file failed.
    #[error("could not write the results: {0}")]
    Io(#[from] io::Error),
    /// The XLSX writer failed.
    #[error("could not write the results workbook: {0}")]
    Xlsx(String),
    /// The extension is neither `.csv` nor `.xlsx`.
    #[error("the results file must end in .csv or .xlsx, not {0:?}")]
    UnknownFormat(String),
    /// More rows than a worksheet holds.
    #[error("more than {} households do not fit in one Excel worksheet; write a .csv instead", XLSX_MAX_ROWS - 1)]
    TooManyRows,
}

impl From<XlsxError> for ResultsError {
    fn from(e: XlsxError) -> Self {
        match e {
            XlsxError::IoError(io) => ResultsError::Io(io),
            other => ResultsError::Xlsx(other.to_string()),
        }
    }
}

impl From<csv::Error> for ResultsError {
    fn from(e: csv::Error) -> Self {
        ResultsError::Io(e.into())
    }
}

/// Where result rows go.
pub trait ResultsSink {
    /// Writes one row.
    fn write(&mut self, row: &ResultRow) -> Result<(), ResultsError>;
    /// Completes the file and moves it into place.
    fn finish(self: Box<Self>) -> Result<(), ResultsError>;
}

/// Opens a results file for writing: `.csv` (UTF-8 with a byte order mark,
/// so Excel shows the Chinese right) or `.xlsx` (one worksheet 核对结果),
/// from the extension in any case. The header row is written at once.
pub fn create(path: &Path) -> Result<Box<dyn ResultsSink>, ResultsError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "csv" => Ok(Box::new(CsvSink::create(path)?)),
        "xlsx" => Ok(Box::new(XlsxSink::create(path)?)),
        _ => Err(ResultsError::UnknownFormat(
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        )),
    }
}

/// The temporary file beside `target`: hidden, named after it and this
/// process, so two downloads into one folder do not collide.
fn temp_path(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = target
        .extension()
        .map(|e| e.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}.{}.part.{ext}", std::process::id()))
}

/// A temporary file removed on drop unless kept.
struct TempFile {
    path: PathBuf,
    keep: bool,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// A cell that a spreadsheet would run as a formula gets a leading `'`, so
/// text from a record (a department's detail, say) can never become one
/// when the CSV is opened in Excel.
fn defuse(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

struct CsvSink {
    target: PathBuf,
    temp: TempFile,
    writer: csv::Writer<BufWriter<File>>,
}

impl CsvSink {
    fn create(target: &Path) -> Result<CsvSink, ResultsError> {
        let temp = TempFile {
            path: temp_path(target),
            keep: false,
        };
        let mut out = BufWriter::new(File::create(&temp.path)?);
        out.write_all("\u{FEFF}".as_bytes())?;
        let mut writer = csv::Writer::from_writer(out);
        writer.write_record(HEADERS)?;
        Ok(CsvSink {
            target: target.to_owned(),
            temp,
            writer,
        })
    }
}

impl ResultsSink for CsvSink {
    fn write(&mut self, row: &ResultRow) -> Result<(), ResultsError> {
        let cells = row.cells();
        self.writer.write_record(cells.iter().map(|c| defuse(c).into_owned()))?;
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<(), ResultsError> {
        let CsvSink {
            target,
            mut temp,
            writer,
        } = *self;
        let out = writer.into_inner().map_err(|e| ResultsError::Io(e.into_error()))?;
        let file = out.into_inner().map_err(|e| ResultsError::Io(e.into_error()))?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temp.path, &target)?;
        temp.keep = true;
        Ok(())
    }
}

struct XlsxSink {
    target: PathBuf,
    temp: TempFile,
    workbook: Workbook,
    next_row: u32,
}

impl XlsxSink {
    fn create(target: &Path) -> Result<XlsxSink, ResultsError> {
        let temp = TempFile {
            path: temp_path(target),
            keep: false,
        };
        let mut workbook = Workbook::new();
        if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
            // Constant-memory mode spills rows to a temporary file; keep it
            // on the target's disk rather than a small /tmp.
            workbook.set_tempdir(dir)?;
        }
        let bold = CellFormat::new().set_bold();
        let sheet = workbook.add_worksheet_with_constant_memory()?;
        sheet.set_name("核对结果")?;
        for (c, h) in HEADERS.iter().enumerate() {
            sheet.write_string_with_format(0, c as u16, *h, &bold)?;
        }
        for (c, w) in WIDTHS.iter().enumerate() {
            sheet.set_column_width(c as u16, *w)?;
        }
        sheet.set_freeze_panes(1, 0)?;
        Ok(XlsxSink {
            target: target.to_owned(),
            temp,
            workbook,
            next_row: 1,
        })
    }
}

impl ResultsSink for XlsxSink {
    fn write(&mut self, row: &ResultRow) -> Result<(), ResultsError> {
        if self.next_row >= XLSX_MAX_ROWS {
            return Err(ResultsError::TooManyRows);
        }
        let sheet = self.workbook.worksheet_from_index(0)?;
        let r = self.next_row;
        for (c, cell) in row.cells().iter().enumerate() {
            if c == 1 {
                sheet.write_number(r, c as u16, row.first_row as f64)?;
            } else {
                sheet.write_string(r, c as u16, cell)?;
            }
        }
        self.next_row += 1;
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<(), ResultsError> {
        let XlsxSink {
            target,
            mut temp,
            mut workbook,
            ..
        } = *self;
        workbook.save(&temp.path)?;
        File::open(&temp.path)?.sync_all()?;
        fs::rename(&temp.path, &target)?;
        temp.keep = true;
        Ok(())
    }
}
