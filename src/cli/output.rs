//! What a verb prints: a human table by default, JSON with `--json`.

use std::io::Write;

use serde_json::Value;

/// Where and how a verb's answer is printed.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// JSON instead of tables.
    pub json: bool,
}

impl Output {
    /// Prints `value` as one line of JSON in JSON mode, or the table `table` makes.
    pub fn emit(&self, value: &Value, table: impl FnOnce() -> Table) -> std::io::Result<()> {
        if self.json {
            line(&value.to_string())
        } else {
            table().print()
        }
    }
}

/// Writes one line to stdout.
pub fn line(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
}

/// Writes bytes to stdout as they are (a consumed record in a template) and flushes.
pub fn raw(bytes: &[u8]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()
}

/// A table with a header row, printed with aligned columns.
#[derive(Debug, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    /// Free text printed before the table (e.g. `key: value` lines).
    preamble: Vec<String>,
}

impl Table {
    /// A table with these column names.
    pub fn new(header: &[&str]) -> Table {
        Table {
            header: header.iter().map(|h| h.to_string()).collect(),
            ..Table::default()
        }
    }

    /// Adds a `name: value` line printed before the table.
    pub fn note(mut self, name: &str, value: impl std::fmt::Display) -> Table {
        self.preamble.push(format!("{name}: {value}"));
        self
    }

    /// Adds a row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Prints the preamble and the table (nothing but the preamble if it has no rows
    /// and no header).
    pub fn print(&self) -> std::io::Result<()> {
        let mut out = std::io::stdout().lock();
        for p in &self.preamble {
            writeln!(out, "{p}")?;
        }
        if self.header.is_empty() {
            return Ok(());
        }
        if !self.preamble.is_empty() {
            writeln!(out)?;
        }
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                let w = cell.chars().count();
                match widths.get_mut(i) {
                    Some(current) => *current = (*current).max(w),
                    None => widths.push(w),
                }
            }
        }
        let render = |cells: &[String]| {
            let mut s = String::new();
            for (i, cell) in cells.iter().enumerate() {
                let w = widths.get(i).copied().unwrap_or(0);
                if i + 1 == cells.len() {
                    s.push_str(cell);
                } else {
                    s.push_str(&format!("{cell:<w$}  "));
                }
            }
            s
        };
        let header: Vec<String> = self.header.iter().map(|h| h.to_uppercase()).collect();
        writeln!(out, "{}", render(&header))?;
        for row in &self.rows {
            writeln!(out, "{}", render(row))?;
        }
        Ok(())
    }
}
