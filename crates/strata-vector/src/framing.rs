//! The framing shared by the crate's own files (the dump manifest and the flat graph):
//! `magic (8 bytes) | format u32 LE | body | crc32 LE of everything before it`, and a
//! bounds-checked little-endian reader for the body.

use crate::error::{Result, VectorError};

/// Starts a file: magic and format.
pub(crate) fn begin(magic: &[u8; 8], format: u32, capacity: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(capacity + 16);
    out.extend_from_slice(magic);
    out.extend_from_slice(&format.to_le_bytes());
    out
}

/// Ends a file begun with [`begin`]: appends the checksum.
pub(crate) fn finish(mut out: Vec<u8>) -> Vec<u8> {
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Checks checksum, magic and format of `bytes`, and returns a reader over the body.
/// Errors name the file as `what`. Cost: one pass for the checksum.
pub(crate) fn open<'a>(
    bytes: &'a [u8],
    magic: &[u8; 8],
    format: u32,
    what: &'static str,
) -> Result<Reader<'a>> {
    open_any(bytes, magic, &[format], what).map(|(r, _)| r)
}

/// [`open`] for a file that may be in any of `formats`; also returns the format
/// found.
pub(crate) fn open_any<'a>(
    bytes: &'a [u8],
    magic: &[u8; 8],
    formats: &[u32],
    what: &'static str,
) -> Result<(Reader<'a>, u32)> {
    let bad = |m: &str| VectorError::Dump(format!("{what}: {m}"));
    if bytes.len() < 4 {
        return Err(bad("truncated"));
    }
    let (body, crc) = bytes.split_at(bytes.len() - 4);
    let mut crc_bytes = [0u8; 4];
    crc_bytes.copy_from_slice(crc);
    if crc32fast::hash(body) != u32::from_le_bytes(crc_bytes) {
        return Err(bad("checksum mismatch"));
    }
    let mut r = Reader { buf: body, what };
    if r.take(8)? != magic {
        return Err(bad("bad magic"));
    }
    let found = r.u32()?;
    if !formats.contains(&found) {
        return Err(bad(&format!("unsupported format {found}")));
    }
    Ok((r, found))
}

/// Reads little-endian fields; every read is bounds-checked.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// Bytes not read yet.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len()
    }
    /// The next `n` bytes.
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.buf.len() < n {
            return Err(VectorError::Dump(format!("{}: truncated", self.what)));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }
    /// The next `N` bytes as an array.
    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    /// A u32.
    pub(crate) fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    /// A u64.
    pub(crate) fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    /// `n` u32s.
    pub(crate) fn u32s(&mut self, n: usize) -> Result<Vec<u32>> {
        let len = n
            .checked_mul(4)
            .ok_or_else(|| VectorError::Dump(format!("{}: length overflow", self.what)))?;
        Ok(self
            .take(len)?
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }
}
