//! Registration of state cells with the engine's [`PrimitiveRegistry`].
//!
//! [`PrimitiveRegistry`]: strata_storage::PrimitiveRegistry

use strata_storage::{tags, Primitive, PrimitiveTag};

/// The state primitive's user-facing name.
pub const PRIMITIVE_NAME: &str = "state";

/// The state primitive's registry entry: name [`PRIMITIVE_NAME`], tag
/// [`tags::STATE`]; every stored key is a cell name, shown as its UTF-8 string.
#[derive(Debug, Clone, Copy, Default)]
pub struct StatePrimitive;

impl Primitive for StatePrimitive {
    fn name(&self) -> &'static str {
        PRIMITIVE_NAME
    }

    fn tag(&self) -> PrimitiveTag {
        tags::STATE
    }
}
