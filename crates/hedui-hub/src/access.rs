//! Who may call what on the hub.
//!
//! The caller's role and name come from their client certificate (see
//! `hedui-tls`), never from a request field. Every RPC has an explicit
//! allow-list in [`RULES`]; an RPC without a rule is denied to everyone, and
//! a test enumerates the RPCs from the service descriptors so that a new RPC
//! cannot ship without one. Hub and adapter certificates may call nothing on
//! the hub.

use hedui_tls::{PeerIdentity, Role};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tonic::{Request, Status};

/// The roles a person can hold on the hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonRole {
    /// A civil-affairs caseworker.
    Caseworker,
    /// An auditor (discipline commission, audit bureau, internal supervision).
    Auditor,
    /// An operator or administrator.
    Admin,
}

/// The allow-list: full gRPC method path and the roles allowed to call it.
pub const RULES: &[(&str, &[PersonRole])] = &[
    (
        "/hedui.v1.VerificationService/SubmitVerification",
        &[PersonRole::Caseworker],
    ),
    (
        "/hedui.v1.VerificationService/GetRecord",
        &[PersonRole::Caseworker, PersonRole::Auditor, PersonRole::Admin],
    ),
    (
        "/hedui.v1.VerificationService/ListRecords",
        &[PersonRole::Caseworker, PersonRole::Auditor, PersonRole::Admin],
    ),
    // Reviews and re-checks are the caseworker's; the history is for
    // whoever may read the record.
    ("/hedui.v1.VerificationService/ReviewRecord", &[PersonRole::Caseworker]),
    ("/hedui.v1.VerificationService/RecheckRecord", &[PersonRole::Caseworker]),
    (
        "/hedui.v1.VerificationService/GetRecordHistory",
        &[PersonRole::Caseworker, PersonRole::Auditor, PersonRole::Admin],
    ),
    ("/hedui.v1.BatchService/CreateBatch", &[PersonRole::Caseworker]),
    ("/hedui.v1.BatchService/AddBatchHouseholds", &[PersonRole::Caseworker]),
    ("/hedui.v1.BatchService/StartBatch", &[PersonRole::Caseworker]),
    // A batch belongs to its creator: only they add to, start or cancel it;
    // an admin may also cancel it (`batch_service::may_change`).
    (
        "/hedui.v1.BatchService/CancelBatch",
        &[PersonRole::Caseworker, PersonRole::Admin],
    ),
    (
        "/hedui.v1.BatchService/GetBatch",
        &[PersonRole::Caseworker, PersonRole::Auditor, PersonRole::Admin],
    ),
    (
        "/hedui.v1.BatchService/ListBatches",
        &[PersonRole::Caseworker, PersonRole::Auditor, PersonRole::Admin],
    ),
    (
        "/hedui.v1.BatchService/StreamBatchResults",
        &[PersonRole::Caseworker, PersonRole::Auditor, PersonRole::Admin],
    ),
    (
        "/hedui.v1.AuditService/ListAuditEntries",
        &[PersonRole::Auditor, PersonRole::Admin],
    ),
    (
        "/hedui.v1.AuditService/WhoAccessed",
        &[PersonRole::Auditor, PersonRole::Admin],
    ),
    (
        "/hedui.v1.AuditService/GetCheckpoint",
        &[PersonRole::Auditor, PersonRole::Admin],
    ),
    (
        "/hedui.v1.AuditService/ExportAudit",
        &[PersonRole::Auditor, PersonRole::Admin],
    ),
    // Figures about the departments, for the joint meeting office, which
    // the administrators serve.
    ("/hedui.v1.AuditService/GetDepartmentReport", &[PersonRole::Admin]),
];

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A caller identified by a verified client certificate.
    Certified(PeerIdentity),
    /// The hub runs with `--insecure-dev`: nobody is identified.
    InsecureDev,
    /// A certificate of the county CA that carries no hedui identity (or no
    /// certificate at all), named by its serial and SHA-256 fingerprint.
    Unidentified(Option<hedui_tls::CertificateId>),
}

impl Caller {
    /// The actor as written to the audit log: `<role>:<name>`.
    pub fn actor(&self) -> String {
        match self {
            Caller::Certified(id) => format!("{}:{}", id.role.as_string(), id.name),
            Caller::InsecureDev => "insecure-dev:unidentified".to_owned(),
            Caller::Unidentified(Some(c)) => format!("unidentified:serial={},sha256={}", c.serial, c.sha256),
            Caller::Unidentified(None) => "unidentified:no-certificate".to_owned(),
        }
    }

    /// The role as written to the audit log.
    pub fn role(&self) -> String {
        match self {
            Caller::Certified(id) => id.role.as_string(),
            Caller::InsecureDev => "insecure-dev".to_owned(),
            Caller::Unidentified(_) => "unidentified".to_owned(),
        }
    }
}

fn person_role(role: &Role) -> Option<PersonRole> {
    match role {
        Role::Caseworker => Some(PersonRole::Caseworker),
        Role::Auditor => Some(PersonRole::Auditor),
        Role::Admin => Some(PersonRole::Admin),
        Role::Hub | Role::Adapter(_) => None,
    }
}

/// The roles allowed to call `method`, if it has a rule.
pub fn allowed(method: &str) -> Option<&'static [PersonRole]> {
    RULES.iter().find(|(m, _)| *m == method).map(|(_, r)| *r)
}

/// Identifies the caller of `req` and checks that they may call `method`.
/// With `insecure` (the `--insecure-dev` flag) every call is allowed and the
/// caller is unidentified.
///
/// With `tls` (the hub's own), a certificate revoked since its connection
/// was made is refused too (UNAUTHENTICATED, "certificate revoked"): the
/// handshake refuses it on new connections, this on old ones.
pub fn authorize<T>(
    req: &Request<T>,
    method: &str,
    insecure: bool,
    tls: Option<&hedui_tls::ServerTls>,
) -> Result<Caller, (Caller, Status)> {
    // From here on the handler logs the call, allowed or not.
    Admitted::mark(req);
    if insecure {
        return Ok(Caller::InsecureDev);
    }
    let peer = hedui_tls::peer(req);
    let Some(identity) = peer.and_then(|p| p.identity.clone()) else {
        return Err((
            Caller::Unidentified(peer.and_then(|p| p.certificate.clone())),
            Status::unauthenticated("no hedui identity in the client certificate"),
        ));
    };
    let caller = Caller::Certified(identity.clone());
    if let (Some(tls), Some(cert)) = (tls, peer.and_then(|p| p.certificate.as_ref()))
        && tls.is_revoked(&cert.serial)
    {
        return Err((caller, Status::unauthenticated("certificate revoked")));
    }
    let permitted = match (allowed(method), person_role(&identity.role)) {
        (Some(roles), Some(role)) => roles.contains(&role),
        _ => false,
    };
    if permitted {
        Ok(caller)
    } else {
        let status = Status::permission_denied(format!(
            "role {} may not call {}",
            identity.role.as_string(),
            method.rsplit('/').next().unwrap_or(method)
        ));
        Err((caller, status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rpc_of_every_hub_service_has_a_rule() {
        let pool = hedui_proto::descriptor_pool();
        let mut methods = Vec::new();
        for service in pool.services() {
            // SourceService is served by adapters, not by the hub.
            if service.name() == "SourceService" {
                continue;
            }
            for m in service.methods() {
                methods.push(format!("/{}/{}", service.full_name(), m.name()));
            }
        }
        assert!(!methods.is_empty());
        for m in &methods {
            assert!(allowed(m).is_some(), "{m} has no access rule");
        }
        for (m, _) in RULES {
            assert!(methods.contains(&(*m).to_owned()), "rule for unknown method {m}");
        }
    }

    #[test]
    fn an_auditor_cannot_submit_and_nobody_else_can_either() {
        assert_eq!(
            allowed("/hedui.v1.VerificationService/SubmitVerification"),
            Some(&[PersonRole::Caseworker][..])
        );
        assert_eq!(allowed("/hedui.v1.Unknown/Method"), None);
    }
}

/// Set by a handler once it has admitted (and so will log) the call.
#[derive(Clone, Debug, Default)]
pub struct Admitted(Arc<AtomicBool>);

impl Admitted {
    /// Marks the request of `req` as seen by a handler.
    pub fn mark<T>(req: &tonic::Request<T>) {
        if let Some(a) = req.extensions().get::<Admitted>() {
            a.0.store(true, Ordering::Relaxed);
        }
    }

    /// Whether a handler has marked it.
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}
