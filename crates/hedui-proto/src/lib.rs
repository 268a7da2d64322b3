//! Generated types for the `hedui.v1` protobuf package: the adapter contract
//! (`SourceService`) and the caseworker service (`VerificationService`).
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
