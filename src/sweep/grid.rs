//! The grid of a sweep: arena sizes × pool sizes × spare-arena policies, plus named presets.
//! A point the engine cannot run (a size that is not a power of two, a pool larger than its
//! arena, fewer than four pools per arena) is named and skipped; the rest run.

use crate::pymalloc::{format_size, parse_size, Geometry, Preset};

/// Arena sizes swept when none are given: 128 KiB – 4 MiB, around 3.8's 256 KiB and 3.10's
/// 1 MiB.
pub const DEFAULT_ARENAS: [usize; 6] = [128 << 10, 256 << 10, 512 << 10, 1 << 20, 2 << 20, 4 << 20];
/// Pool sizes swept when none are given: 4 KiB (3.8/3.9) – 32 KiB, around 3.10's 16 KiB.
/// Every pair with [`DEFAULT_ARENAS`] is possible.
pub const DEFAULT_POOLS: [usize; 4] = [4 << 10, 8 << 10, 16 << 10, 32 << 10];

/// What the command line asked for. Empty axes take the defaults above (spare: keep, the
/// 3.9+ policy) unless only presets were named.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GridSpec {
    pub arenas: Vec<usize>,
    pub pools: Vec<usize>,
    /// Keep one wholly free arena as a spare (3.9+) or not (3.8).
    pub spare: Vec<bool>,
    pub presets: Vec<Preset>,
}

/// One geometry to run, with the presets that have exactly this geometry (3.10 – 3.13 share
/// one), whether or not they were asked for: a heatmap marks them either way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GridPoint {
    pub geometry: Geometry,
    pub presets: Vec<Preset>,
}

impl GridPoint {
    pub fn new(geometry: Geometry) -> Self {
        let presets = Preset::ALL
            .into_iter()
            .filter(|p| p.geometry() == geometry)
            .collect();
        GridPoint { geometry, presets }
    }

    /// `3.8`, `3.9`, `3.10–3.13`, or empty: the versions, for a heatmap's "CPython 3.9".
    pub fn preset_label(&self) -> String {
        let short = |p: &Preset| p.name().trim_start_matches("cpython-").to_string();
        match self.presets.as_slice() {
            [] => String::new(),
            [one] => short(one),
            [first, .., last] => format!("{}–{}", short(first), short(last)),
        }
    }

    /// `cpython-3.9`, `cpython-3.10–3.13` (the first preset's name, then the last's
    /// version), or empty: the presets by the names `list presets`, `--preset` and the CSV's
    /// `presets` column use, for the sweep table. It said `3.9` where the CSV says
    /// `cpython-3.9`, so the two did not read as one sweep.
    pub fn preset_names(&self) -> String {
        match self.presets.as_slice() {
            [] => String::new(),
            [one] => one.name().to_string(),
            [first, .., last] => format!(
                "{}–{}",
                first.name(),
                last.name().trim_start_matches("cpython-")
            ),
        }
    }
}

/// The points to run, in order (arena, pool, spare), and one line per impossible point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grid {
    pub points: Vec<GridPoint>,
    pub skipped: Vec<String>,
}

/// Why no sweep can run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GridError {
    /// Every point was impossible: the lines saying why, one per point.
    #[error("the geometry grid is empty: every point was impossible ({n} skipped: {why})", n = .0.len(), why = reasons(.0))]
    Empty(Vec<String>),
    #[error("bad size `{0}` in the grid: expected a size such as 4096, 16K or 1M")]
    Size(String),
    #[error("bad spare-arena policy `{0}`: expected 1 or keep (3.9+), 0 or release (3.8)")]
    Spare(String),
    #[error("unknown preset `{0}`: expected all, 3.8 … 3.13 or cpython-3.8 … cpython-3.13")]
    Preset(String),
    #[error("{0} is empty: name at least one value, or leave the flag out for the default")]
    EmptyList(&'static str),
}

/// The skipped points' lines joined into one (`arena=…,pool=…: why; …`).
fn reasons(skipped: &[String]) -> String {
    skipped
        .iter()
        .map(|l| l.strip_prefix("skipped ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Parses `64K,256K,1M`.
pub fn parse_sizes(list: &str) -> Result<Vec<usize>, GridError> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| parse_size(s).ok_or_else(|| GridError::Size(s.to_string())))
        .collect()
}

/// Parses `0,1` (also `release`/`keep`, `false`/`true`).
pub fn parse_spare(list: &str) -> Result<Vec<bool>, GridError> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| match s {
            "1" | "keep" | "true" => Ok(true),
            "0" | "release" | "false" => Ok(false),
            _ => Err(GridError::Spare(s.to_string())),
        })
        .collect()
}

/// Parses `all`, `3.8,3.10` or `cpython-3.11`.
pub fn parse_presets(list: &str) -> Result<Vec<Preset>, GridError> {
    let mut out = Vec::new();
    for s in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if s == "all" {
            out.extend(Preset::ALL);
            continue;
        }
        let p = s
            .parse::<Preset>()
            .ok()
            .or_else(|| Preset::for_python(s))
            .ok_or_else(|| GridError::Preset(s.to_string()))?;
        out.push(p);
    }
    Ok(out)
}

/// A list flag's values: none when the flag is absent (the default applies), an error when it
/// is given but names nothing (`--arena ''` is not a request for the default).
fn given<T>(
    flag: &'static str,
    list: Option<&str>,
    parse: fn(&str) -> Result<Vec<T>, GridError>,
) -> Result<Vec<T>, GridError> {
    match list.map(parse).transpose()? {
        None => Ok(Vec::new()),
        Some(v) if v.is_empty() => Err(GridError::EmptyList(flag)),
        Some(v) => Ok(v),
    }
}

impl GridSpec {
    /// The grid the command line's lists name (`--arena`, `--pool`, `--spare`, `--preset`);
    /// a list not given is an empty axis. The first bad list, in that order, is the error.
    pub fn parse(
        arenas: Option<&str>,
        pools: Option<&str>,
        spare: Option<&str>,
        presets: Option<&str>,
    ) -> Result<GridSpec, GridError> {
        Ok(GridSpec {
            arenas: given("--arena", arenas, parse_sizes)?,
            pools: given("--pool", pools, parse_sizes)?,
            spare: given("--spare", spare, parse_spare)?,
            presets: given("--preset", presets, parse_presets)?,
        })
    }

    /// Nothing but presets was asked for.
    fn presets_only(&self) -> bool {
        !self.presets.is_empty()
            && self.arenas.is_empty()
            && self.pools.is_empty()
            && self.spare.is_empty()
    }

    /// Nothing at all was asked for: the default grid and every preset.
    fn is_default(&self) -> bool {
        *self == GridSpec::default()
    }

    /// The points to run: every possible (arena, pool, spare) combination, then the presets
    /// not already among them; impossible combinations are named in `skipped`. An empty
    /// result is an error.
    pub fn build(&self) -> Result<Grid, GridError> {
        let mut points: Vec<GridPoint> = Vec::new();
        let mut skipped = Vec::new();
        let add = |g: Geometry, points: &mut Vec<GridPoint>| {
            if !points.iter().any(|p| p.geometry == g) {
                points.push(GridPoint::new(g));
            }
        };
        if !self.presets_only() {
            let or = |v: &[usize], d: &[usize]| if v.is_empty() { d.to_vec() } else { v.to_vec() };
            let arenas = or(&self.arenas, &DEFAULT_ARENAS);
            let pools = or(&self.pools, &DEFAULT_POOLS);
            let spare = if self.spare.is_empty() {
                vec![true]
            } else {
                self.spare.clone()
            };
            for &a in &arenas {
                for &p in &pools {
                    for &s in &spare {
                        match Geometry::custom(a, p, s) {
                            Ok(g) => add(g, &mut points),
                            Err(e) => skipped.push(format!(
                                "skipped arena={},pool={}{}: {e}",
                                format_size(a),
                                format_size(p),
                                if s { "" } else { ",keep_spare=false" }
                            )),
                        }
                    }
                }
            }
        }
        let presets = if self.is_default() {
            Preset::ALL.to_vec()
        } else {
            self.presets.clone()
        };
        for p in presets {
            add(p.geometry(), &mut points);
        }
        if points.is_empty() {
            return Err(GridError::Empty(skipped));
        }
        points.sort_by_key(|p| {
            let g = p.geometry;
            (!g.keeps_spare_arena(), g.arena_size(), g.pool_size())
        });
        Ok(Grid { points, skipped })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impossible_points_are_named_and_skipped() {
        let spec = GridSpec {
            arenas: parse_sizes("64K,300K,1M").unwrap(),
            pools: parse_sizes("4K,32K").unwrap(),
            ..GridSpec::default()
        };
        let grid = spec.build().unwrap();
        // 64K/32K holds 2 pools; 300K is not a power of two (twice).
        assert_eq!(grid.skipped.len(), 3, "{:?}", grid.skipped);
        assert!(grid.skipped[0].contains("arena=64K,pool=32K"));
        assert!(
            grid.skipped[1].contains("arena=300K,pool=4K")
                && grid.skipped[1].contains("power of two")
        );
        let shown: Vec<String> = grid.points.iter().map(|p| p.geometry.to_string()).collect();
        assert_eq!(
            shown,
            ["arena=64K,pool=4K", "arena=1M,pool=4K", "arena=1M,pool=32K"]
        );
    }

    #[test]
    fn an_all_impossible_grid_is_an_error() {
        let spec = GridSpec {
            arenas: vec![16 << 10],
            pools: vec![16 << 10],
            ..GridSpec::default()
        };
        let e = spec.build().unwrap_err();
        assert_eq!(
            e.to_string(),
            "the geometry grid is empty: every point was impossible (1 skipped: \
             arena=16K,pool=16K: bad geometry: arena 16384 holds fewer than 4 pools of 16384 bytes)"
        );
        // Every point's reason, in one line; a zero size as it was given.
        let spec = GridSpec {
            arenas: vec![64 << 10, 0],
            pools: vec![32 << 10],
            ..GridSpec::default()
        };
        let e = spec.build().unwrap_err().to_string();
        assert!(
            e.contains("(2 skipped: arena=64K,pool=32K: bad geometry"),
            "{e}"
        );
        assert!(e.contains("; arena=0,pool=32K: bad geometry"), "{e}");
        assert!(!e.contains('\n'), "{e}");
    }

    #[test]
    fn presets_join_the_grid_once_and_mark_their_geometry() {
        let spec = GridSpec {
            presets: parse_presets("all").unwrap(),
            ..GridSpec::default()
        };
        let grid = spec.build().unwrap();
        let labels: Vec<String> = grid.points.iter().map(GridPoint::preset_label).collect();
        // 3.9 (256K/4K, spare), 3.10–3.13 (1M/16K, spare), then 3.8 (no spare).
        assert_eq!(labels, ["3.9", "3.10–3.13", "3.8"]);
        let names: Vec<String> = grid.points.iter().map(GridPoint::preset_names).collect();
        assert_eq!(names, ["cpython-3.9", "cpython-3.10–3.13", "cpython-3.8"]);
        // A custom point equal to a preset is marked as that preset.
        let spec = GridSpec {
            arenas: vec![1 << 20],
            pools: vec![16 << 10],
            ..GridSpec::default()
        };
        assert_eq!(spec.build().unwrap().points[0].preset_label(), "3.10–3.13");
    }

    #[test]
    fn the_command_lines_lists_make_the_spec() {
        let spec = GridSpec::parse(Some("256K"), None, Some("0"), Some("3.9")).unwrap();
        assert_eq!(spec.arenas, vec![256 << 10]);
        assert!(spec.pools.is_empty());
        assert_eq!(spec.spare, vec![false]);
        assert_eq!(spec.presets.len(), 1);
        assert_eq!(
            GridSpec::parse(None, None, None, None).unwrap(),
            GridSpec::default()
        );
        // A list given empty is refused, not taken for the default.
        for (args, flag) in [
            ((Some(""), None, None, None), "--arena"),
            ((None, Some(" , "), None, None), "--pool"),
            ((None, None, Some(""), None), "--spare"),
            ((None, None, None, Some("")), "--preset"),
        ] {
            let (a, p, s, pr) = args;
            assert_eq!(
                GridSpec::parse(a, p, s, pr),
                Err(GridError::EmptyList(flag))
            );
        }
        // The first bad list is the one reported.
        let e = GridSpec::parse(None, Some("4Q"), Some("maybe"), None).unwrap_err();
        assert!(matches!(e, GridError::Size(_)), "{e:?}");
    }

    #[test]
    fn list_parsers_refuse_garbage() {
        assert_eq!(parse_sizes("4K, 1M").unwrap(), vec![4096, 1 << 20]);
        assert!(matches!(parse_sizes("4Q"), Err(GridError::Size(_))));
        assert_eq!(parse_spare("0,keep").unwrap(), vec![false, true]);
        assert!(parse_spare("maybe").is_err());
        assert_eq!(
            parse_presets("3.8,cpython-3.12").unwrap(),
            vec![Preset::Cpython38, Preset::Cpython312]
        );
        assert!(parse_presets("2.7").is_err());
    }
}
