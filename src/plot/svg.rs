//! A small SVG chart writer: line charts and grouped bar charts with axes, ticks, a log scale,
//! a legend and error bars. Written here rather than pulled in because pybench needs four
//! kinds of chart, self-contained files that render in any browser, and text that tests can
//! find; a plotting crate would bring fonts, rasterisers and far more than that.

use std::fmt::Write as _;

/// Colours of the series, in order: the Okabe-Ito palette, readable by colour-blind people.
pub const PALETTE: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000",
];

/// Escapes text for XML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// How values map onto an axis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scale {
    Linear,
    /// log10; the axis range is widened to whole decades.
    Log,
}

/// One axis: its label (with unit), scale, range and how tick values are written.
pub struct Axis {
    pub label: String,
    pub scale: Scale,
    pub min: f64,
    pub max: f64,
    pub format: fn(f64) -> String,
    /// Distance between ticks of a linear axis.
    pub step: f64,
    /// Explicit ticks (value, label) instead of computed ones.
    pub ticks: Option<Vec<(f64, String)>>,
}

impl Axis {
    /// A linear axis from 0 (or `min` when negative) to a round number above `max`.
    pub fn linear(label: &str, min: f64, max: f64, format: fn(f64) -> String) -> Self {
        let (lo, hi) = (min.min(0.0), if max > min { max } else { min + 1.0 });
        let step = nice_step((hi - lo) / 5.0);
        Axis {
            label: label.to_string(),
            scale: Scale::Linear,
            min: (lo / step).floor() * step,
            max: (hi / step).ceil() * step,
            format,
            step,
            ticks: None,
        }
    }

    /// A linear axis of whole counts (pools, arenas): ticks never fall between two integers.
    pub fn linear_whole(label: &str, max: f64, format: fn(f64) -> String) -> Self {
        let hi = max.max(1.0);
        let step = nice_step(hi / 5.0).max(1.0);
        Axis {
            max: (hi / step).ceil() * step,
            step,
            ..Axis::linear(label, 0.0, hi, format)
        }
    }

    /// A linear axis for bytes: ticks at 1, 2 or 5 × a power of ten of KiB, MiB or GiB, so
    /// labels read "50 KiB" rather than "48.8 KiB".
    pub fn linear_bytes(label: &str, max: f64, format: fn(f64) -> String) -> Self {
        let max = if max > 0.0 { max } else { 1.0 };
        let unit = [1024f64.powi(3), 1024f64.powi(2), 1024.0, 1.0]
            .into_iter()
            .find(|u| max >= *u)
            .unwrap_or(1.0);
        let step = nice_step(max / unit / 5.0) * unit;
        Axis {
            label: label.to_string(),
            scale: Scale::Linear,
            min: 0.0,
            max: (max / step).ceil() * step,
            format,
            step,
            ticks: None,
        }
    }

    /// A log10 axis covering whole decades around `[min, max]` (both must be > 0).
    pub fn log(label: &str, min: f64, max: f64, format: fn(f64) -> String) -> Self {
        let lo = min.max(f64::MIN_POSITIVE).log10().floor();
        let mut hi = max.max(min).max(f64::MIN_POSITIVE).log10().ceil();
        if hi <= lo {
            hi = lo + 1.0;
        }
        Axis {
            label: label.to_string(),
            scale: Scale::Log,
            min: 10f64.powf(lo),
            max: 10f64.powf(hi),
            format,
            step: 1.0,
            ticks: None,
        }
    }

    /// Position of `v` between pixel `a` (at min) and pixel `b` (at max).
    pub fn map(&self, v: f64, a: f64, b: f64) -> f64 {
        let t = match self.scale {
            Scale::Linear => (v - self.min) / (self.max - self.min),
            Scale::Log => {
                let v = v.max(self.min);
                (v.log10() - self.min.log10()) / (self.max.log10() - self.min.log10())
            }
        };
        a + t.clamp(0.0, 1.0) * (b - a)
    }

    fn tick_values(&self) -> Vec<(f64, String)> {
        if let Some(t) = &self.ticks {
            return t.clone();
        }
        match self.scale {
            Scale::Linear => {
                let step = self.step;
                // Counted before drawing: an infinite range (a figure that overflowed) used to
                // add steps to a tick list forever, until memory ran out.
                let last = ((self.max - self.min) / step + 1e-9).floor();
                if !(0.0..=MAX_TICKS).contains(&last) {
                    return Vec::new();
                }
                (0..=last as usize)
                    .map(|i| {
                        let v = self.min + step * i as f64;
                        // Avoid "-0" and float dust in labels.
                        let clean = if v.abs() < step * 1e-9 { 0.0 } else { v };
                        (clean, (self.format)(clean))
                    })
                    .collect()
            }
            Scale::Log => {
                let (lo, hi) = (self.min.log10().round(), self.max.log10().round());
                // Finite positive f64s span about 630 decades; anything else (an infinite or
                // non-positive end) would saturate the exponents below into billions.
                if !(lo.is_finite() && hi.is_finite() && hi - lo <= MAX_TICKS) {
                    return Vec::new();
                }
                let (lo, hi) = (lo as i32, hi as i32);
                let mut out = Vec::new();
                for e in lo..=hi {
                    let d = 10f64.powi(e);
                    out.push((d, (self.format)(d)));
                    // Few decades: label 2× and 5× too, so the axis is readable.
                    if hi - lo <= 2 && e < hi {
                        out.push((2.0 * d, (self.format)(2.0 * d)));
                        out.push((5.0 * d, (self.format)(5.0 * d)));
                    }
                }
                out
            }
        }
    }
}

/// The most ticks an axis gets; an axis that would need more has a range no chart of a run
/// gives (see [`Axis::tick_values`]) and gets none.
const MAX_TICKS: f64 = 1000.0;

/// Approximate width in pixels of a tick label at the default 12 px sans-serif font.
fn label_width(label: &str) -> f64 {
    label.chars().count() as f64 * 7.0
}

/// 1, 2 or 5 × a power of ten, at least `raw`.
fn nice_step(raw: f64) -> f64 {
    if raw.is_nan() || raw <= 0.0 || raw.is_infinite() {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw * 0.999)
        .unwrap_or(10.0 * mag)
}

/// A named line; `color` indexes [`PALETTE`], so an allocator keeps its colour in every chart.
pub struct Line {
    pub name: String,
    pub color: usize,
    pub points: Vec<(f64, f64)>,
}

/// One bar of a group: series index, value and optional error bar (low, high).
pub struct Bar {
    pub series: usize,
    pub value: f64,
    pub error: Option<(f64, f64)>,
}

/// Bars drawn side by side under one x label.
pub struct Group {
    pub label: String,
    pub bars: Vec<Bar>,
}

const W: f64 = 820.0;
const H: f64 = 440.0;
const LEFT: f64 = 90.0;
const RIGHT: f64 = 600.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 370.0;

/// The document, the title, the frame and both axes' ticks and labels.
fn frame(title: &str, x: Option<&Axis>, x_label: &str, y: &Axis) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<title>{}</title>"#, escape(title));
    let _ = writeln!(s, r##"<rect width="{W}" height="{H}" fill="#ffffff"/>"##);
    let _ = writeln!(
        s,
        r#"<text class="title" x="{}" y="28" text-anchor="middle" font-size="16" font-weight="600">{}</text>"#,
        (LEFT + RIGHT) / 2.0,
        escape(title)
    );
    for (v, label) in y.tick_values() {
        let py = y.map(v, BOTTOM, TOP);
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{py:.1}" x2="{RIGHT}" y2="{py:.1}" stroke="#e0e0e0"/><text class="tick" x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
            LEFT - 6.0,
            py + 4.0,
            escape(&label)
        );
    }
    if let Some(x) = x {
        for (v, label) in x.tick_values() {
            let px = x.map(v, LEFT, RIGHT);
            let _ = writeln!(
                s,
                r##"<line x1="{px:.1}" y1="{TOP}" x2="{px:.1}" y2="{BOTTOM}" stroke="#f0f0f0"/><line x1="{px:.1}" y1="{BOTTOM}" x2="{px:.1}" y2="{}" stroke="#333"/><text class="tick" x="{px:.1}" y="{}" text-anchor="middle">{}</text>"##,
                BOTTOM + 5.0,
                BOTTOM + 19.0,
                escape(&label)
            );
        }
    }
    let _ = writeln!(
        s,
        r#"<text class="axis-label" x="{}" y="{}" text-anchor="middle" font-size="13">{}</text>"#,
        (LEFT + RIGHT) / 2.0,
        BOTTOM + 45.0,
        escape(x.map_or(x_label, |x| x.label.as_str()))
    );
    let _ = writeln!(
        s,
        r##"<path d="M{LEFT},{TOP} V{BOTTOM} H{RIGHT}" fill="none" stroke="#333"/>"##
    );
    let _ = writeln!(
        s,
        r#"<text class="axis-label" transform="translate(22,{}) rotate(-90)" text-anchor="middle" font-size="13">{}</text>"#,
        (TOP + BOTTOM) / 2.0,
        escape(&y.label)
    );
    s
}

/// The legend, right of the plot area: one coloured swatch and name per (name, colour).
fn legend(s: &mut String, names: &[(String, usize)]) {
    let x = RIGHT + 20.0;
    let _ = writeln!(s, r#"<g class="legend">"#);
    for (i, (name, color)) in names.iter().enumerate() {
        let y = TOP + 10.0 + 22.0 * i as f64;
        let _ = writeln!(
            s,
            r#"<rect x="{x}" y="{}" width="14" height="14" fill="{}"/><text class="legend-entry" x="{}" y="{}">{}</text>"#,
            y - 11.0,
            PALETTE[color % PALETTE.len()],
            x + 20.0,
            y,
            escape(name)
        );
    }
    let _ = writeln!(s, "</g>");
}

/// A line chart: one polyline per series, with a legend.
pub fn line_chart(title: &str, x: &Axis, y: &Axis, lines: &[Line]) -> String {
    let mut s = frame(title, Some(x), "", y);
    for line in lines {
        let pts: Vec<String> = line
            .points
            .iter()
            .filter(|(a, b)| a.is_finite() && b.is_finite())
            .map(|(a, b)| {
                format!(
                    "{:.1},{:.1}",
                    x.map(*a, LEFT, RIGHT),
                    y.map(*b, BOTTOM, TOP)
                )
            })
            .collect();
        let _ = writeln!(
            s,
            r#"<polyline class="series" data-series="{}" points="{}" fill="none" stroke="{}" stroke-width="2" stroke-linejoin="round"/>"#,
            escape(&line.name),
            pts.join(" "),
            PALETTE[line.color % PALETTE.len()]
        );
    }
    let names: Vec<(String, usize)> = lines.iter().map(|l| (l.name.clone(), l.color)).collect();
    legend(&mut s, &names);
    s.push_str("</svg>\n");
    s
}

/// A grouped bar chart: `groups` along x, one bar per series (name, colour) in each, error
/// bars where
/// given, and an optional dashed reference line (e.g. frag_ratio = 1) labelled right of the
/// plot area, where it cannot cover a bar.
pub fn bar_chart(
    title: &str,
    x_label: &str,
    y: &Axis,
    series: &[(String, usize)],
    groups: &[Group],
    reference: Option<(f64, &str)>,
) -> String {
    let mut s = frame(title, None, x_label, y);
    let n = groups.len().max(1) as f64;
    let slot = (RIGHT - LEFT) / n;
    let per = series.len().max(1) as f64;
    let bar_w = (slot * 0.8 / per).min(60.0);
    for (g, group) in groups.iter().enumerate() {
        let centre = LEFT + slot * (g as f64 + 0.5);
        let start = centre - bar_w * per / 2.0;
        for bar in &group.bars {
            let bx = start + bar_w * bar.series as f64;
            let top = y.map(bar.value, BOTTOM, TOP);
            let (name, color) = series
                .get(bar.series)
                .map_or(("", 0), |(n, c)| (n.as_str(), *c));
            let _ = writeln!(
                s,
                r#"<rect class="bar" data-series="{}" x="{:.1}" y="{top:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{}: {}</title></rect>"#,
                escape(name),
                bx + 1.0,
                bar_w - 2.0,
                (BOTTOM - top).max(0.0),
                PALETTE[color % PALETTE.len()],
                escape(&group.label),
                escape(&(y.format)(bar.value))
            );
            if let Some((lo, hi)) = bar.error {
                let (plo, phi) = (y.map(lo, BOTTOM, TOP), y.map(hi, BOTTOM, TOP));
                let cx = bx + bar_w / 2.0;
                let _ = writeln!(
                    s,
                    r##"<path class="error-bar" d="M{cx:.1},{plo:.1} V{phi:.1} M{:.1},{plo:.1} H{:.1} M{:.1},{phi:.1} H{:.1}" stroke="#222" stroke-width="1.3" fill="none"/>"##,
                    cx - 5.0,
                    cx + 5.0,
                    cx - 5.0,
                    cx + 5.0
                );
            }
        }
        // Labels wider than their group (many size classes, many workloads with long names)
        // are slanted so neighbours do not run into each other ("stringsnumbers").
        if slot < 36.0 || label_width(&group.label) > slot * 0.9 {
            let _ = writeln!(
                s,
                r#"<text class="tick" x="{centre:.1}" y="{}" text-anchor="end" font-size="10" transform="rotate(-50 {centre:.1} {})">{}</text>"#,
                BOTTOM + 14.0,
                BOTTOM + 14.0,
                escape(&group.label)
            );
        } else {
            let _ = writeln!(
                s,
                r#"<text class="tick" x="{centre:.1}" y="{}" text-anchor="middle">{}</text>"#,
                BOTTOM + 19.0,
                escape(&group.label)
            );
        }
    }
    if let Some((v, label)) = reference {
        let py = y.map(v, BOTTOM, TOP);
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{py:.1}" x2="{RIGHT}" y2="{py:.1}" stroke="#555" stroke-dasharray="6 4"/><text class="reference" x="{}" y="{:.1}" font-size="11" fill="#555">{}</text>"##,
            RIGHT + 6.0,
            py + 4.0,
            escape(label)
        );
    }
    legend(&mut s, series);
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
#[path = "svg_tests.rs"]
mod tests;
