//! The county that `hedui demo`, `hedui bench`, the hub tests, the crash
//! tests and the fuzz seeds start from, written once.
//!
//! - [`requests`]: the request a caseworker submits for a sandbox
//!   household. The only part without the `system` feature, so that
//!   hedui-fuzz builds its seeds without depending on the hub.
//! - [`Pki`]: a county CA for one run, its files on disk.
//! - [`Builder`]: the eight adapters (the SDK serving the sandbox, after a
//!   [`Delay`] if asked, or whatever the caller serves for a department)
//!   and the hub's settings; [`Builder::start`] starts the hub in this
//!   process and gives a [`System`], and [`Builder::write_hub_files`]
//!   writes the configuration of a `hedui hub` child process instead.
//!
//! Everything is real: mutual TLS on loopback, grants signed by the hub
//! key, the store (SQLite by default, or any URL), the audit log. The only
//! thing special to the kit is that it is all in one place.

pub mod requests;

#[cfg(feature = "system")]
mod config;
#[cfg(feature = "system")]
mod delay;
#[cfg(feature = "system")]
mod pki;
#[cfg(feature = "system")]
mod system;

#[cfg(feature = "system")]
pub use config::{DATA_KEY_FILE, EXAMPLE_POLICY, HubFiles, example_policy_file, test_data_keys};
#[cfg(feature = "system")]
pub use delay::Delay;
#[cfg(feature = "system")]
pub use pki::Pki;
#[cfg(feature = "system")]
pub use system::{Builder, QueryLogs, System, test_hub_key};
