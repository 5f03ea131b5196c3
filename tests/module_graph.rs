//! No import loops in `src/`: reads every module file, collects the modules each one refers
//! to (`use crate::…`, `super::…`, `self::…`, paths into a child module, and inline paths
//! such as `crate::storage::swap::recover_leftovers(…)`), and checks
//! - the top-level folders: `server` → `api` → `broker` → `storage` only point down, and
//!   `config` (which all may use) uses none of them;
//! - inside every folder, its children (files and sub-folders) form no cycle;
//! - file by file, no cycle beyond the ones listed in [`KNOWN_FILE_CYCLES`] (the list may
//!   only shrink).
//!
//! A reference through a re-export (`pub use x::Y` in a `mod.rs`) counts as a reference to
//! the module that defines `Y`. Test code counts too. Paths inside macro invocations are
//! tokens like any other, so they count as well. The generated pre-check walkers are not
//! files under `src/` and are not read.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::string_slice,
    clippy::print_stderr,
    reason = "test code: a failed unwrap, expect, panic or index is a failed test"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module path below the crate root: `["storage", "cleaner"]`.
type ModPath = Vec<String>;

/// The top-level folders in layer order, lowest first; an edge may only go to a lower one.
const LAYERS: &[&str] = &["storage", "broker", "api", "server"];

/// Cycles that remain, each named by one module in it (a cycle is a strongly connected
/// component, so one member names it, and adding an API file to it needs no edit here), with
/// why. Fixing one means deleting its line; the tests fail on a cycle not listed and on a
/// line whose cycle is gone.
///
/// None today: the API modules import their declaration vocabulary from `api/spec`, the
/// table in `api/registry` imports them, and ApiVersions reads the table from its context.
const KNOWN_FILE_CYCLES: &[&str] = &[];

/// Folder-level cycles that remain: (folder, one child in the cycle). See above.
const KNOWN_FOLDER_CYCLES: &[(&str, &str)] = &[];

/// For one folder: (child, child) → one (file, file) edge that makes it.
type SiblingEdges = BTreeMap<(String, String), (ModPath, ModPath)>;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    PathSep,
    Open,
    Close,
    Comma,
    Semi,
    Star,
    Other,
}

/// Tokens of Rust source, with comments, strings and char literals dropped.
fn tokens(src: &str) -> Vec<Tok> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
        } else if (c == b'r' || c == b'b')
            && (b.get(i + 1) == Some(&b'#') || b.get(i + 1) == Some(&b'"') || {
                c == b'b' && b.get(i + 1) == Some(&b'r')
            })
            && raw_or_byte_string_end(b, i).is_some()
        {
            i = raw_or_byte_string_end(b, i).unwrap();
        } else if c == b'\'' {
            // A char literal ('a', '\n', '\u{..}') or a lifetime ('a): skip literals only.
            if b.get(i + 1) == Some(&b'\\') {
                i += 2;
                while i < b.len() && b[i] != b'\'' {
                    i += 1;
                }
                i += 1;
            } else if b.get(i + 2) == Some(&b'\'') {
                i += 3;
            } else if let Some(len) = src[i + 1..].chars().next().map(char::len_utf8) {
                if b.get(i + 1 + len) == Some(&b'\'') {
                    i += 2 + len;
                } else {
                    i += 1;
                }
            } else {
                i += 1;
            }
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push(Tok::Ident(src[start..i].to_string()));
        } else if c == b':' && b.get(i + 1) == Some(&b':') {
            out.push(Tok::PathSep);
            i += 2;
        } else {
            out.push(match c {
                b'{' => Tok::Open,
                b'}' => Tok::Close,
                b',' => Tok::Comma,
                b';' => Tok::Semi,
                b'*' => Tok::Star,
                _ => Tok::Other,
            });
            i += 1;
        }
    }
    out
}

/// The end of a raw or byte string starting at `i` (`r"…"`, `r#"…"#`, `b"…"`, `br"…"`).
fn raw_or_byte_string_end(b: &[u8], mut i: usize) -> Option<usize> {
    if b[i] == b'b' {
        i += 1;
    }
    let raw = b.get(i) == Some(&b'r');
    if raw {
        i += 1;
    }
    let mut hashes = 0;
    while raw && b.get(i) == Some(&b'#') {
        hashes += 1;
        i += 1;
    }
    if b.get(i) != Some(&b'"') {
        return None;
    }
    i += 1;
    while i < b.len() {
        if !raw && b[i] == b'\\' {
            i += 2;
            continue;
        }
        if b[i] == b'"' && (0..hashes).all(|h| b.get(i + 1 + h) == Some(&b'#')) {
            return Some(i + 1 + hashes);
        }
        i += 1;
    }
    None
}

/// One path a file names, made absolute, and whether it is a `pub use` re-export.
#[derive(Debug)]
struct Reference {
    path: ModPath,
    reexport: bool,
}

/// Expands the use tree or path starting at `toks[i]` (after its first segments `prefix`)
/// into whole paths; returns them and the index after the tree.
fn use_tree(toks: &[Tok], mut i: usize, prefix: ModPath, out: &mut Vec<ModPath>) -> usize {
    let mut path = prefix;
    loop {
        match toks.get(i) {
            Some(Tok::Ident(s)) if s != "as" => {
                path.push(s.clone());
                i += 1;
                if toks.get(i) == Some(&Tok::PathSep) {
                    i += 1;
                    continue;
                }
                out.push(path);
                return i;
            }
            Some(Tok::Open) => {
                i += 1;
                loop {
                    match toks.get(i) {
                        Some(Tok::Close) => return i + 1,
                        Some(Tok::Comma) => i += 1,
                        None => return i,
                        _ => {
                            let before = i;
                            i = use_tree(toks, i, path.clone(), out);
                            // Skip `as name` and anything else up to the next item.
                            while !matches!(toks.get(i), Some(Tok::Comma | Tok::Close) | None) {
                                i += 1;
                            }
                            if i == before {
                                i += 1;
                            }
                        }
                    }
                }
            }
            Some(Tok::Star) => {
                out.push(path);
                return i + 1;
            }
            _ => {
                if !path.is_empty() {
                    out.push(path);
                }
                return i;
            }
        }
    }
}

/// What one file refers to, as module-relative paths made absolute from `module`.
/// `children` names the file modules directly below each module.
fn references(
    toks: &[Tok],
    module: &ModPath,
    children: &BTreeMap<ModPath, BTreeSet<String>>,
) -> Vec<Reference> {
    let mut out = Vec::new();
    // Inline modules (`mod tests { … }`) open at a brace depth.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < toks.len() {
        match &toks[i] {
            Tok::Open => depth += 1,
            Tok::Close => {
                depth = depth.saturating_sub(1);
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
            }
            Tok::Ident(kw) if kw == "mod" => {
                if let (Some(Tok::Ident(name)), Some(Tok::Open)) =
                    (toks.get(i + 1), toks.get(i + 2))
                {
                    inline.push((name.clone(), depth));
                    depth += 1;
                    i += 3;
                    continue;
                }
            }
            _ => {}
        }
        let here: ModPath = module
            .iter()
            .cloned()
            .chain(inline.iter().map(|(n, _)| n.clone()))
            .collect();
        let Tok::Ident(first) = &toks[i] else {
            i += 1;
            continue;
        };
        let preceded_by_sep = i > 0 && toks[i - 1] == Tok::PathSep;
        let followed_by_sep = toks.get(i + 1) == Some(&Tok::PathSep);
        if preceded_by_sep || !followed_by_sep {
            i += 1;
            continue;
        }
        let is_use = i > 0 && matches!(&toks[i - 1], Tok::Ident(s) if s == "use");
        let reexport = is_use && i > 1 && matches!(&toks[i - 2], Tok::Ident(s) if s == "pub")
            || is_use && i > 4 && matches!(&toks[i - 5], Tok::Ident(s) if s == "pub");
        let mut base: ModPath = match first.as_str() {
            "crate" => Vec::new(),
            "self" => here.clone(),
            "super" => here[..here.len().saturating_sub(1)].to_vec(),
            name if children.get(&here).is_some_and(|c| c.contains(name)) => {
                let mut p = here.clone();
                p.push(name.to_string());
                p
            }
            _ => {
                i += 1;
                continue;
            }
        };
        let mut j = i + 2;
        // `super::super::…`
        while matches!(toks.get(j), Some(Tok::Ident(s)) if s == "super")
            && toks.get(j + 1) == Some(&Tok::PathSep)
        {
            base.pop();
            j += 2;
        }
        let mut paths = Vec::new();
        let end = use_tree(toks, j, base.clone(), &mut paths);
        if paths.is_empty() {
            paths.push(base);
        }
        for path in paths {
            out.push(Reference { path, reexport });
        }
        i = end.max(i + 1);
    }
    out
}

struct Crate {
    /// Module path → its file.
    files: BTreeMap<ModPath, PathBuf>,
    /// File module → the modules it refers to (resolved, itself excluded).
    edges: BTreeMap<ModPath, BTreeSet<ModPath>>,
}

fn module_path(src: &Path, file: &Path) -> ModPath {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: ModPath = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn read_crate() -> Crate {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut paths = Vec::new();
    rust_files(&src, &mut paths);
    // The binary and the build script are crates of their own.
    paths.retain(|p| !p.ends_with("main.rs"));
    let files: BTreeMap<ModPath, PathBuf> = paths
        .iter()
        .map(|p| (module_path(&src, p), p.clone()))
        .collect();
    let mut children: BTreeMap<ModPath, BTreeSet<String>> = BTreeMap::new();
    for m in files.keys() {
        if let Some((last, parent)) = m.split_last() {
            children
                .entry(parent.to_vec())
                .or_default()
                .insert(last.clone());
        }
    }
    let mut refs: BTreeMap<ModPath, Vec<Reference>> = BTreeMap::new();
    for (m, path) in &files {
        let text = std::fs::read_to_string(path).unwrap();
        refs.insert(m.clone(), references(&tokens(&text), m, &children));
    }
    // Re-exports: (module, name) → the path it re-exports.
    let mut reexports: BTreeMap<(ModPath, String), ModPath> = BTreeMap::new();
    for (m, rs) in &refs {
        for r in rs.iter().filter(|r| r.reexport) {
            if let Some(name) = r.path.last() {
                reexports.insert((m.clone(), name.clone()), r.path.clone());
            }
        }
    }
    let resolve = |path: &ModPath| -> Option<ModPath> {
        let mut path = path.clone();
        for _ in 0..8 {
            let n = (0..=path.len())
                .rev()
                .find(|&n| files.contains_key(&path[..n]))?;
            let module = path[..n].to_vec();
            match path.get(n) {
                Some(name) => match reexports.get(&(module.clone(), name.clone())) {
                    Some(target) if *target != path => {
                        let mut next = target.clone();
                        next.extend(path[n + 1..].iter().cloned());
                        path = next;
                    }
                    _ => return Some(module),
                },
                None => return Some(module),
            }
        }
        None
    };
    let mut edges: BTreeMap<ModPath, BTreeSet<ModPath>> = BTreeMap::new();
    for (m, rs) in &refs {
        let targets = edges.entry(m.clone()).or_default();
        for r in rs {
            if let Some(t) = resolve(&r.path) {
                // A module's own children are its parts when it lists them (`pub use`,
                // `mod`); a child naming its parent is an edge like any other.
                let own_child = t.len() > m.len() && t.starts_with(m);
                if t != *m && !t.is_empty() && !(own_child && r.reexport) {
                    targets.insert(t);
                }
            }
        }
    }
    Crate { files, edges }
}

/// Strongly connected components of more than one node (Tarjan).
fn cycles<N: Ord + Clone>(nodes: &BTreeSet<N>, adj: &BTreeMap<N, BTreeSet<N>>) -> Vec<Vec<N>> {
    struct State<N> {
        index: BTreeMap<N, usize>,
        low: BTreeMap<N, usize>,
        stack: Vec<N>,
        on_stack: BTreeSet<N>,
        out: Vec<Vec<N>>,
    }
    fn visit<N: Ord + Clone>(v: &N, adj: &BTreeMap<N, BTreeSet<N>>, s: &mut State<N>) {
        let n = s.index.len();
        s.index.insert(v.clone(), n);
        s.low.insert(v.clone(), n);
        s.stack.push(v.clone());
        s.on_stack.insert(v.clone());
        for w in adj.get(v).into_iter().flatten() {
            if !s.index.contains_key(w) {
                visit(w, adj, s);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if s.on_stack.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = Vec::new();
            loop {
                let w = s.stack.pop().unwrap();
                s.on_stack.remove(&w);
                let done = w == *v;
                comp.push(w);
                if done {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                s.out.push(comp);
            }
        }
    }
    let mut s = State {
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in nodes {
        if !s.index.contains_key(v) {
            visit(v, adj, &mut s);
        }
    }
    s.out.sort();
    s.out
}

/// For each folder, the edges between its children (file or sub-folder) that some file
/// below one of them makes into the other, with one example each.
fn folder_edges(c: &Crate) -> BTreeMap<ModPath, SiblingEdges> {
    let mut out: BTreeMap<ModPath, SiblingEdges> = BTreeMap::new();
    for (from, targets) in &c.edges {
        for to in targets {
            let common = from.iter().zip(to).take_while(|(a, b)| a == b).count();
            // Siblings below the folder `from[..common]`; a folder's own mod.rs is the folder.
            if common < from.len() && common < to.len() {
                out.entry(from[..common].to_vec())
                    .or_default()
                    .entry((from[common].clone(), to[common].clone()))
                    .or_insert_with(|| (from.clone(), to.clone()));
            }
        }
    }
    out
}

fn show(m: &[String]) -> String {
    if m.is_empty() {
        "crate".into()
    } else {
        m.join("/")
    }
}

#[test]
fn the_scanner_sees_the_known_arrows() {
    let c = read_crate();
    let has = |from: &str, to: &str| {
        let from: ModPath = from.split('/').map(String::from).collect();
        let to: ModPath = to.split('/').map(String::from).collect();
        c.edges.get(&from).is_some_and(|t| t.contains(&to))
    };
    assert!(c.files.len() > 100, "{} module files", c.files.len());
    // `use crate::…` with a group, an inline `crate::…` path, `super::…`, and a name
    // re-exported by storage/mod.rs resolved to its defining file.
    assert!(has("storage/log", "storage/segment"));
    assert!(has("storage/log", "storage/swap"));
    assert!(has("storage/cleaner/clean", "storage/cleaner/checkpoint"));
    assert!(has("storage/cleaner/manager", "storage/log"));
    assert!(has("server/frame", "api/registry"));
}

#[test]
fn top_level_folders_point_down_and_config_uses_none() {
    let c = read_crate();
    let mut wrong = Vec::new();
    for (from, targets) in &c.edges {
        for to in targets {
            let (Some(a), Some(b)) = (from.first(), to.first()) else {
                continue;
            };
            if a == b || b == "config" {
                continue;
            }
            let rank = |x: &str| LAYERS.iter().position(|l| *l == x);
            let ok = match (rank(a), rank(b)) {
                (Some(ra), Some(rb)) => ra > rb,
                // config uses none of the layers; other folders are not layered yet.
                _ => a != "config",
            };
            if !ok {
                wrong.push(format!("{} → {}", show(from), show(to)));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "arrows against the layers:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_cycle_between_the_children_of_a_folder() {
    let c = read_crate();
    let mut found = Vec::new();
    let mut known_seen = BTreeSet::new();
    for (folder, edges) in folder_edges(&c) {
        let nodes: BTreeSet<String> = edges
            .keys()
            .flat_map(|(a, b)| [a.clone(), b.clone()])
            .collect();
        let mut adj: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (a, b) in edges.keys() {
            adj.entry(a.clone()).or_default().insert(b.clone());
        }
        for cycle in cycles(&nodes, &adj) {
            let known = KNOWN_FOLDER_CYCLES
                .iter()
                .find(|(f, member)| *f == show(&folder) && cycle.iter().any(|m| m == member));
            if let Some(known) = known {
                known_seen.insert(*known);
                continue;
            }
            let mut why = Vec::new();
            for ((a, b), (from, to)) in &edges {
                if cycle.contains(a) && cycle.contains(b) {
                    why.push(format!(
                        "    {a} → {b} (e.g. {} → {})",
                        show(from),
                        show(to)
                    ));
                }
            }
            found.push(format!(
                "in {}: {:?}\n{}",
                show(&folder),
                cycle,
                why.join("\n")
            ));
        }
    }
    assert!(
        found.is_empty(),
        "folder-level import cycles:\n{}",
        found.join("\n")
    );
    let gone: Vec<_> = KNOWN_FOLDER_CYCLES
        .iter()
        .filter(|k| !known_seen.contains(*k))
        .collect();
    assert!(
        gone.is_empty(),
        "fixed, delete from KNOWN_FOLDER_CYCLES: {gone:?}"
    );
}

#[test]
fn no_file_level_cycle_beyond_the_known_ones() {
    let c = read_crate();
    let nodes: BTreeSet<ModPath> = c.files.keys().cloned().collect();
    let found: Vec<Vec<String>> = cycles(&nodes, &c.edges)
        .into_iter()
        .map(|cycle| cycle.iter().map(|m| show(m)).collect())
        .collect();
    let new: Vec<&Vec<String>> = found
        .iter()
        .filter(|c| !KNOWN_FILE_CYCLES.iter().any(|k| c.iter().any(|m| m == k)))
        .collect();
    let gone: Vec<&&str> = KNOWN_FILE_CYCLES
        .iter()
        .filter(|k| !found.iter().any(|c| c.iter().any(|m| m == *k)))
        .collect();
    assert!(new.is_empty(), "new file-level import cycles: {new:#?}");
    assert!(
        gone.is_empty(),
        "fixed, delete from KNOWN_FILE_CYCLES: {gone:#?}"
    );
}

#[test]
#[ignore = "debugging aid: prints the edges"]
fn print_edges() {
    let c = read_crate();
    for (from, to) in &c.edges {
        for t in to {
            eprintln!("{} -> {}", show(from), show(t));
        }
    }
}
