//! Generated types for the `hedui.v1` protobuf package: the adapter contract
//! (`SourceService`) and the hub's services (`VerificationService`,
//! `BatchService`, `AuditService`).
//!
//! The code is generated at build time from `proto/` by protox, so no system
//! `protoc` is needed. The encoded file descriptor set is exported for gRPC
//! reflection and for proto3 JSON output.

/// `hedui.v1`: every message, enum and service of the contract.
pub mod v1 {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("hedui.v1");
}

/// The encoded `FileDescriptorSet` of `hedui.v1`.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/hedui_descriptor.bin"));

/// The descriptor pool of `hedui.v1`, decoded once.
pub fn descriptor_pool() -> &'static prost_reflect::DescriptorPool {
    static POOL: std::sync::OnceLock<prost_reflect::DescriptorPool> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        prost_reflect::DescriptorPool::decode(FILE_DESCRIPTOR_SET)
            .expect("the descriptor set is produced by our own build script")
    })
}

/// Renders any `hedui.v1` message as proto3 JSON (enum names, camelCase
/// fields), for `--output json`.
pub fn to_json<M: prost::Message>(msg: &M, full_name: &str) -> String {
    let desc = descriptor_pool()
        .get_message_by_name(full_name)
        .expect("every hedui.v1 message is in the pool");
    let dynamic = prost_reflect::DynamicMessage::decode(desc, msg.encode_to_vec().as_slice())
        .expect("a message we just encoded decodes");
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::pretty(&mut out);
    let opts = prost_reflect::SerializeOptions::new().skip_default_fields(true);
    dynamic
        .serialize_with_options(&mut ser, &opts)
        .expect("serialising to memory cannot fail");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// Reads proto3 JSON (as [`to_json`] writes it) into the `hedui.v1` message
/// `full_name`. Unknown fields are refused.
pub fn from_json<M: prost::Message + Default>(json: &str, full_name: &str) -> Result<M, String> {
    let desc = descriptor_pool()
        .get_message_by_name(full_name)
        .ok_or_else(|| format!("{full_name} is not a hedui.v1 message"))?;
    let mut de = serde_json::Deserializer::from_str(json);
    let dynamic = prost_reflect::DynamicMessage::deserialize(desc, &mut de).map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    M::decode(prost::Message::encode_to_vec(&dynamic).as_slice()).map_err(|e| e.to_string())
}

/// Builders for the rich gRPC errors that hedui returns.
pub mod status {
    use tonic_types::{ErrorDetails, StatusExt as _};

    /// `INVALID_ARGUMENT` with a `google.rpc.BadRequest` detail holding one
    /// field violation per `(field, description)` pair. The message repeats
    /// the violations so that clients without rich-error support still see
    /// which field is wrong.
    pub fn invalid_argument<'a>(violations: impl IntoIterator<Item = (&'a str, &'a str)>) -> tonic::Status {
        let mut details = ErrorDetails::new();
        let mut message = String::new();
        for (field, description) in violations {
            details.add_bad_request_violation(field, description);
            if !message.is_empty() {
                message.push_str("; ");
            }
            message.push_str(field);
            message.push_str(": ");
            message.push_str(description);
        }
        tonic::Status::with_error_details(tonic::Code::InvalidArgument, message, details)
    }

    /// `FAILED_PRECONDITION` with a `google.rpc.PreconditionFailure` detail
    /// holding one violation per `(type, subject, description)` triple. The
    /// message repeats them for clients without rich-error support.
    pub fn failed_precondition<'a>(
        message: &str,
        violations: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>,
    ) -> tonic::Status {
        let mut details = ErrorDetails::new();
        let mut text = message.to_owned();
        for (kind, subject, description) in violations {
            details.add_precondition_failure_violation(kind, subject, description);
            text.push_str("; ");
            text.push_str(subject);
            text.push_str(": ");
            text.push_str(description);
        }
        tonic::Status::with_error_details(tonic::Code::FailedPrecondition, text, details)
    }

    /// The `PreconditionFailure` violation type of a record erased under
    /// retention: its subject is the record id, its description the time
    /// it was erased (RFC 3339 UTC).
    pub const RETENTION_EXPIRED: &str = "RETENTION_EXPIRED";

    /// When the record a status refuses was erased under retention, if that
    /// is why it was refused.
    pub fn retention_expired(status: &tonic::Status) -> Option<String> {
        status
            .get_details_precondition_failure()?
            .violations
            .into_iter()
            .find(|v| v.r#type == RETENTION_EXPIRED)
            .map(|v| v.description)
    }

    /// The `(subject, description)` pairs of a status's
    /// `PreconditionFailure` detail, empty when it has none.
    pub fn precondition_violations(status: &tonic::Status) -> Vec<(String, String)> {
        status
            .get_details_precondition_failure()
            .map(|p| p.violations.into_iter().map(|v| (v.subject, v.description)).collect())
            .unwrap_or_default()
    }

    /// The `(field, description)` pairs of a status's `BadRequest` detail,
    /// empty when it has none.
    pub fn field_violations(status: &tonic::Status) -> Vec<(String, String)> {
        status
            .get_details_bad_request()
            .map(|b| {
                b.field_violations
                    .into_iter()
                    .map(|v| (v.field, v.description))
                    .collect()
            })
            .unwrap_or_default()
    }
}
