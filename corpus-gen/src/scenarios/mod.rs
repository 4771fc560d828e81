//! One module per generated file of `corpus/`, each with a `generate(g, n)` that draws `n` events
//! from the file's random stream `g`. [`crate::FILES`] lists them, with their counts.

pub mod feature_flags;
pub mod groups;
pub mod identify_and_alias;
pub mod mobile;
pub mod server_side;
pub mod snapshots;
pub mod web_autocapture;
pub mod web_pageviews;
