//! The mapped journal: how a commit on disk survives a crash of the process without a
//! system call per commit.
//!
//! fjall's own journal is written through a buffer in the process; with
//! [`Durability::Standard`](crate::Durability::Standard) fjall used to hand that buffer
//! to the operating system after every batch, one `write` call per commit (about 1 µs
//! of a 3.4 µs `kv_put` from Python, measured with `perf`). Now fjall keeps its buffer
//! (it still writes it out every 8 KiB) and every batch is also copied into this file,
//! which is mapped into memory shared with the page cache: once the copy is done the
//! bytes belong to the kernel, so a `kill -9` right after the commit returns cannot
//! lose them, like LMDB's writable map. A power loss can, as it could before
//! (`Durability::Always` fsyncs instead and does not use this file).
//!
//! # Layout of `commits.journal`
//!
//! A 4 MiB file: a 64-byte header (`MAGIC`, the current epoch as a `u64`, the boot id
//! of the running kernel, 36 bytes), then records, each `payload len u32 | crc32 u32 | epoch u64 | payload`, all little
//! endian; the crc covers the length, the epoch and the payload. A payload is the
//! batch's operations: `op u8` (keyspace in the low bits, `0x80` for a removal), key
//! length varint, key, and for an insert the value length varint and value.
//!
//! # Why replay is safe
//!
//! - Records are appended under one lock, in the order their batches were applied to
//!   fjall, and a record is written after its batch succeeded, so only applied
//!   batches are in the file; the crc is written last, so a record the process died
//!   while copying fails its check and ends the scan.
//! - The file is trusted only within the boot that wrote it. Until the machine
//!   restarts, the page cache holds every byte copied into the map, whatever reached
//!   the disk, so the records are exactly the batches since the last reset. After a
//!   power loss or a kernel crash the disk may hold any mix of old and new pages,
//!   and records replayed from such a mix could take keys back to older values over
//!   what fjall had synced; so a journal written under another boot id is ignored
//!   and fjall's own recovery (a consistent prefix of the commits) stands, which is
//!   all `Standard` promises for a power loss. Without a boot id (not Linux) the
//!   journal is not used and fjall writes its buffer out per commit as before.
//! - Opening replays every valid record of the current epoch, in order, as one fjall
//!   batch each. The batches that fjall had kept as well are applied a second time,
//!   which changes nothing: each inserts or removes fixed bytes under fixed keys, and
//!   replaying the same sequence in the same order ends in the same state.
//! - The file is emptied (`reset`: the epoch goes up, which invalidates every older
//!   record at once) only after fjall's buffer was handed to the operating system,
//!   so everything the old records held is in fjall's journal by then. A batch too
//!   large for the file resets it first, is applied, and then has fjall's buffer
//!   written out before it returns; no later record can be replayed across it.

use crate::error::{Result, StorageError};
use std::fs::{File, OpenOptions};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// The journal's file name inside the database directory.
pub(crate) const FILE: &str = "commits.journal";
/// Size of the file: about 20k small commits between resets.
const CAPACITY: usize = 4 << 20;
const MAGIC: &[u8; 8] = b"STRJRNL1";
/// Bytes before the first record (magic, epoch, room to grow).
const HEADER: usize = 64;
/// `payload len u32 | crc32 u32 | epoch u64`.
const RECORD_HEADER: usize = 16;
/// Batches with a larger payload are not copied here (see the module docs).
pub(crate) const MAX_PAYLOAD: usize = CAPACITY / 4;
/// Where the boot id is kept in the header, and its length.
const BOOT_AT: usize = 16;
const BOOT_LEN: usize = 36;

/// The running kernel's boot id (`/proc/sys/kernel/random/boot_id`), which changes at
/// every restart of the machine; `None` where there is none, and then the journal is
/// not used (see the module docs).
pub(crate) fn boot_id() -> Option<[u8; BOOT_LEN]> {
    let text = std::fs::read("/proc/sys/kernel/random/boot_id").ok()?;
    text.get(..BOOT_LEN)?.try_into().ok()
}

/// What [`read_records`] found.
pub(crate) struct Recovered {
    /// The epoch of the file (0 if there was none); a new journal starts after it.
    pub epoch: u64,
    /// The payloads to apply again, oldest first: the valid records of that epoch,
    /// when the file was written under the running boot, else none.
    pub records: Vec<Vec<u8>>,
    /// The file was written under another boot: its contents (any mix of old pages)
    /// must be erased before the journal is used again.
    pub foreign: bool,
}

/// Which keyspace an operation touches, as the journal records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum KeyspaceKind {
    /// History records (`data`).
    Data = 0,
    /// Latest records and the change log (`latest`).
    Latest = 1,
    /// Catalog, statistics, head (`meta`).
    Meta = 2,
}

impl KeyspaceKind {
    fn from_op(op: u8) -> Option<KeyspaceKind> {
        match op & 0x7F {
            0 => Some(KeyspaceKind::Data),
            1 => Some(KeyspaceKind::Latest),
            2 => Some(KeyspaceKind::Meta),
            _ => None,
        }
    }
}

/// The operations of one batch, encoded for the journal while they are added to the
/// fjall batch (see `engine::WriteSet`). Cost: one copy of every key and value.
#[derive(Default)]
pub(crate) struct JournalOps {
    bytes: Vec<u8>,
    /// Set once the payload passed [`MAX_PAYLOAD`]: nothing more is recorded.
    oversized: bool,
}

impl JournalOps {
    /// An empty payload with room for a small commit's operations (growing the buffer
    /// from empty was ~2% of a put).
    pub(crate) fn new() -> JournalOps {
        JournalOps {
            bytes: Vec::with_capacity(256),
            oversized: false,
        }
    }

    /// Records an insert of `value` under `key`.
    pub(crate) fn insert(&mut self, ks: KeyspaceKind, key: &[u8], value: &[u8]) {
        if self.reserve(key.len() + value.len()) {
            self.bytes.push(ks as u8);
            crate::varint::write(&mut self.bytes, key.len() as u64);
            self.bytes.extend_from_slice(key);
            crate::varint::write(&mut self.bytes, value.len() as u64);
            self.bytes.extend_from_slice(value);
        }
    }

    /// Records the removal of `key`.
    pub(crate) fn remove(&mut self, ks: KeyspaceKind, key: &[u8]) {
        if self.reserve(key.len()) {
            self.bytes.push(ks as u8 | 0x80);
            crate::varint::write(&mut self.bytes, key.len() as u64);
            self.bytes.extend_from_slice(key);
        }
    }

    fn reserve(&mut self, n: usize) -> bool {
        if !self.oversized && self.bytes.len() + n + 21 > MAX_PAYLOAD {
            self.oversized = true;
            self.bytes = Vec::new();
        }
        !self.oversized
    }

    /// The payload, or `None` if the batch is too large for the journal.
    pub(crate) fn payload(&self) -> Option<&[u8]> {
        (!self.oversized).then_some(self.bytes.as_slice())
    }
}

/// One decoded operation of a payload: keyspace, key, and the value inserted (`None`
/// for a removal), as the deferred commits hold them too.
pub(crate) type JournalOp<'a> = (KeyspaceKind, &'a [u8], Option<&'a [u8]>);

/// Decodes a payload written by [`JournalOps`].
pub(crate) fn decode_ops(mut b: &[u8]) -> Result<Vec<JournalOp<'_>>> {
    let bad = || StorageError::corrupt("commit journal", "malformed record");
    let mut ops = Vec::new();
    while let Some((&op, rest)) = b.split_first() {
        b = rest;
        let ks = KeyspaceKind::from_op(op).ok_or_else(bad)?;
        let key = take(&mut b).ok_or_else(bad)?;
        let value = if op & 0x80 != 0 {
            None
        } else {
            Some(take(&mut b).ok_or_else(bad)?)
        };
        ops.push((ks, key, value));
    }
    Ok(ops)
}

fn take<'a>(b: &mut &'a [u8]) -> Option<&'a [u8]> {
    let n = usize::try_from(crate::varint::read(b)?).ok()?;
    if n > b.len() {
        return None;
    }
    let (head, rest) = b.split_at(n);
    *b = rest;
    Some(head)
}

fn record_crc(len: u32, epoch: u64, payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&len.to_le_bytes());
    h.update(&epoch.to_le_bytes());
    h.update(payload);
    h.finalize()
}

/// Reads the journal at `path` (nothing if it does not exist): its epoch and, if the
/// running boot (`boot`) wrote it, its valid records, oldest first. A record that
/// fails its check ends the list (the process died while writing it; see the module
/// docs). Cost: one read of the file (4 MiB).
pub(crate) fn read_records(path: &Path, boot: &[u8; BOOT_LEN]) -> Result<Recovered> {
    let nothing = Recovered {
        epoch: 0,
        records: Vec::new(),
        foreign: false,
    };
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(nothing),
        Err(e) => return Err(e.into()),
    };
    if bytes.len() < HEADER || &bytes[..8] != MAGIC {
        // Created but never written: no record can have been acknowledged.
        if bytes.iter().all(|&b| b == 0) {
            return Ok(nothing);
        }
        return Err(StorageError::corrupt(
            format!("commit journal {}", path.display()),
            "not a StrataDB journal",
        ));
    }
    let epoch = u64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes"));
    let mut records = Vec::new();
    if bytes[BOOT_AT..BOOT_AT + BOOT_LEN] != boot[..] {
        return Ok(Recovered {
            epoch,
            records,
            foreign: true,
        });
    }
    let mut at = HEADER;
    while at + RECORD_HEADER <= bytes.len() {
        let field = |o: usize, n: usize| &bytes[at + o..at + o + n];
        let len = u32::from_le_bytes(field(0, 4).try_into().expect("4 bytes"));
        let crc = u32::from_le_bytes(field(4, 4).try_into().expect("4 bytes"));
        let rec_epoch = u64::from_le_bytes(field(8, 8).try_into().expect("8 bytes"));
        let end = at + RECORD_HEADER + len as usize;
        if rec_epoch != epoch || end > bytes.len() {
            break;
        }
        let payload = &bytes[at + RECORD_HEADER..end];
        if record_crc(len, epoch, payload) != crc {
            break;
        }
        records.push(payload.to_vec());
        at = end;
    }
    Ok(Recovered {
        epoch,
        records,
        foreign: false,
    })
}

/// The journal file, mapped for writing. Owned by the engine under one lock.
pub(crate) struct MappedJournal {
    map: memmap2::MmapMut,
    _file: File,
    epoch: u64,
    /// Where the next record goes.
    at: usize,
}

impl MappedJournal {
    /// Creates (or takes over) the journal at `path` and starts it empty, in an epoch
    /// after the one `found` ([`read_records`]) names, whose records must already be
    /// applied and handed to the operating system, under boot id `boot`. A file from
    /// another boot is erased first: its records could carry any epoch, and none may
    /// be read again. Cost: a file of 4 MiB (sparse) and one `mmap`.
    pub(crate) fn open(
        path: &Path,
        found: &Recovered,
        boot: &[u8; BOOT_LEN],
    ) -> Result<MappedJournal> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(found.foreign)
            .open(path)?;
        let epoch = if found.foreign { 0 } else { found.epoch };
        if file.metadata()?.len() != CAPACITY as u64 {
            file.set_len(CAPACITY as u64)?;
        }
        #[allow(unsafe_code)]
        // SAFETY: the mapping is only ever changed through this struct, which the
        // engine keeps behind a lock, and nothing else writes the file: fjall's lock
        // file keeps other processes out of the directory, and the engine opens a
        // directory once per process (the registry in `engine.rs`). If the file were
        // shortened behind our back, access would fault; it is never truncated.
        let map = unsafe { memmap2::MmapMut::map_mut(&file)? };
        let mut j = MappedJournal {
            map,
            _file: file,
            epoch,
            at: HEADER,
        };
        // The magic first, then the boot id: a process killed in between leaves a
        // header with the magic and the old (or, in an erased file, no) boot id, which
        // the next open treats as foreign and erases. The other order would leave
        // bytes without the magic, which reading refuses as not a journal.
        j.map[..8].copy_from_slice(MAGIC);
        std::sync::atomic::compiler_fence(Ordering::SeqCst);
        j.map[BOOT_AT..BOOT_AT + BOOT_LEN].copy_from_slice(boot);
        j.reset();
        Ok(j)
    }

    fn epoch_cell(&self) -> &AtomicU64 {
        let ptr = self.map[8..16].as_ptr().cast::<AtomicU64>();
        #[allow(unsafe_code)]
        // SAFETY: bytes 8..16 of the mapping are in bounds, 8-byte aligned (a mapping
        // starts on a page) and only accessed through this cell while mapped; the cell
        // makes the epoch's store a single 8-byte write, never a torn one.
        unsafe {
            &*ptr
        }
    }

    /// Whether a record of `payload_len` bytes fits before the end of the file.
    pub(crate) fn fits(&self, payload_len: usize) -> bool {
        self.at + RECORD_HEADER + payload_len <= CAPACITY
    }

    /// Empties the journal: a new epoch, so every record written so far stops being
    /// valid at once. Only correct once fjall's journal buffer has been handed to the
    /// operating system (see the module docs). Cost: one 8-byte store.
    pub(crate) fn reset(&mut self) {
        self.epoch += 1;
        self.epoch_cell().store(self.epoch, Ordering::Release);
        self.at = HEADER;
    }

    /// Appends one record (the caller checked [`fits`](Self::fits)). Cost: a copy of
    /// the payload and its crc.
    pub(crate) fn append(&mut self, payload: &[u8]) {
        let at = self.at;
        let len = payload.len() as u32;
        let end = at + RECORD_HEADER + payload.len();
        debug_assert!(end <= CAPACITY);
        self.map[at + RECORD_HEADER..end].copy_from_slice(payload);
        self.map[at + 8..at + 16].copy_from_slice(&self.epoch.to_le_bytes());
        self.map[at..at + 4].copy_from_slice(&len.to_le_bytes());
        // The check last: a record is valid only once every byte before it is written
        // (kept in this order by the compiler; the processor retires stores in order).
        std::sync::atomic::compiler_fence(Ordering::SeqCst);
        let crc = record_crc(len, self.epoch, payload);
        self.map[at + 4..at + 8].copy_from_slice(&crc.to_le_bytes());
        self.at = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOOT: &[u8; BOOT_LEN] = b"00000000-1111-2222-3333-444444444444";

    fn records(path: &Path) -> Vec<Vec<u8>> {
        read_records(path, BOOT).expect("read").records
    }

    fn ops(n: u8) -> Vec<u8> {
        let mut o = JournalOps::default();
        o.insert(KeyspaceKind::Latest, &[n], b"value");
        o.remove(KeyspaceKind::Data, &[n, n]);
        o.payload().expect("small").to_vec()
    }

    #[test]
    fn records_round_trip_and_reset_invalidates_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(FILE);
        assert_eq!(records(&path).len(), 0);
        let mut j = MappedJournal::open(&path, &read_records(&path, BOOT).expect("read"), BOOT)
            .expect("open");
        j.append(&ops(1));
        j.append(&ops(2));
        let found = read_records(&path, BOOT).expect("read");
        assert_eq!(found.epoch, 1);
        let recs = found.records;
        assert_eq!(recs, vec![ops(1), ops(2)]);
        // Written under another boot: the epoch counts, the records do not.
        let other = read_records(&path, &[b'x'; BOOT_LEN]).expect("read");
        assert_eq!(
            (other.epoch, other.records.len(), other.foreign),
            (1, 0, true)
        );
        let decoded = decode_ops(&recs[1]).expect("decode");
        assert_eq!(
            decoded,
            vec![
                (KeyspaceKind::Latest, &[2u8][..], Some(&b"value"[..])),
                (KeyspaceKind::Data, &[2u8, 2][..], None),
            ]
        );
        j.reset();
        assert_eq!(records(&path).len(), 0);
        // A record written after the reset, over the old ones: only it is read.
        j.append(&ops(3));
        assert_eq!(records(&path), vec![ops(3)]);
        drop(j);
        // Reopening starts an epoch after the one read.
        let found = read_records(&path, BOOT).expect("read");
        assert_eq!(found.epoch, 2);
        let j = MappedJournal::open(&path, &found, BOOT).expect("reopen");
        assert_eq!(j.epoch, 3);
        assert_eq!(records(&path).len(), 0);
        drop(j);
    }

    #[test]
    fn a_header_written_halfway_is_foreign_not_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(FILE);
        // What a kill between the magic and the boot id leaves in an erased file.
        let mut bytes = vec![0u8; CAPACITY];
        bytes[..8].copy_from_slice(MAGIC);
        std::fs::write(&path, &bytes).expect("write");
        let found = read_records(&path, BOOT).expect("a journal, not an error");
        assert!(found.foreign && found.records.is_empty());
        let j = MappedJournal::open(&path, &found, BOOT).expect("open");
        drop(j);
        assert_eq!(read_records(&path, BOOT).expect("read").epoch, 1);
    }

    #[test]
    fn a_journal_from_another_boot_is_erased_not_replayed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(FILE);
        let other: &[u8; BOOT_LEN] = b"99999999-1111-2222-3333-444444444444";
        let mut j = MappedJournal::open(&path, &read_records(&path, other).expect("read"), other)
            .expect("open");
        // Records of epochs the header no longer names, as a power loss can leave.
        j.append(&ops(1));
        j.reset();
        j.append(&ops(2));
        drop(j);
        let mut bytes = std::fs::read(&path).expect("read");
        bytes[8..16].copy_from_slice(&1u64.to_le_bytes());
        std::fs::write(&path, &bytes).expect("write");
        let found = read_records(&path, BOOT).expect("read");
        assert!(found.foreign && found.records.is_empty());
        let j = MappedJournal::open(&path, &found, BOOT).expect("open");
        // The new journal counts epochs from 1 again: the erase removed every old
        // record, whatever epoch it carried.
        assert!(j.map[HEADER..].iter().all(|&b| b == 0));
        assert_eq!(records(&path).len(), 0);
    }

    #[test]
    fn a_torn_record_ends_the_scan() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(FILE);
        let mut j = MappedJournal::open(&path, &read_records(&path, BOOT).expect("read"), BOOT)
            .expect("open");
        j.append(&ops(1));
        let second = j.at;
        j.append(&ops(2));
        j.append(&ops(3));
        drop(j);
        // Damage the second record's payload: the first is still read, nothing after.
        let mut bytes = std::fs::read(&path).expect("read");
        bytes[second + RECORD_HEADER] ^= 0xFF;
        std::fs::write(&path, &bytes).expect("write");
        assert_eq!(records(&path), vec![ops(1)]);
        // A header that is not ours is an error, an all-zero file is empty.
        std::fs::write(
            &path,
            b"something else entirely, and long enough to be a header......",
        )
        .expect("write");
        assert!(read_records(&path, BOOT).is_err());
        std::fs::write(&path, vec![0u8; 4096]).expect("write");
        assert_eq!(records(&path).len(), 0);
    }

    #[test]
    fn oversized_batches_are_not_recorded() {
        let mut o = JournalOps::default();
        let big = vec![7u8; MAX_PAYLOAD / 2];
        o.insert(KeyspaceKind::Data, b"a", &big);
        assert!(o.payload().is_some());
        o.insert(KeyspaceKind::Data, b"b", &big);
        assert!(o.payload().is_none());
        o.remove(KeyspaceKind::Data, b"c");
        assert!(o.payload().is_none());
    }

    #[test]
    fn malformed_payloads_are_errors() {
        assert!(decode_ops(&[9, 1, 0]).is_err());
        assert!(decode_ops(&[1, 5, 0]).is_err());
        assert!(decode_ops(&[]).expect("empty").is_empty());
    }
}
