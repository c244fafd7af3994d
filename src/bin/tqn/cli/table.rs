//! Plain-text tables: a header row, then rows; numeric columns right-aligned.

/// A table being filled.
#[derive(Debug, Default)]
pub struct Table {
    headers: Vec<&'static str>,
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// Columns: `(header, right_aligned)`.
    pub fn new(columns: &[(&'static str, bool)]) -> Table {
        Table {
            headers: columns.iter().map(|(h, _)| *h).collect(),
            right: columns.iter().map(|(_, r)| *r).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row (missing cells are blank, extra ones dropped).
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as text, one line per row, each ending in `\n`.
    pub fn render(&self) -> String {
        let n = self.headers.len();
        let width = |s: &str| s.chars().count();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| width(h)).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().take(n).enumerate() {
                widths[i] = widths[i].max(width(cell));
            }
        }
        let mut out = String::new();
        let mut line = |cells: Vec<&str>| {
            let mut text = String::new();
            for (i, (&w, &right)) in widths.iter().zip(&self.right).enumerate() {
                let cell = cells.get(i).copied().unwrap_or("");
                let pad = " ".repeat(w.saturating_sub(width(cell)));
                if i > 0 {
                    text.push_str("  ");
                }
                if right {
                    text.push_str(&pad);
                    text.push_str(cell);
                } else {
                    text.push_str(cell);
                    if i + 1 < n {
                        text.push_str(&pad);
                    }
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        };
        line(self.headers.clone());
        for row in &self.rows {
            line(row.iter().map(String::as_str).collect());
        }
        out
    }
}

/// `12s`, `3m04s`, `2h05m`, `3d04h`.
pub fn duration(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        3600..=86399 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d{:02}h", s / 86400, (s % 86400) / 3600),
    }
}

/// At most `max` characters of `s`, with `…` when cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_aligned() {
        let mut t = Table::new(&[("QUEUE", false), ("READY", true), ("NOTE", false)]);
        t.row(vec!["sms".into(), "12".into(), "x".into()]);
        t.row(vec!["default".into(), "3".into()]);
        assert_eq!(t.render(), "QUEUE    READY  NOTE\nsms         12  x\ndefault      3\n");
    }

    #[test]
    fn durations_and_truncation() {
        assert_eq!(duration(5), "5s");
        assert_eq!(duration(64), "1m04s");
        assert_eq!(duration(3 * 3600 + 5 * 60), "3h05m");
        assert_eq!(duration(2 * 86400 + 3600), "2d01h");
        assert_eq!(duration(-3), "0s");
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("中文", 4), "中文");
    }
}
