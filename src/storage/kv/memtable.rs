//! The memtable: the newest writes, sorted in memory, deletes kept as tombstones.

use std::collections::BTreeMap;
use std::ops::Bound;

/// Bytes charged per entry on top of its key and value (map node and bookkeeping).
const ENTRY_OVERHEAD: u64 = 32;

/// One versioned entry as the merge machinery sees it: a key and its value, `None` being a
/// tombstone.
pub type Entry = (Vec<u8>, Option<Vec<u8>>);

/// Whether a range with these bounds is empty for certain (`BTreeMap::range` panics on
/// such bounds, so they are checked first).
pub(crate) fn bounds_empty(start: Bound<&[u8]>, end: Bound<&[u8]>) -> bool {
    match (start, end) {
        (Bound::Included(s), Bound::Included(e)) => s > e,
        (Bound::Included(s), Bound::Excluded(e))
        | (Bound::Excluded(s), Bound::Included(e))
        | (Bound::Excluded(s), Bound::Excluded(e)) => s >= e,
        _ => false,
    }
}

/// Whether `key` lies at or after `start`.
pub(crate) fn after_start(key: &[u8], start: Bound<&[u8]>) -> bool {
    match start {
        Bound::Included(s) => key >= s,
        Bound::Excluded(s) => key > s,
        Bound::Unbounded => true,
    }
}

/// Whether `key` lies at or before `end`.
pub(crate) fn before_end(key: &[u8], end: Bound<&[u8]>) -> bool {
    match end {
        Bound::Included(e) => key <= e,
        Bound::Excluded(e) => key < e,
        Bound::Unbounded => true,
    }
}

/// A sorted in-memory table with size accounting.
#[derive(Debug, Default, Clone)]
pub struct MemTable {
    map: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    size: u64,
    /// Offset of the newest write-ahead log record applied, if any.
    max_seq: Option<u64>,
}

fn charge(key: &[u8], value: &Option<Vec<u8>>) -> u64 {
    key.len() as u64 + value.as_ref().map_or(0, |v| v.len() as u64) + ENTRY_OVERHEAD
}

impl MemTable {
    /// An empty table.
    pub fn new() -> Self {
        MemTable::default()
    }

    fn insert(&mut self, key: Vec<u8>, value: Option<Vec<u8>>) {
        self.size += charge(&key, &value);
        if let Some(old) = self.map.get(&key) {
            self.size = self.size.saturating_sub(charge(&key, old));
        }
        self.map.insert(key, value);
    }

    /// Sets `key` to `value`.
    pub fn put(&mut self, key: &[u8], value: &[u8]) {
        self.insert(key.to_vec(), Some(value.to_vec()));
    }

    /// Marks `key` deleted (a tombstone that hides older values in tables below).
    pub fn delete(&mut self, key: &[u8]) {
        self.insert(key.to_vec(), None);
    }

    /// `None` when the table knows nothing of `key`, `Some(None)` for a tombstone.
    pub fn get(&self, key: &[u8]) -> Option<Option<&[u8]>> {
        self.map.get(key).map(|v| v.as_deref())
    }

    /// Approximate bytes held.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Number of entries, tombstones included.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the table holds no entry.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Records that the write-ahead log record `seq` is applied.
    pub fn set_max_seq(&mut self, seq: u64) {
        self.max_seq = Some(self.max_seq.map_or(seq, |m| m.max(seq)));
    }

    /// Offset of the newest write-ahead log record applied.
    pub fn max_seq(&self) -> Option<u64> {
        self.max_seq
    }

    /// Every entry in key order, tombstones included.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], Option<&[u8]>)> + '_ {
        self.map.iter().map(|(k, v)| (k.as_slice(), v.as_deref()))
    }

    /// Copies of the entries within the bounds, in key order.
    pub fn range_entries(&self, start: Bound<&[u8]>, end: Bound<&[u8]>) -> Vec<Entry> {
        if bounds_empty(start, end) {
            return Vec::new();
        }
        self.map
            .range::<[u8], _>((start, end))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The first entry within the bounds.
    pub fn first_in(&self, start: Bound<&[u8]>, end: Bound<&[u8]>) -> Option<Entry> {
        if bounds_empty(start, end) {
            return None;
        }
        self.map
            .range::<[u8], _>((start, end))
            .next()
            .map(|(k, v)| (k.clone(), v.clone()))
    }

    /// Drops every entry.
    pub fn clear(&mut self) {
        self.map.clear();
        self.size = 0;
        self.max_seq = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_delete_and_size() {
        let mut m = MemTable::new();
        m.put(b"b", b"2");
        m.put(b"a", b"1");
        assert_eq!(m.get(b"a"), Some(Some(&b"1"[..])));
        assert_eq!(m.size(), 2 * (2 + ENTRY_OVERHEAD));
        m.put(b"a", b"longer");
        assert_eq!(m.size(), (2 + ENTRY_OVERHEAD) + (7 + ENTRY_OVERHEAD));
        m.delete(b"a");
        assert_eq!(m.get(b"a"), Some(None));
        assert_eq!(m.get(b"zz"), None);
        let keys: Vec<_> = m.iter().map(|(k, _)| k.to_vec()).collect();
        assert_eq!(keys, vec![b"a".to_vec(), b"b".to_vec()]);
        m.clear();
        assert!(m.is_empty());
        assert_eq!(m.size(), 0);
    }

    #[test]
    fn ranges_never_panic_on_inverted_bounds() {
        let mut m = MemTable::new();
        for k in [b"a", b"b", b"c"] {
            m.put(k, k);
        }
        assert!(m
            .range_entries(Bound::Excluded(b"b"), Bound::Excluded(b"b"))
            .is_empty());
        assert!(m
            .range_entries(Bound::Included(b"c"), Bound::Included(b"a"))
            .is_empty());
        assert_eq!(
            m.range_entries(Bound::Excluded(b"a"), Bound::Unbounded)
                .len(),
            2
        );
        assert_eq!(
            m.first_in(Bound::Excluded(b"a"), Bound::Included(b"c")),
            Some((b"b".to_vec(), Some(b"b".to_vec())))
        );
    }
}
