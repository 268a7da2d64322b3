//! The pure trust checks of hedui: no query about a household leaves the hub,
//! and no adapter answers one, without the household's consent.
//!
//! - [`authorization`]: the household's signed authorization (授权书),
//!   validated by [`authorization::parse`] and checked against the household
//!   and the request by [`authorization::check_covers`].
//! - [`grant`]: the short-lived grant the hub signs for one department and
//!   one request ([`grant::issue`]), its verification by the adapter SDK
//!   ([`grant::verify`]) and replay protection ([`grant::ReplayGuard`]).
//! - [`submission`]: a verification request and its authorization,
//!   validated together ([`submission::parse`]), as the hub, the command
//!   line, the console and batch uploads all check them.
//! - [`seal`]: the hub key's signature over a stored record's digest, so an
//!   insider who edits a record and recomputes its digest is still caught.
//!
//! Nothing here reads a clock, a file or a socket: "today" and "now" are
//! always arguments, so every result is a function of its inputs and the
//! checks are tested case by case.

pub mod authorization;
pub mod grant;
pub mod seal;
pub mod submission;

/// The ed25519 key types of the hub's grant key, re-exported so that callers
/// need no direct dependency on `ed25519-dalek` to hold or load a key.
pub use ed25519_dalek::{SigningKey, VerifyingKey};
