//! One module per menu entry.

pub mod admin;
pub mod audit;
pub mod batches;
pub mod home;
pub mod records;
pub mod verify;
