//! The stages of `verify`, one module each, in the order of [`crate::verify::Stage::ALL`].
//! Each reads what earlier stages left in the [`crate::verify::Subject`] and returns a
//! [`crate::verify::StageReport`].

pub mod bench;
pub mod budget;
pub mod corpus;
pub mod load;
pub mod property;
pub mod schema;
pub mod snapshot;
pub mod static_stage;
