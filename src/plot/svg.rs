//! A small SVG chart writer: line charts and grouped bar charts with axes, ticks, a log scale,
//! a legend and error bars. Written here rather than pulled in because pybench needs four
//! kinds of chart, self-contained files that render in any browser, and text that tests can
//! find; a plotting crate would bring fonts, rasterisers and far more than that.

use std::fmt::Write as _;

/// Colours of the series, in order: the Okabe-Ito palette, readable by colour-blind people.
pub const PALETTE: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000",
];

/// Escapes text for XML content and attribute values. The control characters XML 1.0 allows
/// in no form, not even as `&#x1b;` (C0 but tab, line feed and carriage return), are written
/// as Rust escapes (`\u{1b}`), as the terminal shows them: one in a name made the whole chart
/// a file no browser would draw.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\u{0}'..='\u{1f}' if !matches!(c, '\t' | '\n' | '\r') => out.extend(c.escape_debug()),
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

/// A finite `x` rounded out to a whole number of `step`s (down when `down`), or the largest
/// finite value where that overflows: an axis ending near `f64::MAX` ends there, not at
/// infinity. (An infinite `x` stays infinite: such an axis gets no ticks.)
fn round_out(x: f64, step: f64, down: bool) -> f64 {
    let r = if down {
        (x / step).floor() * step
    } else {
        (x / step).ceil() * step
    };
    // A quotient that underflowed to 0 (1e-308 over 5e307) rounds to 0, inside the range.
    let r = match (down, r) {
        (true, r) if r > x => r - step,
        (false, r) if r < x => r + step,
        _ => r,
    };
    if x.is_finite() {
        r.clamp(-f64::MAX, f64::MAX)
    } else {
        r
    }
}

impl Axis {
    /// A linear axis from 0 (or `min` when negative) to a round number above `max`.
    pub fn linear(label: &str, min: f64, max: f64, format: fn(f64) -> String) -> Self {
        let lo = min.min(0.0);
        let hi = if max > lo {
            max
        } else if lo < 0.0 {
            0.0
        } else {
            1.0
        };
        // A fifth of each end apart, so a span of two values near ±f64::MAX does not
        // overflow.
        let step = nice_step(hi / 5.0 - lo / 5.0);
        Axis {
            label: label.to_string(),
            scale: Scale::Linear,
            min: round_out(lo, step, true),
            max: round_out(hi, step, false),
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
            max: round_out(hi, step, false),
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
        // Whole bytes: a tiny figure (a damaged file) does not get ticks between two bytes.
        let step = (nice_step(max / unit / 5.0) * unit).max(1.0);
        Axis {
            label: label.to_string(),
            scale: Scale::Linear,
            min: 0.0,
            max: round_out(max, step, false),
            format,
            step,
            ticks: None,
        }
    }

    /// A log10 axis covering whole decades around `[min, max]` (both must be > 0).
    pub fn log(label: &str, min: f64, max: f64, format: fn(f64) -> String) -> Self {
        let lo = min.max(f64::MIN_POSITIVE).log10().floor();
        let hi = max.max(min).max(f64::MIN_POSITIVE).log10().ceil();
        let hi = hi.max(lo + 1.0);
        // 10^309 overflows: a maximum past 1e308 ends the axis at the largest float, with
        // at least the decade below 1e308 in it, so it has two ticks.
        let (lo, top) = if hi > 308.0 && hi.is_finite() {
            (lo.min(307.0), f64::MAX)
        } else {
            (lo, 10f64.powf(hi))
        };
        Axis {
            label: label.to_string(),
            scale: Scale::Log,
            min: 10f64.powf(lo),
            max: top,
            format,
            step: 1.0,
            ticks: None,
        }
    }

    /// Position of `v` between pixel `a` (at min) and pixel `b` (at max).
    pub fn map(&self, v: f64, a: f64, b: f64) -> f64 {
        let t = match self.scale {
            // Halved, so the span of an axis from -f64::MAX to f64::MAX is finite.
            Scale::Linear => (v / 2.0 - self.min / 2.0) / (self.max / 2.0 - self.min / 2.0),
            Scale::Log => {
                let v = v.max(self.min);
                (v.log10() - self.min.log10()) / (self.max.log10() - self.min.log10())
            }
        };
        let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
        a + t * (b - a)
    }

    fn tick_values(&self) -> Vec<(f64, String)> {
        if let Some(t) = &self.ticks {
            return t.clone();
        }
        match self.scale {
            Scale::Linear => self.linear_ticks(),
            Scale::Log => self.log_ticks(),
        }
    }

    /// The whole multiples of the step from `min` to `max`.
    fn linear_ticks(&self) -> Vec<(f64, String)> {
        let step = self.step;
        // Counted before drawing: an infinite range (a figure that overflowed) used to add
        // steps to a tick list forever, until memory ran out. Multiples of the step, counted
        // from zero, so an end that is no multiple (an axis clamped at ±f64::MAX) still gets
        // round ticks, and no span is computed that could overflow.
        let first = (self.min / step - 1e-9).ceil();
        let last = (self.max / step + 1e-9).floor();
        if !(first.is_finite() && last.is_finite() && (0.0..=MAX_TICKS).contains(&(last - first))) {
            return Vec::new();
        }
        (0..=(last - first) as usize)
            .map(|i| {
                let v = ((first + i as f64) * step).clamp(self.min, self.max);
                // Avoid "-0" and float dust in labels.
                let clean = if v.abs() < step * 1e-9 { 0.0 } else { v };
                (clean, (self.format)(clean))
            })
            .collect()
    }

    /// One tick a decade (thinned to at most [`LOG_LABELS`] decades), with 2× and 5× where
    /// the axis spans two decades or fewer.
    fn log_ticks(&self) -> Vec<(f64, String)> {
        let (lo, hi) = (self.min.log10().round(), self.max.log10().round());
        // Finite positive f64s span about 630 decades; anything else (an infinite or
        // non-positive end) would saturate the exponents below into billions.
        if !(lo.is_finite() && hi.is_finite() && hi - lo <= MAX_TICKS) {
            return Vec::new();
        }
        let (lo, hi) = (lo as i32, hi as i32);
        // Hundreds of decades (a damaged file's 1e-300 beside 1e300) get a label every few
        // decades, not a pile of overlapping ones.
        let every = ((hi - lo) as usize).div_ceil(LOG_LABELS).max(1);
        let mut out = Vec::new();
        for e in (lo..=hi).step_by(every) {
            let d = 10f64.powi(e).clamp(self.min, self.max);
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

/// The most decades a log axis labels; more are labelled every second, third … decade.
const LOG_LABELS: usize = 12;

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

/// The opening of every chart `frame` and `plot::heatmap` draw, up to its size: with
/// [`FONTS`], what tells a chart of pybench's (of every version that drew one) from a file of
/// the user's own (`plot::drawn_by_pybench`).
pub const OPENING: &str = r#"<svg xmlns="http://www.w3.org/2000/svg" width=""#;

/// The font list of every chart's opening tag.
pub const FONTS: &str = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif";

/// The document, the title, the frame and both axes' ticks and labels.
fn frame(title: &str, x: Option<&Axis>, x_label: &str, y: &Axis) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"{OPENING}{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="{FONTS}" font-size="12">"#
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
            let style = series
                .get(bar.series)
                .map_or(("", 0), |(n, c)| (n.as_str(), *c));
            bar_rect(&mut s, y, bar, &group.label, style, bx, bar_w);
        }
        group_label(&mut s, &group.label, centre, slot);
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

/// One bar at `bx`, `bar_w` wide, of series `(name, colour)`, with its error bar if any.
fn bar_rect(
    s: &mut String,
    y: &Axis,
    bar: &Bar,
    group: &str,
    (name, color): (&str, usize),
    bx: f64,
    bar_w: f64,
) {
    let top = y.map(bar.value, BOTTOM, TOP);
    let _ = writeln!(
        s,
        r#"<rect class="bar" data-series="{}" x="{:.1}" y="{top:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{}: {}</title></rect>"#,
        escape(name),
        bx + 1.0,
        bar_w - 2.0,
        (BOTTOM - top).max(0.0),
        PALETTE[color % PALETTE.len()],
        escape(group),
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

/// A group's label under its bars, centred at `centre` in a slot `slot` wide. Labels wider
/// than their group (many size classes, many workloads with long names) are slanted so
/// neighbours do not run into each other ("stringsnumbers").
fn group_label(s: &mut String, label: &str, centre: f64, slot: f64) {
    if slot < 36.0 || label_width(label) > slot * 0.9 {
        let _ = writeln!(
            s,
            r#"<text class="tick" x="{centre:.1}" y="{}" text-anchor="end" font-size="10" transform="rotate(-50 {centre:.1} {})">{}</text>"#,
            BOTTOM + 14.0,
            BOTTOM + 14.0,
            escape(label)
        );
    } else {
        let _ = writeln!(
            s,
            r#"<text class="tick" x="{centre:.1}" y="{}" text-anchor="middle">{}</text>"#,
            BOTTOM + 19.0,
            escape(label)
        );
    }
}

#[cfg(test)]
#[path = "svg_tests.rs"]
mod tests;
