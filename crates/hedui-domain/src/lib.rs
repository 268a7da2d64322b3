//! The pure domain of hedui: everything that decides what is true about a
//! household, and nothing that touches a socket, a file or a clock.
//!
//! - [`ids`]: resident ID numbers (GB 11643-1999) and unified social credit
//!   codes (GB 32100-2015).
//! - [`money`], [`window`]: money in fen, months and income windows.
//! - [`household`]: a household that passed validation, built only by
//!   [`household::ValidatedHousehold::parse`].
//! - [`query`]: a department query that passed validation, as an adapter's
//!   source sees it.
//! - [`reply`]: validation of a department's reply at the hub.
//! - [`merge`]: replies into the checked record, summary and flags.
//! - [`policy`]: the policy file and its evaluation into a verdict.
//! - [`digest`]: the record's integrity digest.
//! - [`recheck`]: re-checks (复核): kept answers, the next version, and what
//!   changed between two versions.
//! - [`quarter`]: calendar quarters in China Standard Time, the periods of
//!   the departments' service report.
//! - [`review`]: reviews of a record (home visit, objection).
//! - [`words`]: the one table of the Chinese words for enum values, what
//!   reports print and what a caseworker may type.
//!
//! Functions that need "today" take it as an argument, so every result here
//! is a function of its inputs.

pub mod department;
pub mod digest;
pub mod error;
pub mod household;
pub mod ids;
pub mod merge;
pub mod money;
pub mod policy;
pub mod purpose;
pub mod quarter;
pub mod query;
pub mod recheck;
pub mod reply;
pub mod request;
pub mod review;
pub mod slug;
pub mod window;
pub mod words;

pub use error::{FieldViolation, ValidationError};
