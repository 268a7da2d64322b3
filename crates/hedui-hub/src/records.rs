//! Reviews, re-checks and history of records (复核): the inner functions
//! behind `ReviewRecord`, `RecheckRecord` and `GetRecordHistory`.
//!
//! A review is stored beside the record and never changes it. A re-check
//! asks again only the departments that did not answer (or the ones named),
//! under the record's own authorization, which must still cover the
//! household today; it keeps the previous version's answers for the rest and
//! stores a new version linked to the previous one. Every call is logged in
//! the audit log the way `SubmitVerification` is.

use chrono::{SecondsFormat, Utc};
use hedui_domain::department::{ALL, slug};
use hedui_domain::recheck::{
    build_next_version, changes, departments_to_ask, kept_answers, parse_departments, submission_of, verdict_words,
    version_of,
};
use hedui_domain::{FieldViolation, ValidationError};
use hedui_proto::v1::{
    Department, GetRecordHistoryRequest, GetRecordHistoryResponse, Purpose, RecheckRecordRequest,
    RecheckRecordResponse, Review, ReviewRecordRequest, Verdict, VerificationRecord,
};
use hedui_store::StoreError;
use hedui_store::audit::RecordStored;
use hedui_trust::authorization::{self, check_covers};
use prost::Message as _;

use crate::access::Caller;
use crate::fanout::query_all;
use crate::limits::Priority;
use crate::service::{HubError, HubState, audit_entry};
use hedui_audit::entry::PersonRef;

/// Parses a record id, naming `record_id` when it is not a UUID.
fn record_id(s: &str) -> Result<String, FieldViolation> {
    uuid::Uuid::parse_str(s)
        .map(|u| u.to_string())
        .map_err(|_| FieldViolation::new("record_id", "must be a UUID"))
}

impl HubState {
    fn persons_of(&self, record: &VerificationRecord) -> Vec<PersonRef> {
        record
            .household
            .iter()
            .flat_map(|h| &h.members)
            .map(|m| self.audit.person(&m.id_number))
            .collect()
    }

    fn purpose_of(record: &VerificationRecord) -> String {
        hedui_domain::purpose::purpose_slug(Purpose::try_from(record.purpose).unwrap_or_default()).to_owned()
    }

    /// Records a review of a record. The record must exist; it is not changed.
    pub async fn review(&self, caller: &Caller, req: &ReviewRecordRequest) -> Result<Review, HubError> {
        crate::service::size_check(req.encoded_len(), self.max_request_bytes)?;
        let mut v = Vec::new();
        let id = record_id(&req.record_id).map_err(|e| v.push(e)).ok();
        let review = hedui_domain::review::parse(req.outcome, &req.note)
            .map_err(|e| v.extend(e.violations))
            .ok();
        ValidationError::check(v)?;
        let (Some(id), Some(review)) = (id, review) else {
            unreachable!("a part failed to parse without a violation")
        };
        let record = self.store.get_record(&id).await?.ok_or(HubError::NotFound(id))?;
        let stored = Review {
            review_id: uuid::Uuid::now_v7().to_string(),
            record_id: record.record_id.clone(),
            outcome: review.outcome as i32,
            note: review.note,
            reviewer: caller.actor(),
            reviewer_role: caller.role(),
            created_at: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        };
        let mut e = audit_entry(caller, "ReviewRecord", "OK");
        e.persons = self.persons_of(&record);
        e.purpose = Self::purpose_of(&record);
        e.request_id = record.request_id.clone();
        e.record_digest = record.digest.clone();
        e.detail = format!(
            "review {} of record {}: {}",
            stored.review_id,
            record.record_id,
            hedui_domain::review::outcome_slug(review.outcome)
        );
        self.audit.append(vec![e]).await?;
        self.store.add_review(&stored).await?;
        tracing::info!(
            outcome = hedui_domain::review::outcome_slug(review.outcome),
            "review stored"
        );
        Ok(stored)
    }

    /// Every version of a record's lineage and every review of them.
    pub async fn history(
        &self,
        caller: &Caller,
        req: &GetRecordHistoryRequest,
    ) -> Result<GetRecordHistoryResponse, HubError> {
        let id = record_id(&req.record_id).map_err(|e| ValidationError { violations: vec![e] })?;
        let versions = self.store.lineage(&id).await?;
        let Some(latest) = versions.last() else {
            return Err(HubError::NotFound(id));
        };
        let record = self
            .store
            .get_record(&latest.record_id)
            .await?
            .ok_or_else(|| HubError::NotFound(latest.record_id.clone()))?;
        let reviews = self.store.lineage_reviews(&id).await?;
        let mut e = audit_entry(caller, "GetRecordHistory", "OK");
        e.persons = self.persons_of(&record);
        e.purpose = Self::purpose_of(&record);
        e.request_id = record.request_id.clone();
        e.record_digest = record.digest.clone();
        e.detail = format!(
            "history of record {}: {} version(s), {} review(s)",
            id,
            versions.len(),
            reviews.len()
        );
        self.audit.append(vec![e]).await?;
        Ok(GetRecordHistoryResponse { versions, reviews })
    }

    /// Re-checks a record into a new version, or replays the version made
    /// earlier under the same idempotency key.
    pub async fn recheck(
        &self,
        caller: &Caller,
        req: &RecheckRecordRequest,
    ) -> Result<RecheckRecordResponse, HubError> {
        let encoded = req.encode_to_vec();
        crate::service::size_check(encoded.len(), self.max_request_bytes)?;
        let today = Utc::now().date_naive();
        let mut v = Vec::new();
        let id = record_id(&req.record_id).map_err(|e| v.push(e)).ok();
        if let Err(e) = hedui_domain::request::check_idempotency_key(&req.idempotency_key) {
            v.push(FieldViolation::new("idempotency_key", e));
        }
        let named = parse_departments(&req.departments)
            .map_err(|e| v.extend(e.violations))
            .ok();
        ValidationError::check(v)?;
        let (Some(id), Some(named)) = (id, named) else {
            unreachable!("a part failed to parse without a violation")
        };
        let hash = hedui_store::request_hash(&encoded);
        if let Some((record, earlier)) = self.store.get_by_idempotency_key(&req.idempotency_key).await? {
            return self.replay(record, &earlier, &hash, &named).await;
        }
        let previous = self
            .store
            .get_record(&id)
            .await?
            .ok_or(HubError::NotFound(id.clone()))?;
        let lineage = self.store.lineage(&id).await?;
        if let Some(latest) = lineage.last()
            && latest.record_id != id
        {
            return Err(not_latest(&previous, &latest.record_id));
        }
        let ask = departments_to_ask(&previous, &named);
        if ask.is_empty() {
            return Err(ValidationError::one(
                "departments",
                "every department answered; name --departments to ask again",
            )
            .into());
        }
        let sub = submission_of(&previous, &req.idempotency_key, today).map_err(|e| {
            // The record was valid when it was made; what fails now is
            // time (a window or an ID number that no longer validates).
            HubError::precondition(
                "the record can no longer be re-checked as it stands; submit a new verification",
                e.violations
                    .iter()
                    .map(|v| ("RECORD", v.field.as_str(), v.description.as_str())),
            )
        })?;
        // No query leaves the hub without an authorization that still
        // covers every member for this purpose today.
        let covers = match &previous.authorization {
            None => Err(vec![("authorization", "the record holds no authorization".to_owned())]),
            Some(a) => match authorization::parse(a, today, "authorization") {
                Err(e) => Err(e
                    .violations
                    .into_iter()
                    .map(|v| ("authorization", format!("{}: {}", v.field, v.description)))
                    .collect()),
                Ok(auth) => check_covers(&auth, &sub.household, sub.purpose, today).map_err(|problems| {
                    problems
                        .into_iter()
                        .map(|p| {
                            let subject = if p.member_index.is_some() {
                                "household.members"
                            } else {
                                "authorization"
                            };
                            let at = p.member_index.map(|i| format!("member [{i}]: ")).unwrap_or_default();
                            (subject, format!("{at}{}", p.reason))
                        })
                        .collect()
                }),
            },
        };
        if let Err(problems) = covers {
            return Err(HubError::precondition(
                "the record's authorization (授权书) no longer covers this household; a new authorization is needed \
                 (submit a new verification with it); no department was asked",
                problems.iter().map(|(s, d)| ("AUTHORIZATION", *s, d.as_str())),
            ));
        }
        // One re-check per key, across hubs, as for submissions.
        let _claim = match crate::claims::claim(&self.store, &self.instance, &req.idempotency_key).await? {
            crate::claims::Claimed::Held(claim) => claim,
            crate::claims::Claimed::Stored => {
                let (record, earlier) = self
                    .store
                    .get_by_idempotency_key(&req.idempotency_key)
                    .await?
                    .ok_or_else(hedui_store::missing_record_for_key)?;
                return self.replay(record, &earlier, &hash, &named).await;
            }
        };
        if let Some((record, earlier)) = self.store.get_by_idempotency_key(&req.idempotency_key).await? {
            return self.replay(record, &earlier, &hash, &named).await;
        }
        let keep: Vec<Department> = ALL.iter().copied().filter(|d| !ask.contains(d)).collect();
        let kept = kept_answers(&previous, &keep).map_err(|problem| StoreError::Corrupt {
            record_id: previous.record_id.clone(),
            problem,
        })?;

        let request_id = uuid::Uuid::new_v4().to_string();
        let new_id = uuid::Uuid::now_v7().to_string();
        tracing::Span::current().record("request_id", request_id.as_str());
        tracing::Span::current().record("record_id", new_id.as_str());
        let persons = self.persons_of(&previous);
        let purpose = Self::purpose_of(&previous);
        let slugs: Vec<String> = ask.iter().map(|d| slug(*d).to_owned()).collect();
        let mut begin = audit_entry(caller, "verification.begin", "STARTED");
        begin.purpose = purpose.clone();
        begin.request_id = request_id.clone();
        begin.persons = persons.clone();
        begin.departments = slugs.clone();
        begin.detail = format!(
            "re-check of record {} under authorization {}",
            previous.record_id, sub.authorization_ref
        );
        let _fan_out = self.drain.enter()?;
        self.audit.append(vec![begin]).await?;
        let clients: Vec<_> = self
            .clients
            .iter()
            .filter(|c| ask.contains(&c.department()))
            .cloned()
            .collect();
        let fresh = query_all(
            &clients,
            Priority::Interactive,
            &request_id,
            &sub,
            &self.grant_key,
            today,
        )
        .await;
        let mut entries = crate::service::source_entries(caller, &purpose, &request_id, &persons, &fresh);
        // Abandoned at shutdown: logged, no version stored, asked again later.
        if fresh.iter().any(crate::fanout::is_abandoned) {
            self.audit.append(entries).await?;
            return Err(crate::drain::Draining.into());
        }
        // A named department with no adapter configured is recorded as
        // unavailable by the merge, as on a first verification.
        let mut answers = kept;
        answers.extend(fresh);
        let header = hedui_domain::merge::RecordHeader {
            record_id: new_id,
            request_id,
            created_at: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        };
        let mut record = build_next_version(
            header,
            &sub,
            previous.authorization.clone(),
            answers,
            &self.policy,
            &previous,
        );
        hedui_trust::seal::seal(&mut record, &self.grant_key);
        let mut done = audit_entry(caller, "RecheckRecord", "OK");
        done.purpose = purpose.clone();
        done.request_id = record.request_id.clone();
        done.persons = persons.clone();
        done.departments = slugs;
        done.record_digest = record.digest.clone();
        done.detail = format!(
            "record {} version {} replaces {} verdict {}",
            record.record_id,
            record.version,
            previous.record_id,
            Verdict::try_from(record.verdict).unwrap_or_default().as_str_name()
        );
        let source_count = entries.len();
        entries.push(done);
        // The new version is stored in the same transaction as its entries:
        // a crash leaves both or neither, and a version that loses a race
        // leaves no entry naming it.
        let write = crate::audit::RecordWrite {
            record: record.clone(),
            idempotency_key: req.idempotency_key.clone(),
            request_hash: hash.clone(),
            batch_item: None,
        };
        let (_, stored) = self.audit.append_with_record(entries.clone(), write).await?;
        if stored == RecordStored::Inserted {
            tracing::info!(
                version = record.version,
                verdict = Verdict::try_from(record.verdict).unwrap_or_default().as_str_name(),
                "new record version stored"
            );
            return Ok(RecheckRecordResponse {
                changes: changes(&previous, &record),
                record: Some(record),
                replayed: false,
                asked: ask.iter().map(|d| *d as i32).collect(),
            });
        }
        // Lost a race: nothing of ours was written. Log the queries that were
        // made and how the call ended, naming no record that is not stored.
        entries.truncate(source_count);
        match stored {
            RecordStored::Superseded { latest_record_id } => {
                let mut lost = audit_entry(caller, "RecheckRecord", "FAILED_PRECONDITION");
                lost.purpose = purpose;
                lost.request_id = record.request_id.clone();
                lost.persons = persons;
                lost.detail = format!(
                    "record {} was re-checked concurrently; the latest version is {latest_record_id}; nothing stored",
                    previous.record_id
                );
                entries.push(lost);
                self.audit.append(entries).await?;
                Err(not_latest(&previous, &latest_record_id))
            }
            _ => {
                let (earlier, request_hash) = self
                    .store
                    .get_by_idempotency_key(&req.idempotency_key)
                    .await?
                    .ok_or_else(|| StoreError::Corrupt {
                        record_id: String::new(),
                        problem: "idempotency key conflicts but no record holds it".into(),
                    })?;
                let mut lost = audit_entry(caller, "RecheckRecord", "OK");
                lost.purpose = purpose;
                lost.request_id = earlier.request_id.clone();
                lost.persons = persons;
                lost.record_digest = earlier.digest.clone();
                lost.detail = format!(
                    "replayed record {}: a concurrent call with the same idempotency key stored it first",
                    earlier.record_id
                );
                entries.push(lost);
                self.audit.append(entries).await?;
                self.replay(earlier, &request_hash, &hash, &named).await
            }
        }
    }

    /// The answer to a repeated re-check: the version stored under the key,
    /// with its changes against the version it replaced.
    async fn replay(
        &self,
        record: VerificationRecord,
        earlier_hash: &str,
        hash: &str,
        named: &[Department],
    ) -> Result<RecheckRecordResponse, HubError> {
        if earlier_hash != hash || record.previous_record_id.is_empty() {
            return Err(ValidationError::one(
                "idempotency_key",
                "was already used for a different request; use a new key for a new re-check",
            )
            .into());
        }
        let previous = self
            .store
            .get_record(&record.previous_record_id)
            .await?
            .ok_or_else(|| HubError::NotFound(record.previous_record_id.clone()))?;
        Ok(RecheckRecordResponse {
            changes: changes(&previous, &record),
            asked: departments_to_ask(&previous, named).iter().map(|d| *d as i32).collect(),
            record: Some(record),
            replayed: true,
        })
    }
}

/// FAILED_PRECONDITION naming the latest version of the lineage.
fn not_latest(previous: &VerificationRecord, latest: &str) -> HubError {
    HubError::precondition(
        format!(
            "record {} (version {}, verdict {}) is not the latest version; the latest is {latest}: re-check that one",
            previous.record_id,
            version_of(previous),
            verdict_words(previous.verdict)
        ),
        [("VERSION", "record_id", latest)],
    )
}
