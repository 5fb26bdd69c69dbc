//! `enginebench doctor --engine NAME`: before a long run, checks everything a
//! real run of one engine needs and prints one line per check.

pub mod libsearch;
