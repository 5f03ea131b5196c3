//! Log directories (Kafka's `log.dirs`, JBOD): each holds partition directories, carries
//! an identity in `meta.properties` as Kafka's do, and is online until an I/O error on one
//! of its files takes it offline (Kafka's log dir failure), after which its partitions
//! answer `KAFKA_STORAGE_ERROR` while the other directories keep serving.
//!
//! A partition moved between directories (AlterReplicaLogDirs) is copied into a *future*
//! directory `<topic>-<partition>.<id>-future` in the destination, as Kafka names it; the
//! old one is renamed `<topic>-<partition>.<id>-delete` before the future one takes the
//! partition's name, and deleted. A scan on open finds what a crash left of that.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use uuid::Uuid;

use crate::storage::error::{Result, StorageError};
use crate::storage::fs_util::write_atomically;

/// The identity file of a log directory, as Kafka names it.
pub const META_PROPERTIES: &str = "meta.properties";

/// Suffix of a partition directory being copied in by a move (Kafka's `-future`).
const FUTURE_SUFFIX: &str = "-future";
/// Suffix of a partition directory left by a finished move, to be deleted (`-delete`).
const DELETE_SUFFIX: &str = "-delete";

/// A UUID written as Kafka writes its ids (`Uuid.toString()`): URL-safe base64 of the 16
/// bytes without padding, 22 characters (e.g. `MkU3OEVBNTcwNTJENDM2Qg`).
pub fn kafka_uuid_string(id: &Uuid) -> String {
    /// The URL-safe base64 digit of the low six bits of `v`.
    fn digit(v: u32) -> char {
        let v = (v & 63) as u8;
        char::from(match v {
            0..=25 => b'A' + v,
            26..=51 => b'a' + (v - 26),
            52..=61 => b'0' + (v - 52),
            62 => b'-',
            _ => b'_',
        })
    }
    let mut bits: u32 = 0;
    let mut pending = 0;
    let mut out = String::with_capacity(22);
    for byte in id.as_bytes() {
        bits = (bits << 8) | u32::from(*byte);
        pending += 8;
        while pending >= 6 {
            pending -= 6;
            out.push(digit(bits >> pending));
        }
    }
    if pending > 0 {
        out.push(digit(bits << (6 - pending)));
    }
    out
}

/// A topic name and partition index.
pub type TopicPartition = (String, i32);

/// Directory name of a partition: `<topic>-<partition>`, as Kafka lays it out.
pub fn partition_dir_name(topic: &str, partition: i32) -> String {
    format!("{topic}-{partition}")
}

/// Splits a `<topic>-<partition>` directory name.
pub fn parse_partition_dir(name: &str) -> Option<TopicPartition> {
    let (topic, partition) = name.rsplit_once('-')?;
    if topic.is_empty() || partition.starts_with('+') {
        return None;
    }
    let partition: i32 = partition.parse().ok()?;
    (partition >= 0).then(|| (topic.to_string(), partition))
}

/// Whether a log directory is online, shared by the directory and every log in it: the
/// first I/O error on any of its files takes it offline for the rest of the run (Kafka's
/// `LogDirFailureChannel`).
#[derive(Debug)]
pub struct DirHealth {
    path: PathBuf,
    offline: AtomicBool,
}

impl DirHealth {
    /// An online directory at `path`.
    pub fn new(path: &Path) -> DirHealth {
        DirHealth {
            path: path.to_path_buf(),
            offline: AtomicBool::new(false),
        }
    }

    /// Whether an I/O error took the directory offline.
    pub fn is_offline(&self) -> bool {
        self.offline.load(Ordering::Acquire)
    }

    /// Takes the directory offline after `error` (logged once).
    pub fn fail(&self, error: &std::io::Error) {
        if !self.offline.swap(true, Ordering::AcqRel) {
            tracing::error!(
                log_dir = %self.path.display(),
                %error,
                "log directory failed: its partitions are offline until restart"
            );
        }
    }

    /// Fails with [`StorageError::LogDirOffline`] if the directory is offline.
    pub fn check(&self) -> Result<()> {
        if self.is_offline() {
            Err(StorageError::LogDirOffline(self.path.display().to_string()))
        } else {
            Ok(())
        }
    }

    /// Passes `result` on, taking the directory offline first if it is an I/O error of
    /// the disk. Running out of file descriptors is not one, nor is a write the file system
    /// refused (full, over quota, read-only): only the operation fails. A failed fsync
    /// always is.
    pub fn watch<T>(&self, result: Result<T>) -> Result<T> {
        match &result {
            Err(StorageError::SyncFailed(e)) => self.fail(e),
            Err(StorageError::Io(e)) if crate::storage::error::is_resource_exhaustion(e) => {
                tracing::warn!(log_dir = %self.path.display(), error = %e,
                    "out of file descriptors: the operation failed, the directory stays online");
            }
            Err(StorageError::Io(e)) if crate::storage::error::is_write_refused(e) => {
                tracing::warn!(log_dir = %self.path.display(), error = %e,
                    "write refused: the operation failed, the directory stays online");
            }
            Err(StorageError::Io(e)) => self.fail(e),
            _ => {}
        }
        result
    }
}

/// One log directory.
#[derive(Debug)]
pub struct LogDir {
    path: PathBuf,
    id: String,
    health: std::sync::Arc<DirHealth>,
}

impl LogDir {
    /// Opens (creating it if needed) the log directory `path`, with its identity: the
    /// `meta.properties` found there, or a new one with a fresh directory id. A file that
    /// names another node than `node_id` (when known) is refused, as Kafka refuses it. A
    /// directory that cannot be read or written is returned offline.
    pub fn open(path: &Path, node_id: Option<i32>) -> Result<LogDir> {
        let path = std::path::absolute(path)?;
        let health = std::sync::Arc::new(DirHealth::new(&path));
        let id = match Self::identity(&path, node_id) {
            Ok(id) => id,
            Err(StorageError::Io(e)) => {
                health.fail(&e);
                String::new()
            }
            Err(e) => return Err(e),
        };
        Ok(LogDir { path, id, health })
    }

    fn identity(path: &Path, node_id: Option<i32>) -> Result<String> {
        fs::create_dir_all(path)?;
        let meta = path.join(META_PROPERTIES);
        crate::storage::fault::check(&meta, crate::storage::fault::FaultOp::Read)?;
        let props = match fs::read_to_string(&meta) {
            Ok(text) => parse_properties(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(e.into()),
        };
        if let (Some(stored), Some(node)) = (props.get("node.id"), node_id) {
            if stored.parse::<i32>().ok() != Some(node) {
                return Err(StorageError::LogDirMismatch(format!(
                    "{}: stored node id {stored} does not match node.id {node}",
                    meta.display()
                )));
            }
        }
        if let Some(id) = props.get("directory.id") {
            return Ok(id.clone());
        }
        let id = kafka_uuid_string(&Uuid::new_v4());
        let mut text = String::from("#\n");
        text.push_str(&format!("directory.id={id}\n"));
        if let Some(node) = props
            .get("node.id")
            .cloned()
            .or(node_id.map(|n| n.to_string()))
        {
            text.push_str(&format!("node.id={node}\n"));
        }
        text.push_str("version=1\n");
        write_atomically(&meta, text.as_bytes())?;
        Ok(id)
    }

    /// The directory, as an absolute path (what DescribeLogDirs reports and
    /// AlterReplicaLogDirs names).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Its directory id (`meta.properties`' `directory.id`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether it is online, and the logs in it with it.
    pub fn health(&self) -> &std::sync::Arc<DirHealth> {
        &self.health
    }

    /// Whether it is online.
    pub fn is_online(&self) -> bool {
        !self.health.is_offline()
    }

    /// Whether `path` names this directory (as given, absolute, or canonical).
    pub fn is_named(&self, path: &str) -> bool {
        let p = Path::new(path);
        if p == self.path {
            return true;
        }
        let canonical = |q: &Path| fs::canonicalize(q).ok();
        p.is_absolute() && canonical(p).is_some() && canonical(p) == canonical(&self.path)
    }

    /// The file system's total and usable bytes (statvfs: blocks and blocks available to
    /// unprivileged users, times the fragment size), as Kafka's `FileStore` reports them.
    pub fn space(&self) -> Option<(i64, i64)> {
        let st = rustix::fs::statvfs(&self.path).ok()?;
        let total = st.f_blocks.saturating_mul(st.f_frsize);
        let usable = st.f_bavail.saturating_mul(st.f_frsize);
        let clamp = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        Some((clamp(total), clamp(usable)))
    }
}

/// `key=value` lines of a Java properties file (comments and blank lines skipped).
fn parse_properties(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('!'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// What a directory entry of a log directory is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartitionDirKind {
    /// `<topic>-<partition>`: the partition's log.
    Current,
    /// `<topic>-<partition>.<id>-future`: a move's copy in progress or done.
    Future,
    /// `<topic>-<partition>.<id>-delete`: the old copy of a finished move.
    Delete,
}

/// Reads a partition directory's name: its partition and kind.
pub fn parse_dir_name(name: &str) -> Option<(TopicPartition, PartitionDirKind)> {
    for (suffix, kind) in [
        (FUTURE_SUFFIX, PartitionDirKind::Future),
        (DELETE_SUFFIX, PartitionDirKind::Delete),
    ] {
        if let Some(stem) = name.strip_suffix(suffix) {
            let (base, id) = stem.rsplit_once('.')?;
            if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            return parse_partition_dir(base).map(|tp| (tp, kind));
        }
    }
    parse_partition_dir(name).map(|tp| (tp, PartitionDirKind::Current))
}

/// A fresh name for a move's future directory of a partition (Kafka's
/// `<topic>-<partition>.<uuid>-future`).
pub fn future_dir_name(topic: &str, partition: i32) -> String {
    format!(
        "{topic}-{partition}.{}{FUTURE_SUFFIX}",
        Uuid::new_v4().simple()
    )
}

/// A fresh name for the old directory of a finished move, to be deleted.
pub fn delete_dir_name(topic: &str, partition: i32) -> String {
    format!(
        "{topic}-{partition}.{}{DELETE_SUFFIX}",
        Uuid::new_v4().simple()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_names_are_read_as_kafka_writes_them() {
        assert_eq!(
            parse_dir_name("orders-3"),
            Some((("orders".to_string(), 3), PartitionDirKind::Current))
        );
        let future = future_dir_name("a-b", 0);
        assert_eq!(
            parse_dir_name(&future),
            Some((("a-b".to_string(), 0), PartitionDirKind::Future))
        );
        let delete = delete_dir_name("t", 12);
        assert_eq!(
            parse_dir_name(&delete),
            Some((("t".to_string(), 12), PartitionDirKind::Delete))
        );
        assert_eq!(parse_dir_name("t-0.xyz-future"), None);
        assert_eq!(parse_dir_name("__state"), None);
    }

    #[test]
    fn identity_is_kept_and_another_node_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let a = LogDir::open(dir.path(), Some(1)).unwrap();
        assert_eq!(a.id().len(), 22);
        let b = LogDir::open(dir.path(), Some(1)).unwrap();
        assert_eq!(a.id(), b.id());
        assert!(matches!(
            LogDir::open(dir.path(), Some(2)),
            Err(StorageError::LogDirMismatch(_))
        ));
        let (total, usable) = a.space().unwrap();
        assert!(total > 0 && usable >= 0 && usable <= total);
    }
}
