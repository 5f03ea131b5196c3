//! A fault-injection seam for the storage engine: I/O on files under an armed path prefix
//! fails with `EIO`, as a failing disk's would (or another error: `EROFS`, `ENOSPC`). Tests arm it to fail a log directory, or a
//! partition move part-way, without a real failing device.
//!
//! Unarmed (always, outside tests) a check is one relaxed atomic load.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::RwLock;

/// The kind of I/O a check stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultOp {
    /// Writing a file (appending, creating, renaming, replacing).
    Write,
    /// Reading a file.
    Read,
    /// Forcing a file to disk.
    Sync,
}

/// One armed fault: I/O of these kinds on paths under `prefix` fails with OS error `code`.
#[derive(Debug, Clone)]
struct Fault {
    prefix: PathBuf,
    ops: Vec<FaultOp>,
    code: i32,
}

static ARMED: AtomicBool = AtomicBool::new(false);
static FAULTS: RwLock<Vec<Fault>> = RwLock::new(Vec::new());

/// Makes every later I/O of the kinds `ops` on a file under `prefix` fail with `EIO`,
/// until [`disarm`] is called for the same prefix.
pub fn arm(prefix: &Path, ops: &[FaultOp]) {
    arm_with(prefix, ops, rustix::io::Errno::IO.raw_os_error());
}

/// Like [`arm`], failing with OS error `code` instead of `EIO` (`EROFS` for a file system
/// that went read-only, `ENOSPC` for a full one).
pub fn arm_with(prefix: &Path, ops: &[FaultOp], code: i32) {
    let mut faults = FAULTS.write();
    faults.retain(|f| f.prefix != prefix);
    faults.push(Fault {
        prefix: prefix.to_path_buf(),
        ops: ops.to_vec(),
        code,
    });
    ARMED.store(true, Ordering::Release);
}

/// Removes the fault armed for `prefix`.
pub fn disarm(prefix: &Path) {
    let mut faults = FAULTS.write();
    faults.retain(|f| f.prefix != prefix);
    ARMED.store(!faults.is_empty(), Ordering::Release);
}

/// Fails with `EIO` if a fault is armed for `op` on `path`; the storage engine calls it
/// before the I/O it stands for.
pub fn check(path: &Path, op: FaultOp) -> io::Result<()> {
    if !ARMED.load(Ordering::Relaxed) {
        return Ok(());
    }
    let hit = FAULTS
        .read()
        .iter()
        .find(|f| f.ops.contains(&op) && path.starts_with(&f.prefix))
        .map(|f| f.code);
    match hit {
        Some(code) => Err(io::Error::from_raw_os_error(code)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn armed_prefixes_fail_only_their_operations() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let file = a.join("t-0/00000000000000000000.log");
        assert!(check(&file, FaultOp::Write).is_ok());
        arm(&a, &[FaultOp::Write]);
        assert_eq!(
            check(&file, FaultOp::Write).unwrap_err().raw_os_error(),
            Some(5)
        );
        assert!(check(&file, FaultOp::Read).is_ok());
        assert!(check(&dir.path().join("b/t-0"), FaultOp::Write).is_ok());
        disarm(&a);
        assert!(check(&file, FaultOp::Write).is_ok());
    }
}
