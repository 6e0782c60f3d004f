//! Tab-padded tables, laid out like Go's `text/tabwriter` configured as
//! Easegress does (`minwidth 0, tabwidth 8, padding 2, padchar '\t'`).
//!
//! Every cell is followed by tabs, so scripts can match rows with
//! `col1\t+col2\t+…`; column widths are computed per block of consecutive
//! rows that have the column, exactly as tabwriter does.

/// Width of a tab stop.
const TAB_WIDTH: usize = 8;
/// Extra cells of padding added to the widest cell of a column.
const PADDING: usize = 2;

/// Formats `rows` as a table; each line ends with `\t\n` like Easegress's
/// `PrintTable` (every cell is tab-terminated).
pub fn format_table(rows: &[Vec<String>]) -> String {
    format_table_with_prefix(rows, "")
}

/// Like [`format_table`] but prepends `prefix` to the first cell of every row.
pub fn format_table_with_prefix(rows: &[Vec<String>], prefix: &str) -> String {
    let lines: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            let mut cells: Vec<String> = row.clone();
            if let Some(first) = cells.first_mut() {
                *first = format!("{prefix}{first}");
            } else {
                cells.push(prefix.to_string());
            }
            // trailing cell after the last tab (always empty here)
            cells.push(String::new());
            cells
        })
        .collect();
    let mut out = String::new();
    let mut widths = Vec::new();
    layout(&lines, 0, lines.len(), &mut widths, &mut out);
    out
}

fn text_width(s: &str) -> usize {
    s.chars().count()
}

/// Recursive column-block layout (tabwriter's `format`).
fn layout(
    lines: &[Vec<String>],
    mut line0: usize,
    line1: usize,
    widths: &mut Vec<usize>,
    out: &mut String,
) {
    let column = widths.len();
    let mut this = line0;
    while this < line1 {
        if column + 1 >= lines[this].len() {
            this += 1;
            continue;
        }
        write_lines(lines, line0, this, widths, out);
        line0 = this;
        let mut width = 0;
        while this < line1 && column + 1 < lines[this].len() {
            width = width.max(text_width(&lines[this][column]) + PADDING);
            this += 1;
        }
        widths.push(width);
        layout(lines, line0, this, widths, out);
        widths.pop();
        line0 = this;
    }
    write_lines(lines, line0, line1, widths, out);
}

fn write_lines(
    lines: &[Vec<String>],
    line0: usize,
    line1: usize,
    widths: &[usize],
    out: &mut String,
) {
    for line in &lines[line0..line1] {
        for (j, cell) in line.iter().enumerate() {
            out.push_str(cell);
            if let Some(&w) = widths.get(j) {
                let cellw = w.div_ceil(TAB_WIDTH) * TAB_WIDTH;
                let n = cellw.saturating_sub(text_width(cell));
                for _ in 0..n.div_ceil(TAB_WIDTH) {
                    out.push('\t');
                }
            }
        }
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn pads_with_tabs_to_tab_stops() {
        let t = format_table(&[
            row(&["NAME", "KIND", "AGE"]),
            row(&["demo-pipeline", "Pipeline", "5m"]),
        ]);
        // NAME column: width 13+2=15 -> 16; KIND: 8+2=10 -> 16; AGE: 3+2 -> 8
        assert_eq!(t, "NAME\t\tKIND\t\tAGE\t\ndemo-pipeline\tPipeline\t5m\t\n");
    }

    #[test]
    fn ragged_rows_use_column_blocks() {
        let t = format_table(&[
            row(&["NAME", "ALIASES", "CATEGORY", "KIND", "ACTION"]),
            row(&["member", "m,mem,members", "Member", "delete,get,describe"]),
        ]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "NAME\tALIASES\t\tCATEGORY\tKIND\t\t\tACTION\t");
        assert_eq!(
            lines[1],
            "member\tm,mem,members\tMember\t\tdelete,get,describe\t"
        );
    }

    #[test]
    fn matches_integration_regex_shape() {
        let t = format_table(&[row(&["a", "b"]), row(&["ccccccccc", "d"])]);
        assert_eq!(t, "a\t\tb\t\nccccccccc\td\t\n");
    }

    #[test]
    fn prefix_is_part_of_first_cell() {
        assert_eq!(
            format_table_with_prefix(&[row(&["x", "y"])], "  "),
            "  x\ty\t\n"
        );
    }
}
