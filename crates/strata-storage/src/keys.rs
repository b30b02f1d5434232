//! On-disk key layout (see `ARCHITECTURE.md`).
//!
//! ```text
//! scope prefix = branch id (u64 BE) | esc(space) 00 01 | primitive tag (u8)
//! latest key   = scope prefix | esc(user key) 00 01
//! history key  = latest key | !commit_version (u64 BE)  (superseded versions only)
//! ```
//!
//! `esc` doubles every 0x00 byte into `00 FF`, and `00 01` terminates, so the encoding is
//! order-preserving and prefix-preserving: every user key starting with `p` has an
//! escaped form starting with `esc(p)`, and keys sort by user key. The inverted version
//! makes a key's versions sit together newest first, so "newest version <= V" is a
//! forward range scan starting at `latest key | !V`.

use crate::store::{BranchId, CommitVersion, PrimitiveTag};

const TERM: [u8; 2] = [0x00, 0x01];

/// Appends `bytes` escaped (0x00 -> 00 FF).
pub(crate) fn escape_into(out: &mut Vec<u8>, bytes: &[u8]) {
    for &b in bytes {
        out.push(b);
        if b == 0 {
            out.push(0xFF);
        }
    }
}

/// Prefix shared by every key of one branch.
pub(crate) fn branch_prefix(branch: BranchId) -> Vec<u8> {
    branch.0.to_be_bytes().to_vec()
}

/// Prefix shared by every key of one space of one branch (all primitives).
pub(crate) fn space_prefix(branch: BranchId, space: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + space.len() + 3);
    out.extend_from_slice(&branch.0.to_be_bytes());
    escape_into(&mut out, space.as_bytes());
    out.extend_from_slice(&TERM);
    out
}

/// Prefix shared by every key of one primitive in one space of one branch.
pub(crate) fn scope_prefix(branch: BranchId, space: &str, tag: PrimitiveTag) -> Vec<u8> {
    let mut out = space_prefix(branch, space);
    out.push(tag.0);
    out
}

/// The key under which the newest version of a user key is kept.
pub(crate) fn latest_key(branch: BranchId, space: &str, tag: PrimitiveTag, key: &[u8]) -> Vec<u8> {
    let mut out = scope_prefix(branch, space, tag);
    out.reserve(key.len() + 10);
    escape_into(&mut out, key);
    out.extend_from_slice(&TERM);
    out
}

/// Prefix of all latest keys whose user key starts with `prefix`.
pub(crate) fn user_prefix(
    branch: BranchId,
    space: &str,
    tag: PrimitiveTag,
    prefix: &[u8],
) -> Vec<u8> {
    let mut out = scope_prefix(branch, space, tag);
    escape_into(&mut out, prefix);
    out
}

/// History key of one version: the latest key plus the inverted version.
pub(crate) fn history_key(latest: &[u8], version: CommitVersion) -> Vec<u8> {
    let mut out = Vec::with_capacity(latest.len() + 8);
    out.extend_from_slice(latest);
    out.extend_from_slice(&(!version.0).to_be_bytes());
    out
}

/// Splits a history key into (latest key, version).
pub(crate) fn split_history_key(k: &[u8]) -> Option<(&[u8], CommitVersion)> {
    if k.len() < 8 {
        return None;
    }
    let (latest, ver) = k.split_at(k.len() - 8);
    let mut arr = [0u8; 8];
    arr.copy_from_slice(ver);
    Some((latest, CommitVersion(!u64::from_be_bytes(arr))))
}

/// Decodes an escaped, terminated component starting at `pos`. Returns the raw bytes
/// and the position after the terminator.
pub(crate) fn unescape(bytes: &[u8], mut pos: usize) -> Option<(Vec<u8>, usize)> {
    let mut out = Vec::new();
    loop {
        let b = *bytes.get(pos)?;
        if b == 0 {
            match *bytes.get(pos + 1)? {
                0xFF => out.push(0),
                0x01 => return Some((out, pos + 2)),
                _ => return None,
            }
            pos += 2;
        } else {
            out.push(b);
            pos += 1;
        }
    }
}

/// Parsed form of a latest key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecodedKey {
    pub branch: BranchId,
    pub space: String,
    pub tag: PrimitiveTag,
    pub key: Vec<u8>,
}

/// Parses a latest key back into its parts.
pub(crate) fn decode_latest_key(k: &[u8]) -> Option<DecodedKey> {
    let branch_bytes: [u8; 8] = k.get(..8)?.try_into().ok()?;
    let (space, pos) = unescape(k, 8)?;
    let tag = *k.get(pos)?;
    let (key, end) = unescape(k, pos + 1)?;
    if end != k.len() {
        return None;
    }
    Some(DecodedKey {
        branch: BranchId(u64::from_be_bytes(branch_bytes)),
        space: String::from_utf8(space).ok()?,
        tag: PrimitiveTag(tag),
        key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn order_and_prefix_preserved(a in proptest::collection::vec(any::<u8>(), 0..8),
                                      b in proptest::collection::vec(any::<u8>(), 0..8)) {
            let ka = latest_key(BranchId(1), "s", PrimitiveTag(1), &a);
            let kb = latest_key(BranchId(1), "s", PrimitiveTag(1), &b);
            prop_assert_eq!(a.cmp(&b), ka.cmp(&kb));
            if b.starts_with(&a) {
                prop_assert!(kb.starts_with(&user_prefix(BranchId(1), "s", PrimitiveTag(1), &a)));
            }
            let d = decode_latest_key(&ka).expect("decodes");
            prop_assert_eq!(d.key, a);
        }
    }

    #[test]
    fn versions_sort_newest_first() {
        let l = latest_key(BranchId(1), "default", PrimitiveTag(1), b"k");
        let h5 = history_key(&l, CommitVersion(5));
        let h9 = history_key(&l, CommitVersion(9));
        assert!(h9 < h5);
        assert_eq!(split_history_key(&h9), Some((&l[..], CommitVersion(9))));
    }
}
