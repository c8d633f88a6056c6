//! Printing results for a person (aligned tables), a spreadsheet (CSV) or
//! a program (JSON): the only place in trailmap that writes results to
//! the terminal.

use std::io::Write;

use serde::Serialize;

use crate::service::table::{Cell, Table, Tables};

/// How a command prints its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub(super) enum Output {
    /// Tables with a header row, aligned, rates as percentages.
    #[default]
    Text,
    /// The same JSON the API answers.
    Json,
    /// The report's main table as CSV (fractions as fractions).
    Csv,
}

/// `--json` and `--csv`, on every command that prints a report.
#[derive(Debug, Clone, Copy, clap::Args)]
pub(super) struct OutputArgs {
    /// Print the result as JSON (what the API answers).
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print the report's main table as CSV.
    #[arg(long)]
    pub csv: bool,
}

impl OutputArgs {
    pub(super) fn output(&self) -> Output {
        match (self.json, self.csv) {
            (true, _) => Output::Json,
            (_, true) => Output::Csv,
            _ => Output::Text,
        }
    }
}

/// Prints `value` as `output` says; `tables` lays it out for text and CSV.
/// A reader that stops early (`| head`) is not an error: see [`quiet_pipe`].
pub(super) fn print<T: Serialize>(
    value: &T,
    tables: impl FnOnce(&T) -> Tables,
    output: Output,
) -> std::io::Result<()> {
    let body = match output {
        Output::Json => serde_json::to_string(value)? + "\n",
        Output::Csv => tables(value).csv(),
        Output::Text => text(&tables(value)),
    };
    let mut stdout = std::io::stdout().lock();
    quiet_pipe(
        stdout
            .write_all(body.as_bytes())
            .and_then(|()| stdout.flush()),
    )
}

/// A write whose reader went away (`trailmap paths ... | head`) ends the
/// command quietly, as it does for other Unix tools.
pub(super) fn quiet_pipe(written: std::io::Result<()>) -> std::io::Result<()> {
    match written {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// The widest a text cell is shown; `--csv` and `--json` give it whole.
const MAX_CELL_CHARS: usize = 64;

fn shown(cell: &Cell) -> String {
    let text = cell.display();
    if text.chars().count() <= MAX_CELL_CHARS {
        return text;
    }
    let cut: String = text.chars().take(MAX_CELL_CHARS - 1).collect();
    cut + "…"
}

/// Tables as aligned text: the summary as `name: value` lines, then each
/// table under its title, numbers right-aligned.
pub(super) fn text(t: &Tables) -> String {
    let mut out = String::new();
    let width = t.summary.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (key, value) in &t.summary {
        out.push_str(&format!(
            "{:width$}  {}\n",
            format!("{key}:"),
            value.display(),
            width = width + 1
        ));
    }
    for table in &t.tables {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&table_text(table));
    }
    out
}

fn table_text(t: &Table) -> String {
    let cells: Vec<Vec<String>> = t
        .rows
        .iter()
        .map(|r| r.iter().map(shown).collect())
        .collect();
    let widths: Vec<usize> = t
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            cells
                .iter()
                .map(|r| r[i].chars().count())
                .chain([c.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    // A column is numeric when its values are (an empty table: its name).
    let numeric: Vec<bool> = (0..t.columns.len())
        .map(|i| t.rows.first().is_some_and(|r| r[i].is_numeric()))
        .collect();
    let line = |values: &[String]| -> String {
        let parts: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let pad = widths[i].saturating_sub(v.chars().count());
                if numeric[i] {
                    format!("{}{v}", " ".repeat(pad))
                } else if i + 1 == values.len() {
                    v.clone()
                } else {
                    format!("{v}{}", " ".repeat(pad))
                }
            })
            .collect();
        parts.join("  ").trim_end().to_string() + "\n"
    };
    let mut out = format!("{}\n", t.title);
    let header: Vec<String> = t.columns.iter().map(|c| c.to_string()).collect();
    out.push_str(&line(&header));
    if cells.is_empty() {
        out.push_str("(none)\n");
    }
    for r in &cells {
        out.push_str(&line(r));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_numbers_right_and_show_rates_as_percentages() {
        let mut t = Table::new("pages", &["page", "views", "exit rate"]);
        t.row(vec!["/".into(), 1200u32.into(), Cell::Rate(0.1277)]);
        t.row(vec!["/cart".into(), 7u32.into(), Cell::Rate(1.0)]);
        let out = text(&Tables {
            summary: vec![("sessions", 321usize.into())],
            tables: vec![t],
        });
        assert_eq!(
            out,
            "sessions:  321\n\npages\npage   views  exit rate\n/       1200      12.8%\n/cart      7     100.0%\n"
        );
    }
}
