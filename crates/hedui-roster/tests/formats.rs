//! Rosters as county offices save them (issue #11): Excel 中文版's GBK CSV,
//! Excel's "Unicode 文本", old .xls, .ods; and the bad inputs of that issue,
//! each refused with a clear message, or (full-width digits) read with a
//! note.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use hedui_proto::v1::Purpose;
use hedui_roster::check::Check;
use hedui_roster::{ErrorKind, FileError, RosterHousehold, RosterReader, RowError, write_example_csv};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

fn rows_of(p: &Path) -> Vec<Vec<String>> {
    let text = fs::read_to_string(p).unwrap();
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(&text);
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

fn example_rows(dir: &Path, n: usize) -> Vec<Vec<String>> {
    let p = dir.join("example.csv");
    write_example_csv(&p, n, today()).unwrap();
    rows_of(&p)
}

/// The rows as text joined by `sep`, each cell quoted when it must be.
fn delimited(rows: &[Vec<String>], sep: u8) -> String {
    let mut w = csv::WriterBuilder::new().delimiter(sep).from_writer(Vec::new());
    for r in rows {
        w.write_record(r).unwrap();
    }
    String::from_utf8(w.into_inner().unwrap()).unwrap()
}

fn gbk(text: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding_rs::GBK.encode(text);
    assert!(!unmappable);
    bytes.into_owned()
}

fn read_all(p: &Path) -> (RosterReader, Vec<Result<RosterHousehold, Vec<RowError>>>) {
    let mut reader = RosterReader::open(p, today())
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .with_purpose(Purpose::MinimumLiving);
    let items: Vec<_> = reader.by_ref().collect();
    (reader, items)
}

fn col(rows: &[Vec<String>], name: &str) -> usize {
    rows[0].iter().position(|h| h == name).unwrap()
}

/// Issue #11's "done when": a roster saved by Excel 中文版 as "CSV (逗号分隔)"
/// — GBK, Excel's dates, a title row above the header, members of a
/// household on rows far apart — is accepted as it is.
#[test]
fn an_excel_chinese_gbk_csv_with_a_title_excel_dates_and_scattered_members_is_accepted() {
    let d = tempfile::tempdir().unwrap();
    let rows = rows_of(&data("shuffled.csv"));
    let width = rows[0].len();
    // Excel pads the title row with separators.
    let mut title = vec![String::new(); width];
    title[0] = "德江县某某镇2026年低保对象复核花名册".to_owned();
    let mut all = vec![title];
    all.extend(rows.iter().cloned());
    let p = d.path().join("花名册.csv");
    fs::write(&p, gbk(&delimited(&all, b',').replace('\n', "\r\n"))).unwrap();
    let (reader, items) = read_all(&p);
    assert_eq!(reader.read_as(), "text, GB18030/GBK");
    assert_eq!((reader.households(), reader.rows()), (3, rows.len() - 1));
    let hh = col(&rows, "户编号");
    for item in &items {
        let h = item.as_ref().unwrap_or_else(|e| panic!("{e:?}"));
        let want = rows[1..].iter().filter(|r| r[hh] == h.household.household_ref).count();
        assert_eq!(h.household.members.len(), want, "{}", h.household.household_ref);
        assert_eq!(h.authorization.signed_date, "2026-11-02");
        // Names came through GBK intact.
        let name = col(&rows, "姓名");
        for m in &h.household.members {
            assert!(rows.iter().any(|r| r[name] == m.name), "{}", m.name);
        }
    }
    assert_eq!(items.len(), 3);
    let mut check = Check::new(&reader);
    items.iter().for_each(|i| check.add(i));
    assert_eq!(check.summary(), "花名册共 3 户 9 行（text, GB18030/GBK）；全部通过");
}

#[test]
fn excel_unicode_text_is_utf16le_with_a_bom_and_tabs() {
    let d = tempfile::tempdir().unwrap();
    let rows = rows_of(&data("shuffled.csv"));
    let text = delimited(&rows, b'\t');
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let p = d.path().join("unicode.txt");
    fs::write(&p, bytes).unwrap();
    let (reader, items) = read_all(&p);
    assert_eq!(reader.read_as(), "text, UTF-16LE (BOM)");
    assert_eq!(items.len(), 3);
    assert!(items.iter().all(Result::is_ok), "{items:?}");
    // The same households as the UTF-8 comma file.
    let (_, from_csv) = read_all(&data("shuffled.csv"));
    assert_eq!(items, from_csv);
    // And big-endian.
    let mut bytes = vec![0xFE, 0xFF];
    bytes.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
    fs::write(&p, bytes).unwrap();
    let (reader, items) = read_all(&p);
    assert_eq!(reader.read_as(), "text, UTF-16BE (BOM)");
    assert_eq!(items, from_csv);
}

#[test]
fn old_xls_and_ods_workbooks_are_read_like_the_csv() {
    let (_, from_csv) = read_all(&data("shuffled.csv"));
    assert!(from_csv.iter().all(Result::is_ok), "{from_csv:?}");
    for (file, read_as) in [
        ("shuffled.xls", "Excel 97-2003 .xls, worksheet \"花名册\""),
        ("shuffled.ods", "OpenDocument .ods, worksheet \"花名册\""),
    ] {
        let (reader, items) = read_all(&data(file));
        assert_eq!(reader.read_as(), read_as);
        assert_eq!(items, from_csv, "{file}");
    }
}

#[test]
fn gbk_with_one_invalid_byte_names_its_row_and_column() {
    let d = tempfile::tempdir().unwrap();
    let rows = rows_of(&data("shuffled.csv"));
    let name = col(&rows, "姓名");
    let mut bytes = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        let mut line = gbk(&delimited(std::slice::from_ref(r), b','));
        if i == 4 {
            // A lead byte followed by a comma is no GBK character.
            let cell = gbk(&r[name]);
            let at = line.windows(cell.len()).position(|w| w == cell.as_slice()).unwrap();
            line.insert(at + cell.len(), 0x81);
        }
        bytes.extend(line);
    }
    let p = d.path().join("bad-byte.csv");
    fs::write(&p, bytes).unwrap();
    let (reader, items) = read_all(&p);
    assert_eq!(reader.read_as(), "text, GB18030/GBK");
    let errors: Vec<&RowError> = items.iter().filter_map(|i| i.as_ref().err()).flatten().collect();
    assert_eq!(errors.len(), 1, "one cause, one message: {errors:?}");
    let e = errors[0];
    assert_eq!(
        (e.row, e.column.as_deref(), e.kind),
        (5, Some("姓名"), ErrorKind::Unreadable)
    );
    assert!(e.reason.contains("GB18030/GBK") && e.reason.contains("0x81"), "{e}");
    // The household of that row fails whole; the others pass.
    assert_eq!(items.iter().filter(|i| i.is_ok()).count(), 2);
}

#[test]
fn utf16_without_a_bom_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let rows = rows_of(&data("shuffled.csv"));
    let bytes: Vec<u8> = delimited(&rows, b'\t')
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let p = d.path().join("no-bom.txt");
    fs::write(&p, bytes).unwrap();
    let e = RosterReader::open(&p, today()).unwrap_err();
    assert!(matches!(e, FileError::Encoding(_)), "{e}");
    assert!(e.to_string().contains("UTF-16 text without a BOM"), "{e}");
}

#[test]
fn a_utf8_file_with_some_gbk_rows_is_refused_as_mixed() {
    let d = tempfile::tempdir().unwrap();
    let rows = rows_of(&data("shuffled.csv"));
    let mut bytes = delimited(&rows[..4], b',').into_bytes();
    bytes.extend(gbk(&delimited(&rows[4..], b',')));
    let p = d.path().join("mixed.csv");
    fs::write(&p, bytes).unwrap();
    let e = RosterReader::open(&p, today()).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("mixes encodings") && msg.contains("row 5"), "{msg}");
}

#[test]
fn a_wps_et_file_is_asked_for_as_xlsx() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("花名册.et");
    fs::write(&p, [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0]).unwrap();
    let e = RosterReader::open(&p, today()).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("WPS") && msg.contains(".xlsx"), "{msg}");
}

#[test]
fn an_xls_that_is_a_web_page_is_refused_with_advice() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("export.xls");
    fs::write(
        &p,
        "\u{FEFF}<html xmlns:x=\"urn:schemas-microsoft-com:office:excel\"><body><table><tr><td>户编号</td></tr></table></body></html>",
    )
    .unwrap();
    let e = RosterReader::open(&p, today()).unwrap_err();
    assert!(matches!(e, FileError::NotAWorkbook(_)), "{e}");
    let msg = e.to_string();
    assert!(msg.contains("web page (HTML)") && msg.contains(".xlsx"), "{msg}");
    // An .xlsx saved under the old name is read as what it is.
    let rows = rows_of(&data("shuffled.csv"));
    let xlsx = d.path().join("really.xls");
    let mut wb = rust_xlsxwriter::Workbook::new();
    let sheet = wb.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            sheet.write_string(r as u32, c as u16, cell).unwrap();
        }
    }
    wb.save(&xlsx).unwrap();
    let (reader, items) = read_all(&xlsx);
    assert!(reader.read_as().contains("named .xls"), "{}", reader.read_as());
    assert!(items.iter().all(Result::is_ok));
}

#[test]
fn an_id_number_with_full_width_digits_and_a_trailing_space_is_read_with_a_note() {
    let d = tempfile::tempdir().unwrap();
    let mut rows = example_rows(d.path(), 2);
    let id = col(&rows, "身份证号");
    let plain = rows[2][id].clone();
    let wide: String = plain
        .chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(c as u32 - '0' as u32 + '０' as u32).unwrap(),
            'X' => 'Ｘ',
            c => c,
        })
        .collect();
    rows[2][id] = format!("{wide}\u{3000}");
    let p = d.path().join("wide.csv");
    let mut w = csv::Writer::from_path(&p).unwrap();
    rows.iter().for_each(|r| w.write_record(r).unwrap());
    w.flush().unwrap();
    let (reader, items) = read_all(&p);
    let h = items[0].as_ref().unwrap();
    assert_eq!(h.household.members[1].id_number, plain);
    assert_eq!(h.notes.len(), 1);
    let n = &h.notes[0];
    assert_eq!(
        (n.row, n.column.as_deref(), n.kind),
        (3, Some("身份证号"), ErrorKind::Note)
    );
    assert!(n.reason.contains("full-width") && n.reason.contains("spaces"), "{n}");
    let mut check = Check::new(&reader);
    items.iter().for_each(|i| check.add(i));
    assert!(check.summary().contains("1 处已自动更正"), "{}", check.summary());
    assert!(
        check.details()[0].starts_with("注意 row 3, column 身份证号"),
        "{:?}",
        check.details()
    );
}

#[test]
fn a_first_generation_id_number_is_given_its_18_digit_form() {
    let d = tempfile::tempdir().unwrap();
    let mut rows = example_rows(d.path(), 1);
    let id = col(&rows, "身份证号");
    // The applicant, born in the 1900s: drop "19" and the check character.
    let full = rows[1][id].clone();
    assert_eq!(&full[6..8], "19");
    rows[1][id] = format!("{}{}", &full[..6], &full[8..17]);
    let p = d.path().join("old-id.csv");
    let mut w = csv::Writer::from_path(&p).unwrap();
    rows.iter().for_each(|r| w.write_record(r).unwrap());
    w.flush().unwrap();
    let (_, items) = read_all(&p);
    let errs = items[0].as_ref().unwrap_err();
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!((errs[0].row, errs[0].column.as_deref()), (2, Some("身份证号")));
    assert!(
        errs[0].reason.contains("first-generation") && errs[0].reason.contains(&full),
        "{}",
        errs[0]
    );
}

#[test]
fn a_missing_id_number_is_one_message() {
    let d = tempfile::tempdir().unwrap();
    let mut rows = example_rows(d.path(), 1);
    let id = col(&rows, "身份证号");
    // The spouse signs for themselves; without an ID number that used to be
    // reported by the household check and by the authorization check.
    rows[2][id] = String::new();
    let p = d.path().join("no-id.csv");
    let mut w = csv::Writer::from_path(&p).unwrap();
    rows.iter().for_each(|r| w.write_record(r).unwrap());
    w.flush().unwrap();
    let (_, items) = read_all(&p);
    let errs = items[0].as_ref().unwrap_err();
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!((errs[0].row, errs[0].column.as_deref()), (3, Some("身份证号")));
    for e in errs {
        assert!(
            !e.reason.contains("members[") && !e.reason.contains("on_behalf_of"),
            "{e}"
        );
    }
}

/// Past the first 50 rows, problems are counted per column and per kind.
#[test]
fn a_flood_of_errors_is_cut_to_fifty_rows_and_counts() {
    let d = tempfile::tempdir().unwrap();
    let mut rows = example_rows(d.path(), 80);
    let rel = col(&rows, "与申请人关系");
    for r in rows[1..].iter_mut() {
        if r[rel] != "本人" {
            r[rel] = "孩子".to_owned();
        }
    }
    let p = d.path().join("flood.csv");
    let mut w = csv::Writer::from_path(&p).unwrap();
    rows.iter().for_each(|r| w.write_record(r).unwrap());
    w.flush().unwrap();
    let (reader, items) = read_all(&p);
    let mut check = Check::new(&reader);
    items.iter().for_each(|i| check.add(i));
    let bad_rows = rows.iter().filter(|r| r[rel] == "孩子").count();
    assert!(bad_rows > 60, "{bad_rows}");
    let bad_households = items.iter().filter(|i| i.is_err()).count();
    assert_eq!(
        check.summary(),
        format!(
            "花名册共 80 户 {} 行（text, UTF-8）；有问题的 {bad_households} 户（{bad_rows} 行），见下",
            rows.len() - 1
        )
    );
    let details = check.details();
    let listed = details.iter().filter(|l| l.starts_with("row ")).count();
    assert_eq!(listed, 50);
    let rest = bad_rows - 50;
    assert!(
        details.contains(&format!(
            "……另有 {rest} 行的 {rest} 个问题未逐条列出（只列出前 50 行）。"
        )),
        "{details:?}"
    );
    assert!(details.contains(&format!("  按列：与申请人关系 {rest}")), "{details:?}");
    assert!(
        details.contains(&format!("  按问题类型：格式或取值不对 {rest}")),
        "{details:?}"
    );
}

/// Excel saves an ID column formatted as a number as `5.20626E+17` in CSV.
#[test]
fn an_id_number_excel_shortened_to_a_number_is_one_clear_message() {
    let d = tempfile::tempdir().unwrap();
    let mut rows = example_rows(d.path(), 1);
    let id = col(&rows, "身份证号");
    rows[2][id] = "5.20626E+17".to_owned();
    let p = d.path().join("short.csv");
    let mut w = csv::Writer::from_path(&p).unwrap();
    rows.iter().for_each(|r| w.write_record(r).unwrap());
    w.flush().unwrap();
    let (_, items) = read_all(&p);
    let errs = items[0].as_ref().unwrap_err();
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!((errs[0].row, errs[0].column.as_deref()), (3, Some("身份证号")));
    assert!(errs[0].reason.contains("文本"), "{}", errs[0]);
}
