//! LEB128 varints, shared by the change-log and inline-history encodings.

/// Appends `n` as a LEB128 varint (1-10 bytes).
pub(crate) fn write(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Reads a varint from the front of `b` and advances it; `None` if truncated or
/// longer than 64 bits.
pub(crate) fn read(b: &mut &[u8]) -> Option<u64> {
    let mut n = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = b.split_first()?;
        *b = rest;
        n |= u64::from(byte & 0x7F).checked_shl(shift)?;
        if byte & 0x80 == 0 {
            return Some(n);
        }
    }
    None
}
