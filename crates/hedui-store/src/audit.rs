//! Storage of the audit log: entries with their leaf hashes, the persons
//! index, and signed checkpoints.
//!
//! The store only writes what it is given, in one transaction per batch; the
//! hub's appender assigns sequence numbers and keeps the Merkle frontier.

use hedui_audit::checkpoint::SignedCheckpoint;
use hedui_audit::entry::AuditEntry;
use hedui_audit::merkle::Hash;
use sqlx::Row as _;

use crate::{Result, Store, StoreError};

/// Filters for [`Store::audit_entries`]. Every field is optional.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Entries at or after this RFC 3339 time (or `YYYY-MM-DD`).
    pub from: Option<String>,
    /// Entries before this RFC 3339 time (or `YYYY-MM-DD`).
    pub to: Option<String>,
    /// Only this actor.
    pub actor: Option<String>,
    /// Only this action.
    pub action: Option<String>,
    /// Only entries naming this department slug.
    pub department: Option<String>,
    /// Only entries concerning the person with this keyed hash.
    pub person_key_hash: Option<String>,
    /// Only entries with seq at or after this.
    pub after_seq: Option<u64>,
    /// At most this many entries.
    pub limit: u32,
}

impl Store {
    /// Appends `entries` (whose seqs continue the log without a gap) with
    /// their leaf hashes, in one transaction.
    pub async fn append_audit(&self, entries: &[(AuditEntry, Hash)]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for (e, leaf) in entries {
            let json = String::from_utf8(e.canonical_bytes()).expect("serde_json writes UTF-8");
            sqlx::query(
                "INSERT INTO audit_entries (seq, time, actor, role, action, departments, status, entry, leaf)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(e.seq as i64)
            .bind(&e.time)
            .bind(&e.actor)
            .bind(&e.role)
            .bind(&e.action)
            .bind(e.departments.join(","))
            .bind(&e.status)
            .bind(json)
            .bind(leaf.as_slice())
            .execute(&mut *tx)
            .await?;
            for p in &e.persons {
                sqlx::query("INSERT OR IGNORE INTO audit_persons (key_hash, seq) VALUES (?, ?)")
                    .bind(&p.key_hash)
                    .bind(e.seq as i64)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// The leaf hashes of the first `upto` entries, in order. Fewer come back
    /// if rows are missing, which the caller treats as tampering.
    pub async fn audit_leaves(&self, upto: u64) -> Result<Vec<Hash>> {
        let rows = sqlx::query("SELECT leaf FROM audit_entries WHERE seq < ? ORDER BY seq")
            .bind(upto as i64)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter()
            .map(|r| {
                let b: Vec<u8> = r.get("leaf");
                <Hash>::try_from(b.as_slice()).map_err(|_| StoreError::Corrupt {
                    record_id: "audit log".into(),
                    problem: "a leaf hash is not 32 bytes".into(),
                })
            })
            .collect()
    }

    /// The number of audit entries stored.
    pub async fn audit_size(&self) -> Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_entries")
            .fetch_one(&self.pool)
            .await?;
        Ok(n as u64)
    }

    /// Entries matching `filter`, in seq order, parsed from the stored bytes.
    pub async fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let mut sql = String::from("SELECT e.seq, e.entry FROM audit_entries e WHERE 1 = 1");
        if filter.from.is_some() {
            sql.push_str(" AND e.time >= ?");
        }
        if filter.to.is_some() {
            sql.push_str(" AND e.time < ?");
        }
        if filter.actor.is_some() {
            sql.push_str(" AND e.actor = ?");
        }
        if filter.action.is_some() {
            sql.push_str(" AND e.action = ?");
        }
        if filter.department.is_some() {
            sql.push_str(" AND (',' || e.departments || ',') LIKE ('%,' || ? || ',%')");
        }
        if filter.person_key_hash.is_some() {
            sql.push_str(" AND e.seq IN (SELECT seq FROM audit_persons WHERE key_hash = ?)");
        }
        if filter.after_seq.is_some() {
            sql.push_str(" AND e.seq >= ?");
        }
        sql.push_str(" ORDER BY e.seq LIMIT ?");
        let mut q = sqlx::query(&sql);
        for v in [
            &filter.from,
            &filter.to,
            &filter.actor,
            &filter.action,
            &filter.department,
            &filter.person_key_hash,
        ]
        .into_iter()
        .flatten()
        {
            q = q.bind(v);
        }
        if let Some(s) = filter.after_seq {
            q = q.bind(s as i64);
        }
        q = q.bind(i64::from(filter.limit.max(1)));
        let rows = q.fetch_all(&self.pool).await?;
        rows.into_iter()
            .map(|r| {
                let seq: i64 = r.get("seq");
                let text: String = r.get("entry");
                parse_entry(seq, &text)
            })
            .collect()
    }

    /// Every stored entry, in seq order, for a full verification.
    pub async fn audit_all(&self) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query("SELECT seq, entry FROM audit_entries ORDER BY seq")
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter()
            .map(|r| parse_entry(r.get("seq"), &r.get::<String, _>("entry")))
            .collect()
    }

    /// Stores a signed checkpoint.
    pub async fn put_checkpoint(&self, cp: &SignedCheckpoint) -> Result<()> {
        sqlx::query("INSERT OR IGNORE INTO audit_checkpoints (tree_size, time, checkpoint) VALUES (?, ?, ?)")
            .bind(cp.checkpoint.tree_size as i64)
            .bind(&cp.checkpoint.time)
            .bind(serde_json::to_string(cp).expect("a checkpoint serialises"))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Every stored checkpoint, smallest tree first.
    pub async fn checkpoints(&self) -> Result<Vec<SignedCheckpoint>> {
        let rows = sqlx::query("SELECT tree_size, checkpoint FROM audit_checkpoints ORDER BY tree_size")
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter()
            .map(|r| {
                let size: i64 = r.get("tree_size");
                serde_json::from_str(&r.get::<String, _>("checkpoint")).map_err(|e| StoreError::Corrupt {
                    record_id: format!("audit checkpoint {size}"),
                    problem: e.to_string(),
                })
            })
            .collect()
    }

    /// The newest checkpoint, if any.
    pub async fn latest_checkpoint(&self) -> Result<Option<SignedCheckpoint>> {
        Ok(self.checkpoints().await?.pop())
    }
}

fn parse_entry(seq: i64, text: &str) -> Result<AuditEntry> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
        record_id: format!("audit entry {seq}"),
        problem: format!("does not parse: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hedui_audit::entry::PersonRef;

    fn entry(seq: u64, actor: &str, person: &str) -> (AuditEntry, Hash) {
        let e = AuditEntry {
            seq,
            time: format!("2026-11-26T10:00:{seq:02}.000Z"),
            actor: actor.into(),
            role: "caseworker".into(),
            action: "SubmitVerification".into(),
            purpose: "minimum-living".into(),
            request_id: String::new(),
            persons: vec![PersonRef::new(b"k", person)],
            departments: vec!["tax".into(), "pboc".into()],
            status: "OK".into(),
            record_digest: String::new(),
            detail: String::new(),
        };
        let leaf = e.leaf();
        (e, leaf)
    }

    #[tokio::test]
    async fn entries_append_filter_and_refuse_updates_and_deletes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("a.db").display().to_string())
            .await
            .unwrap();
        let batch = vec![
            entry(0, "a", "520626194701205831"),
            entry(1, "b", "52222619930616389X"),
            entry(2, "a", "52222619930616389X"),
        ];
        store.append_audit(&batch).await.unwrap();
        assert_eq!(store.audit_size().await.unwrap(), 3);
        assert_eq!(
            store.audit_leaves(3).await.unwrap(),
            batch.iter().map(|(_, l)| *l).collect::<Vec<_>>()
        );
        let all = AuditFilter {
            limit: 100,
            ..Default::default()
        };
        assert_eq!(
            store.audit_all().await.unwrap(),
            batch.iter().map(|(e, _)| e.clone()).collect::<Vec<_>>()
        );
        let by_actor = AuditFilter {
            actor: Some("a".into()),
            ..all.clone()
        };
        assert_eq!(store.audit_entries(&by_actor).await.unwrap().len(), 2);
        let by_person = AuditFilter {
            person_key_hash: Some(hedui_audit::entry::person_key_hash(b"k", "52222619930616389X")),
            ..all.clone()
        };
        let seqs: Vec<u64> = store
            .audit_entries(&by_person)
            .await
            .unwrap()
            .iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(seqs, [1, 2]);
        let by_dept = AuditFilter {
            department: Some("pboc".into()),
            ..all.clone()
        };
        assert_eq!(store.audit_entries(&by_dept).await.unwrap().len(), 3);
        let none = AuditFilter {
            department: Some("bo".into()),
            ..all
        };
        assert!(store.audit_entries(&none).await.unwrap().is_empty());

        // The database itself refuses to change or remove an entry.
        let err = sqlx::query("UPDATE audit_entries SET actor = 'x' WHERE seq = 0")
            .execute(&store.pool)
            .await;
        assert!(err.unwrap_err().to_string().contains("append-only"));
        let err = sqlx::query("DELETE FROM audit_entries WHERE seq = 2")
            .execute(&store.pool)
            .await;
        assert!(err.unwrap_err().to_string().contains("append-only"));
        let err = sqlx::query("DELETE FROM audit_persons").execute(&store.pool).await;
        assert!(err.unwrap_err().to_string().contains("append-only"));
        // A gap or a duplicate seq is refused too.
        assert!(
            store
                .append_audit(&[entry(1, "c", "520626194701205831")])
                .await
                .is_err()
        );
        assert_eq!(store.audit_size().await.unwrap(), 3);
    }
}
