//! Key validation. Keys are user strings stored as their UTF-8 bytes, so the rules here
//! are the whole contract for what a key may be.

use crate::error::{KvError, Result};

/// Longest key accepted, in UTF-8 bytes (not characters).
pub const MAX_KEY_LEN: usize = 1024;

/// Checks that `key` is a valid KV key: non-empty, at most [`MAX_KEY_LEN`] bytes of
/// UTF-8, and free of NUL bytes. Any other Unicode is allowed. Cost: one pass over the
/// key.
pub fn validate_key(key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(KvError::InvalidKey("key must not be empty".into()));
    }
    if key.len() > MAX_KEY_LEN {
        return Err(KvError::InvalidKey(format!(
            "key is {} bytes, longer than the maximum of {MAX_KEY_LEN} bytes",
            key.len()
        )));
    }
    if key.as_bytes().contains(&0) {
        return Err(KvError::InvalidKey(
            "key must not contain a NUL byte".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_unicode_and_the_maximum_length() {
        assert!(validate_key("ключ/🔑").is_ok());
        assert!(validate_key(&"a".repeat(MAX_KEY_LEN)).is_ok());
        // 4-byte characters count as 4 bytes.
        assert!(validate_key(&"🔑".repeat(MAX_KEY_LEN / 4)).is_ok());
    }

    #[test]
    fn refuses_empty_nul_and_over_long_keys() {
        for bad in [
            String::new(),
            "a\0b".to_string(),
            "a".repeat(MAX_KEY_LEN + 1),
            "🔑".repeat(MAX_KEY_LEN / 4 + 1),
        ] {
            let err = validate_key(&bad).expect_err("must be refused");
            assert_eq!(err.code(), "invalid_key", "{err}");
        }
    }
}
