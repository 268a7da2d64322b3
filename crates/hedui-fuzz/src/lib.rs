//! The bodies of hedui's fuzz targets.
//!
//! Each function takes arbitrary bytes, feeds them to one edge of the
//! system exactly as production does (decode, then validate), and asserts
//! what must hold whatever the input: no panic, and for accepted input the
//! properties the rest of the system relies on (an accepted ID number is
//! normalised and re-parses to itself; an accepted reply has one result per
//! person asked; …). The cargo-fuzz targets in `fuzz/` call these, and
//! `tests/corpus.rs` replays the committed corpus through them in every CI
//! run, so a crash found once stays fixed.
//!
//! Dates are pinned ([`TODAY`]) so that a corpus file means the same thing
//! on every day it is replayed.

use chrono::NaiveDate;
use hedui_domain::ids::{ResidentId, Uscc};
use hedui_domain::reply::{AskedContext, validate};
use hedui_domain::window::IncomeWindow;
use hedui_proto::v1::{Department, Household, QueryRequest, QueryResponse, SubmitVerificationRequest};
use prost::Message as _;

/// The day every target pretends it is.
pub const TODAY: NaiveDate = match NaiveDate::from_ymd_opt(2026, 11, 27) {
    Some(d) => d,
    None => panic!("a valid date"),
};

/// The body of one fuzz target.
pub type Target = fn(&[u8]);

/// The targets, by name, as `fuzz/fuzz_targets/<name>.rs` and the corpus
/// folders `fuzz/corpus/<name>/` call them.
pub const TARGETS: &[(&str, Target)] = &[
    ("ids", ids),
    ("household", household),
    ("submission", submission),
    ("adapter_query", adapter_query),
    ("adapter_reply", adapter_reply),
    ("roster_csv", roster_csv),
    ("roster_xlsx", roster_xlsx),
];

/// Resident ID and USCC parsing.
pub fn ids(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(id) = ResidentId::parse(s, TODAY) {
        assert_eq!(id.as_str().len(), 18, "a normalised ID has 18 characters");
        let again = ResidentId::parse(id.as_str(), TODAY).expect("a normalised ID re-parses");
        assert_eq!(again, id);
    }
    if let Ok(id) = ResidentId::parse_any(s, TODAY) {
        assert_eq!(id.as_str().len(), 18, "a normalised ID has 18 characters");
    }
    if let Ok(u) = Uscc::parse(s) {
        let text = u.to_string();
        assert_eq!(Uscc::parse(&text).expect("a parsed USCC re-parses").to_string(), text);
    }
}

/// A household as a caseworker's request carries it.
pub fn household(data: &[u8]) {
    let Ok(h) = Household::decode(data) else {
        return;
    };
    if let Ok(v) = hedui_domain::household::ValidatedHousehold::parse(&h, TODAY, "household") {
        assert_eq!(v.members.len(), h.members.len());
    }
}

/// A whole SubmitVerification request with its authorization, validated as
/// the hub does before anything is asked of any department.
pub fn submission(data: &[u8]) {
    let Ok(req) = SubmitVerificationRequest::decode(data) else {
        return;
    };
    if let Ok((sub, auth)) = hedui_trust::submission::parse(&req, TODAY) {
        // Whether or not it covers the household, the check must not panic.
        let _ = hedui_trust::authorization::check_covers(&auth, &sub.household, sub.purpose, TODAY);
    }
}

/// A query as an adapter receives it from the hub.
pub fn adapter_query(data: &[u8]) {
    let Ok(req) = QueryRequest::decode(data) else {
        return;
    };
    if let Ok(q) = hedui_adapter::validate_query(&req, TODAY) {
        assert_eq!(q.persons.len(), req.persons.len());
    }
}

/// A roster file as a county office hands it over, as CSV.
pub fn roster_csv(data: &[u8]) {
    roster(data, "csv");
}

/// A roster file as a county office hands it over, as an Excel workbook.
pub fn roster_xlsx(data: &[u8]) {
    roster(data, "xlsx");
}

/// Writes `data` to a file with the extension (the reader works on paths,
/// as the CLI does) and reads every household, checking what the batch
/// relies on: a household has 1 to 31 members, its rows are in order, and
/// errors name a row.
fn roster(data: &[u8], extension: &str) {
    let path = std::env::temp_dir().join(format!("hedui-fuzz-{}.{extension}", std::process::id()));
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let Ok(reader) = hedui_roster::RosterReader::open(&path, TODAY) else {
        return;
    };
    for item in reader
        .with_purpose(hedui_proto::v1::Purpose::MinimumLiving)
        .take(10_000)
    {
        match item {
            Ok(h) => {
                let members = h.household.members.len();
                assert!((1..=31).contains(&members), "{members} members");
                assert!(h.first_row <= h.last_row);
            }
            Err(errors) => assert!(!errors.is_empty() && errors.iter().all(|e| e.row >= 1)),
        }
    }
}

/// The persons the hub asked in [`adapter_reply`]: three valid ID numbers.
pub const ASKED: [&str; 3] = ["520626194701205831", "520626195711191204", "52222619930616389X"];

/// A department's reply as the hub receives it. The first byte picks the
/// department; the rest is the reply.
pub fn adapter_reply(data: &[u8]) {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let departments = hedui_domain::department::ALL;
    let department: Department = departments[usize::from(pick) % departments.len()];
    let Ok(reply) = QueryResponse::decode(body) else {
        return;
    };
    let persons: Vec<ResidentId> = ASKED.iter().filter_map(|s| ResidentId::parse(s, TODAY).ok()).collect();
    assert_eq!(persons.len(), ASKED.len(), "the asked IDs are valid");
    let window = IncomeWindow::last_months(TODAY, 12);
    let asked = AskedContext {
        persons: &persons,
        window: &window,
        today: TODAY,
    };
    if let Ok(v) = validate(department, asked, &reply) {
        assert_eq!(v.results.len(), persons.len(), "one result per person asked");
        assert!(v.data_as_of <= TODAY);
    }
}

/// Valid inputs for `target`, built from the sandbox households, so that the
/// fuzzer starts from messages that pass validation and mutates its way
/// into the deep checks. `examples/write_seeds.rs` writes them to
/// `fuzz/corpus/<target>/`.
pub fn seeds(target: &str) -> Vec<Vec<u8>> {
    use hedui_adapter::sandbox::Sandbox;
    use hedui_proto::v1::{Person, Purpose};
    let sandbox = Sandbox::dejiang(TODAY);
    let households: Vec<_> = sandbox.households().iter().step_by(23).take(8).collect();
    let window = IncomeWindow::last_months(TODAY, 12).to_proto();
    match target {
        "ids" => ASKED
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .chain(["91520626MA6DL2XX3K".as_bytes().to_vec(), b"520626471120583".to_vec()])
            .collect(),
        "household" => households.iter().map(|h| h.household.encode_to_vec()).collect(),
        "submission" => households
            .iter()
            .map(|h| {
                let r = &h.household.household_ref;
                hedui_testkit::requests::request(&h.household, &format!("SQ-FUZZ-{r}"), &format!("fuzz-{r}"), TODAY)
                    .encode_to_vec()
            })
            .collect(),
        "adapter_query" | "adapter_reply" => {
            let mut out = Vec::new();
            for (i, h) in households.iter().enumerate() {
                let query = QueryRequest {
                    request_id: "0191d2a4-7b1e-7c3a-9f00-000000000001".into(),
                    purpose: Purpose::MinimumLiving as i32,
                    persons: h
                        .household
                        .members
                        .iter()
                        .map(|m| Person {
                            name: m.name.clone(),
                            id_number: m.id_number.clone(),
                        })
                        .collect(),
                    income_window: Some(window.clone()),
                    asset_reference_date: TODAY.to_string(),
                    authorization_ref: format!("SQ-FUZZ-{i}"),
                    grant: Vec::new(),
                };
                if target == "adapter_query" {
                    out.push(query.encode_to_vec());
                } else {
                    let department = hedui_domain::department::ALL[i % 8];
                    let mut asked = query.clone();
                    asked.persons = ASKED
                        .iter()
                        .map(|id| Person {
                            name: "张三".into(),
                            id_number: (*id).into(),
                        })
                        .collect();
                    let mut bytes = vec![(i % 8) as u8];
                    bytes.extend(sandbox.answer(department, &asked).encode_to_vec());
                    out.push(bytes);
                }
            }
            out
        }
        "roster_csv" => vec![include_bytes!("../../../deploy/examples/roster.csv").to_vec()],
        "roster_xlsx" => vec![xlsx_seed()],
        _ => Vec::new(),
    }
}

/// The example roster as an Excel workbook.
fn xlsx_seed() -> Vec<u8> {
    let text = String::from_utf8_lossy(include_bytes!("../../../deploy/examples/roster.csv"));
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (r, line) in text.trim_start_matches('\u{feff}').lines().enumerate() {
        for (c, cell) in line.split(',').enumerate() {
            let _ = sheet.write_string(r as u32, c as u16, cell);
        }
    }
    book.save_to_buffer().unwrap_or_default()
}
