//! The unmodified static Linux programs `cargo xtask test` boots with
//! `--elf` (issue 13): built here, or taken from Debian.
//!
//! - [`STD_TESTS`]: `linux-programs/std-tests`, Rust `std` built for
//!   `x86_64-unknown-linux-musl` (a static PIE), with unwinding panics;
//! - [`STD_FILES`]: `linux-programs/std-files`, an ordinary Rust `std`
//!   program (its own `fn main`) on `std::fs`, booted by the disk test with
//!   `--files` of its `files/` folder;
//! - [`HTTP_STD`]: `linux-programs/http-std`, `apps/http-server` on Rust
//!   `std` (`cargo xtask bench` serves HTTP with it on both kernels);
//! - [`STD_HELLO`]: `linux-programs/std-hello`, hello world on Rust `std`
//!   (`cargo xtask bench` measures its start-up on both kernels);
//! - [`NET_STD`]: `linux-programs/net-std`, `std::net` built the same
//!   way, whose tests talk to the test harness's host side;
//! - [`NET_TOKIO`]: `linux-programs/net-tokio`, an async echo server on
//!   tokio's multi-threaded runtime; a workspace of its own (tokio stays
//!   out of the main workspace's builds);
//! - [`SQLITE_STD`]: `linux-programs/sqlite-std`, SQLite (rusqlite's
//!   `bundled` C amalgamation, compiled with `musl-gcc`) under a Rust
//!   `std` main; a workspace of its own like net-tokio;
//! - [`C_TESTS`]: `linux-programs/c-tests/*.c` built with Debian's
//!   `musl-gcc -static` (`musl-tools`);
//! - [`C_SWEEP`]: `linux-programs/c-sweep/sweep.c`, built the same way:
//!   what ordinary C programs do, printed to be compared with the host's
//!   Linux (`testing::same_as_linux`);
//! - [`BUSYBOX`]: Debian's `busybox-static` (a static glibc `ET_EXEC`);
//! - [`DYNAMIC_TRUE`]: the host's `/bin/true`, dynamically linked: the
//!   kernel must refuse it, naming the interpreter it wants.
//!
//! Each lands in `target/linux-programs/<name>`: the file name is the
//! program's `argv[0]`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};
use libos_elf::Elf;

use super::{Layout, cargo};
use crate::install::{self, Need, Thing};

/// Rust `std` tests.
pub const STD_TESTS: &str = "std-tests";
/// Rust `std::fs` over `--files` and `--disk`.
pub const STD_FILES: &str = "std-files";
/// The HTTP server on Rust `std`.
pub const HTTP_STD: &str = "http-std";
/// Hello world on Rust `std` (the bench's start-up and clock rows).
pub const STD_HELLO: &str = "std-hello";
/// `std::net` tests.
pub const NET_STD: &str = "net-std";
/// tokio echo server.
pub const NET_TOKIO: &str = "net-tokio";
/// SQLite in a Rust std program.
pub const SQLITE_STD: &str = "sqlite-std";
/// C tests on musl.
pub const C_TESTS: &str = "c-tests";
/// The C sweep compared with Linux.
pub const C_SWEEP: &str = "c-sweep";
/// Debian's static BusyBox.
pub const BUSYBOX: &str = "busybox";
/// A dynamically linked program (the host's `true`).
pub const DYNAMIC_TRUE: &str = "dynamic-true";
/// Every program, by name.
pub const ALL: &[&str] = &[
    STD_TESTS,
    STD_FILES,
    HTTP_STD,
    STD_HELLO,
    NET_STD,
    NET_TOKIO,
    SQLITE_STD,
    C_TESTS,
    C_SWEEP,
    BUSYBOX,
    DYNAMIC_TRUE,
];

/// Where Debian's `busybox-static` puts the binary.
pub const BUSYBOX_PATH: &str = "/bin/busybox";
/// The std tests' package.
const STD_TESTS_PACKAGE: &str = "linux-std-tests";
/// The std::fs program's package.
const STD_FILES_PACKAGE: &str = "linux-std-files";
/// The std::net tests' package.
const NET_STD_PACKAGE: &str = "linux-net-std";
/// The tokio program's package.
const NET_TOKIO_PACKAGE: &str = "linux-net-tokio";
/// The SQLite program's package.
const SQLITE_STD_PACKAGE: &str = "linux-sqlite-std";
/// The target of the Rust program.
const MUSL_TARGET: &str = "x86_64-unknown-linux-musl";

/// What building them needs from Debian.
pub const NEEDS: &[Need] = &[(Thing::Program("musl-gcc"), "musl-tools"), (Thing::File(BUSYBOX_PATH), "busybox-static")];

/// Builds (or finds) program `name` and returns its path.
pub fn build(layout: &Layout, name: &str) -> Result<PathBuf> {
    let dir = layout.out.join("linux-programs");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let out = dir.join(name);
    match name {
        STD_TESTS => build_std_program(layout, STD_TESTS_PACKAGE, &dir, &out)?,
        STD_FILES => build_std_program(layout, STD_FILES_PACKAGE, &dir, &out)?,
        HTTP_STD | STD_HELLO => build_bench_program(layout, name, &dir, &out)?,
        NET_STD => build_std_program(layout, NET_STD_PACKAGE, &dir, &out)?,
        NET_TOKIO => build_tokio_program(layout, &dir, &out)?,
        SQLITE_STD => build_sqlite_program(layout, &dir, &out)?,
        C_TESTS => build_c_tests(layout, &out)?,
        C_SWEEP => build_c_sweep(layout, &out)?,
        BUSYBOX => copy_busybox(&out)?,
        DYNAMIC_TRUE => copy_dynamic_true(&out)?,
        other => bail!("no Linux program named {other}"),
    }
    Ok(out)
}

/// Builds the Rust `std` program of `package` for musl, as `out`.
fn build_std_program(layout: &Layout, package: &str, dir: &Path, out: &Path) -> Result<()> {
    install::ensure_rust_targets(&layout.toolchain, &layout.root, &[MUSL_TARGET])?;
    let target_dir = dir.join("cargo");
    let status = Command::new(cargo())
        .current_dir(&layout.root)
        .args(["build", "--release", "-p", package, "--target", MUSL_TARGET, "--target-dir"])
        .arg(&target_dir)
        // A plain static Linux program: not the apps' flags (the
        // workspace's config makes musl programs abort on panic; these
        // tests catch panics).
        .env("RUSTFLAGS", "-Cpanic=unwind")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .status()
        .context("running cargo")?;
    ensure!(status.success(), "building {package} failed; see cargo's errors above");
    let built = target_dir.join(MUSL_TARGET).join("release").join(package);
    std::fs::copy(&built, out).with_context(|| format!("copying {}", built.display()))?;
    Ok(())
}

/// Builds a program the bench runs under both kernels (package = `name`):
/// the workspace's flags left out, stripped.
fn build_bench_program(layout: &Layout, name: &str, dir: &Path, out: &Path) -> Result<()> {
    install::ensure_rust_targets(&layout.toolchain, &layout.root, &[MUSL_TARGET])?;
    let target_dir = dir.join("cargo");
    let status = Command::new(cargo())
        .current_dir(&layout.root)
        .args(["build", "--release", "-p", name, "--target", MUSL_TARGET, "--target-dir"])
        .arg(&target_dir)
        // A plain static Linux program (the workspace's configuration makes
        // it abort on panic), stripped as the bench's other Linux programs.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env("CARGO_PROFILE_RELEASE_STRIP", "symbols")
        .status()
        .context("running cargo")?;
    ensure!(status.success(), "building {name} failed; see cargo's errors above");
    let built = target_dir.join(MUSL_TARGET).join("release").join(name);
    std::fs::copy(&built, out).with_context(|| format!("copying {}", built.display()))?;
    Ok(())
}

/// Builds `linux-programs/net-tokio` (its own workspace and lock file) for
/// musl.
fn build_tokio_program(layout: &Layout, dir: &Path, out: &Path) -> Result<()> {
    build_own_workspace(layout, dir, "net-tokio", NET_TOKIO_PACKAGE, &[], out)
}

/// Builds `linux-programs/sqlite-std` (its own workspace and lock file) for
/// musl: libsqlite3-sys compiles SQLite's C amalgamation with `musl-gcc`.
fn build_sqlite_program(layout: &Layout, dir: &Path, out: &Path) -> Result<()> {
    install::ensure(&NEEDS[..1], "SQLite's C code (musl-gcc)")?;
    build_own_workspace(
        layout,
        dir,
        "sqlite-std",
        SQLITE_STD_PACKAGE,
        &[("CC_x86_64_unknown_linux_musl", "musl-gcc")],
        out,
    )
}

/// Builds `linux-programs/<folder>`, a workspace of its own (its own lock
/// file keeps its dependencies out of the main builds), for musl into
/// `<dir>/cargo-<folder>`, and copies `package`'s binary to `out`. From the
/// repository's root, so the pinned toolchain and the musl target's flags
/// apply.
fn build_own_workspace(
    layout: &Layout,
    dir: &Path,
    folder: &str,
    package: &str,
    env: &[(&str, &str)],
    out: &Path,
) -> Result<()> {
    install::ensure_rust_targets(&layout.toolchain, &layout.root, &[MUSL_TARGET])?;
    let target_dir = dir.join(format!("cargo-{folder}"));
    let manifest = layout.root.join("linux-programs").join(folder).join("Cargo.toml");
    let status = Command::new(cargo())
        .current_dir(&layout.root)
        .args(["build", "--release", "--locked", "--target", MUSL_TARGET, "--manifest-path"])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target_dir)
        .env("RUSTFLAGS", "-Cpanic=unwind")
        .envs(env.iter().copied())
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .status()
        .context("running cargo")?;
    ensure!(status.success(), "building {} failed; see cargo's errors above", manifest.display());
    let built = target_dir.join(MUSL_TARGET).join("release").join(package);
    std::fs::copy(&built, out).with_context(|| format!("copying {}", built.display()))?;
    Ok(())
}

/// Builds the C tests (`linux-programs/c-tests/*.c`).
fn build_c_tests(layout: &Layout, out: &Path) -> Result<()> {
    let src = layout.root.join("linux-programs/c-tests");
    build_c(&[src.join("harness.c"), src.join("tests.c"), src.join("vdso.c")], &[], "the C tests (musl-gcc)", out)
}

/// Builds the C sweep (`linux-programs/c-sweep/sweep.c`, with libm).
fn build_c_sweep(layout: &Layout, out: &Path) -> Result<()> {
    build_c(&[layout.root.join("linux-programs/c-sweep/sweep.c")], &["-lm"], "the C sweep (musl-gcc)", out)
}

/// Compiles and links C `sources` into a static musl program at `out`
/// with musl-gcc (installed first if it can be), warnings as errors;
/// `libs` go after the sources. `what` names it for the install message.
fn build_c(sources: &[std::path::PathBuf], libs: &[&str], what: &str, out: &Path) -> Result<()> {
    install::ensure(&NEEDS[..1], what)?;
    let status = Command::new("musl-gcc")
        .args(["-static", "-O2", "-pthread", "-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror"])
        .args(sources)
        .args(libs)
        .arg("-o")
        .arg(out)
        .status()
        .context("running musl-gcc")?;
    ensure!(status.success(), "musl-gcc failed on {}", sources[0].display());
    Ok(())
}

fn copy_busybox(out: &Path) -> Result<()> {
    install::ensure(&NEEDS[1..], "BusyBox (busybox-static)")?;
    let bytes = std::fs::read(BUSYBOX_PATH).with_context(|| format!("reading {BUSYBOX_PATH}"))?;
    let elf = Elf::parse(&bytes).map_err(|e| anyhow::anyhow!("{BUSYBOX_PATH}: {e}"))?;
    ensure!(
        elf.interpreter().is_none(),
        "{BUSYBOX_PATH} is dynamically linked (Debian's `busybox`): install `busybox-static`, which replaces it"
    );
    std::fs::write(out, &bytes).with_context(|| format!("writing {}", out.display()))?;
    Ok(())
}

fn copy_dynamic_true(out: &Path) -> Result<()> {
    let path = "/bin/true";
    let bytes = std::fs::read(path).with_context(|| format!("reading {path}"))?;
    let elf = Elf::parse(&bytes).map_err(|e| anyhow::anyhow!("{path}: {e}"))?;
    ensure!(elf.interpreter().is_some(), "{path} is not dynamically linked on this host");
    std::fs::write(out, &bytes).with_context(|| format!("writing {}", out.display()))?;
    Ok(())
}
