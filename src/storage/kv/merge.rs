//! Merging sorted sources: the newest version of each key wins.

use std::ops::Bound;
use std::sync::Arc;

use super::memtable::{Entry, MemTable};
use crate::storage::Result;

/// A sorted source of entries.
pub(crate) type Source = Box<dyn Iterator<Item = Result<Entry>> + Send>;

/// Walks an immutable memtable lazily by re-seeking after the last key returned.
pub(crate) struct MemSource {
    mem: Arc<MemTable>,
    next_start: Bound<Vec<u8>>,
    end: Bound<Vec<u8>>,
}

impl MemSource {
    /// Entries of `mem` within the bounds.
    pub(crate) fn new(mem: Arc<MemTable>, start: Bound<Vec<u8>>, end: Bound<Vec<u8>>) -> Self {
        MemSource {
            mem,
            next_start: start,
            end,
        }
    }
}

impl Iterator for MemSource {
    type Item = Result<Entry>;

    fn next(&mut self) -> Option<Self::Item> {
        let entry = self.mem.first_in(
            self.next_start.as_ref().map(Vec::as_slice),
            self.end.as_ref().map(Vec::as_slice),
        )?;
        self.next_start = Bound::Excluded(entry.0.clone());
        Some(Ok(entry))
    }
}

/// Merges sources given newest first. Each key appears once, with the value of the newest
/// source holding it; tombstones are dropped when `hide_tombstones` is set.
pub(crate) struct MergeIter {
    sources: Vec<Source>,
    heads: Vec<Option<Entry>>,
    started: bool,
    finished: bool,
    hide_tombstones: bool,
    /// An error met while advancing past an entry already chosen; reported next.
    pending: Option<crate::storage::StorageError>,
}

impl MergeIter {
    /// Merges `sources` (index 0 is the newest).
    pub(crate) fn new(sources: Vec<Source>, hide_tombstones: bool) -> Self {
        let heads = sources.iter().map(|_| None).collect();
        MergeIter {
            sources,
            heads,
            started: false,
            finished: false,
            hide_tombstones,
            pending: None,
        }
    }

    fn refill(&mut self, i: usize) -> Result<()> {
        let next = match self.sources.get_mut(i).and_then(Iterator::next) {
            Some(r) => Some(r?),
            None => None,
        };
        if let Some(head) = self.heads.get_mut(i) {
            *head = next;
        }
        Ok(())
    }

    fn step(&mut self) -> Result<Option<Entry>> {
        if !self.started {
            self.started = true;
            for i in 0..self.sources.len() {
                self.refill(i)?;
            }
        }
        loop {
            let mut winner: Option<usize> = None;
            for (i, head) in self.heads.iter().enumerate() {
                if let Some((k, _)) = head {
                    let better = match winner
                        .and_then(|w| self.heads.get(w))
                        .and_then(Option::as_ref)
                    {
                        Some((wk, _)) => k < wk,
                        None => true,
                    };
                    if better {
                        winner = Some(i);
                    }
                }
            }
            let Some(w) = winner else {
                return Ok(None);
            };
            let Some(entry) = self.heads.get_mut(w).and_then(Option::take) else {
                return Ok(None);
            };
            let mut advanced = self.refill(w);
            for i in 0..self.heads.len() {
                let same = self
                    .heads
                    .get(i)
                    .and_then(Option::as_ref)
                    .is_some_and(|(k, _)| *k == entry.0);
                if same && advanced.is_ok() {
                    advanced = self.refill(i);
                }
            }
            if let Err(e) = advanced {
                if entry.1.is_none() && self.hide_tombstones {
                    return Err(e);
                }
                self.pending = Some(e);
                return Ok(Some(entry));
            }
            if entry.1.is_none() && self.hide_tombstones {
                continue;
            }
            return Ok(Some(entry));
        }
    }
}

impl Iterator for MergeIter {
    type Item = Result<Entry>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        if let Some(e) = self.pending.take() {
            self.finished = true;
            return Some(Err(e));
        }
        match self.step() {
            Ok(Some(e)) => Some(Ok(e)),
            Ok(None) => {
                self.finished = true;
                None
            }
            Err(e) => {
                self.finished = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(entries: &[(&str, Option<&str>)]) -> Source {
        let v: Vec<Result<Entry>> = entries
            .iter()
            .map(|(k, v)| Ok((k.as_bytes().to_vec(), v.map(|s| s.as_bytes().to_vec()))))
            .collect();
        Box::new(v.into_iter())
    }

    #[test]
    fn newest_wins_and_tombstones_hide() {
        let newest = src(&[("a", Some("new")), ("c", None)]);
        let older = src(&[("a", Some("old")), ("b", Some("b")), ("c", Some("c"))]);
        let out: Vec<Entry> = MergeIter::new(vec![newest, older], true)
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(
            out,
            vec![
                (b"a".to_vec(), Some(b"new".to_vec())),
                (b"b".to_vec(), Some(b"b".to_vec()))
            ]
        );
        let newest = src(&[("c", None)]);
        let older = src(&[("c", Some("c"))]);
        let out: Vec<Entry> = MergeIter::new(vec![newest, older], false)
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(out, vec![(b"c".to_vec(), None)]);
    }

    #[test]
    fn an_error_ends_the_merge() {
        let bad: Source = Box::new(
            vec![
                Ok((b"a".to_vec(), Some(b"1".to_vec()))),
                Err(crate::storage::StorageError::StateCorrupted("x".into())),
            ]
            .into_iter(),
        );
        let out: Vec<_> = MergeIter::new(vec![bad], true).collect();
        assert_eq!(out.len(), 2);
        assert!(out[1].is_err());
    }

    #[test]
    fn mem_source_walks_in_order() {
        let mut m = MemTable::new();
        for k in ["d", "a", "c", "b"] {
            m.put(k.as_bytes(), b"v");
        }
        let keys: Vec<Vec<u8>> = MemSource::new(
            Arc::new(m),
            Bound::Excluded(b"a".to_vec()),
            Bound::Included(b"c".to_vec()),
        )
        .map(|r| r.unwrap().0)
        .collect();
        assert_eq!(keys, vec![b"b".to_vec(), b"c".to_vec()]);
    }
}
