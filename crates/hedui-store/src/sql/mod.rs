//! The store's queries and row mapping, written once for both backends.
//!
//! This directory is compiled twice, as `postgres::sql` and `sqlite::sql`
//! (`#[path]` in each backend's module), each time against that backend's
//! concrete sqlx types, which the including module names: `Db` (the sqlx
//! database), `DIALECT` (what differs in the SQL text, see
//! [`crate::dialect`]) and `begin_serialised` (the transaction that takes
//! turns with every other writer of the same kind: PostgreSQL's advisory
//! lock, SQLite's single writer). Every query text is therefore written
//! once, every row is read in one place, and a fix to either is made once.
//!
//! Generic functions over `sqlx::Database` would compile once but need a
//! bound for every type bound and read, and for every executor, on every
//! function; concrete types keep the code as plain as a single backend's.

use sqlx::Row as _;

use super::{DIALECT, Db, begin_serialised};
use crate::dialect::built;
use crate::{RawRecord, Result, SummaryRow};

mod at_rest;
mod audit;
mod batch;
mod migrations;
mod records;
mod retention;
mod rotation;
mod versions;

pub(crate) use at_rest::*;
pub(crate) use audit::*;
pub(crate) use batch::*;
pub(crate) use migrations::*;
pub(crate) use records::*;
pub(crate) use retention::*;
pub(crate) use rotation::*;
pub(crate) use versions::*;

/// The backend's pool of connections.
type Pool = sqlx::Pool<Db>;
/// One connection, as a transaction derefs to.
type Connection = <Db as sqlx::Database>::Connection;
/// One row read.
type Row = <Db as sqlx::Database>::Row;
/// A transaction on a pooled connection.
type Transaction = sqlx::Transaction<'static, Db>;
/// A query with its values, being bound. (sqlx 0.9's arguments own their
/// values, so only a prepared statement could be borrowed for `'q`.)
type Query<'q> = sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments>;

/// Begins a transaction that reads and then writes (see
/// [`crate::dialect::Dialect::begin_write`]).
async fn begin_write(pool: &Pool) -> Result<Transaction> {
    Ok(match DIALECT.begin_write() {
        Some(statement) => pool.begin_with(statement).await?,
        None => pool.begin().await?,
    })
}

/// The columns of a [`RawRecord`] (and the request hash), joined with the
/// audit entry the record is bound to.
const RAW_RECORD: &str =
    "SELECT r.record_id, r.version, r.body, r.kek_id, r.wrapped_key, r.entry_seq, r.request_hash, r.erased_at,
            a.entry AS bound_entry
     FROM records r LEFT JOIN audit_entries a ON a.seq = r.entry_seq";

/// The columns of a [`RawRecord`] besides its summary's: `r` is the
/// record, `a` the audit entry it is bound to.
const RAW_COLUMNS: &str = "r.body, r.kek_id, r.wrapped_key, r.entry_seq, a.entry AS bound_entry";

/// The summary columns of a records row (see [`SummaryRow`]), with the
/// version that replaced it; `r` is the row's alias.
const SUMMARY_COLUMNS: &str =
    "r.record_id, r.household_ref, r.created_at, r.verdict, r.purpose, r.member_count, r.digest,
                r.version, r.previous_record_id, r.erased_at,
                (SELECT s.record_id FROM records s WHERE s.previous_record_id = r.record_id) AS superseded_by";

fn raw_record(r: &Row) -> RawRecord {
    RawRecord {
        record_id: r.get("record_id"),
        version: r.get("version"),
        body: r.get("body"),
        kek_id: r.get("kek_id"),
        wrapped_key: r.get("wrapped_key"),
        entry_seq: r.get("entry_seq"),
        bound_entry: r.get("bound_entry"),
        erased_at: r.get("erased_at"),
    }
}

/// The summary columns of a records row (see [`SUMMARY_COLUMNS`]).
fn summary_row(r: &Row) -> SummaryRow {
    SummaryRow {
        record_id: r.get("record_id"),
        household_ref: r.get("household_ref"),
        created_at: r.get("created_at"),
        verdict: r.get("verdict"),
        purpose: r.get("purpose"),
        member_count: r.get("member_count"),
        digest: r.get("digest"),
        version: r.get("version"),
        previous_record_id: r.get("previous_record_id"),
        superseded_by: r.get("superseded_by"),
        erased_at: r.get("erased_at"),
    }
}

/// Numbers placeholders as a query is built.
#[derive(Default)]
struct Params(usize);

impl Params {
    fn next(&mut self) -> String {
        self.0 += 1;
        format!("${}", self.0)
    }
}
