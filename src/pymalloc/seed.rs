//! Starting an engine from a recorded state instead of empty (issue 14.3): a real
//! interpreter's start-up objects already fill pools and arenas when a recording begins, and
//! a replay that starts empty gets its arena and pool counts wrong by that much. Seeding fills
//! an empty engine with *phantom* blocks until its accounting matches a report of
//! `sys._debugmallocstats()` — the same pools and blocks in use per class, the same arenas —
//! and hands the phantoms back, so a replay can free them where the recording freed a block
//! allocated before it started.
//!
//! Built only from the engine's own `malloc` and `free`, so every list invariant holds by
//! construction, and kept apart from the fast paths (nothing here is on them). A report says
//! how many pools and blocks, not where; the layout chosen is documented on
//! [`Pymalloc::seed_from`].

use super::engine::Pymalloc;
use super::{class_size, NUM_CLASSES};
use std::ptr::NonNull;

/// The figures of one size class to seed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeedClass {
    /// Pools serving the class (each holds at least one block).
    pub pools: usize,
    /// Blocks in use over those pools.
    pub blocks: usize,
}

/// A state to start from: arenas mapped and, per class, pools and blocks in use (what
/// `sys._debugmallocstats()` prints as `# arenas allocated current` and its class table).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Seed {
    pub arenas: usize,
    pub classes: [SeedClass; NUM_CLASSES],
}

impl Seed {
    /// Pools in use over all classes (saturating: a seed's figures may come from a file).
    pub fn pools(&self) -> usize {
        self.classes
            .iter()
            .fold(0usize, |t, c| t.saturating_add(c.pools))
    }
}

/// Why a seed cannot be reproduced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SeedError {
    #[error("only an engine with no arena can be seeded")]
    NotEmpty,
    #[error("class {class} ({size} B): {blocks} blocks cannot fill {pools} pools of {per_pool} blocks with at least one each")]
    Class {
        class: usize,
        size: usize,
        pools: usize,
        blocks: usize,
        per_pool: usize,
    },
    #[error("{arenas} arenas cannot each hold one of {pools} pools in use")]
    TooManyArenas { arenas: usize, pools: usize },
    #[error("{pools} pools in use need an arena")]
    NoArena { pools: usize },
    /// More pools than the seed's arenas hold: no interpreter's report says that.
    #[error("{pools} pools in use do not fit in {arenas} arenas of {per_arena} pools")]
    TooManyPools {
        pools: usize,
        arenas: usize,
        per_arena: usize,
    },
    /// More arena bytes than a process's address space holds.
    #[error("{arenas} arenas of {arena_size} bytes exceed the address space")]
    TooLarge { arenas: usize, arena_size: usize },
    #[error("out of memory while seeding")]
    OutOfMemory,
}

/// The seeded blocks still live, handed out for freeing in the order that keeps pools
/// longest: always from the pool with the most phantoms left.
#[derive(Debug, Default)]
pub struct Phantoms {
    /// Per class, the blocks in reverse order of handing out (popped from the end).
    by_class: Vec<Vec<NonNull<u8>>>,
}

impl Phantoms {
    /// A phantom block of `class` to free, if any is left.
    pub fn take(&mut self, class: usize) -> Option<NonNull<u8>> {
        self.by_class.get_mut(class)?.pop()
    }

    /// Phantoms of `class` still live.
    pub fn remaining(&self, class: usize) -> usize {
        self.by_class.get(class).map_or(0, Vec::len)
    }

    /// Phantoms still live over all classes.
    pub fn total(&self) -> usize {
        self.by_class.iter().map(Vec::len).sum()
    }
}

/// Bytes of user address space on x86-64 and AArch64 Linux (47 bits), more than any seed
/// can map.
const ADDRESS_SPACE: usize = 1 << 47;

/// Class of the filler pools that hold an arena's free pools while it is built (the largest
/// blocks: fewest calls per pool).
const FILLER: usize = NUM_CLASSES - 1;

/// Pools in use, one entry per pool: its class, classes in ascending order.
fn pool_plan(seed: &Seed) -> Result<Vec<usize>, SeedError> {
    let mut plan: Vec<usize> = Vec::new();
    plan.try_reserve_exact(seed.pools())
        .map_err(|_| SeedError::OutOfMemory)?;
    plan.extend((0..NUM_CLASSES).flat_map(|c| std::iter::repeat(c).take(seed.classes[c].pools)));
    Ok(plan)
}

/// The blocks of a seed's arenas as they were built, before any is freed.
struct Built {
    /// Per class, the seed's pools: each one's blocks in allocation order.
    pools: Vec<Vec<Vec<NonNull<u8>>>>,
    /// The filler pools' blocks, to be freed once every arena is built.
    fillers: Vec<NonNull<u8>>,
    /// Where the spare arena's fillers start in `fillers` (it holds nothing else).
    spare_from: usize,
}

impl Built {
    fn place(
        &mut self,
        class: usize,
        blocks: Vec<NonNull<u8>>,
        is_real: bool,
    ) -> Result<(), SeedError> {
        let room = if is_real {
            self.pools[class].try_reserve(1)
        } else {
            self.fillers.try_reserve(blocks.len())
        };
        room.map_err(|_| SeedError::OutOfMemory)?;
        if is_real {
            self.pools[class].push(blocks);
        } else {
            self.fillers.extend(blocks);
        }
        Ok(())
    }
}

impl Pymalloc {
    /// Seeds an empty engine with phantom blocks so that its accounting shows `seed`'s
    /// arenas and, per class, its pools and blocks in use.
    ///
    /// The layout (a report does not say it): classes in ascending order, each pool filled
    /// whole, pools packed into the first arenas and every later arena keeping one pool in
    /// use — as the interpreter's own arenas do, since an arena without one is unmapped (a
    /// 3.9+ engine may keep one wholly free arena, the spare: `arenas` may exceed the pools by
    /// one there). A class's free blocks are taken from its last pools, each pool keeping one
    /// block. When the engine's arenas lose a pool to alignment where the interpreter's did
    /// not and the pools no longer fit, one more arena is mapped.
    ///
    /// Seeding builds the state for real: it maps the seed's arenas and writes their blocks,
    /// so it needs the memory of the state it reproduces plus its lists of blocks
    /// ([`seeding_bytes`]). Figures no interpreter can report — more pools than the arenas hold,
    /// arenas beyond the address space — are errors, as is running out of memory on the
    /// way ([`SeedError::OutOfMemory`]), never a panic.
    ///
    /// Errors leave the engine unchanged, except [`SeedError::OutOfMemory`].
    pub fn seed_from(&mut self, seed: &Seed) -> Result<Phantoms, SeedError> {
        self.check_seed(seed)?;
        let plan = pool_plan(seed)?;
        let mut built = self.build_arenas(seed, &plan)?;
        // The spare arena empties first, while every other arena is still full: an arena that
        // becomes wholly free is kept only as the last of usable_arenas (3.9+), and emptied
        // after the others it would sit among their ties and be unmapped.
        let (others, spare_fillers) = built.fillers.split_at(built.spare_from);
        for p in spare_fillers.iter().chain(others) {
            // SAFETY: a live block of this engine, freed once.
            unsafe { self.free_small(p.as_ptr()) };
        }
        let mut phantoms = Phantoms::default();
        for (class, class_pools) in built.pools.iter_mut().enumerate() {
            let free = class_pools.len() * self.geometry.blocks_per_pool(class)
                - seed.classes[class].blocks;
            self.thin(class_pools, free);
            phantoms.by_class.push(freeing_order(class_pools)?);
        }
        Ok(phantoms)
    }

    /// Maps the seed's arenas and fills every pool of them: the planned pools (`plan`, one
    /// class a pool, in order) as the seed's, the rest of each arena — and the whole spare
    /// arena, if the seed has one — with filler pools to be freed once all are built.
    fn build_arenas(&mut self, seed: &Seed, plan: &[usize]) -> Result<Built, SeedError> {
        let total = plan.len();
        let spare = seed.arenas > total;
        let pinned = seed.arenas.min(total);
        let mut built = Built {
            pools: vec![Vec::new(); NUM_CLASSES],
            fillers: Vec::new(),
            spare_from: usize::MAX,
        };
        let mut next = 0;
        let mut arena = 0;
        while next < total || (spare && arena < seed.arenas) {
            if next >= total {
                built.spare_from = built.spare_from.min(built.fillers.len());
            }
            // The first pool of an arena maps it (the previous one is full), and makes it the
            // head of usable_arenas, where its capacity is read.
            let first = plan.get(next).copied().unwrap_or(FILLER);
            let blocks = self.fill_pool(first)?;
            let cap = self.usable_capacity();
            let later = pinned.saturating_sub(arena + 1);
            let real = if next < total {
                (total - next).saturating_sub(later).clamp(1, cap)
            } else {
                0
            };
            built.place(first, blocks, real > 0)?;
            next += usize::from(real > 0);
            for i in 1..cap {
                let is_real = i < real;
                let class = if is_real { plan[next] } else { FILLER };
                let blocks = self.fill_pool(class)?;
                built.place(class, blocks, is_real)?;
                next += usize::from(is_real);
            }
            arena += 1;
        }
        built.spare_from = built.spare_from.min(built.fillers.len());
        Ok(built)
    }

    /// Whether [`Self::seed_from`] can reproduce `seed` in this engine, before anything is
    /// mapped: figures no interpreter reports (more pools than the arenas hold, a class's
    /// blocks that do not fill its pools) are refused here, so that a caller sizing the
    /// seed's memory ([`seeding_bytes`]) first sizes only a seed that can be.
    pub fn check_seed(&self, seed: &Seed) -> Result<(), SeedError> {
        if self.arenas_current != 0 || self.usedpools.iter().any(|p| !p.is_null()) {
            return Err(SeedError::NotEmpty);
        }
        for (class, c) in seed.classes.iter().enumerate() {
            let per_pool = self.geometry.blocks_per_pool(class);
            if c.blocks < c.pools || c.blocks > c.pools.saturating_mul(per_pool) {
                return Err(SeedError::Class {
                    class,
                    size: class_size(class),
                    pools: c.pools,
                    blocks: c.blocks,
                    per_pool,
                });
            }
        }
        let pools = seed.pools();
        let spare = usize::from(self.geometry.keeps_spare_arena());
        if seed.arenas > pools.saturating_add(spare) {
            return Err(SeedError::TooManyArenas {
                arenas: seed.arenas,
                pools,
            });
        }
        if pools > 0 && seed.arenas == 0 {
            return Err(SeedError::NoArena { pools });
        }
        let arena_size = self.geometry.arena_size();
        if seed.arenas > ADDRESS_SPACE / arena_size {
            return Err(SeedError::TooLarge {
                arenas: seed.arenas,
                arena_size,
            });
        }
        // Cannot overflow: arenas × arena size is within the address space.
        let per_arena = self.geometry.pools_per_arena();
        if pools > seed.arenas * per_arena {
            return Err(SeedError::TooManyPools {
                pools,
                arenas: seed.arenas,
                per_arena,
            });
        }
        Ok(())
    }

    /// Allocates one whole pool of `class` (no pool of the class is partly used meanwhile,
    /// so the blocks fill exactly one new pool). The list's room is reserved fallibly: a
    /// seed from a file may ask for more than the machine holds ([`seeding_bytes`]).
    fn fill_pool(&mut self, class: usize) -> Result<Vec<NonNull<u8>>, SeedError> {
        let n = self.geometry.blocks_per_pool(class);
        let mut blocks = Vec::new();
        blocks
            .try_reserve_exact(n)
            .map_err(|_| SeedError::OutOfMemory)?;
        for _ in 0..n {
            blocks.push(NonNull::new(self.alloc_small(class)).ok_or(SeedError::OutOfMemory)?);
        }
        Ok(blocks)
    }

    /// Pools the arena being filled holds in all: it has just had its first pool taken, so it
    /// is the head of `usable_arenas` (or, holding one pool only, already full).
    fn usable_capacity(&self) -> usize {
        self.usable_arenas().next().map_or(1, |a| a.total_pools)
    }

    /// Frees `free` blocks of a class's pools, from the last pool backwards, each pool
    /// keeping one block.
    fn thin(&mut self, pools: &mut [Vec<NonNull<u8>>], mut free: usize) {
        for blocks in pools.iter_mut().rev() {
            while free > 0 && blocks.len() > 1 {
                let p = blocks.pop().expect("more than one block");
                // SAFETY: a live block of this engine, freed once.
                unsafe { self.free_small(p.as_ptr()) };
                free -= 1;
            }
        }
    }
}

/// The order phantoms are handed out in: always from the pool with the most left, so pools
/// empty as late as possible (a pre-hook free most likely hits one of the many full pools);
/// among pools with as many left, the first. Returned reversed, for popping: the last pools'
/// lone blocks first, up to the first pool's first block last.
///
/// Built level by level rather than by sorting the blocks with their keys, which took three
/// times the memory of the list itself (24 bytes a block; a 700-byte trace claiming 600
/// arenas of 16-byte blocks made `fidelity --trace` take 2 GB).
fn freeing_order(pools: &[Vec<NonNull<u8>>]) -> Result<Vec<NonNull<u8>>, SeedError> {
    let total = pools.iter().map(Vec::len).sum();
    let deepest = pools.iter().map(Vec::len).max().unwrap_or(0);
    let mut order = Vec::new();
    order
        .try_reserve_exact(total)
        .map_err(|_| SeedError::OutOfMemory)?;
    // A pool with `n` blocks left hands out block `n - left` when `left` are left; popped
    // from the end, level 1 (each pool's last block) goes last, the last pool's first.
    for left in 1..=deepest {
        for blocks in pools.iter().rev().filter(|b| b.len() >= left) {
            order.push(blocks[blocks.len() - left]);
        }
    }
    Ok(order)
}

/// Bytes a seed's lists of blocks take while it is built, on top of its arenas: 8 bytes for
/// each block of its pools while they are built and 8 more in the handed-back [`Phantoms`],
/// and 8 for each block of the filler pools (every arena's other pools, whole). For the
/// smallest blocks that is as much again as the arenas, which a caller must count when it
/// checks a seed from a file against the machine's memory.
pub fn seeding_bytes(seed: &Seed, geometry: super::Geometry) -> u64 {
    let seeded: u64 = (0..NUM_CLASSES)
        .map(|c| (seed.classes[c].pools as u64).saturating_mul(geometry.blocks_per_pool(c) as u64))
        .fold(0, u64::saturating_add);
    let all_pools = (seed.arenas as u64).saturating_mul(geometry.pools_per_arena() as u64);
    let fillers = all_pools.saturating_mul(geometry.blocks_per_pool(FILLER) as u64);
    seeded
        .saturating_mul(16)
        .saturating_add(fillers.saturating_mul(8))
}

#[cfg(test)]
mod tests {
    use super::freeing_order;
    use proptest::prelude::*;
    use std::ptr::NonNull;

    /// The order as its rule says, by sorting: blocks keyed by how many their pool has left
    /// when they go (most first), ties to the earlier pool; reversed for popping.
    fn by_sorting(pools: &[Vec<NonNull<u8>>]) -> Vec<NonNull<u8>> {
        let mut keyed: Vec<(usize, usize, NonNull<u8>)> = Vec::new();
        for (i, blocks) in pools.iter().enumerate() {
            for (k, &p) in blocks.iter().enumerate() {
                keyed.push((blocks.len() - k, i, p));
            }
        }
        keyed.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        keyed.into_iter().rev().map(|(_, _, p)| p).collect()
    }

    proptest! {
        /// Built level by level, the order is the one the sorting rule gives.
        #[test]
        fn the_order_is_the_most_left_first_rule(lens in prop::collection::vec(0usize..40, 0..12)) {
            let mut next = 16usize;
            let pools: Vec<Vec<NonNull<u8>>> = lens
                .iter()
                .map(|&n| {
                    (0..n)
                        .map(|_| {
                            next += 16;
                            NonNull::new(next as *mut u8).unwrap()
                        })
                        .collect()
                })
                .collect();
            prop_assert_eq!(freeing_order(&pools).unwrap(), by_sorting(&pools));
        }
    }
}
