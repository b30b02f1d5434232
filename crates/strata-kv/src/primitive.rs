//! Registration of the KV primitive with the engine's [`PrimitiveRegistry`].
//!
//! [`PrimitiveRegistry`]: strata_storage::PrimitiveRegistry

use strata_storage::{tags, Primitive, PrimitiveTag};

/// The KV primitive's user-facing name.
pub const PRIMITIVE_NAME: &str = "kv";

/// The KV primitive's registry entry: name [`PRIMITIVE_NAME`], tag [`tags::KV`]; every
/// stored key is a user key, shown as its UTF-8 string.
#[derive(Debug, Clone, Copy, Default)]
pub struct KvPrimitive;

impl Primitive for KvPrimitive {
    fn name(&self) -> &'static str {
        PRIMITIVE_NAME
    }

    fn tag(&self) -> PrimitiveTag {
        tags::KV
    }
}
