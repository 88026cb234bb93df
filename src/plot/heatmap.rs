//! A heatmap in SVG: a grid of coloured cells with their values written in, some cells
//! outlined and labelled (presets), some starred (the best), and caption lines under it.
//! Self-contained like the charts of [`super::svg`], whose escaping it shares.

use super::svg::{escape, FONTS, OPENING};
use std::fmt::Write as _;

/// One cell of the grid.
pub struct HeatCell {
    pub col: usize,
    pub row: usize,
    /// Drives the colour; lower values are lighter.
    pub value: f64,
    /// Written in the cell.
    pub text: String,
    /// A label for an outlined cell (a preset's name), if any.
    pub mark: Option<String>,
    /// Starred as one of the best.
    pub best: bool,
}

/// The grid's axes: column and row labels, each with its axis title.
pub struct HeatAxes<'a> {
    pub x_label: &'a str,
    pub cols: &'a [String],
    pub y_label: &'a str,
    pub rows: &'a [String],
}

const CELL_W: f64 = 112.0;
const CELL_H: f64 = 46.0;
const LEFT: f64 = 120.0;
const TOP: f64 = 64.0;

/// Light yellow → green → dark blue (the ends of viridis), so low reads light.
const STOPS: [(f64, f64, f64); 4] = [
    (253.0, 231.0, 37.0),
    (94.0, 201.0, 98.0),
    (33.0, 145.0, 140.0),
    (59.0, 82.0, 139.0),
];

fn colour(t: f64) -> (String, bool) {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let pos = t * (STOPS.len() - 1) as f64;
    let i = (pos.floor() as usize).min(STOPS.len() - 2);
    let f = pos - i as f64;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    let mix = |x: f64, y: f64| (x + (y - x) * f).round() as u8;
    let (r, g, bl) = (mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2));
    // Dark fills take white text.
    let dark = 0.299 * r as f64 + 0.587 * g as f64 + 0.114 * bl as f64 <= 140.0;
    (format!("#{r:02x}{g:02x}{bl:02x}"), dark)
}

/// The SVG document. Empty grid positions (impossible or not swept) are drawn grey.
pub fn heatmap(title: &str, axes: &HeatAxes<'_>, cells: &[HeatCell], caption: &[String]) -> String {
    let (nc, nr) = (axes.cols.len().max(1), axes.rows.len().max(1));
    let width = (LEFT + CELL_W * nc as f64 + 30.0).max(640.0);
    let grid_bottom = TOP + CELL_H * nr as f64;
    let height = grid_bottom + 60.0 + 18.0 * caption.len() as f64;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"{OPENING}{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="{FONTS}" font-size="12">"#
    );
    let _ = writeln!(s, "<title>{}</title>", escape(title));
    let _ = writeln!(
        s,
        r##"<rect width="{width}" height="{height}" fill="#ffffff"/>"##
    );
    let _ = writeln!(
        s,
        r#"<text class="title" x="{}" y="26" text-anchor="middle" font-size="15" font-weight="600">{}</text>"#,
        width / 2.0,
        escape(title)
    );
    for r in 0..nr {
        for c in 0..nc {
            let _ = writeln!(
                s,
                r##"<rect class="empty" x="{:.1}" y="{:.1}" width="{CELL_W}" height="{CELL_H}" fill="#eeeeee" stroke="#ffffff"/>"##,
                LEFT + CELL_W * c as f64,
                TOP + CELL_H * r as f64
            );
        }
    }
    draw_cells(&mut s, axes, cells);
    draw_labels(&mut s, axes, grid_bottom);
    for (i, line) in caption.iter().enumerate() {
        let _ = writeln!(
            s,
            r#"<text class="caption" x="12" y="{:.1}" font-size="11">{}</text>"#,
            grid_bottom + 60.0 + 18.0 * i as f64,
            escape(line)
        );
    }
    s.push_str("</svg>\n");
    s
}

/// Each column's and row's label beside the grid (whose bottom edge is at `grid_bottom`),
/// and the two axes' names.
fn draw_labels(s: &mut String, axes: &HeatAxes<'_>, grid_bottom: f64) {
    let (nc, nr) = (axes.cols.len().max(1), axes.rows.len().max(1));
    for (c, label) in axes.cols.iter().enumerate() {
        let _ = writeln!(
            s,
            r#"<text class="tick" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            LEFT + CELL_W * (c as f64 + 0.5),
            grid_bottom + 18.0,
            escape(label)
        );
    }
    for (r, label) in axes.rows.iter().enumerate() {
        let _ = writeln!(
            s,
            r#"<text class="tick" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            LEFT - 8.0,
            TOP + CELL_H * (r as f64 + 0.5) + 4.0,
            escape(label)
        );
    }
    let _ = writeln!(
        s,
        r#"<text class="axis-label" x="{:.1}" y="{:.1}" text-anchor="middle" font-size="13">{}</text>"#,
        LEFT + CELL_W * nc as f64 / 2.0,
        grid_bottom + 38.0,
        escape(axes.x_label)
    );
    let _ = writeln!(
        s,
        r#"<text class="axis-label" transform="translate(20,{:.1}) rotate(-90)" text-anchor="middle" font-size="13">{}</text>"#,
        TOP + CELL_H * nr as f64 / 2.0,
        escape(axes.y_label)
    );
}

/// The swept cells: coloured from the lowest value to the highest, each with its value (★
/// on those starred as best) and a frame and label on a named preset.
fn draw_cells(s: &mut String, axes: &HeatAxes<'_>, cells: &[HeatCell]) {
    let (lo, hi) = cells
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), c| {
            (l.min(c.value), h.max(c.value))
        });
    for cell in cells {
        let (x, y) = (
            LEFT + CELL_W * cell.col as f64,
            TOP + CELL_H * cell.row as f64,
        );
        let t = if hi > lo {
            (cell.value - lo) / (hi - lo)
        } else {
            0.0
        };
        let (fill, dark) = colour(t);
        let ink = if dark { "#ffffff" } else { "#111111" };
        let _ = writeln!(
            s,
            r##"<rect class="cell" x="{x:.1}" y="{y:.1}" width="{CELL_W}" height="{CELL_H}" fill="{fill}" stroke="#ffffff"><title>{} × {}: {}</title></rect>"##,
            escape(&axes.rows[cell.row]),
            escape(&axes.cols[cell.col]),
            escape(&cell.text)
        );
        let star = if cell.best { "★ " } else { "" };
        let _ = writeln!(
            s,
            r#"<text class="value" x="{:.1}" y="{:.1}" text-anchor="middle" fill="{ink}">{star}{}</text>"#,
            x + CELL_W / 2.0,
            y + CELL_H / 2.0 + 9.0,
            escape(&cell.text)
        );
        if let Some(mark) = &cell.mark {
            let _ = writeln!(
                s,
                r##"<rect class="preset" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="none" stroke="#000000" stroke-width="3"/><text class="preset-label" x="{:.1}" y="{:.1}" text-anchor="middle" font-size="10" font-weight="600" fill="{ink}">{}</text>"##,
                x + 1.5,
                y + 1.5,
                CELL_W - 3.0,
                CELL_H - 3.0,
                x + CELL_W / 2.0,
                y + 15.0,
                escape(mark)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_marks_and_stars_are_drawn_and_gaps_stay_grey() {
        let cols = ["4K".to_string(), "16K".to_string()];
        let rows = ["256K".to_string()];
        let axes = HeatAxes {
            x_label: "pool",
            cols: &cols,
            y_label: "arena",
            rows: &rows,
        };
        let cells = [HeatCell {
            col: 0,
            row: 0,
            value: 3.0,
            text: "3 <arenas>".into(),
            mark: Some("3.9".into()),
            best: true,
        }];
        let svg = heatmap("t & u", &axes, &cells, &["Pareto-best: a".into()]);
        assert_eq!(svg.matches(r#"class="cell""#).count(), 1);
        assert_eq!(svg.matches(r#"class="empty""#).count(), 2);
        assert!(svg.contains("★ 3 &lt;arenas&gt;"), "{svg}");
        assert!(svg.contains(">3.9</text>") && svg.contains("t &amp; u"));
    }

    #[test]
    fn low_values_are_light_and_high_ones_dark() {
        assert_eq!(colour(0.0), ("#fde725".to_string(), false));
        assert!(colour(1.0).1);
    }
}
