//! The cleaner's file protocol, after Kafka's: a cleaned segment is written under
//! `.cleaned` names, renamed to `.swap` (indexes first, the log file last: `<base>.log.swap`
//! existing is the commit point), the replaced segments are renamed to `.deleted`, the
//! swap files take their final names, and the `.deleted` files are removed.
//! [`recover_leftovers`] finishes or undoes whatever a crash interrupted.
//!
//! It sits below both the log (which recovers leftovers on open and swaps cleaned segments
//! in under its lock) and the cleaner (which writes the `.cleaned` files), so neither has to
//! import the other's internals.

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::storage::error::{Result, StorageError};
use crate::storage::fs_util::sync_dir;
use crate::storage::record::{BatchHeader, BATCH_HEADER_LEN};
use crate::storage::segment::file_stem;

/// Name of the temporary state store a spilled cleaner offset map lives in, inside the
/// partition directory (a crashed pass leaves it behind; [`recover_leftovers`] removes it).
pub const SPILL_DIR_NAME: &str = "cleaner-offset-map.tmp";

/// Removes a spill directory left by an earlier pass or a crash, if there is one.
pub fn remove_spill_dir(dir: &Path) -> Result<()> {
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
}

/// Suffix of a cleaned segment being written.
pub const CLEANED_SUFFIX: &str = ".cleaned";
/// Suffix of a cleaned segment committed to replace the segments it covers.
pub const SWAP_SUFFIX: &str = ".swap";
/// Suffix of a replaced segment waiting to be removed.
pub const DELETED_SUFFIX: &str = ".deleted";

/// The three files of a segment, indexes before the log file (the order of every rename).
const EXTENSIONS: [&str; 3] = ["index", "timeindex", "log"];

fn path_with(dir: &Path, base: i64, ext: &str, suffix: &str) -> PathBuf {
    dir.join(format!("{}.{ext}{suffix}", file_stem(base)))
}

/// Path of a cleaned segment's file with extension `ext` (`log`, `index`, `timeindex`).
pub fn cleaned_path(dir: &Path, base: i64, ext: &str) -> PathBuf {
    path_with(dir, base, ext, CLEANED_SUFFIX)
}

fn remove_if_exists(path: &Path) -> Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e.into()),
    }
}

fn rename_if_exists(from: &Path, to: &Path) -> Result<bool> {
    match fs::rename(from, to) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Removes the `.cleaned` files of `base`, if any.
pub fn discard_cleaned(dir: &Path, base: i64) -> Result<()> {
    for ext in EXTENSIONS {
        remove_if_exists(&path_with(dir, base, ext, CLEANED_SUFFIX))?;
    }
    Ok(())
}

/// Commits a cleaned segment: `.cleaned` → `.swap`, the log file last, then syncs the
/// directory. From here on a restart completes the replacement.
pub fn commit_swap(dir: &Path, base: i64) -> Result<()> {
    for ext in EXTENSIONS {
        let from = path_with(dir, base, ext, CLEANED_SUFFIX);
        let to = path_with(dir, base, ext, SWAP_SUFFIX);
        if !rename_if_exists(&from, &to)? && ext == "log" {
            return Err(StorageError::CleaningAborted(format!(
                "{} vanished before its swap",
                from.display()
            )));
        }
    }
    sync_dir(dir)
}

/// Renames the files of the replaced segments to `.deleted` (their open handles keep working).
pub fn retire_segments(dir: &Path, bases: &[i64]) -> Result<()> {
    for &base in bases {
        for ext in EXTENSIONS {
            rename_if_exists(
                &path_with(dir, base, ext, ""),
                &path_with(dir, base, ext, DELETED_SUFFIX),
            )?;
        }
    }
    Ok(())
}

/// Gives the swap files of `base` their final names (indexes first) and syncs the directory.
pub fn finish_swap(dir: &Path, base: i64) -> Result<()> {
    for ext in EXTENSIONS {
        rename_if_exists(
            &path_with(dir, base, ext, SWAP_SUFFIX),
            &path_with(dir, base, ext, ""),
        )?;
    }
    sync_dir(dir)
}

/// Removes the `.deleted` files of the replaced segments.
pub fn delete_retired(dir: &Path, bases: &[i64]) -> Result<()> {
    for &base in bases {
        for ext in EXTENSIONS {
            remove_if_exists(&path_with(dir, base, ext, DELETED_SUFFIX))?;
        }
    }
    Ok(())
}

/// The offset after the last whole batch of a segment file (its base offset if empty).
fn scan_next_offset(path: &Path, base: i64) -> Result<i64> {
    let file = fs::File::open(path)?;
    let len = file.metadata()?.len();
    let mut pos = 0u64;
    let mut next = base;
    let mut buf = [0u8; BATCH_HEADER_LEN];
    while pos + BATCH_HEADER_LEN as u64 <= len {
        file.read_exact_at(&mut buf, pos)?;
        let h = BatchHeader::parse(&buf)?;
        if pos + h.total_len() as u64 > len {
            return Err(StorageError::LogCorrupted(format!(
                "{}: batch at {pos} runs past the end",
                path.display()
            )));
        }
        next = h.next_offset();
        pos += h.total_len() as u64;
    }
    if pos != len {
        return Err(StorageError::LogCorrupted(format!(
            "{}: {} stray bytes at the end",
            path.display(),
            len - pos
        )));
    }
    Ok(next)
}

/// Base offset from a file name `<20 digits>.<rest>`.
fn base_of(name: &str, rest: &str) -> Option<i64> {
    name.strip_suffix(rest)?.parse().ok()
}

/// Brings a partition directory back to a consistent state after a crash during cleaning:
/// `.cleaned` files (uncommitted) and `.deleted` files (already replaced) are removed, a
/// committed swap (`<base>.log.swap`) replaces every segment in its offset range, stray index
/// swaps without their log are removed, and a leftover spilled offset map is deleted.
/// Called by `Log::open` before it looks at the segments.
pub fn recover_leftovers(dir: &Path) -> Result<()> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir)? {
        names.push(entry?.file_name().to_string_lossy().into_owned());
    }
    let mut changed = false;
    if names.iter().any(|n| n == SPILL_DIR_NAME) {
        remove_spill_dir(&dir.join(SPILL_DIR_NAME))?;
    }
    for name in &names {
        if name.ends_with(CLEANED_SUFFIX) || name.ends_with(DELETED_SUFFIX) {
            changed |= remove_if_exists(&dir.join(name))?;
        }
    }
    let mut swaps: Vec<i64> = names
        .iter()
        .filter_map(|n| base_of(n, ".log.swap"))
        .collect();
    swaps.sort_unstable();
    for base in swaps {
        let swap = path_with(dir, base, "log", SWAP_SUFFIX);
        let next = match scan_next_offset(&swap, base) {
            Ok(next) => next,
            Err(e) => {
                // Swaps are fsynced before they are committed, so this is a damaged disk. If
                // the segment it would replace is still there, keeping that is safe.
                if path_with(dir, base, "log", "").exists() {
                    tracing::warn!(swap = %swap.display(), error = %e, "discarding an unreadable cleaned segment");
                    for ext in EXTENSIONS {
                        remove_if_exists(&path_with(dir, base, ext, SWAP_SUFFIX))?;
                    }
                    changed = true;
                    continue;
                }
                return Err(e);
            }
        };
        let end = next.max(base + 1);
        let mut replaced = Vec::new();
        for entry in fs::read_dir(dir)? {
            let name = entry?.file_name().to_string_lossy().into_owned();
            if let Some(b) = base_of(&name, ".log") {
                if b >= base && b < end {
                    replaced.push(b);
                }
            }
        }
        for b in &replaced {
            for ext in EXTENSIONS {
                remove_if_exists(&path_with(dir, *b, ext, ""))?;
            }
        }
        // The indexes of `base` may already carry their final names (from a finished rename);
        // they were removed above and are rebuilt from the log when missing.
        finish_swap(dir, base)?;
        tracing::info!(dir = %dir.display(), base, replaced = replaced.len(), "completed an interrupted segment swap");
        changed = true;
    }
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.ends_with(SWAP_SUFFIX) {
            changed |= remove_if_exists(&dir.join(&name))?;
        }
    }
    if changed {
        sync_dir(dir)?;
    }
    Ok(())
}
