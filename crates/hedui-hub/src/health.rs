//! `grpc.health.v1` for the hub: SERVING only while the database answers and
//! the audit log can be written, and NOT_SERVING as soon as shutdown begins,
//! so a load balancer stops sending work to a hub that would refuse it. At
//! shutdown `Application::run_until` stops [`watch`] (so nothing reports
//! SERVING again) and keeps serving for the drain delay, so that balancers
//! have time to notice before the hub starts no new verification.

use std::sync::Arc;
use std::time::Duration;

use tonic_health::server::HealthReporter;

use crate::HubState;

/// The hedui.v1 services the hub serves: each has a health entry that
/// follows the database, the audit log and the drain, and each is listed by
/// reflection. `SourceService` is the adapters' and is in neither.
pub const SERVICES: [&str; 3] = [
    hedui_proto::v1::verification_service_server::SERVICE_NAME,
    hedui_proto::v1::audit_service_server::SERVICE_NAME,
    hedui_proto::v1::batch_service_server::SERVICE_NAME,
];

/// Every service on the hub's port, as reflection lists them: the hub's own,
/// health, and both versions of reflection.
pub const LISTED: [&str; 6] = [
    SERVICES[0],
    SERVICES[1],
    SERVICES[2],
    hedui_ops::grpc::HEALTH,
    hedui_ops::grpc::REFLECTION[0],
    hedui_ops::grpc::REFLECTION[1],
];
/// How often the database and the audit log are checked.
const INTERVAL: Duration = Duration::from_secs(2);

/// Sets the status of the whole server and of every hub service.
pub async fn set_all(reporter: &HealthReporter, serving: bool) {
    hedui_ops::grpc::set_all(reporter, &SERVICES, serving).await;
}

/// Checks the database and the audit log forever, reporting changes.
pub async fn watch(state: Arc<HubState>, reporter: HealthReporter) {
    let mut last = None;
    loop {
        let db = state.store.ping().await.is_ok();
        let audit = state.audit.healthy();
        let serving = db && audit;
        if last != Some(serving) {
            if serving {
                tracing::info!("health: serving");
            } else {
                tracing::error!(database = db, audit_log = audit, "health: NOT serving");
            }
            set_all(&reporter, serving).await;
            last = Some(serving);
        }
        tokio::time::sleep(INTERVAL).await;
    }
}
