//! The roster reader over real files: good CSV and XLSX rosters, and each
//! kind of bad input named in issue #4, each with the row and column it
//! must name.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use hedui_proto::v1::{Purpose, Relation};
use hedui_roster::write::synthetic_household;
use hedui_roster::{FileError, Format, MAX_ROSTER_BYTES, RosterReader, RowError, write_example_csv};
use rust_xlsxwriter::{ExcelDateTime, Workbook};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()
}

fn dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// The rows (header first) of a synthetic roster of `n` households.
fn example_rows(n: usize) -> Vec<Vec<String>> {
    let d = dir();
    let p = d.path().join("r.csv");
    write_example_csv(&p, n, today()).unwrap();
    read_csv_rows(&p)
}

fn read_csv_rows(p: &Path) -> Vec<Vec<String>> {
    let text = fs::read_to_string(p).unwrap();
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(&text);
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

fn write_csv(dir: &Path, name: &str, rows: &[Vec<String>]) -> PathBuf {
    let p = dir.join(name);
    let mut w = csv::Writer::from_path(&p).unwrap();
    for r in rows {
        w.write_record(r).unwrap();
    }
    w.flush().unwrap();
    p
}

fn write_xlsx(dir: &Path, name: &str, rows: &[Vec<String>]) -> PathBuf {
    let p = dir.join(name);
    let mut wb = Workbook::new();
    let sheet = wb.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            if !cell.is_empty() {
                sheet.write_string(r as u32, c as u16, cell).unwrap();
            }
        }
    }
    wb.save(&p).unwrap();
    p
}

fn col(rows: &[Vec<String>], name: &str) -> usize {
    rows[0]
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name}"))
}

fn read_all(p: &Path) -> Vec<Result<hedui_roster::RosterHousehold, Vec<RowError>>> {
    RosterReader::open(p, today())
        .unwrap()
        .with_purpose(Purpose::MinimumLiving)
        .collect()
}

fn errors(items: &[Result<hedui_roster::RosterHousehold, Vec<RowError>>]) -> Vec<RowError> {
    items
        .iter()
        .filter_map(|i| i.as_ref().err())
        .flatten()
        .cloned()
        .collect()
}

fn open_err(p: &Path) -> FileError {
    RosterReader::open(p, today()).unwrap_err()
}

#[test]
fn a_good_csv_roster_reads_household_by_household() {
    let d = dir();
    let p = d.path().join("roster.csv");
    assert_eq!(write_example_csv(&p, 7, today()).unwrap(), 7);
    let reader = RosterReader::open(&p, today())
        .unwrap()
        .with_purpose(Purpose::MinimumLiving);
    assert_eq!(reader.format(), Format::Csv);
    let items: Vec<_> = reader.collect();
    assert_eq!(items.len(), 7);
    let mut next_row = 2;
    for (i, item) in items.into_iter().enumerate() {
        let h = item.unwrap_or_else(|e| panic!("household {i}: {e:?}"));
        let (want, auth) = synthetic_household(i, today(), Purpose::MinimumLiving);
        assert_eq!(h.household, want);
        assert_eq!(h.authorization, auth);
        assert_eq!(h.first_row, next_row);
        assert_eq!(h.last_row, next_row + want.members.len() - 1);
        next_row = h.last_row + 1;
        let vh = hedui_domain::household::ValidatedHousehold::parse(&h.household, today(), "h").unwrap();
        let va = hedui_trust::authorization::parse(&h.authorization, today(), "a").unwrap();
        hedui_trust::authorization::check_covers(&va, &vh, Purpose::MinimumLiving, today()).unwrap();
    }
}

#[test]
fn without_a_purpose_the_authorization_is_left_for_the_caller() {
    let d = dir();
    let p = d.path().join("roster.csv");
    write_example_csv(&p, 2, today()).unwrap();
    for h in RosterReader::open(&p, today()).unwrap() {
        assert_eq!(h.unwrap().authorization.purpose, Purpose::Unspecified as i32);
    }
}

#[test]
fn a_good_xlsx_roster_reads_like_the_csv() {
    let d = dir();
    let rows = example_rows(5);
    let csv = write_csv(d.path(), "r.csv", &rows);
    let xlsx = write_xlsx(d.path(), "r.xlsx", &rows);
    let reader = RosterReader::open(&xlsx, today()).unwrap();
    assert_eq!(reader.format(), Format::Xlsx);
    let from_xlsx: Vec<_> = reader.with_purpose(Purpose::MinimumLiving).collect();
    assert_eq!(from_xlsx.len(), 5);
    assert!(from_xlsx.iter().all(Result::is_ok), "{:?}", errors(&from_xlsx));
    assert_eq!(from_xlsx, read_all(&csv));
}

#[test]
fn xlsx_date_cells_are_dates_and_numeric_id_numbers_are_refused() {
    let d = dir();
    let rows = example_rows(1);
    let p = d.path().join("dates.xlsx");
    let mut wb = Workbook::new();
    let sheet = wb.add_worksheet();
    let signed = col(&rows, "签署日期");
    let until = col(&rows, "授权有效期至");
    let id = col(&rows, "身份证号");
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let (r32, c16) = (r as u32, c as u16);
            if r > 0 && (c == signed || c == until) {
                let date = NaiveDate::parse_from_str(cell, "%Y-%m-%d").unwrap();
                let dt = ExcelDateTime::parse_from_str(&date.to_string()).unwrap();
                let f = rust_xlsxwriter::Format::new().set_num_format("yyyy/m/d");
                sheet.write_datetime_with_format(r32, c16, &dt, &f).unwrap();
            } else if r == 2 && c == id {
                // Typed into a number cell: Excel keeps 15 digits.
                sheet
                    .write_number(r32, c16, cell[..17].parse::<f64>().unwrap())
                    .unwrap();
            } else {
                sheet.write_string(r32, c16, cell).unwrap();
            }
        }
    }
    wb.save(&p).unwrap();
    let items = read_all(&p);
    let errs = errors(&items);
    assert!(!errs.is_empty());
    // The dates were understood; only the numeric ID number is wrong.
    assert!(errs.iter().all(|e| e.row == 3), "{errs:?}");
    let e = errs.iter().find(|e| e.column.as_deref() == Some("身份证号")).unwrap();
    assert!(e.reason.contains("15th"), "{e}");
}

#[test]
fn english_headers_are_accepted_and_named_in_errors() {
    let d = dir();
    let mut rows = example_rows(1);
    for h in &mut rows[0] {
        *h = hedui_roster::Column::from_header(h).unwrap().en().to_owned();
    }
    let p = write_csv(d.path(), "en.csv", &rows);
    assert!(read_all(&p).iter().all(Result::is_ok));
    let c = col(&rows, "id_number");
    let other = if rows[1][c].ends_with('0') { "1" } else { "0" };
    rows[1][c].replace_range(17..18, other);
    let p = write_csv(d.path(), "en-bad.csv", &rows);
    let errs = errors(&read_all(&p));
    assert_eq!(errs[0].row, 2);
    assert_eq!(errs[0].column.as_deref(), Some("id_number"));
}

#[test]
fn a_missing_column_is_named() {
    let d = dir();
    let mut rows = example_rows(1);
    let c = col(&rows, "身份证号");
    for r in &mut rows {
        r.remove(c);
    }
    let p = write_csv(d.path(), "missing.csv", &rows);
    let e = open_err(&p);
    assert_eq!(e, FileError::MissingColumns(vec!["身份证号 (id_number)".to_owned()]));
    assert!(e.to_string().contains("身份证号"), "{e}");
}

#[test]
fn an_unknown_column_is_named_with_its_letter() {
    let d = dir();
    let mut rows = example_rows(1);
    rows[0][2] = "名字".to_owned();
    let p = write_csv(d.path(), "unknown.csv", &rows);
    let e = open_err(&p);
    assert_eq!(
        e,
        FileError::UnknownColumns {
            unknown: vec!["\"名字\" (column C)".to_owned()],
            missing: vec!["姓名 (name)".to_owned()],
        }
    );
    let msg = e.to_string();
    assert!(msg.contains("名字") && msg.contains("missing 姓名"), "{msg}");
}

#[test]
fn a_column_given_twice_is_refused() {
    let d = dir();
    let mut rows = example_rows(1);
    rows[0][3] = "id_number".to_owned();
    rows[0][2] = "身份证号".to_owned();
    let p = write_csv(d.path(), "twice.csv", &rows);
    assert!(matches!(open_err(&p), FileError::DuplicateColumn { first, second, .. } if first == "C" && second == "D"));
}

#[test]
fn an_empty_file_and_a_header_alone_are_refused() {
    let d = dir();
    let p = d.path().join("empty.csv");
    fs::write(&p, "").unwrap();
    assert_eq!(open_err(&p), FileError::Empty);
    fs::write(&p, "\u{FEFF}\n\n").unwrap();
    assert_eq!(open_err(&p), FileError::Empty);
    let rows = example_rows(1);
    let p = write_csv(d.path(), "header.csv", &rows[..1]);
    assert_eq!(open_err(&p), FileError::NoHouseholds);
    let p = write_xlsx(d.path(), "header.xlsx", &rows[..1]);
    assert_eq!(open_err(&p), FileError::NoHouseholds);
    let p = write_xlsx(d.path(), "empty.xlsx", &[]);
    assert_eq!(open_err(&p), FileError::Empty);
}

#[test]
fn an_id_number_in_two_households_names_both_rows() {
    let d = dir();
    let mut rows = example_rows(3);
    let c = col(&rows, "身份证号");
    // Household 1 is rows 2-4 (applicant, spouse, child); household 2 is
    // row 5; household 3 starts at row 6.
    let hh = col(&rows, "户编号");
    assert_eq!(rows[4][hh], "SYN-000002");
    let spouse = rows[2][c].clone();
    rows[4][c] = spouse;
    let p = write_csv(d.path(), "dup.csv", &rows);
    let items = read_all(&p);
    assert!(items[0].is_ok());
    let errs = items[1].as_ref().unwrap_err();
    let e = errs.iter().find(|e| e.column.as_deref() == Some("身份证号")).unwrap();
    assert_eq!(e.row, 5);
    assert!(e.reason.contains("row 3"), "{e}");
    assert!(items[2].is_ok());
}

#[test]
fn a_household_on_non_adjacent_rows_is_read_whole() {
    let d = dir();
    let mut rows = example_rows(3);
    // Move the child of household 1 (row 4) to the end (row 9).
    let child = rows.remove(3);
    rows.push(child);
    let p = write_csv(d.path(), "split.csv", &rows);
    let items = read_all(&p);
    assert_eq!(items.len(), 3);
    let h = items[0].as_ref().unwrap();
    assert_eq!(h.household.members.len(), 3);
    assert_eq!(h.rows, vec![2, 3, rows.len()]);
    assert_eq!((h.first_row, h.last_row), (2, rows.len()));
    assert!(items[1].is_ok() && items[2].is_ok());
}

#[test]
fn a_bad_date_names_row_and_column() {
    let d = dir();
    let mut rows = example_rows(2);
    let c = col(&rows, "签署日期");
    for r in &mut rows[4..] {
        r[c] = "2026/13/45".to_owned();
    }
    let p = write_csv(d.path(), "date.csv", &rows);
    let items = read_all(&p);
    assert!(items[0].is_ok());
    let errs = items[1].as_ref().unwrap_err();
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(
        errs[0].to_string(),
        "row 5, column 签署日期: \"2026/13/45\" is not a date: there is no month 13"
    );
}

#[test]
fn excel_date_forms_are_read() {
    let d = dir();
    let mut rows = example_rows(4);
    let signed = col(&rows, "签署日期");
    let until = col(&rows, "授权有效期至");
    let forms = ["2026/11/2", "2026-11-2", "2026年11月2日", "20261102"];
    for (k, r) in rows[1..].iter_mut().enumerate() {
        if !r[signed].is_empty() {
            r[signed] = forms[k % 4].to_owned();
        }
        if !r[until].is_empty() {
            r[until] = "2027/11/1".to_owned();
        }
    }
    let p = write_csv(d.path(), "forms.csv", &rows);
    for item in read_all(&p) {
        let h = item.unwrap();
        assert_eq!(h.authorization.signed_date, "2026-11-02");
        assert_eq!(h.authorization.valid_until, "2027-11-01");
    }
}

#[test]
fn a_bad_check_digit_names_row_and_column() {
    let d = dir();
    let mut rows = example_rows(1);
    let c = col(&rows, "身份证号");
    let last = rows[2][c].pop().unwrap();
    rows[2][c].push(if last == '0' { '1' } else { '0' });
    let p = write_csv(d.path(), "check.csv", &rows);
    let errs = errors(&read_all(&p));
    let e = errs.iter().find(|e| e.column.as_deref() == Some("身份证号")).unwrap();
    assert_eq!(e.row, 3);
    assert!(e.reason.contains("check"), "{e}");
}

#[test]
fn an_adult_who_did_not_sign_and_a_minor_without_guardian_are_named() {
    let d = dir();
    let mut rows = example_rows(1);
    let signed = col(&rows, "本人签字");
    let guardian = col(&rows, "监护人身份证号");
    rows[2][signed] = "否".to_owned();
    rows[3][guardian] = String::new();
    let p = write_csv(d.path(), "unsigned.csv", &rows);
    let errs = errors(&read_all(&p));
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert_eq!((errs[0].row, errs[0].column.as_deref()), (3, Some("本人签字")));
    assert!(errs[0].reason.contains("did not sign"), "{}", errs[0]);
    assert_eq!((errs[1].row, errs[1].column.as_deref()), (4, Some("监护人身份证号")));
    assert!(errs[1].reason.contains("minor"), "{}", errs[1]);
}

#[test]
fn an_outside_guardian_needs_a_name_and_then_covers_the_minor() {
    let d = dir();
    let mut rows = example_rows(1);
    let guardian = col(&rows, "监护人身份证号");
    let guardian_name = col(&rows, "监护人姓名");
    // An adult from outside the household (a grandparent living elsewhere).
    let first17 = "52062619500101001";
    let id = format!("{first17}{}", hedui_domain::ids::resident_check_char(first17).unwrap());
    rows[3][guardian] = id;
    let p = write_csv(d.path(), "outside.csv", &rows);
    let errs = errors(&read_all(&p));
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!((errs[0].row, errs[0].column.as_deref()), (4, Some("监护人姓名")));
    rows[3][guardian_name] = "王奶奶".to_owned();
    let p = write_csv(d.path(), "outside-named.csv", &rows);
    let items = read_all(&p);
    let h = items[0].as_ref().unwrap();
    let g = h.authorization.signers.iter().find(|s| s.as_guardian).unwrap();
    assert_eq!(g.name, "王奶奶");
    assert_eq!(g.on_behalf_of, vec![h.household.members[2].id_number.clone()]);
}

#[test]
fn an_expired_authorization_is_reported_before_anything_starts() {
    let d = dir();
    let mut rows = example_rows(1);
    let until = col(&rows, "授权有效期至");
    rows[1][until] = "2026-11-01".to_owned();
    for r in &mut rows[2..] {
        r[until] = String::new();
    }
    let p = write_csv(d.path(), "expired.csv", &rows);
    let errs = errors(&read_all(&p));
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!((errs[0].row, errs[0].column.as_deref()), (2, Some("授权有效期至")));
    assert!(errs[0].reason.contains("expired"), "{}", errs[0]);
}

#[test]
fn household_columns_that_disagree_within_a_household_are_named() {
    let d = dir();
    let mut rows = example_rows(1);
    let c = col(&rows, "城乡");
    rows[3][c] = "农村".to_owned();
    let rel = col(&rows, "与申请人关系");
    rows[2][rel] = "表哥".to_owned();
    let p = write_csv(d.path(), "disagree.csv", &rows);
    let errs = errors(&read_all(&p));
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert_eq!((errs[0].row, errs[0].column.as_deref()), (3, Some("与申请人关系")));
    assert_eq!((errs[1].row, errs[1].column.as_deref()), (4, Some("城乡")));
    assert!(errs[1].reason.contains("row 2"), "{}", errs[1]);
}

#[test]
fn relation_words_in_chinese_and_english() {
    let d = dir();
    let mut rows = example_rows(1);
    let rel = col(&rows, "与申请人关系");
    rows[1][rel] = "申请人".to_owned();
    rows[2][rel] = "spouse".to_owned();
    rows[3][rel] = "儿子".to_owned();
    let p = write_csv(d.path(), "rel.csv", &rows);
    let h = read_all(&p).remove(0).unwrap();
    let rels: Vec<i32> = h.household.members.iter().map(|m| m.relation).collect();
    assert_eq!(
        rels,
        vec![
            Relation::Applicant as i32,
            Relation::Spouse as i32,
            Relation::Child as i32
        ]
    );
}

#[test]
fn an_xlsx_that_is_really_text_is_refused() {
    let d = dir();
    let rows = example_rows(1);
    let csv = write_csv(d.path(), "r.csv", &rows);
    let fake = d.path().join("roster.xlsx");
    fs::copy(&csv, &fake).unwrap();
    let e = open_err(&fake);
    assert_eq!(e, FileError::NotXlsx);
    assert!(e.to_string().contains("rename it to .csv"));
    let xlsx = write_xlsx(d.path(), "real.xlsx", &rows);
    let renamed = d.path().join("real.csv");
    fs::copy(&xlsx, &renamed).unwrap();
    assert_eq!(open_err(&renamed), FileError::CsvIsZip);
    // A zip that is not a workbook.
    let zip = d.path().join("junk.xlsx");
    fs::write(&zip, b"PK\x03\x04 not really a zip").unwrap();
    assert!(matches!(open_err(&zip), FileError::BadXlsx(_)));
    assert!(matches!(open_err(&d.path().join("r.xls")), FileError::Io(_)));
    fs::write(d.path().join("r.xls"), b"x").unwrap();
    assert!(
        open_err(&d.path().join("r.xls"))
            .to_string()
            .contains("save it as .xlsx")
    );
}

#[test]
fn a_file_over_the_limit_is_refused_before_reading() {
    let d = dir();
    let p = d.path().join("huge.csv");
    let f = fs::File::create(&p).unwrap();
    let size = 200 * 1000 * 1000;
    f.set_len(size).unwrap();
    let e = open_err(&p);
    assert_eq!(
        e,
        FileError::TooLarge {
            size,
            limit: MAX_ROSTER_BYTES
        }
    );
    let msg = e.to_string();
    assert!(
        msg.contains("200000000 bytes") && msg.contains(&MAX_ROSTER_BYTES.to_string()),
        "{msg}"
    );
}

#[test]
fn a_utf8_header_over_a_gbk_row_is_a_mixed_file() {
    let d = dir();
    let p = d.path().join("mixed.csv");
    // A UTF-8 header with one GBK name below it.
    let rows = example_rows(1);
    let name = col(&rows, "姓名");
    let mut bytes = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        let cells: Vec<Vec<u8>> = r
            .iter()
            .enumerate()
            .map(|(c, v)| {
                if i == 2 && c == name {
                    b"\xd5\xc5\xc8\xfd".to_vec()
                } else {
                    v.as_bytes().to_vec()
                }
            })
            .collect();
        bytes.extend(cells.join(&b","[..]));
        bytes.push(b'\n');
    }
    fs::write(&p, bytes).unwrap();
    let e = open_err(&p);
    assert!(matches!(e, FileError::Encoding(_)), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("mixes encodings") && msg.contains("row 1") && msg.contains("row 3"),
        "{msg}"
    );
}

#[test]
fn blank_rows_are_skipped_and_row_numbers_stay_true() {
    let d = dir();
    let mut rows = example_rows(2);
    let width = rows[0].len();
    rows.insert(4, vec![String::new(); width]);
    let p = write_csv(d.path(), "blank.csv", &rows);
    let items = read_all(&p);
    assert_eq!(items.len(), 2);
    assert_eq!(items[1].as_ref().unwrap().first_row, 6);
}

#[test]
fn a_value_under_no_header_is_reported() {
    let d = dir();
    let mut rows = example_rows(1);
    rows[0].push(String::new());
    for r in &mut rows[1..] {
        r.push(String::new());
    }
    rows[2].last_mut().unwrap().push_str("备注");
    let p = write_csv(d.path(), "extra.csv", &rows);
    let errs = errors(&read_all(&p));
    assert_eq!(errs.len(), 1);
    assert_eq!((errs[0].row, errs[0].column.as_deref()), (3, Some("N")));
}

#[test]
fn more_than_thirty_members_is_refused_without_holding_them() {
    let d = dir();
    let rows = example_rows(1);
    let mut big = vec![rows[0].clone()];
    for _ in 0..1000 {
        big.push(rows[1].clone());
    }
    let p = write_csv(d.path(), "big.csv", &big);
    let items = read_all(&p);
    assert_eq!(items.len(), 1);
    let errs = items[0].as_ref().unwrap_err();
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].reason.contains("1000 rows have this household number"),
        "{errs:?}"
    );
}

/// The reader is lazy: after one household it has read one household, and
/// every household of a 100,000-household roster comes through, in order.
#[test]
fn a_100k_household_roster_streams() {
    let d = dir();
    let p = d.path().join("100k.csv");
    let n = 100_000;
    write_example_csv(&p, n, today()).unwrap();
    let mut reader = RosterReader::open(&p, today())
        .unwrap()
        .with_purpose(Purpose::MinimumLiving);
    assert_eq!(reader.households_read(), 0);
    let first = reader.next().unwrap().unwrap();
    assert_eq!(first.household.household_ref, "SYN-000001");
    assert_eq!(reader.households_read(), 1);
    let mut count = 1;
    for (i, item) in reader.by_ref().enumerate() {
        let h = item.unwrap();
        assert_eq!(h.household.household_ref, format!("SYN-{:06}", i + 2));
        count += 1;
    }
    assert_eq!(count, n);
    assert_eq!(reader.households_read(), n);
}

#[test]
fn an_xlsx_that_expands_too_far_is_refused_before_decompressing() {
    use std::io::Write;
    let d = dir();
    let p = d.path().join("bomb.xlsx");
    let mut z = zip::ZipWriter::new(fs::File::create(&p).unwrap());
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    z.start_file("xl/worksheets/sheet1.xml", opts).unwrap();
    z.write_all(&vec![b' '; 4 << 20]).unwrap();
    z.finish().unwrap();
    let e = open_err(&p);
    assert!(
        matches!(&e, FileError::ZipBomb(why) if why.contains("sheet1.xml")),
        "{e}"
    );
    assert!(e.to_string().contains("zip bomb"));
}

/// The batch worker moves the reader to its own thread.
#[test]
fn the_reader_can_move_between_threads() {
    fn send<T: Send>() {}
    send::<RosterReader>();
}

#[test]
fn a_title_line_above_the_header_is_skipped() {
    let d = dir();
    let mut rows = example_rows(2);
    let width = rows[0].len();
    let mut title = vec![String::new(); width];
    title[0] = "德江县某某镇2026年低保对象复核花名册".to_owned();
    rows.insert(0, title);
    let p = write_xlsx(d.path(), "title.xlsx", &rows);
    let items = read_all(&p);
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].as_ref().unwrap().first_row, 3);
    // A single unknown column header is still an unknown column when no
    // header follows.
    let p = write_csv(
        d.path(),
        "just-title.csv",
        &[vec!["花名册".to_owned()], vec!["1".to_owned()]],
    );
    assert!(matches!(open_err(&p), FileError::UnknownColumns { unknown, .. } if unknown[0].contains("花名册")));
}

/// tafia/calamine#709: a workbook whose cell reference overflows calamine's
/// arithmetic. With overflow checks (tests, and the release profile) the
/// reader thread panics; the panic is caught there and the roster is
/// refused naming the worksheet, instead of the CLI dying or a value landing
/// in another column.
#[test]
fn a_workbook_whose_cell_reference_overflows_is_refused_naming_the_sheet() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/regressions/roster_xlsx/cell-reference-overflow-calamine-709.xlsx");
    let e = open_err(&p);
    let msg = e.to_string();
    assert!(msg.contains("worksheet"), "{msg}");
    eprintln!("{msg}");
}

/// Every kind of row problem, said in Chinese for a caseworker: no English
/// sentence in any line (issue #11, and the console's upload, issue #12).
#[test]
fn every_row_problem_is_said_in_chinese() {
    let d = dir();
    let mut rows = example_rows(12);
    let id = col(&rows, "身份证号");
    let signed = col(&rows, "签署日期");
    let residence = col(&rows, "城乡");
    let capacity = col(&rows, "无民事行为能力");
    let relation = col(&rows, "与申请人关系");
    let name = col(&rows, "姓名");
    // A wrong check character, a date that does not exist, a residence and
    // a yes/no that are not words of the roster, a relation that is not
    // one, a blank name, a date that differs within a household, a
    // year out of range.
    let flip = |s: &mut String| {
        let last = s.pop().unwrap();
        s.push(if last == '0' { '1' } else { '0' });
    };
    flip(&mut rows[1][id]);
    rows[2][signed] = "2026/13/45".into();
    rows[3][residence] = "乡下".into();
    rows[4][capacity] = "也许".into();
    rows[5][relation] = "邻居".into();
    rows[6][name] = String::new();
    rows[7][signed] = "2026-02-30".into();
    rows[8][signed] = "0900-01-01".into();
    let p = write_csv(d.path(), "bad.csv", &rows);
    let mut reader = RosterReader::open(&p, today())
        .unwrap()
        .with_purpose(Purpose::MinimumLiving);
    let mut check = hedui_roster::check::Check::new(&reader);
    for h in reader.by_ref() {
        check.add(&h);
    }
    let lines = check.details_in(hedui_i18n::Lang::Zh);
    assert!(lines.len() >= 7, "{lines:#?}");
    for l in &lines {
        assert!(!hedui_i18n::has_english_sentence(l), "English in: {l}");
        assert!(
            l.starts_with("第 ") || l.starts_with("注意") || l.starts_with("……") || l.starts_with("  "),
            "{l}"
        );
    }
    let all = lines.join("\n");
    assert!(all.contains("校验码应为"), "{all}");
    assert!(all.contains("不是日期"), "{all}");
    // In English the same lines read as before.
    let en = check.details_in(hedui_i18n::Lang::En);
    assert!(en.iter().any(|l| l.contains("check character should be")), "{en:#?}");
}
