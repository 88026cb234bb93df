//! Programs built for the fit's tests, each showing one shape of real programs' heaps, and
//! the profile of a stand-in drawn from a model fitted to one.

use super::{synthesize, Model};
use crate::workload::event::{Domain, Event};
use crate::workload::profile::Profile;
use crate::workload::rng::Rng;

/// The profile of the stand-in drawn from `model` with `seed`.
pub(super) fn drawn(model: &Model, seed: u64) -> Profile {
    let mut synth = Vec::new();
    synthesize(model, seed, &mut |e| {
        synth.push(e);
        Ok(())
    })
    .unwrap();
    Profile::from_events(synth)
}

/// The shape of [`structures`].
pub(super) struct Shape {
    pub seed: u64,
    /// Structures built, one after another.
    pub count: u32,
    /// Long-lived items per structure, of one of 8 sizes (16 – 128 bytes).
    pub items: u32,
    /// Temporaries after each item, of one of `temp_sizes` sizes, each freed at once.
    pub temps: u32,
    pub temp_sizes: u64,
    /// Structures built after one before it is freed whole, in the order it was built (0:
    /// as soon as it is built); the last `keep` stay live.
    pub keep: usize,
}

/// A program that builds structures of long-lived items among temporaries and tears each
/// down whole, in the order it was built.
pub(super) fn structures(shape: Shape) -> Vec<Event> {
    let mut rng = Rng::new(shape.seed);
    let (mut ev, mut next, mut built) = (Vec::new(), 0u32, std::collections::VecDeque::new());
    let alloc = |slot, size| Event::Alloc {
        slot,
        size,
        domain: Domain::Obj,
        thread: 0,
    };
    for _ in 0..shape.count {
        let mut items = Vec::new();
        for _ in 0..shape.items {
            ev.push(alloc(next, 16 * (1 + rng.below(8) as u32)));
            items.push(next);
            next += 1;
            for _ in 0..shape.temps {
                ev.push(alloc(next, 16 * (1 + rng.below(shape.temp_sizes) as u32)));
                ev.push(Event::Free {
                    slot: next,
                    thread: 0,
                });
                next += 1;
            }
        }
        built.push_back(items);
        if built.len() > shape.keep {
            let gone = built.pop_front().unwrap_or_default();
            ev.extend(gone.into_iter().map(|slot| Event::Free { slot, thread: 0 }));
        }
    }
    ev
}
