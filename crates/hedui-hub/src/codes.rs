//! The names of gRPC status codes as the audit log and the metrics write
//! them (shared with the adapters through `hedui-ops`). Imports nothing of
//! the hub, so that every module can use it.

pub use hedui_ops::grpc::code_name;
