//! The float figures of `cargo xtask bench` (`apps/float-bench`):
//!
//! - **Hard vs soft float**: the same Mandelbrot source built for the apps'
//!   hard-float target and for the kernel's soft-float one, instructions
//!   under `-icount shift=0` and their ratio (the checksums must agree:
//!   both are IEEE-754 exact).
//! - **Thread switch with eager FPU state**: a futex ping-pong between two
//!   threads on one CPU, per round trip (two switches, each saving one
//!   thread's extended state and restoring the other's): instructions under
//!   `-icount` (an XSAVE counts as one instruction there, so the size of
//!   the state saved is given beside it) and emulated cycles under plain
//!   TCG (the median of the plan's runs).
//!
//! The figures go to the report's notes (one line each).

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, ensure};

use super::{Bench, MEM, QEMU_TIMEOUT, Report, app_cmdline};
use crate::build::{APP_TARGET, Flavor, TARGET};

/// The app.
pub const FLOAT_APP: &str = "float-bench";
/// Round trips of the ping-pong.
pub const PINGPONG_TRIPS: u64 = 2000;

/// `key=value` of a `[float] <what>` line.
fn field(serial: &str, what: &str, key: &str) -> Result<u64> {
    let line = serial
        .lines()
        .find(|l| l.starts_with(&format!("[float] {what} ")))
        .ok_or_else(|| anyhow!("no `[float] {what}` line"))?;
    let value = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{key}=")))
        .ok_or_else(|| anyhow!("no {key}= in `{line}`"))?;
    value.parse().with_context(|| format!("reading {key} in `{line}`"))
}

/// The x87..AVX-512 state size the kernel's boot report gives.
fn state_bytes(serial: &str) -> Option<String> {
    let line = serial.lines().find(|l| l.trim_start().starts_with("fpu "))?;
    Some(line.trim_start().trim_start_matches("fpu").trim().to_string())
}

impl Bench {
    fn float_image(&self, target: &str, flavor: Flavor) -> Result<PathBuf> {
        let layout = &self.layout;
        let kernel = layout.build_kernel(flavor)?;
        let app = layout.build_app_for(FLOAT_APP, flavor, target)?;
        let kind = if target == TARGET { "soft" } else { "hard" };
        let out = layout.images_dir().join(format!("{FLOAT_APP}-{kind}{}.bin", flavor.suffix()));
        layout.write_image(&kernel, Some((FLOAT_APP, &app)), &out)?;
        Ok(out)
    }

    /// The float figures (see the module docs), as notes.
    pub(super) fn float_figures(&self, report: &mut Report) -> Result<()> {
        let flavor = Flavor::plain(true);
        let hard = self.float_image(APP_TARGET, flavor)?;
        let soft = self.float_image(TARGET, flavor)?;
        let mut mandel = Vec::new();
        for (kind, image) in [("hard", &hard), ("soft", &soft)] {
            let launch = self.qemu_launch(image, app_cmdline("", "mandelbrot"), 1, MEM, true, QEMU_TIMEOUT);
            let ended = self.boot(&launch, &format!("QEMU -icount: mandelbrot, {kind} float"))?;
            let serial = String::from_utf8_lossy(&ended.serial).into_owned();
            let ticks = self.decode("mandelbrot", &ended, |s| field(s, "mandelbrot", "ticks"))?;
            let sum = self.decode("mandelbrot", &ended, |s| field(s, "mandelbrot", "checksum"))?;
            ensure!(serial.contains(&format!("float={kind}")), "the {kind}-float build says it is not");
            mandel.push((ticks, sum));
        }
        let ((hard_ticks, hard_sum), (soft_ticks, soft_sum)) = (mandel[0], mandel[1]);
        ensure!(hard_sum == soft_sum, "Mandelbrot checksums differ: hard {hard_sum}, soft {soft_sum}");
        report.notes.push(format!(
            "float: Mandelbrot 96x64 (f64, 256 iterations max), QEMU -icount: hard float {hard_ticks} instructions, \
             soft float {soft_ticks}: soft/hard = {:.2}x (checksum {hard_sum} both)",
            soft_ticks as f64 / hard_ticks as f64
        ));

        let args = format!("pingpong {PINGPONG_TRIPS}");
        let launch = self.qemu_launch(&hard, app_cmdline("", &args), 1, MEM, true, QEMU_TIMEOUT);
        let ended = self.boot(&launch, "QEMU -icount: futex ping-pong")?;
        let ticks = self.decode("pingpong", &ended, |s| field(s, "pingpong", "ticks"))?;
        let state = state_bytes(&String::from_utf8_lossy(&ended.serial)).unwrap_or_else(|| "?".into());
        let mut tcg = Vec::new();
        for i in 1..=self.plan.runs {
            let launch = self.qemu_launch(&hard, app_cmdline("", &args), 1, MEM, false, QEMU_TIMEOUT);
            let ended = self.boot(&launch, &format!("QEMU TCG: futex ping-pong, run {i}"))?;
            tcg.push(self.decode("pingpong", &ended, |s| field(s, "pingpong", "ticks"))? / PINGPONG_TRIPS);
        }
        tcg.sort_unstable();
        let median = tcg.get(tcg.len() / 2).copied().unwrap_or(0);
        report.notes.push(format!(
            "float: futex ping-pong round trip (2 thread switches, each saving and restoring the extended state): \
             {} instructions under -icount; {median} emulated cycles under TCG (median of {}); state: {state}",
            ticks / PINGPONG_TRIPS,
            tcg.len()
        ));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_float_lines() {
        let serial = "x\n  fpu      x87 sse avx (XCR0 0x7); xsaveopt, 832 bytes per thread\n\
                      [float] mandelbrot float=hard ticks=1234 checksum=99\n[float] pingpong trips=10 ticks=5000\n";
        assert_eq!(field(serial, "mandelbrot", "ticks").unwrap(), 1234);
        assert_eq!(field(serial, "mandelbrot", "checksum").unwrap(), 99);
        assert_eq!(field(serial, "pingpong", "ticks").unwrap(), 5000);
        assert!(field(serial, "pingpong", "nope").is_err());
        assert!(state_bytes(serial).unwrap().contains("832 bytes"));
    }
}
