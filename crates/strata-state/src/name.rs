//! Cell-name validation. Names are user strings stored as their UTF-8 bytes, so the
//! rules here are the whole contract for what a name may be.

use crate::error::{Result, StateError};

/// Longest cell name accepted, in UTF-8 bytes (not characters).
pub const MAX_CELL_NAME_LEN: usize = 1024;

/// Checks that `cell` is a valid cell name: non-empty, at most [`MAX_CELL_NAME_LEN`]
/// bytes of UTF-8, and free of NUL bytes. Any other Unicode is allowed. Cost: one pass
/// over the name.
pub fn validate_cell_name(cell: &str) -> Result<()> {
    if cell.is_empty() {
        return Err(StateError::InvalidCellName(
            "cell name must not be empty".into(),
        ));
    }
    if cell.len() > MAX_CELL_NAME_LEN {
        return Err(StateError::InvalidCellName(format!(
            "cell name is {} bytes, longer than the maximum of {MAX_CELL_NAME_LEN} bytes",
            cell.len()
        )));
    }
    if cell.as_bytes().contains(&0) {
        return Err(StateError::InvalidCellName(
            "cell name must not contain a NUL byte".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_unicode_and_the_maximum_length() {
        assert!(validate_cell_name("счётчик ⚙").is_ok());
        assert!(validate_cell_name(&"c".repeat(MAX_CELL_NAME_LEN)).is_ok());
    }

    #[test]
    fn refuses_empty_nul_and_over_long_names() {
        for bad in [
            String::new(),
            "\0".to_string(),
            "c".repeat(MAX_CELL_NAME_LEN + 1),
        ] {
            let err = validate_cell_name(&bad).expect_err("must be refused");
            assert_eq!(err.code(), "invalid_cell_name", "{err}");
        }
    }
}
