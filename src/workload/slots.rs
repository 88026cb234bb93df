//! Dense slot numbering with LIFO reuse, so a replay's pointer table stays as small as the
//! peak number of live blocks (design.md §2) and recently freed slots are reused first, as a
//! program reuses the memory it just released.

#[derive(Debug, Default, Clone)]
pub struct Slots {
    free: Vec<u32>,
    next: u32,
}

impl Slots {
    pub fn new() -> Self {
        Self::default()
    }

    /// A slot not currently in use: the most recently released one, else a fresh one.
    #[inline]
    pub fn take(&mut self) -> u32 {
        match self.free.pop() {
            Some(s) => s,
            None => {
                let s = self.next;
                self.next += 1;
                s
            }
        }
    }

    /// Returns `slot` for reuse. The caller guarantees it was taken and not yet released.
    #[inline]
    pub fn release(&mut self, slot: u32) {
        self.free.push(slot);
    }

    /// How many distinct slots have ever been handed out (the pointer-table size needed).
    pub fn high_water(&self) -> u32 {
        self.next
    }

    /// Slots currently taken.
    pub fn live(&self) -> usize {
        self.next as usize - self.free.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifo_reuse_and_dense() {
        let mut s = Slots::new();
        assert_eq!((s.take(), s.take(), s.take()), (0, 1, 2));
        s.release(0);
        s.release(2);
        assert_eq!(s.take(), 2);
        assert_eq!(s.take(), 0);
        assert_eq!(s.take(), 3);
        assert_eq!(s.high_water(), 4);
        assert_eq!(s.live(), 4);
    }
}
