//! The store suite. Every case in `records` and `audit` is written once, as
//! `async fn case(db: &TestDb)`, and runs twice: as `sqlite::case` on a
//! fresh SQLite file and as `postgres::case` on a fresh PostgreSQL database.
//!
//! PostgreSQL is reached through `HEDUI_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`, then the same as `root`). If
//! it cannot be reached the PostgreSQL half is skipped with a notice on
//! stderr, unless `HEDUI_REQUIRE_POSTGRES=1`, which makes that a failure.

mod at_rest;
mod audit;
mod backends;
mod batches;
mod records;
mod retention;
mod rotation;
mod tamper;
mod versions;

use hedui_store::{Store, StoreError};

/// Declares one test per backend for each `module::case`.
macro_rules! on_both_backends {
    ($($module:ident :: $case:ident),+ $(,)?) => {
        /// Every case on a fresh SQLite file.
        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    crate::backends::run(hedui_store::BackendKind::Sqlite, |db| {
                        tokio::spawn(async move { crate::$module::$case(&db).await })
                    })
                    .await;
                }
            )+
        }
        /// Every case on a fresh PostgreSQL database.
        mod postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    crate::backends::run(hedui_store::BackendKind::Postgres, |db| {
                        tokio::spawn(async move { crate::$module::$case(&db).await })
                    })
                    .await;
                }
            )+
        }
    };
}

on_both_backends!(
    records::a_record_round_trips_and_survives_reopening,
    records::a_reused_idempotency_key_returns_the_first_record_and_writes_nothing,
    records::concurrent_puts_under_one_key_store_exactly_one_record,
    records::list_filters_by_verdict_date_and_person,
    records::the_newest_record_comes_first_and_ties_sort_by_id_bytewise,
    records::a_household_naming_a_person_twice_is_indexed_once,
    records::a_record_altered_on_disk_is_reported_as_corrupt,
    records::a_schema_newer_than_the_binary_is_refused,
    records::two_stores_opening_one_new_database_at_once_migrate_it_once,
    records::migrations_can_be_applied_explicitly_and_reported,
    records::an_applied_migration_whose_file_changed_is_refused_by_name,
    records::migrations_applied_before_checksums_get_them_at_the_next_migrate,
    records::records_created_in_a_range_are_read_in_order_across_pages,
    audit::entries_append_filter_and_refuse_updates_and_deletes,
    audit::entries_filter_by_time_action_department_and_seq,
    audit::a_batch_that_fails_part_way_writes_nothing,
    audit::checkpoints_are_kept_in_tree_order_and_never_changed,
    audit::entries_and_records_are_written_in_one_transaction,
    audit::the_proof_index_gives_the_proofs_of_the_whole_tree,
    audit::claims_in_an_append_are_taken_renewed_held_or_stored,
    versions::versions_link_into_one_lineage_and_old_versions_stay,
    versions::a_version_has_one_successor_and_a_key_one_record,
    versions::concurrent_rechecks_of_one_version_store_exactly_one,
    versions::reviews_are_kept_in_order_and_never_change,
    batches::a_draft_never_runs_and_an_empty_batch_cannot_start,
    batches::leases_expire_and_items_are_reclaimed_and_completed_once,
    batches::a_rescheduled_item_waits_for_its_time,
    batches::concurrent_claimers_never_get_the_same_item,
    batches::an_edited_item_verdict_is_refused_in_results,
    batches::the_last_households_finished_at_once_end_the_batch,
    batches::an_item_ends_in_the_transaction_of_its_record,
    batches::the_last_item_ending_with_its_record_ends_the_batch,
    tamper::an_intact_database_verifies_with_nothing_left_out,
    tamper::a_record_resealed_with_a_recomputed_digest_is_refused,
    tamper::a_changed_verdict_column_is_refused_in_lists,
    tamper::a_deleted_person_index_row_is_named,
    tamper::a_changed_actor_is_refused_and_named,
    tamper::an_entry_edited_after_the_last_checkpoint_is_named,
    tamper::an_entry_naming_a_record_that_is_not_stored_is_named,
    at_rest::personal_data_is_stored_encrypted_and_read_back,
    at_rest::bad_keys_and_bad_rows_are_named_and_nothing_is_half_written,
    at_rest::a_database_written_before_encryption_is_encrypted_in_resumable_chunks,
    rotation::a_rotation_rewraps_every_data_key_in_chunks_and_leaves_payloads_alone,
    rotation::a_rotation_with_a_key_file_lacking_a_kek_names_it_and_writes_nothing,
    retention::expired_records_become_tombstones_and_the_log_still_verifies,
);

#[tokio::test]
async fn an_unreachable_postgres_server_is_a_clear_error() {
    let started = std::time::Instant::now();
    let err = Store::open("postgres://postgres@127.0.0.1:1/hedui").await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, StoreError::Database(_)), "{text}");
    assert!(text.contains("cannot connect to PostgreSQL at 127.0.0.1:1"), "{text}");
    assert!(text.contains("database hedui, user postgres"), "{text}");
    // Refused at once, not after the pool's retries.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_postgres_url_demanding_tls_is_refused() {
    let err = Store::open("postgres://postgres@127.0.0.1:1/hedui?sslmode=require")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Url(_)), "{err}");
    assert!(err.to_string().contains("without TLS"), "{err}");
}

#[tokio::test]
async fn an_unknown_scheme_is_refused() {
    let err = Store::open("mysql://h/hedui").await.unwrap_err();
    assert!(matches!(err, StoreError::Url(_)), "{err}");
    assert!(err.to_string().contains("unsupported scheme"), "{err}");
}

#[tokio::test]
async fn an_sqlite_file_that_cannot_be_created_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-dir").join("hedui.db");
    let err = Store::open(&path.display().to_string()).await.unwrap_err();
    assert!(matches!(err, StoreError::Database(_)), "{err}");
}

/// An SQLite commit does not copy the write-ahead log into the database
/// file (SQLite's automatic checkpoint did, inside the commit that crossed
/// 1,000 pages, and that commit was the audit append's p99); the store's
/// checkpointer copies it soon after, off the commit path; and closing the
/// store leaves the database whole in its one file, without a log beside it.
#[tokio::test]
async fn an_sqlite_log_is_checkpointed_beside_the_commits_and_gone_after_close() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hedui.db");
    let wal = dir.path().join("hedui.db-wal");
    let store = Store::open(&path.display().to_string()).await.unwrap();
    let file_size = || std::fs::metadata(&path).unwrap().len();
    // About 6 MB in one commit: some 1,500 pages of log.
    store
        .execute_raw_for_tests(
            "CREATE TABLE scratch (b BLOB NOT NULL);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
             INSERT INTO scratch SELECT randomblob(3000) FROM n;",
        )
        .await
        .unwrap();
    let after_commit = file_size();
    assert!(
        after_commit < 3_000_000,
        "the commit itself checkpointed: the database file is {after_commit} bytes"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while file_size() < 6_000_000 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        file_size() >= 6_000_000,
        "the checkpointer did not copy the log into the database: {} bytes",
        file_size()
    );
    assert!(wal.exists(), "the log exists while the store is open");
    store.close().await;
    assert!(!wal.exists(), "the log is removed when the store closes");
    let reopened = Store::open(&path.display().to_string()).await.unwrap();
    let rows = reopened
        .fetch_text_for_tests("SELECT CAST(count(*) AS TEXT) FROM scratch")
        .await
        .unwrap();
    assert_eq!(rows, ["2000"]);
    reopened.close().await;
}
