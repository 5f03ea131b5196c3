//! Helpers shared by Skiff's fuzz targets: a reader that cuts a fuzz input into tagged
//! pieces, and the seeds each target writes into its corpus when asked to
//! (`SKIFF_FUZZ_SEEDS=DIR`, set by `run.sh`), generated at run time rather than committed.

use std::path::{Path, PathBuf};

pub mod seeds;

/// Cuts a fuzz input into pieces: each piece is `[tag: u8][len: u16 BE][len bytes]`; a
/// length past the end takes what is left.
pub struct Pieces<'a> {
    rest: &'a [u8],
}

impl<'a> Pieces<'a> {
    /// The pieces of `data`.
    pub fn new(data: &'a [u8]) -> Pieces<'a> {
        Pieces { rest: data }
    }
}

impl<'a> Iterator for Pieces<'a> {
    type Item = (u8, &'a [u8]);

    fn next(&mut self) -> Option<(u8, &'a [u8])> {
        let (&tag, rest) = self.rest.split_first()?;
        let (len, rest) = match rest {
            [a, b, rest @ ..] => (usize::from(u16::from_be_bytes([*a, *b])), rest),
            _ => (rest.len(), &[][..]),
        };
        let (piece, rest) = rest.split_at(len.min(rest.len()));
        self.rest = rest;
        Some((tag, piece))
    }
}

/// Encodes pieces in the form [`Pieces`] reads.
pub fn encode_pieces(pieces: &[(u8, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (tag, piece) in pieces {
        let len = u16::try_from(piece.len()).unwrap_or(u16::MAX);
        out.push(*tag);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&piece[..usize::from(len)]);
    }
    out
}

/// The corpus directory to seed, if `SKIFF_FUZZ_SEEDS` names one.
pub fn seed_dir() -> Option<PathBuf> {
    std::env::var_os("SKIFF_FUZZ_SEEDS").map(PathBuf::from)
}

/// Writes `seeds` into `dir` as `seed-<name>` files (existing files are left alone).
pub fn write_seeds(dir: &Path, seeds: &[(String, Vec<u8>)]) {
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    for (name, bytes) in seeds {
        let path = dir.join(format!("seed-{name}"));
        if !path.exists() {
            let _ = std::fs::write(path, bytes);
        }
    }
}
