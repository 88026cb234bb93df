//! What the memory and latency cell learns about its stream in one walk over its events,
//! however they arrive (all in memory, or chunk by chunk from a feed's read-ahead): the
//! op-order note a cell carries ([`OpPredictor`]) and the stream's fingerprint
//! ([`StreamHasher`]). The throughput processes skip it.

use crate::workload::op_order::OpPredictor;
use crate::workload::{Event, StreamHasher};

#[derive(Default)]
pub struct Survey {
    order: OpPredictor,
    hash: StreamHasher,
}

impl Survey {
    /// Takes in the next events of the stream.
    pub fn events(&mut self, batch: &[Event]) {
        batch.iter().for_each(|e| self.order.event(e));
        self.hash.update(batch);
    }

    /// The op-order note (when the order is one no program gives) and the fingerprint.
    pub fn finish(&self) -> (Option<String>, u64) {
        (self.order.note(), self.hash.finish())
    }
}
