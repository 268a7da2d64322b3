//! What the hub and the departments' adapters share to be operated:
//!
//! - [`exposition`]: the Prometheus text format, written by hand (a
//!   latency histogram, `# HELP`/`# TYPE` lines, label escaping), with
//!   `hedui_build_info`, the process metrics and the certificate metrics
//!   that every hedui server reports;
//! - [`http`]: the plain-HTTP `/metrics` endpoint, served by hyper, with a
//!   connection limit and a pause after a failed accept;
//! - [`grpc`]: `grpc.health.v1` and reflection (v1 and v1alpha) listing
//!   only the services a port serves;
//! - [`sqlite`]: opening an SQLite file in WAL mode that another process
//!   may be opening at the same moment.
//!
//! Labels never carry personal data: callers pass fixed words (RPC names,
//! status codes, department slugs, outcomes, categories).

pub mod exposition;
pub mod grpc;
pub mod http;
pub mod sqlite;
