//! The built-in generators, one model of CPython behaviour each, and their registry.

pub mod objects;

mod churn;
mod containers;
mod dicts;
mod gc_cycles;
mod items;
mod json;
mod scalars;
mod webapp;

use super::heap::Heap;
use super::python::PyVersion;
use super::spec::{self, SpecError};
use crate::workload::spec::MAX_PARAM;
use serde::Deserialize;

/// A pull-based generator: each `step` models one unit of the program's work (one object,
/// one dict built, one request…) and appends its allocator events to the heap's buffer.
pub trait Generator: Send {
    fn step(&mut self, h: &mut Heap);
}

macro_rules! registry {
    ($( $variant:ident => $name:literal, $module:ident :: $params:ident, $gen:ident,
        phases: [$($phase:literal),*] );+ $(;)?) => {
        /// Which built-in model a spec uses, with its parameters.
        #[derive(Debug, Clone)]
        pub enum Params {
            $( $variant($module::$params) ),+
        }

        impl Params {
            /// Generator names accepted in `generator = "…"`.
            pub const NAMES: &'static [&'static str] = &[$($name),+];

            /// Parses the whole spec with the parameter type of its generator.
            pub(crate) fn parse(
                generator: &str, file: &str, src: &str,
            ) -> Result<(spec::RawSpec<()>, Params), SpecError> {
                match generator {
                    $( $name => {
                        let raw: spec::RawSpec<$module::$params> = spec::parse(file, src)?;
                        let params = Params::$variant(raw.params.clone().unwrap_or_default());
                        params.check().map_err(|(key, message)| {
                            spec::located_param(file, src, key, &message)
                        })?;
                        Ok((spec::RawSpec {
                            name: raw.name, description: raw.description,
                            generator: raw.generator, python: raw.python,
                            scale: raw.scale, seed: raw.seed,
                            loop_iterations: raw.loop_iterations, params: None,
                        }, params))
                    } )+
                    _ => Err(spec::located_key(file, src, "generator", &format!(
                        "unknown generator `{generator}`; valid values: {}",
                        Self::NAMES.join(", ")))),
                }
            }

            /// What no single key's bounds catch: a `[params]` key at fault and why.
            fn check(&self) -> Result<(), (&'static str, String)> {
                match self {
                    Params::Strings(p) => p.check(),
                    _ => Ok(()),
                }
            }

            /// The generator's name.
            pub fn generator(&self) -> &'static str {
                match self { $( Params::$variant(_) => $name ),+ }
            }

            /// Names of the phase markers the generator emits, indexed by id.
            pub fn phases(&self) -> &'static [&'static str] {
                match self { $( Params::$variant(_) => &[$($phase),*] ),+ }
            }

            /// A fresh generator in its initial state.
            pub fn build(&self, v: PyVersion) -> Box<dyn Generator> {
                match self { $( Params::$variant(p) => Box::new($module::$gen::new(p, v)) ),+ }
            }
        }
    };
}

registry! {
    Dicts => "dicts", dicts::DictsParams, Dicts, phases: [];
    Lists => "lists", containers::ListsParams, Lists, phases: [];
    Tuples => "tuples", containers::TuplesParams, Tuples, phases: [];
    Strings => "strings", scalars::StringsParams, Strings, phases: [];
    Numbers => "numbers", scalars::NumbersParams, Numbers, phases: [];
    Instances => "instances", containers::InstancesParams, Instances, phases: [];
    Json => "json", json::JsonParams, Json, phases: ["parse", "serialise"];
    GcCycles => "gc_cycles", gc_cycles::GcCyclesParams, GcCycles, phases: [];
    Churn => "churn", churn::ChurnParams, Churn, phases: ["build", "drop"];
    ArenaThrash => "arena_thrash", churn::ArenaThrashParams, ArenaThrash, phases: ["alloc", "free"];
    Webapp => "webapp", webapp::WebappParams, Webapp, phases: ["request"];
}

/// Deserialises a count that must be in 1..=[`MAX_PARAM`].
pub(crate) fn positive<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let v = i64::deserialize(d)?;
    if !(1..=i64::from(MAX_PARAM)).contains(&v) {
        Err(serde::de::Error::custom(format!(
            "must be an integer from 1 to {MAX_PARAM}, got {v}"
        )))
    } else {
        Ok(v as u32)
    }
}

/// Deserialises a nesting depth in 1..=64 (deeper trees would only exhaust the stack).
pub(crate) fn depth<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let v = i64::deserialize(d)?;
    if !(1..=64).contains(&v) {
        Err(serde::de::Error::custom(format!(
            "must be an integer from 1 to 64, got {v}"
        )))
    } else {
        Ok(v as u32)
    }
}
