//! Everything helmdeck learns from a cluster goes through here.

pub mod quantity;
