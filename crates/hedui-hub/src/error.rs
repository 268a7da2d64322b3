//! The hub's errors, each mapped to exactly one status code.

use hedui_domain::ValidationError;
use hedui_store::StoreError;
use hedui_trust::authorization::AuthorizationProblem;
use tonic::Status;

use crate::audit::AuditError;

/// The hub's errors. Each maps to exactly one status code.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// The caller sent something invalid.
    #[error("invalid request: {0}")]
    Invalid(#[from] ValidationError),
    /// The authorization does not cover the request; nothing was queried.
    #[error("the authorization does not cover this verification")]
    Unauthorized(Vec<AuthorizationProblem>),
    /// The audit log cannot be written; the hub refuses to answer unlogged.
    #[error(transparent)]
    Audit(#[from] AuditError),
    /// The caller's certificate may not make this call (PERMISSION_DENIED)
    /// or names nobody (UNAUTHENTICATED); from [`crate::access::authorize`].
    #[error("{message}")]
    Access {
        /// PERMISSION_DENIED or UNAUTHENTICATED.
        code: tonic::Code,
        /// What the caller is told.
        message: String,
    },
    /// The call cannot be served as things stand (FAILED_PRECONDITION):
    /// the message, and `(type, subject, description)` violations for the
    /// `PreconditionFailure` detail.
    #[error("{message}")]
    Precondition {
        /// What the caller is told.
        message: String,
        /// The violations.
        violations: Vec<(String, String, String)>,
    },
    /// No such record.
    #[error("record {0} not found")]
    NotFound(String),
    /// No such batch.
    #[error("no batch with id {0}")]
    BatchNotFound(String),
    /// The batch belongs to someone else (PERMISSION_DENIED).
    #[error("batch {batch_id} belongs to {owner}; {what}")]
    NotOwner {
        /// The batch.
        batch_id: String,
        /// Its creator, `<role>:<name>`.
        owner: String,
        /// Who may do what with it.
        what: &'static str,
    },
    /// The stored audit log does not match its signed checkpoint (DATA_LOSS).
    #[error("the stored audit log does not match its signed checkpoint: {0}")]
    LogMismatch(String),
    /// The hub is shutting down: nothing was asked, or what was asked was
    /// abandoned and logged as such; no record was stored.
    #[error(transparent)]
    Draining(#[from] crate::drain::Draining),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<HubError> for Status {
    fn from(e: HubError) -> Status {
        match e {
            HubError::Invalid(v) => hedui_proto::status::invalid_argument(
                v.violations.iter().map(|v| (v.field.as_str(), v.description.as_str())),
            ),
            HubError::Unauthorized(problems) => {
                let subjects: Vec<String> = problems
                    .iter()
                    .map(|p| {
                        p.member_index
                            .map(|i| format!("household.members[{i}]"))
                            .unwrap_or_else(|| p.field.clone())
                    })
                    .collect();
                hedui_proto::status::failed_precondition(
                    "the authorization (授权书) does not cover this verification; no department was asked",
                    problems
                        .iter()
                        .zip(&subjects)
                        .map(|(p, s)| ("AUTHORIZATION", s.as_str(), p.reason.as_str())),
                )
            }
            HubError::Access { code, message } => Status::new(code, message),
            HubError::Precondition { message, violations } => hedui_proto::status::failed_precondition(
                &message,
                violations.iter().map(|(t, s, d)| (t.as_str(), s.as_str(), d.as_str())),
            ),
            HubError::BatchNotFound(id) => Status::not_found(format!("no batch with id {id}")),
            e @ HubError::NotOwner { .. } => Status::permission_denied(e.to_string()),
            HubError::LogMismatch(problem) => {
                tracing::error!("the stored audit log does not match its signed checkpoint");
                Status::data_loss(format!(
                    "the stored audit log does not match its signed checkpoint: {problem}"
                ))
            }
            HubError::Audit(e) => {
                tracing::error!(error = %e, "refusing a call that cannot be logged");
                Status::unavailable("the audit log cannot be written; the hub does not answer unlogged")
            }
            HubError::NotFound(id) => Status::not_found(format!("no record with id {id}")),
            HubError::Draining(e) => Status::unavailable(format!("{e}; send it again, to another hub")),
            HubError::Store(StoreError::Corrupt { record_id, .. }) => {
                tracing::error!(%record_id, "stored record failed its integrity check");
                Status::data_loss(format!(
                    "record {record_id} failed its integrity check; tell the administrator"
                ))
            }
            HubError::Store(StoreError::Erased { record_id, erased_at }) => hedui_proto::status::failed_precondition(
                &format!(
                    "record {record_id} was erased under the retention period on {erased_at}: its content and data key are deleted; its digest, dates and verdict stay in the record list"
                ),
                [(
                    hedui_proto::status::RETENTION_EXPIRED,
                    record_id.as_str(),
                    erased_at.as_str(),
                )],
            ),
            HubError::Store(StoreError::Envelope { row, source }) => {
                // Names a row and a KEK id, never personal data.
                tracing::error!(%row, error = %source, "stored data could not be decrypted or encrypted");
                Status::data_loss(format!(
                    "{row} could not be decrypted or encrypted with the hub's data keys; tell the administrator"
                ))
            }
            HubError::Store(
                e @ (StoreError::Database(_)
                | StoreError::Url(_)
                | StoreError::SchemaTooNew { .. }
                | StoreError::MigrationChanged { .. }
                | StoreError::AuditBehind { .. }),
            ) => {
                tracing::error!(error = %e, "store error");
                Status::internal("the hub could not reach its database")
            }
        }
    }
}

impl HubError {
    /// The status code the caller receives for this error, which is also
    /// the status its audit entry records.
    pub fn code(&self) -> tonic::Code {
        use tonic::Code;
        match self {
            HubError::Invalid(_) => Code::InvalidArgument,
            HubError::Unauthorized(_) | HubError::Precondition { .. } | HubError::Store(StoreError::Erased { .. }) => {
                Code::FailedPrecondition
            }
            HubError::Audit(_) | HubError::Draining(_) => Code::Unavailable,
            HubError::Access { code, .. } => *code,
            HubError::NotOwner { .. } => Code::PermissionDenied,
            HubError::NotFound(_) | HubError::BatchNotFound(_) => Code::NotFound,
            HubError::LogMismatch(_) | HubError::Store(StoreError::Corrupt { .. }) => Code::DataLoss,
            HubError::Store(_) => Code::Internal,
        }
    }

    /// Why the call was refused, for its audit entry: the field paths of
    /// the violations, never their values, and never personal data.
    pub fn audit_detail(&self) -> String {
        const MOST: usize = 20;
        let list = |mut paths: Vec<String>| {
            paths.dedup();
            let more = paths.len().saturating_sub(MOST);
            paths.truncate(MOST);
            let mut text = paths.join(", ");
            if more > 0 {
                text.push_str(&format!(" and {more} more"));
            }
            text
        };
        match self {
            HubError::Invalid(v) => format!(
                "invalid: {}",
                list(v.violations.iter().map(|x| x.field.clone()).collect())
            ),
            HubError::Unauthorized(problems) => format!(
                "authorization does not cover: {}",
                list(
                    problems
                        .iter()
                        .map(|p| {
                            p.member_index
                                .map(|i| format!("household.members[{i}]"))
                                .unwrap_or_else(|| p.field.clone())
                        })
                        .collect()
                )
            ),
            HubError::Precondition { violations, .. } => format!(
                "precondition: {}",
                list(violations.iter().map(|(t, s, _)| format!("{t} {s}")).collect())
            ),
            HubError::Access { .. } => "access denied by role".into(),
            HubError::NotFound(id) => format!("record {id} not found"),
            HubError::BatchNotFound(id) => format!("batch {id} not found"),
            HubError::NotOwner { batch_id, owner, .. } => format!("batch {batch_id} belongs to {owner}"),
            HubError::LogMismatch(_) => "the stored audit log does not match its checkpoint".into(),
            HubError::Store(StoreError::Corrupt { record_id, .. }) => {
                format!("{record_id} failed its integrity check")
            }
            HubError::Store(StoreError::Erased { record_id, .. }) => {
                format!("record {record_id} was erased under retention")
            }
            HubError::Store(_) => "database error".into(),
            HubError::Audit(_) => "audit log unavailable".into(),
            HubError::Draining(_) => "the hub is shutting down".into(),
        }
    }

    /// A FAILED_PRECONDITION with violations of one type.
    pub fn precondition<'a>(
        message: impl Into<String>,
        violations: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>,
    ) -> HubError {
        HubError::Precondition {
            message: message.into(),
            violations: violations
                .into_iter()
                .map(|(t, s, d)| (t.to_owned(), s.to_owned(), d.to_owned()))
                .collect(),
        }
    }
}
