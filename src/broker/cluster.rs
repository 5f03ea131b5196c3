//! The cluster id: configured, or generated on first start and kept in the data directory.

use std::path::Path;

use uuid::Uuid;

use super::error::{BrokerError, Result};
use super::meta_file;

/// File name of the cluster id inside the data directory.
pub const CLUSTER_FILE: &str = "cluster.meta";

/// Returns `configured` if set; otherwise the id stored in `data_dir`, creating one.
pub fn load_or_create_cluster_id(data_dir: &Path, configured: &str) -> Result<String> {
    if !configured.is_empty() {
        return Ok(configured.to_string());
    }
    let path = data_dir.join(CLUSTER_FILE);
    if let Some(body) = meta_file::read_checked(&path)? {
        let id = body.trim();
        if id.is_empty() {
            return Err(BrokerError::CorruptMetadata {
                path: path.display().to_string(),
                reason: "empty cluster id".into(),
            });
        }
        return Ok(id.to_string());
    }
    let id = Uuid::new_v4().simple().to_string();
    meta_file::write_atomic(&path, &format!("{id}\n"))?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_id_is_stable_and_configured_wins() {
        let dir = tempfile::tempdir().unwrap();
        let a = load_or_create_cluster_id(dir.path(), "").unwrap();
        let b = load_or_create_cluster_id(dir.path(), "").unwrap();
        assert_eq!(a, b);
        assert_eq!(
            load_or_create_cluster_id(dir.path(), "mine").unwrap(),
            "mine"
        );
    }
}
