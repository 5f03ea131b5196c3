//! Choosing what to compact: the seed's leveled, size-tiered and time-window strategies.
//!
//! Tables are read newest first in the order (level ascending, newest write first). A
//! compaction only merges tables that are adjacent in that order, so its output can take
//! their place without changing which version of a key is newest. Tombstones are dropped
//! only when no table older than the inputs remains.

use super::config::{CompactionConfig, CompactionStrategy};

/// The outcome of a compaction run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompactionResult {
    /// Entries written to the output tables.
    pub merged_entries: u64,
    /// Input tables merged (and deleted).
    pub input_tables: usize,
    /// Bytes of the output tables.
    pub output_size: u64,
}

impl CompactionResult {
    /// Adds another run's numbers to these.
    pub fn absorb(&mut self, other: CompactionResult) {
        self.merged_entries += other.merged_entries;
        self.input_tables += other.input_tables;
        self.output_size += other.output_size;
    }
}

/// What the planner needs to know of a live table.
#[derive(Debug, Clone)]
pub(crate) struct TableView<'a> {
    pub id: u64,
    pub level: u32,
    pub max_seq: u64,
    pub created_ms: u64,
    pub size: u64,
    pub first_key: &'a [u8],
    pub last_key: &'a [u8],
}

/// A chosen compaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Ids of the input tables.
    pub inputs: Vec<u64>,
    /// Level of the outputs.
    pub output_level: u32,
    /// Whether tombstones are dropped (no older table remains outside the inputs).
    pub drop_tombstones: bool,
    /// Split outputs at about this many bytes.
    pub split_bytes: Option<u64>,
}

/// Most tables merged by one size-tiered or time-window compaction.
const MAX_MERGE: usize = 32;

fn overlaps(t: &TableView<'_>, lo: &[u8], hi: &[u8]) -> bool {
    t.first_key <= hi && t.last_key >= lo
}

/// The next compaction the strategy wants, if any.
pub(crate) fn pick(cfg: &CompactionConfig, tables: &[TableView<'_>], now_ms: u64) -> Option<Plan> {
    match cfg.strategy {
        CompactionStrategy::Leveled => pick_leveled(cfg, tables),
        CompactionStrategy::SizeTiered => pick_tiered(cfg, tables),
        CompactionStrategy::TimeWindow => pick_time_window(cfg, tables, now_ms),
    }
}

/// A compaction of every table into one sorted run at the bottom, dropping tombstones.
pub(crate) fn full(cfg: &CompactionConfig, tables: &[TableView<'_>]) -> Option<Plan> {
    if tables.is_empty() {
        return None;
    }
    let (output_level, split_bytes) = match cfg.strategy {
        CompactionStrategy::Leveled => {
            let deepest = tables.iter().map(|t| t.level).max().unwrap_or(0);
            let bottom = cfg.max_levels.saturating_sub(1).max(1);
            (deepest.clamp(1, bottom), Some(cfg.target_table_bytes))
        }
        _ => (0, None),
    };
    Some(Plan {
        inputs: tables.iter().map(|t| t.id).collect(),
        output_level,
        drop_tombstones: true,
        split_bytes,
    })
}

fn level_bytes(tables: &[TableView<'_>], level: u32) -> u64 {
    tables
        .iter()
        .filter(|t| t.level == level)
        .map(|t| t.size)
        .sum()
}

fn pick_leveled(cfg: &CompactionConfig, tables: &[TableView<'_>]) -> Option<Plan> {
    let deeper_than = |level: u32, inputs: &[u64]| {
        tables
            .iter()
            .any(|t| t.level > level && !inputs.contains(&t.id))
    };
    let l0: Vec<&TableView<'_>> = tables.iter().filter(|t| t.level == 0).collect();
    if !l0.is_empty() && l0.len() >= cfg.level0_trigger.max(1) {
        let lo = l0.iter().map(|t| t.first_key).min().unwrap_or_default();
        let hi = l0.iter().map(|t| t.last_key).max().unwrap_or_default();
        let mut inputs: Vec<u64> = l0.iter().map(|t| t.id).collect();
        inputs.extend(
            tables
                .iter()
                .filter(|t| t.level == 1 && overlaps(t, lo, hi))
                .map(|t| t.id),
        );
        let drop_tombstones = !deeper_than(1, &inputs);
        return Some(Plan {
            inputs,
            output_level: 1,
            drop_tombstones,
            split_bytes: Some(cfg.target_table_bytes),
        });
    }
    let ratio = cfg.size_ratio.max(2);
    let mut budget = cfg.level1_bytes.max(1);
    for level in 1..cfg.max_levels.saturating_sub(1) {
        if level_bytes(tables, level) > budget {
            let victim = tables
                .iter()
                .filter(|t| t.level == level)
                .min_by_key(|t| (t.max_seq, t.id))?;
            let mut inputs = vec![victim.id];
            inputs.extend(
                tables
                    .iter()
                    .filter(|t| {
                        t.level == level + 1 && overlaps(t, victim.first_key, victim.last_key)
                    })
                    .map(|t| t.id),
            );
            let drop_tombstones = !deeper_than(level + 1, &inputs);
            return Some(Plan {
                inputs,
                output_level: level + 1,
                drop_tombstones,
                split_bytes: Some(cfg.target_table_bytes),
            });
        }
        budget = budget.saturating_mul(ratio);
    }
    None
}

/// Level-0 tables oldest first, and whether tables exist below level 0.
fn level0_oldest_first<'a, 'b>(tables: &'b [TableView<'a>]) -> (Vec<&'b TableView<'a>>, bool) {
    let mut l0: Vec<&TableView<'_>> = tables.iter().filter(|t| t.level == 0).collect();
    l0.sort_by_key(|t| (t.max_seq, t.id));
    let deeper = tables.iter().any(|t| t.level > 0);
    (l0, deeper)
}

fn run_plan(run: &[&TableView<'_>], starts_at_oldest: bool, deeper: bool) -> Plan {
    Plan {
        inputs: run.iter().map(|t| t.id).collect(),
        output_level: 0,
        drop_tombstones: starts_at_oldest && !deeper,
        split_bytes: None,
    }
}

fn pick_tiered(cfg: &CompactionConfig, tables: &[TableView<'_>]) -> Option<Plan> {
    let (l0, deeper) = level0_oldest_first(tables);
    let min = cfg.min_merge_tables.max(2);
    let ratio = cfg.size_ratio.max(1);
    for i in 0..l0.len() {
        let mut lo = u64::MAX;
        let mut hi = 0u64;
        let mut j = i;
        while let Some(t) = l0.get(j) {
            let (nlo, nhi) = (lo.min(t.size.max(1)), hi.max(t.size.max(1)));
            if nhi > nlo.saturating_mul(ratio) || j - i >= MAX_MERGE {
                break;
            }
            lo = nlo;
            hi = nhi;
            j += 1;
        }
        if j - i >= min {
            let run = l0.get(i..j)?;
            return Some(run_plan(run, i == 0, deeper));
        }
    }
    None
}

fn pick_time_window(cfg: &CompactionConfig, tables: &[TableView<'_>], now_ms: u64) -> Option<Plan> {
    let (l0, deeper) = level0_oldest_first(tables);
    let width = (cfg.time_window.as_millis() as u64).max(1);
    let current = now_ms / width;
    let min = cfg.min_merge_tables.max(2);
    let mut i = 0;
    while i < l0.len() {
        let window = l0.get(i).map(|t| t.created_ms / width)?;
        let mut j = i;
        while l0.get(j).is_some_and(|t| t.created_ms / width == window) && j - i < MAX_MERGE {
            j += 1;
        }
        let len = j - i;
        if (window < current && len >= 2) || len >= min {
            let run = l0.get(i..j)?;
            return Some(run_plan(run, i == 0, deeper));
        }
        i = j;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn t(id: u64, level: u32, size: u64, lo: &'static str, hi: &'static str) -> TableView<'static> {
        TableView {
            id,
            level,
            max_seq: id,
            created_ms: 0,
            size,
            first_key: lo.as_bytes(),
            last_key: hi.as_bytes(),
        }
    }

    fn cfg(strategy: CompactionStrategy) -> CompactionConfig {
        CompactionConfig {
            strategy,
            level0_trigger: 2,
            level1_bytes: 100,
            min_merge_tables: 2,
            size_ratio: 4,
            time_window: Duration::from_millis(1000),
            ..CompactionConfig::default()
        }
    }

    #[test]
    fn leveled_moves_level0_with_overlapping_level1_tables() {
        let c = cfg(CompactionStrategy::Leveled);
        let tables = [
            t(1, 0, 10, "a", "c"),
            t(2, 0, 10, "b", "d"),
            t(3, 1, 10, "c", "e"),
            t(4, 1, 10, "x", "z"),
        ];
        let p = pick(&c, &tables, 0).unwrap();
        assert_eq!(p.inputs, vec![1, 2, 3]);
        assert_eq!(p.output_level, 1);
        assert!(p.drop_tombstones);
        assert_eq!(pick(&c, &tables[..1], 0), None);

        // Level 1 over budget pushes its oldest table down; level 2 below keeps tombstones.
        let tables = [
            t(5, 1, 80, "a", "c"),
            t(6, 1, 80, "d", "f"),
            t(7, 2, 10, "b", "b"),
            t(8, 3, 1, "a", "a"),
        ];
        let p = pick(&c, &tables, 0).unwrap();
        assert_eq!(p.inputs, vec![5, 7]);
        assert_eq!(p.output_level, 2);
        assert!(!p.drop_tombstones);
    }

    #[test]
    fn size_tiered_merges_adjacent_similar_tables() {
        let c = cfg(CompactionStrategy::SizeTiered);
        let tables = [
            t(1, 0, 1000, "a", "z"),
            t(2, 0, 10, "a", "z"),
            t(3, 0, 12, "a", "z"),
        ];
        let p = pick(&c, &tables, 0).unwrap();
        assert_eq!(p.inputs, vec![2, 3]);
        assert!(
            !p.drop_tombstones,
            "table 1 is older and may hold shadowed keys"
        );
        let p = pick(&c, &tables[1..], 0).unwrap();
        assert!(p.drop_tombstones);
        assert_eq!(
            pick(&c, &[t(1, 0, 1000, "a", "z"), t(2, 0, 10, "a", "z")], 0),
            None
        );
    }

    #[test]
    fn time_window_merges_tables_of_one_window() {
        let c = cfg(CompactionStrategy::TimeWindow);
        let mut a = t(1, 0, 10, "a", "b");
        a.created_ms = 100;
        let mut b = t(2, 0, 10, "a", "b");
        b.created_ms = 1500;
        let mut d = t(3, 0, 10, "a", "b");
        d.created_ms = 1700;
        let p = pick(&c, &[a.clone(), b.clone(), d.clone()], 1800).unwrap();
        assert_eq!(p.inputs, vec![2, 3]);
        assert_eq!(pick(&c, &[a, b], 1800), None);
    }

    #[test]
    fn full_compaction_takes_everything_to_the_bottom() {
        let c = cfg(CompactionStrategy::Leveled);
        let tables = [t(1, 0, 10, "a", "c"), t(2, 3, 10, "b", "d")];
        let p = full(&c, &tables).unwrap();
        assert_eq!(p.inputs, vec![1, 2]);
        assert_eq!(p.output_level, 3);
        assert!(p.drop_tombstones);
        assert_eq!(full(&c, &[]), None);
    }
}
