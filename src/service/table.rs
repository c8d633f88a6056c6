//! Reports as tables: the one shape the CLI prints (aligned text or CSV)
//! and the API answers for `format=csv`. A report gives its headline
//! figures as a summary and its lists as tables, each with a header row
//! and the key column first.

/// One value of a table, typed so each output can show it its way: a
/// person reads rates as percentages, CSV keeps the fraction.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Text(String),
    Count(u64),
    /// A fraction from 0 to 1.
    Rate(f64),
    Number(f64),
    Flag(bool),
    /// No value (an "other" node has no page).
    Empty,
}

impl Cell {
    /// As a person reads it.
    pub(crate) fn display(&self) -> String {
        match self {
            Cell::Text(t) => t.clone(),
            Cell::Count(n) => n.to_string(),
            Cell::Rate(r) => format!("{:.1}%", r * 100.0),
            Cell::Number(x) => format!("{x:.2}"),
            Cell::Flag(b) => if *b { "yes" } else { "no" }.to_string(),
            Cell::Empty => "-".to_string(),
        }
    }

    /// As a program reads it (CSV): full precision, fractions as fractions.
    pub(crate) fn raw(&self) -> String {
        match self {
            Cell::Text(t) => t.clone(),
            Cell::Count(n) => n.to_string(),
            Cell::Rate(x) | Cell::Number(x) => x.to_string(),
            Cell::Flag(b) => b.to_string(),
            Cell::Empty => String::new(),
        }
    }

    /// Numbers align right, text left.
    pub(crate) fn is_numeric(&self) -> bool {
        matches!(self, Cell::Count(_) | Cell::Rate(_) | Cell::Number(_))
    }
}

impl From<&str> for Cell {
    fn from(t: &str) -> Cell {
        Cell::Text(t.to_string())
    }
}

impl From<String> for Cell {
    fn from(t: String) -> Cell {
        Cell::Text(t)
    }
}

impl From<u32> for Cell {
    fn from(n: u32) -> Cell {
        Cell::Count(n.into())
    }
}

impl From<u64> for Cell {
    fn from(n: u64) -> Cell {
        Cell::Count(n)
    }
}

impl From<usize> for Cell {
    fn from(n: usize) -> Cell {
        Cell::Count(n as u64)
    }
}

impl From<bool> for Cell {
    fn from(b: bool) -> Cell {
        Cell::Flag(b)
    }
}

/// Pages of a path, `a → b → c`.
pub(crate) fn path_cell(pages: &[String]) -> Cell {
    Cell::Text(pages.join(" → "))
}

/// A titled table: a header row and rows of cells, the key column first.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Table {
    pub title: &'static str,
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    pub(crate) fn new(title: &'static str, columns: &[&'static str]) -> Table {
        Table {
            title,
            columns: columns.to_vec(),
            rows: vec![],
        }
    }

    pub(crate) fn row(&mut self, cells: Vec<Cell>) {
        debug_assert_eq!(cells.len(), self.columns.len(), "{}", self.title);
        self.rows.push(cells);
    }
}

/// A report's headline figures (`sessions: 321`) and its tables.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Tables {
    pub summary: Vec<(&'static str, Cell)>,
    /// The first is the report's main table: the one `--csv` and
    /// `format=csv` give.
    pub tables: Vec<Table>,
}

impl Tables {
    /// These tables held against `earlier`'s (the same report over an
    /// earlier range): each table gains, for its first figure, the earlier
    /// value of the row with the same key (its text cells) and the change;
    /// the headline figures follow as a table of their own.
    pub(crate) fn compared(mut self, earlier: &Tables) -> Tables {
        let key = |row: &[Cell]| -> String {
            row.iter()
                .filter(|c| !c.is_numeric())
                .map(Cell::raw)
                .collect::<Vec<_>>()
                .join("\u{1f}")
        };
        let change = |now: &Cell, before: &Cell| match (now, before) {
            (Cell::Count(a), Cell::Count(b)) if *b > 0 => Cell::Rate(*a as f64 / *b as f64 - 1.0),
            (Cell::Rate(a) | Cell::Number(a), Cell::Rate(b) | Cell::Number(b)) if *b != 0.0 => {
                Cell::Rate(a / b - 1.0)
            }
            _ => Cell::Empty,
        };
        for t in &mut self.tables {
            let Some(figure) = t
                .rows
                .first()
                .and_then(|r| r.iter().position(Cell::is_numeric))
            else {
                continue;
            };
            let before: std::collections::HashMap<String, Cell> = earlier
                .tables
                .iter()
                .find(|e| e.title == t.title)
                .map(|e| {
                    e.rows
                        .iter()
                        .map(|r| (key(r), r.get(figure).cloned().unwrap_or(Cell::Empty)))
                        .collect()
                })
                .unwrap_or_default();
            t.columns.extend(["before", "change"]);
            for row in &mut t.rows {
                let was = before.get(&key(row)).cloned().unwrap_or(Cell::Empty);
                let delta = change(&row[figure], &was);
                row.extend([was, delta]);
            }
        }
        let mut figures = Table::new("compared", &["figure", "now", "before", "change"]);
        for (label, now) in self.summary.iter().filter(|(_, c)| c.is_numeric()) {
            let was = earlier
                .summary
                .iter()
                .find(|(l, _)| l == label)
                .map_or(Cell::Empty, |(_, c)| c.clone());
            let delta = change(now, &was);
            figures.row(vec![(*label).into(), now.clone(), was, delta]);
        }
        self.tables.push(figures);
        self
    }

    /// The main table as CSV (header row first; fractions as fractions),
    /// or only the header row when the report has no table.
    pub(crate) fn csv(&self) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        if let Some(t) = self.tables.first() {
            // Writing to memory cannot fail.
            let _ = w.write_record(&t.columns);
            for row in &t.rows {
                let _ = w.write_record(row.iter().map(Cell::raw));
            }
        }
        String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
    }
}
