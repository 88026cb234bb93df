//! How many events a spec's stream holds at most, told before it is generated: what a replay
//! that holds the stream in memory checks against the machine's memory, and what `run
//! --stream auto` weighs. `scale` counts Python objects, not events, and a spec's events per
//! object range from under 1 (freelists, singletons) to 64 (`s += piece` a character at a
//! time, cut at [`RESIZES_PER_OBJECT`] reallocs an object): the 1.5 events a request once
//! assumed let a spec of 134 a request past the check, and the replay then aborted on an
//! allocation of 5 GB.

use super::event::Event;
use super::heap::RESIZES_PER_OBJECT;
use super::{max_objects, Workload};

/// Objects of the stream's start that are generated to measure its rates: enough for many
/// units of work of any built-in (a json document is up to 2,000 nodes), little next to a
/// stream that could outgrow memory.
pub const PREFIX_OBJECTS: u64 = 1 << 15;
/// Events past which the measured start stops, whatever its objects: a spec of 10,000
/// reallocs an object reaches its rate within a few hundred objects.
pub const PREFIX_EVENTS: u64 = 1 << 22;

/// A stream's size told from its start ([`Workload::event_count`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventCount {
    /// The start's events per object times the scale: what the stream likely holds.
    pub expected: u64,
    /// The most it may hold (see [`Workload::event_count`]): what memory is checked against.
    pub bound: u64,
}

impl Workload {
    /// The stream's size from its start: its rates per object of allocations, reallocs and
    /// markers, measured over its first [`PREFIX_OBJECTS`] objects (or [`PREFIX_EVENTS`]
    /// events). The bound applies them to every object the stream may model
    /// ([`max_objects`]: twice the scale and a margin), counts each allocation twice, for the
    /// free that may follow it — at the start of a stream the windows of live objects are
    /// still filling and few frees come — and reallocs at most as many as the stream's bound
    /// on them. A stream that ends inside the measured start is counted exactly.
    pub fn event_count(&self) -> EventCount {
        let mut stream = self.stream();
        let (mut allocs, mut reallocs, mut markers, mut events) = (0u64, 0u64, 0u64, 0u64);
        while stream.objects() < PREFIX_OBJECTS && events < PREFIX_EVENTS {
            let Some(batch) = stream.next_batch() else {
                return EventCount {
                    expected: events,
                    bound: events,
                };
            };
            events += batch.len() as u64;
            for e in batch {
                match e {
                    Event::Alloc { .. } | Event::Calloc { .. } => allocs += 1,
                    Event::Realloc { .. } => reallocs += 1,
                    Event::Free { .. } => {}
                    Event::Phase(_) | Event::Gc(_) => markers += 1,
                }
            }
        }
        let start = stream.objects().max(1) as f64;
        let objects = max_objects(self.scale) as f64;
        let per_object = |count: u64| count as f64 / start * objects;
        let resizes = per_object(reallocs).min(objects * RESIZES_PER_OBJECT as f64);
        let bound = per_object(2 * allocs + markers) + resizes;
        let expected = events as f64 / start * self.scale as f64;
        // Never fewer than the start already holds, the expected never more than the bound;
        // the casts saturate.
        let bound = (bound.ceil() as u64).max(events);
        EventCount {
            expected: (expected.ceil() as u64).clamp(events, bound),
            bound,
        }
    }

    /// [`Self::event_count`]'s bound: the most events this stream may hold.
    pub fn events_bound(&self) -> u64 {
        self.event_count().bound
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::{prop_assert, proptest};

    fn spec(generator: &str, params: &str, scale: u64) -> Workload {
        let src = format!(
            "name = \"b\"\ndescription = \"d\"\ngenerator = \"{generator}\"\nscale = {scale}\n\
             [params]\n{params}\n"
        );
        Workload::from_toml("b.toml", &src).unwrap()
    }

    /// `s += c` ten thousand times a string: 134 events a request at scale 100,000, where
    /// 1.5 were assumed; the bound holds at scales whose start is a small part of the stream.
    #[test]
    fn a_realloc_heavy_spec_is_bounded_by_its_own_rate() {
        let params =
            "build_share = 1.0\nbuild_pieces = { \"10000\" = 1.0 }\npiece_len = { \"1\" = 1.0 }";
        for scale in [1_000, 100_000] {
            let w = spec("strings", params, scale);
            let events = w.stream().count() as u64;
            let bound = w.events_bound();
            assert!(bound >= events, "scale {scale}: {bound} < {events}");
            assert!(events > 100 * scale, "scale {scale}: {events} events");
        }
    }

    proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
        /// Every built-in, at scales from a few objects to many times the measured start, any
        /// seed and version: the bound is at least the stream's events.
        #[test]
        fn the_bound_holds_for_every_builtin(
            b in 0usize..super::super::BUILTINS.len(),
            scale in 1u64..400_000,
            seed in 0u64..1_000,
            v in 0usize..6,
        ) {
            let python = ["3.8", "3.9", "3.10", "3.11", "3.12", "3.13"][v].parse().ok();
            let w = Workload::builtin(super::super::BUILTINS[b].0).unwrap().with(super::super::Overrides {
                python,
                scale: Some(scale),
                seed: Some(seed),
                allow_malformed: false,
            });
            let events = w.stream().count() as u64;
            let bound = w.events_bound();
            prop_assert!(bound >= events, "{} at {scale}: {bound} < {events}", w.name);
        }
    }
}
