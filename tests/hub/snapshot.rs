//! A department served by the `snapshot` backend inside the whole system:
//! an old export is answered, and the record says how old it is.

use std::sync::Arc;
use std::time::Duration;

use hedui_adapter::config::AdapterConfig;
use hedui_adapter::snapshot::SnapshotSource;
use hedui_proto::v1::{Department, SourceOutcome};

use crate::helpers::{Behaviour, TestSystem, household, index_of, request};

#[tokio::test]
async fn an_old_snapshot_is_answered_and_the_record_says_so() {
    let h = household("qualifies");
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("tax.toml");
    std::fs::write(
        &config_path,
        "department = \"tax\"\n[snapshot]\ndrop_dir = \"drop\"\nstore = \"tax.db\"\nmax_age_days = 35\npoll_seconds = 0\n",
    )
    .unwrap();
    let source = SnapshotSource::open(&AdapterConfig::load(&config_path).unwrap())
        .await
        .unwrap();
    let mut identity = String::from("id_number,name\n");
    for m in &h.household.members {
        identity.push_str(&format!("{},{}\n", m.id_number, m.name));
    }
    let identity_file = dir.path().join("identity.csv");
    std::fs::write(&identity_file, identity).unwrap();
    let tax_file = dir.path().join("tax_records.csv");
    std::fs::write(&tax_file, "id_number,period,category,taxable_income_fen,tax_paid_fen\n").unwrap();
    let today = chrono::Utc::now().date_naive();
    let exported = today - chrono::Days::new(100);
    source
        .import(&identity_file, None, Some(exported), today)
        .await
        .unwrap();
    source.import(&tax_file, None, Some(exported), today).await.unwrap();
    let source = Arc::new(source);

    let sys = TestSystem::with(
        |d| {
            if d == Department::Tax {
                Behaviour::Snapshot(source.clone())
            } else {
                Behaviour::Sandbox
            }
        },
        Duration::from_secs(10),
    )
    .await;
    let mut hub = sys.hub.clone();
    let record = hub
        .submit_verification(request(&h, "snapshot-old-1"))
        .await
        .unwrap()
        .into_inner()
        .record
        .unwrap();
    let tax = &record.sources[index_of(Department::Tax)];
    assert_eq!(SourceOutcome::try_from(tax.outcome).unwrap(), SourceOutcome::Ok);
    assert_eq!(tax.data_as_of, exported.format("%Y-%m-%d").to_string());
    assert_eq!(
        tax.detail,
        format!("stale data: snapshot of identity dated {exported} is 100 days old (at most 35 allowed)")
    );
    // Departments with fresh data carry no such note.
    let pboc = &record.sources[index_of(Department::Pboc)];
    assert_eq!(pboc.detail, "");
    // The tax bureau's own query log has the query, with masked ID numbers only.
    let log = sys.query_log(Department::Tax);
    assert_eq!(log.len(), 1);
    let first_id = &h.household.members[0].id_number;
    assert!(!log[0].to_string().contains(first_id.as_str()));
    sys.stop().await;
}
