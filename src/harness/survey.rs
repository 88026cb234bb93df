//! What a replay learns about its stream in one walk over its events, however they arrive
//! (all in memory, or chunk by chunk from a feed's read-ahead): the op-order note a cell
//! carries ([`OpPredictor`]) and the stream's fingerprint ([`StreamHasher`]). The memory and
//! latency cell takes both; a throughput process only the fingerprint (about 4 ns an event,
//! out of any timed sample), so its cells too say which events they replayed.

use crate::workload::op_order::OpPredictor;
use crate::workload::{Event, StreamHasher};

pub struct Survey {
    /// `None`: the fingerprint only.
    order: Option<OpPredictor>,
    hash: StreamHasher,
}

impl Default for Survey {
    /// The op order and the fingerprint.
    fn default() -> Self {
        Survey {
            order: Some(OpPredictor::default()),
            hash: StreamHasher::default(),
        }
    }
}

impl Survey {
    /// A survey of the fingerprint alone.
    pub fn fingerprint_only() -> Self {
        Survey {
            order: None,
            hash: StreamHasher::default(),
        }
    }

    /// A fresh survey of what this one surveys.
    pub fn restarted(&self) -> Self {
        match self.order {
            Some(_) => Survey::default(),
            None => Survey::fingerprint_only(),
        }
    }

    /// Takes in the next events of the stream.
    pub fn events(&mut self, batch: &[Event]) {
        if let Some(order) = &mut self.order {
            batch.iter().for_each(|e| order.event(e));
        }
        self.hash.update(batch);
    }

    /// The op-order note (when the order is one no program gives) and the fingerprint.
    pub fn finish(&self) -> (Option<String>, u64) {
        (
            self.order.as_ref().and_then(|o| o.note()),
            self.hash.finish(),
        )
    }
}
