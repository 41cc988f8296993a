//! The hello-world app: prints from ring 3, allocates, formats, and exits
//! with the code given as its first argument (0 by default):
//! `cargo xtask run hello -- -- 7` exits with 7.
#![no_std]
#![no_main]

use libos::prelude::*;

#[libos::main]
fn main() -> i32 {
    println!("Hello from ring 3!");
    let squares: Vec<u64> = (1..=10).map(|n| n * n).collect();
    println!("squares {:?} add up to {}", squares, squares.iter().sum::<u64>());
    let args: Vec<&str> = libos::env::args().collect();
    println!("pid {} was started as {:?}", libos::process::id(), args);
    args.get(1).and_then(|a| a.parse().ok()).unwrap_or(0)
}
