//! Host tests: files assembled byte by byte, every validation failure,
//! truncation, random corruption and real files from the host.

mod builder;
mod load;
mod parse;
mod real;
mod robustness;
mod sections;
