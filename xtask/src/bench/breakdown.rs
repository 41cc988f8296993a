//! `cargo xtask bench --breakdown`: where the instructions of one syscall
//! round trip go.
//!
//! The bench image runs a few round trips under QEMU with `-singlestep -d
//! exec,nochain` (single-threaded TCG, `-icount shift=0`): every executed
//! instruction is one translation block, logged with its address. The
//! addresses are mapped to the kernel ELF's symbols (the per-CPU aliases of
//! the trampoline page back to `entry_trampoline_page`), the log is cut
//! into round trips (runs of kernel instructions between user
//! instructions), and the last round trip of each measured path (`null`:
//! its handler is `ni_syscall`; `getpid`) is split into phases by symbol:
//!
//! - **entry**: LSTAR up to the complete hardware frame (SWAPGS, the CR3
//!   switch with KPTI, the stack, the IRET part of `pt_regs`);
//! - **save**: the rest of `pt_regs` and the register clearing;
//! - **dispatch**: `do_syscall_64` up to the handler (interrupts on, the
//!   bounds check and clamp, the indirect call);
//! - **handler**: the call's own code;
//! - **exit work**: `do_syscall_64` after the handler (interrupts off, the
//!   test of the thread's flags word);
//! - **return**: the register restore, the CR3 switch back and SYSRET;
//! - **user**: the app's loop around the call.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use libos_elf::Elf;
use serde::{Deserialize, Serialize};

use crate::bench::{Bench, KPTI_OFF, KPTI_ON, MEM, QEMU_TIMEOUT, app_cmdline, describe_words};
use crate::emulator::Launch;

/// Round trips per path in the traced run (the last one is analysed).
pub const TRACED_ITERATIONS: u64 = 8;
/// The first address of the entry areas (`entry_asm::layout`): only the
/// trampoline page's aliases execute there.
const CPU_ENTRY_AREA_BASE: u64 = 0xFFFF_FE00_0000_0000;
/// The end of the entry area region.
const CPU_ENTRY_AREA_END: u64 = 0xFFFF_FF00_0000_0000;
/// Addresses below this are the app's (the kernel lives in the upper half;
/// its boot code at 1 MiB never runs once an app does).
const USER_END: u64 = 0x0000_8000_0000_0000;

/// The phases, in the order the CPU runs them.
pub const PHASES: [&str; 7] = ["entry", "save", "dispatch", "handler", "exit work", "return", "user"];

/// One round trip, by phase.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoundTrip {
    /// The configuration's kernel command line words (`""`: defaults).
    pub config: String,
    /// `null` or `getpid`.
    pub path: String,
    /// Instructions per phase, in [`PHASES`] order.
    pub phases: Vec<u64>,
    /// The handler's symbols, as the trace named them.
    pub handler: Vec<String>,
}

impl RoundTrip {
    /// All instructions of the round trip (the user loop included, as in
    /// the bench's figures).
    pub fn total(&self) -> u64 {
        self.phases.iter().sum()
    }
}

/// The kernel's symbols, sorted by address.
pub struct SymbolMap {
    symbols: Vec<(u64, String)>,
    trampoline_page: u64,
}

impl SymbolMap {
    /// The function and untyped symbols of `elf`.
    pub fn of_elf(bytes: &[u8]) -> Result<SymbolMap> {
        let elf = Elf::parse(bytes).map_err(|e| anyhow::anyhow!("the kernel ELF: {e}"))?;
        let mut symbols: Vec<(u64, String)> = elf
            .symbols()
            .map_err(|e| anyhow::anyhow!("the kernel's symbols: {e}"))?
            .filter(|s| !s.is_undefined() && !s.name.is_empty() && s.value != 0)
            .filter(|s| matches!(s.symbol_type(), libos_elf::STT_FUNC | libos_elf::STT_NOTYPE))
            .map(|s| (s.value, s.name.to_string()))
            .collect();
        symbols.sort();
        SymbolMap::new(symbols)
    }

    /// A map of `symbols` (address, name), which must name
    /// `entry_trampoline_page`.
    pub fn new(mut symbols: Vec<(u64, String)>) -> Result<SymbolMap> {
        symbols.sort();
        let trampoline_page = symbols
            .iter()
            .find(|(_, n)| n == "entry_trampoline_page")
            .map(|(a, _)| *a)
            .context("no entry_trampoline_page symbol in the kernel")?;
        // The page's name is not code: the trampolines it starts with are.
        symbols.retain(|(_, n)| n != "entry_trampoline_page");
        Ok(SymbolMap { symbols, trampoline_page })
    }

    /// The symbol `pc` lies in (`None`: an app address).
    pub fn lookup(&self, pc: u64) -> Option<&str> {
        if pc < USER_END {
            return None;
        }
        let pc = if (CPU_ENTRY_AREA_BASE..CPU_ENTRY_AREA_END).contains(&pc) {
            self.trampoline_page + (pc & 0xFFF)
        } else {
            pc
        };
        let i = self.symbols.partition_point(|(a, _)| *a <= pc);
        Some(if i == 0 { "?" } else { &self.symbols[i - 1].1 })
    }
}

/// The address of one `-d exec` line (`Trace 0: 0x... [cs_base/pc/flags/cflags] ...`).
pub fn exec_line_pc(line: &str) -> Option<u64> {
    let inside = line.split_once('[')?.1;
    let pc = inside.split('/').nth(1)?;
    u64::from_str_radix(pc, 16).ok()
}

fn is_entry(symbol: &str) -> bool {
    symbol == "entry_SYSCALL_64"
        || symbol.starts_with("entry_SYSCALL_64_trampoline")
        || symbol == "entry_trampoline_page"
}

fn is_return(symbol: &str) -> bool {
    symbol.starts_with("entry_syscall_64_sysret")
}

/// Splits one round trip (its kernel symbols in order, then the number of
/// user instructions up to the next one) into phases; `None` if it is not
/// a SYSCALL round trip through `do_syscall_64`.
pub fn phases_of(trip: &[&str], user: u64) -> Option<(Vec<u64>, Vec<String>)> {
    let mut phases = vec![0u64; PHASES.len()];
    let mut handler = Vec::new();
    // 0 entry, 1 save, 2 dispatch, 3 handler, 4 exit work, 5 return.
    let mut phase = 0usize;
    if !trip.first().is_some_and(|s| is_entry(s)) {
        return None;
    }
    for &s in trip {
        phase = match (phase, s) {
            (0, "entry_SYSCALL_64_after_hwframe") => 1,
            (0 | 1, "do_syscall_64") => 2,
            (2, "do_syscall_64") => 2,
            (2 | 3, _) if s != "do_syscall_64" && !s.starts_with("entry_") => 3,
            (3, "do_syscall_64") => 4,
            (4, "do_syscall_64") => 4,
            (4 | 5, _) if s.starts_with("entry_") || is_return(s) => 5,
            (p, _) => p,
        };
        if phase == 3 && !handler.iter().any(|h: &String| h == s) {
            handler.push(s.to_string());
        }
        phases[phase] += 1;
    }
    if phases[2] == 0 || phases[5] == 0 {
        return None;
    }
    phases[6] = user;
    Some((phases, handler))
}

/// The path a round trip's handler symbols say it took.
fn path_of(handler: &[String]) -> Option<&'static str> {
    if handler.iter().any(|h| h.contains("ni_syscall")) {
        Some("null")
    } else if handler.iter().any(|h| h.contains("getpid")) {
        Some("getpid")
    } else {
        None
    }
}

/// The typical round trip of each path in a trace read from `lines`: of
/// the round trips of the measured loop, the most common total (the last
/// one of a loop is followed by whatever the app does next, not by the
/// loop's own instructions).
pub fn analyse(lines: impl Iterator<Item = String>, map: &SymbolMap, config: &str) -> Vec<RoundTrip> {
    let mut found: Vec<RoundTrip> = Vec::new();
    // The kernel symbols of the round trip in progress, and the previous
    // complete one waiting for its count of user instructions.
    let mut current: Vec<&str> = Vec::new();
    let mut pending: Option<Vec<&str>> = None;
    let mut user = 0u64;
    let mut seen_user = false;
    let finish = |trip: &[&str], user: u64, found: &mut Vec<RoundTrip>| {
        if let Some((phases, handler)) = phases_of(trip, user)
            && let Some(path) = path_of(&handler)
        {
            found.push(RoundTrip { config: config.to_string(), path: path.to_string(), phases, handler });
        }
    };
    for line in lines {
        let Some(pc) = exec_line_pc(&line) else { continue };
        match map.lookup(pc) {
            None => {
                seen_user = true;
                if !current.is_empty() {
                    pending = Some(std::mem::take(&mut current));
                    user = 0;
                }
                user += 1;
            }
            Some(symbol) if seen_user => {
                if current.is_empty()
                    && let Some(done) = pending.take()
                {
                    finish(&done, user, &mut found);
                }
                current.push(symbol);
            }
            Some(_) => {}
        }
    }
    let mut typical = Vec::new();
    for path in ["null", "getpid"] {
        let trips: Vec<&RoundTrip> = found.iter().filter(|t| t.path == path).collect();
        let count = |total: u64| trips.iter().filter(|t| t.total() == total).count();
        if let Some(best) = trips.iter().max_by_key(|t| (count(t.total()), std::cmp::Reverse(t.total()))) {
            typical.push((*best).clone());
        }
    }
    typical
}

/// Traces the bench app's syscall loops with KPTI on and off and returns
/// their round trips.
pub(super) fn run(bench: &Bench) -> Result<Vec<RoundTrip>> {
    let elf_path = bench.images.bench.with_extension("elf");
    let elf_path = kernel_elf_of(&elf_path, &bench.images.bench)?;
    let bytes = std::fs::read(&elf_path).with_context(|| format!("reading {}", elf_path.display()))?;
    let map = SymbolMap::of_elf(&bytes)?;
    let dir = bench.layout.root.join("target/bench/breakdown");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut trips = Vec::new();
    for words in [KPTI_ON, KPTI_OFF] {
        let log = dir.join(format!("exec-{}.log", if words.is_empty() { "defaults" } else { words }));
        let _ = std::fs::remove_file(&log);
        let mut launch = bench.qemu_launch(
            &bench.images.bench,
            app_cmdline(words, &format!("syscalls {TRACED_ITERATIONS}")),
            1,
            MEM,
            true,
            QEMU_TIMEOUT,
        );
        if let Launch::Qemu(boot) = &mut launch {
            boot.devices.extend(trace_args(&log));
        }
        bench.boot(&launch, &format!("QEMU -icount -singlestep -d exec, {}: breakdown", describe_words(words)))?;
        let file = std::fs::File::open(&log).with_context(|| format!("reading {}", log.display()))?;
        let lines = BufReader::new(file).lines().map_while(Result::ok);
        let found = analyse(lines, &map, words);
        if found.is_empty() {
            bail!("the trace {} holds no syscall round trip", log.display());
        }
        trips.extend(found);
        // The trace is large (one line per instruction of the whole run).
        let _ = std::fs::remove_file(&log);
    }
    Ok(trips)
}

/// QEMU's arguments that log every instruction to `log`.
fn trace_args(log: &Path) -> Vec<String> {
    ["-singlestep", "-d", "exec,nochain", "-D"]
        .iter()
        .map(|s| s.to_string())
        .chain([log.display().to_string()])
        .collect()
}

/// The kernel ELF next to an image (`bench-bench-release.bin` was linked
/// from `kernel-bench-release.elf`).
fn kernel_elf_of(guess: &Path, image: &Path) -> Result<PathBuf> {
    if guess.exists() && guess.file_name().is_some_and(|n| n.to_string_lossy().starts_with("kernel")) {
        return Ok(guess.to_path_buf());
    }
    let dir = image.parent().context("image without a directory")?;
    let name = image.file_name().context("image without a name")?.to_string_lossy().to_string();
    // `<app>-<flavor>.bin` -> `kernel-<flavor>.elf`.
    let flavor = name.split_once('-').map(|(_, f)| f).unwrap_or(&name).trim_end_matches(".bin");
    let elf = dir.join(format!("kernel-{flavor}.elf"));
    if elf.exists() { Ok(elf) } else { bail!("no kernel ELF {} for {}", elf.display(), image.display()) }
}

/// The table: one row per configuration and path.
pub fn render(trips: &[RoundTrip]) -> String {
    let mut out = String::from(
        "\n== Where one round trip's instructions go (QEMU -icount -singlestep -d exec,nochain; kernel symbols)\n",
    );
    let mut header = format!("{:<18} {:<7}", "entry", "path");
    for p in PHASES {
        header.push_str(&format!(" {:>9}", p));
    }
    header.push_str(&format!(" {:>7}", "total"));
    out.push_str(&header);
    out.push('\n');
    out.push_str(&"-".repeat(header.len()));
    out.push('\n');
    for t in trips {
        let config = if t.config.is_empty() { "defaults (KPTI on)" } else { &t.config };
        let mut row = format!("{:<18} {:<7}", config, t.path);
        for v in &t.phases {
            row.push_str(&format!(" {:>9}", v));
        }
        row.push_str(&format!(" {:>7}", t.total()));
        out.push_str(&row);
        out.push('\n');
    }
    out.push_str(
        "entry: LSTAR to the complete hardware frame; save: the rest of pt_regs and the register clearing;\n\
         dispatch: do_syscall_64 to the handler; exit work: do_syscall_64 after it (the flags-word test);\n\
         return: the restore, CR3 and SYSRET; user: the app's loop. Totals agree with the -icount figures.\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> SymbolMap {
        SymbolMap::new(vec![
            (0xffff_ffff_8010_0000, "do_syscall_64".into()),
            (0xffff_ffff_8010_0100, "_ZN9libos_abi8dispatch10ni_syscall17h0E".into()),
            (0xffff_ffff_8010_0200, "_ZN6kernel8syscalls6getpid17h0E".into()),
            (0xffff_ffff_8020_0000, "entry_SYSCALL_64".into()),
            (0xffff_ffff_8020_0020, "entry_SYSCALL_64_after_hwframe".into()),
            (0xffff_ffff_8020_0100, "entry_syscall_64_sysret_kpti".into()),
            (0xffff_ffff_8030_0000, "entry_trampoline_page".into()),
            (0xffff_ffff_8030_0000, "entry_SYSCALL_64_trampoline".into()),
        ])
        .unwrap()
    }

    fn line(pc: u64) -> String {
        format!("Trace 0: 0x7f00 [00000000/{pc:016x}/00000040/ff020201] ")
    }

    #[test]
    fn lines_and_symbols() {
        assert_eq!(exec_line_pc(&line(0x40_1000)), Some(0x40_1000));
        assert_eq!(exec_line_pc("Linking TBs"), None);
        let m = map();
        assert_eq!(m.lookup(0x40_1000), None);
        assert_eq!(m.lookup(0xffff_ffff_8010_0004), Some("do_syscall_64"));
        // CPU 1's alias of the trampoline page.
        assert_eq!(m.lookup(0xffff_fe00_0004_4010), Some("entry_SYSCALL_64_trampoline"));
    }

    #[test]
    fn a_trace_splits_into_phases() {
        let user = [0x40_1000u64, 0x40_1004];
        let trip = |handler: u64| {
            let mut pcs = vec![0xffff_fe00_0002_4000u64, 0xffff_fe00_0002_4004]; // trampoline alias
            pcs.extend([0xffff_ffff_8020_0020, 0xffff_ffff_8020_0022, 0xffff_ffff_8020_0024]); // save
            pcs.extend([0xffff_ffff_8010_0000, 0xffff_ffff_8010_0004]); // dispatch
            pcs.extend([handler, handler + 4]); // handler
            pcs.extend([0xffff_ffff_8010_0010]); // exit work
            pcs.extend([0xffff_ffff_8020_0030, 0xffff_ffff_8020_0100, 0xffff_ffff_8020_0104]); // return
            pcs
        };
        let mut pcs: Vec<u64> = vec![0xffff_ffff_8010_0000, 0x10_0000]; // boot: ignored
        for _ in 0..3 {
            pcs.extend(user);
            pcs.extend(trip(0xffff_ffff_8010_0100));
        }
        for _ in 0..2 {
            pcs.extend(user);
            pcs.extend(trip(0xffff_ffff_8010_0200));
        }
        pcs.extend(user);
        let trips = analyse(pcs.into_iter().map(line), &map(), "kpti=off");
        assert_eq!(trips.len(), 2, "{trips:?}");
        assert_eq!(trips[0].path, "null");
        assert_eq!(trips[0].phases, [2, 3, 2, 2, 1, 3, 2]);
        assert_eq!(trips[0].total(), 15);
        assert_eq!(trips[1].path, "getpid");
        assert_eq!(trips[1].handler, ["_ZN6kernel8syscalls6getpid17h0E"]);
        assert_eq!(trips[1].config, "kpti=off");
    }

    #[test]
    fn interrupts_and_odd_trips_are_not_round_trips() {
        // A kernel run that does not start at LSTAR (an interrupt).
        assert_eq!(phases_of(&["do_syscall_64", "entry_syscall_64_sysret_kpti"], 2), None);
        // No return.
        assert_eq!(phases_of(&["entry_SYSCALL_64", "do_syscall_64"], 2), None);
    }
}
