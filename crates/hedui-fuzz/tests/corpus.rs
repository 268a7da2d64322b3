//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`) and every
//! crash kept as a regression (`fuzz/regressions/<target>/`) through the
//! targets' bodies: what the fuzzer once found stays fixed, in every CI run.

use std::path::{Path, PathBuf};

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = read
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

#[test]
fn the_committed_corpus_and_regressions_replay_cleanly() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut replayed = 0;
    for (name, body) in hedui_fuzz::TARGETS {
        let corpus = files(&fuzz.join("corpus").join(name));
        assert!(!corpus.is_empty(), "fuzz/corpus/{name}/ has no seeds");
        for path in corpus.iter().chain(&files(&fuzz.join("regressions").join(name))) {
            let data = std::fs::read(path).unwrap();
            let outcome = std::panic::catch_unwind(|| body(&data));
            assert!(outcome.is_ok(), "{name} panics on {}", path.display());
            replayed += 1;
        }
    }
    eprintln!("replayed {replayed} corpus files");
}

/// The seeds pass validation, so the fuzzer starts deep in the checks
/// rather than at the decoder.
#[test]
fn the_seeds_are_valid_inputs() {
    use hedui_proto::v1::{QueryRequest, QueryResponse, SubmitVerificationRequest};
    use prost::Message as _;
    let today = hedui_fuzz::TODAY;
    for seed in hedui_fuzz::seeds("submission") {
        let req = SubmitVerificationRequest::decode(seed.as_slice()).unwrap();
        let (sub, auth) = hedui_trust::submission::parse(&req, today).unwrap();
        hedui_trust::authorization::check_covers(&auth, &sub.household, sub.purpose, today).unwrap();
    }
    for seed in hedui_fuzz::seeds("adapter_query") {
        let req = QueryRequest::decode(seed.as_slice()).unwrap();
        hedui_adapter::validate_query(&req, today).unwrap();
    }
    let persons: Vec<_> = hedui_fuzz::ASKED
        .iter()
        .map(|s| hedui_domain::ids::ResidentId::parse(s, today).unwrap())
        .collect();
    let window = hedui_domain::window::IncomeWindow::last_months(today, 12);
    for seed in hedui_fuzz::seeds("adapter_reply") {
        let department = hedui_domain::department::ALL[usize::from(seed[0]) % 8];
        let reply = QueryResponse::decode(&seed[1..]).unwrap();
        let asked = hedui_domain::reply::AskedContext {
            persons: &persons,
            window: &window,
            today,
        };
        hedui_domain::reply::validate(department, asked, &reply).unwrap();
    }
    // The roster seeds are whole, valid rosters in both formats.
    for (target, extension) in [("roster_csv", "csv"), ("roster_xlsx", "xlsx")] {
        let dir = std::env::temp_dir().join(format!("hedui-seed-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("roster.{extension}"));
        std::fs::write(&path, &hedui_fuzz::seeds(target)[0]).unwrap();
        let households: Vec<_> = hedui_roster::RosterReader::open(&path, today)
            .unwrap()
            .with_purpose(hedui_proto::v1::Purpose::MinimumLiving)
            .collect();
        assert!(!households.is_empty(), "{target}");
        assert!(households.iter().all(Result::is_ok), "{target}: {households:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
