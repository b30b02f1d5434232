//! Registration of the event log with the engine's [`PrimitiveRegistry`].
//!
//! [`PrimitiveRegistry`]: strata_storage::PrimitiveRegistry

use crate::layout::seq_of_event_key;
use strata_storage::{tags, Primitive, PrimitiveTag};

/// The event log's user-facing name.
pub const PRIMITIVE_NAME: &str = "event";

/// The event log's registry entry: name [`PRIMITIVE_NAME`], tag [`tags::EVENTS`].
/// Event records display as their sequence number; the type index and the head are
/// internal keys (`display_key` returns `None`).
#[derive(Debug, Clone, Copy, Default)]
pub struct EventsPrimitive;

impl Primitive for EventsPrimitive {
    fn name(&self) -> &'static str {
        PRIMITIVE_NAME
    }

    fn tag(&self) -> PrimitiveTag {
        tags::EVENTS
    }

    fn display_key(&self, key: &[u8]) -> Option<String> {
        seq_of_event_key(key).map(|seq| seq.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{event_key, type_key, HEAD_KEY};

    #[test]
    fn only_event_records_are_displayed() {
        let p = EventsPrimitive;
        assert_eq!(p.display_key(&event_key(42)).as_deref(), Some("42"));
        assert_eq!(p.display_key(&type_key("t", 42)), None);
        assert_eq!(p.display_key(HEAD_KEY), None);
    }
}
