//! Building the kernel and the apps with cargo, and writing images.
//!
//! - The kernel: `cargo build -p libos-kernel --bin kernel --target
//!   x86_64-unknown-none --target-dir <out>/kernel`, run in the framework's
//!   workspace so that its `.cargo/config.toml` rustflags (static relocation
//!   model) apply. The ELF is copied to
//!   `<out>/images/kernel[-tests|-testing|-bench][-bench-empty][-release].elf`
//!   right away, so that the builds of different flavours do not overwrite
//!   each other.
//! - The kernel's flavours: production (no feature: only the ABI), `testing`
//!   (the test hooks), `bench` (the benchmark's hooks), `boot-tests` (the
//!   test hooks and the kernel's own tests), `bench-empty`.
//! - An app: `cargo build --target x86_64-unknown-linux-musl` (hard float,
//!   see [`APP_TARGET`]; the benchmark also builds one for the kernel's
//!   soft-float target) with everything an app needs passed by the xtask, so that an app's own Cargo.toml needs
//!   nothing but its `libos` dependency: `CARGO_ENCODED_RUSTFLAGS` gives the
//!   static relocation model, the small code model (apps live in the low 2
//!   GiB, at 4 MiB) and the user linker script `user.ld` of the `libos`
//!   package the app depends on; `CARGO_PROFILE_*` gives the profile
//!   ([`app_profile_env`]); the test and benchmark flavours add
//!   `--features libos/testing` (the app's tests and `libos`'s hooks).
//!   Release apps are built without LTO: the
//!   target's prebuilt `core` and `alloc` carry the `kernel` code model, and
//!   LLVM refuses to merge modules of two code models (fat and thin LTO
//!   alike); plain linking mixes them fine, since both reach the low 2 GiB
//!   (the image build checks the app ends there). They are also built
//!   without debug information (`strip=debuginfo`): the image carries the
//!   ELF.
//! - Where things go ([`Layout`]). For the framework's own apps
//!   (`apps/NAME`), `<out>` is the workspace's `target/` and apps build in
//!   `target/user`. For an app elsewhere ([`app`]), the app builds in its
//!   own target directory, where cargo puts any build
//!   (`<its target>/x86_64-unknown-linux-musl/<profile>/<name>`), and `<out>` is
//!   `<its target>/libos/`: the kernel's build, the images, Bochs's runs.
//!   Test builds of apps (with `libos/testing`) go to `<out>/user-testing`
//!   instead, so that neither build overwrites the other's.
//! - Images go to `<out>/images/<app or kernel>[-tests|-testing|-bench][-bench-empty][-release].bin`.

pub mod app;
pub mod cpio;
pub mod disk;
pub mod image;
pub mod toolchain;

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result, bail, ensure};

use self::app::OutsideApp;
use self::image::{AppInput, Image};
use self::toolchain::Toolchain;
pub use self::toolchain::cargo;
use crate::install;

/// The bare-metal target of the kernel (soft-float: the kernel never
/// touches the FPU/SIMD registers, which hold the apps' state).
pub const TARGET: &str = "x86_64-unknown-none";
/// The apps' target: hard float (an `f64` multiply is one `mulsd`, floats
/// pass in XMM registers as the System V psABI says), `#![no_std]` on stable
/// with a prebuilt `core`/`alloc`. `x86_64-unknown-none` cannot give that:
/// its ABI is soft-float and rustc refuses `-soft-float` on it. Linked by
/// `rust-lld` with the user linker script and nothing of musl (no start
/// files, no libc: `libos` is the runtime), see [`app_rustflags`].
pub const APP_TARGET: &str = "x86_64-unknown-linux-musl";
/// The kernel's package.
pub const KERNEL_PACKAGE: &str = "libos-kernel";
/// The kernel's binary.
pub const KERNEL_BIN: &str = "kernel";
/// The kernel feature that compiles the boot-time tests in.
pub const BOOT_TESTS_FEATURE: &str = "boot-tests";
/// The kernel feature of test images: the test hooks.
pub const TESTING_FEATURE: &str = "testing";
/// The kernel feature of benchmark images: the benchmark's hooks.
pub const BENCH_FEATURE: &str = "bench";
/// The app feature of test and benchmark images: `libos`'s test hooks.
pub const APP_TESTING_FEATURE: &str = "libos/testing";
/// The kernel feature of the benchmark's empty image: the run ends at the
/// kernel's first Rust instruction.
pub const BENCH_EMPTY_FEATURE: &str = "bench-empty";
/// The apps' linker script, in the `libos` package's directory.
pub const USER_LINKER_SCRIPT: &str = "user.ld";
/// The image name used when there is no app.
pub const NO_APP_NAME: &str = "kernel";

/// The workspace root (the parent of the xtask's own directory).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lies inside the workspace").to_path_buf()
}

/// Which hooks the kernel and the app are built with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Hooks {
    /// None: a production image, the ABI only.
    None,
    /// The test hooks (kernel feature `testing`, `libos/testing`).
    Testing,
    /// The benchmark's hooks (kernel feature `bench`, `libos/testing`).
    Bench,
}

/// What to build: profile and kernel flavour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Flavor {
    /// `--release`.
    pub release: bool,
    /// The kernel with its boot-time tests (`--features boot-tests`, which
    /// implies the test hooks).
    pub boot_tests: bool,
    /// The benchmark's empty kernel (`--features bench-empty`), which ends
    /// the run at its first Rust instruction; only without an app.
    pub bench_empty: bool,
    /// The hooks.
    pub hooks: Hooks,
}

impl Flavor {
    /// The production kernel of a profile.
    pub fn plain(release: bool) -> Flavor {
        Flavor { release, boot_tests: false, bench_empty: false, hooks: Hooks::None }
    }

    /// The test flavour of a profile (the test hooks).
    pub fn testing(release: bool) -> Flavor {
        Flavor { hooks: Hooks::Testing, ..Flavor::plain(release) }
    }

    /// Whether apps are built with `libos/testing`.
    pub fn app_testing(self) -> bool {
        self.boot_tests || self.hooks != Hooks::None
    }

    /// `[-tests|-testing|-bench][-bench-empty][-release]`, the suffix of
    /// file names of this flavour.
    pub fn suffix(self) -> String {
        let mut s = String::new();
        if self.boot_tests {
            s.push_str("-tests");
        } else {
            match self.hooks {
                Hooks::None => {}
                Hooks::Testing => s.push_str("-testing"),
                Hooks::Bench => s.push_str("-bench"),
            }
        }
        if self.bench_empty {
            s.push_str("-bench-empty");
        }
        if self.release {
            s.push_str("-release");
        }
        s
    }

    fn profile_dir(self) -> &'static str {
        if self.release { "release" } else { "debug" }
    }
}

/// Where the framework is, and where the build outputs go.
#[derive(Clone, Debug)]
pub struct Layout {
    /// The framework's workspace root: the kernel is built there, and its
    /// apps are `apps/*`.
    pub root: PathBuf,
    /// The `libos` package's directory (its `user.ld`).
    pub libos_dir: PathBuf,
    /// Where the framework's outputs go: the workspace's `target/`, or
    /// `<target>/libos` of an app outside it.
    pub out: PathBuf,
    /// The app outside the workspace this layout builds, if any; then it is
    /// the only app.
    pub outside: Option<OutsideApp>,
    /// The toolchain of the builds.
    pub toolchain: Toolchain,
}

impl Layout {
    /// The layout of this workspace (the xtask's own).
    pub fn new() -> Layout {
        Layout::workspace(workspace_root())
    }

    /// The layout of the framework's workspace at `root`, with its apps.
    pub fn workspace(root: PathBuf) -> Layout {
        Layout {
            libos_dir: root.join("libos"),
            out: root.join("target"),
            root,
            outside: None,
            toolchain: Toolchain::Invoking,
        }
    }

    /// The layout that builds `app`, a crate outside the framework's
    /// workspace at `root`, whose `libos` dependency is in `libos_dir`: the
    /// framework's pinned toolchain, the outputs in the app's target
    /// directory.
    pub fn outside(root: PathBuf, libos_dir: PathBuf, app: OutsideApp) -> Layout {
        Layout {
            toolchain: Toolchain::of_framework(&root),
            out: app.target_dir.join("libos"),
            root,
            libos_dir,
            outside: Some(app),
        }
    }

    /// `<out>/images`.
    pub fn images_dir(&self) -> PathBuf {
        self.out.join("images")
    }

    /// `<out>/images/bochs`: the GRUB rescue ISOs that boot images under
    /// Bochs.
    pub fn bochs_iso_dir(&self) -> PathBuf {
        self.images_dir().join("bochs")
    }

    /// `<out>/bochs`: one directory per Bochs run (bochsrc, log, serial
    /// output), kept when the run failed.
    pub fn bochs_work_dir(&self) -> PathBuf {
        self.out.join("bochs")
    }

    /// `<out>/xtask`: the xtask's own state (the KVM probe cache).
    pub fn state_dir(&self) -> PathBuf {
        self.out.join("xtask")
    }

    /// `<out>/kernel`: the kernel's cargo target directory.
    pub fn kernel_target_dir(&self) -> PathBuf {
        self.out.join("kernel")
    }

    /// The apps' cargo target directory: `target/user` in the workspace,
    /// the app's own outside it.
    pub fn user_target_dir(&self) -> PathBuf {
        match &self.outside {
            Some(app) => app.target_dir.clone(),
            None => self.out.join("user"),
        }
    }

    /// Where the kernel ELF of a flavour is kept.
    pub fn kernel_elf(&self, flavor: Flavor) -> PathBuf {
        self.images_dir().join(format!("{NO_APP_NAME}{}.elf", flavor.suffix()))
    }

    /// Where the image of an app (or of the kernel alone) is written.
    pub fn image(&self, app: Option<&str>, flavor: Flavor) -> PathBuf {
        self.images_dir().join(format!("{}{}.bin", app.unwrap_or(NO_APP_NAME), flavor.suffix()))
    }

    /// Where cargo leaves an app's ELF built for `flavor` and `target`
    /// ([`APP_TARGET`], or [`TARGET`] for the benchmark's soft-float build).
    pub fn app_elf_for(&self, app: &str, flavor: Flavor, target: &str) -> PathBuf {
        self.app_target_dir(flavor).join(target).join(flavor.profile_dir()).join(app)
    }

    /// The cargo target directory of apps built for `flavor`: the
    /// production build in [`Layout::user_target_dir`], the test build
    /// (with `libos/testing`) in `<out>/user-testing`, apart, so that
    /// neither build overwrites the other's.
    pub fn app_target_dir(&self, flavor: Flavor) -> PathBuf {
        if flavor.app_testing() { self.out.join("user-testing") } else { self.user_target_dir() }
    }

    /// The apps: directories `apps/*` with a Cargo.toml, sorted by name;
    /// or the one app outside the workspace.
    pub fn apps(&self) -> Result<Vec<String>> {
        if let Some(app) = &self.outside {
            return Ok(vec![app.name.clone()]);
        }
        let dir = self.root.join("apps");
        let mut apps = Vec::new();
        for entry in fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))? {
            let entry = entry?;
            let manifest = entry.path().join("Cargo.toml");
            if !manifest.is_file() {
                continue;
            }
            let dir_name = entry.file_name().to_string_lossy().into_owned();
            let text = fs::read_to_string(&manifest).with_context(|| format!("reading {}", manifest.display()))?;
            match package_name(&text) {
                Some(name) if name == dir_name => apps.push(dir_name),
                Some(name) => bail!(
                    "{}: the package is named `{name}` but apps must be named after their \
                     directory (`{dir_name}`)",
                    manifest.display()
                ),
                None => bail!("{}: no `name` in its [package] table", manifest.display()),
            }
        }
        apps.sort();
        Ok(apps)
    }

    /// Checks that `app` is one of the apps; the error lists them.
    pub fn check_app(&self, app: &str) -> Result<()> {
        let apps = self.apps()?;
        ensure!(
            apps.iter().any(|a| a == app),
            "no app named `{app}`; the apps are: {}",
            if apps.is_empty() { "(none)".to_string() } else { apps.join(", ") }
        );
        ensure!(app != NO_APP_NAME, "an app may not be named `{NO_APP_NAME}`");
        Ok(())
    }

    /// Builds the kernel; returns the path of its copied ELF.
    pub fn build_kernel(&self, flavor: Flavor) -> Result<PathBuf> {
        ensure!(
            !(flavor.boot_tests && flavor.bench_empty),
            "the kernel cannot be built with both its boot tests and as the benchmark's empty image"
        );
        install::ensure_rust_targets(&self.toolchain, &self.root, &[TARGET])?;
        let target_dir = self.kernel_target_dir();
        let mut cmd = self.toolchain.cargo();
        cmd.current_dir(&self.root)
            .args(["build", "-p", KERNEL_PACKAGE, "--bin", KERNEL_BIN, "--target", TARGET])
            .arg("--target-dir")
            .arg(&target_dir)
            // The config's rustflags (relocation-model=static) must apply.
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS");
        if flavor.release {
            cmd.arg("--release");
        }
        if flavor.boot_tests {
            cmd.args(["--features", BOOT_TESTS_FEATURE]);
        } else {
            match flavor.hooks {
                Hooks::None => {}
                Hooks::Testing => {
                    cmd.args(["--features", TESTING_FEATURE]);
                }
                Hooks::Bench => {
                    cmd.args(["--features", BENCH_FEATURE]);
                }
            }
        }
        if flavor.bench_empty {
            cmd.args(["--features", BENCH_EMPTY_FEATURE]);
        }
        let what = if flavor.boot_tests {
            "the kernel (with boot tests)"
        } else if flavor.bench_empty {
            "the benchmark's empty kernel"
        } else {
            match flavor.hooks {
                Hooks::None => "the kernel",
                Hooks::Testing => "the kernel (with the test hooks)",
                Hooks::Bench => "the kernel (with the benchmark's hooks)",
            }
        };
        run_cargo(&mut cmd, what)?;
        let built = target_dir.join(TARGET).join(flavor.profile_dir()).join(KERNEL_BIN);
        let kept = self.kernel_elf(flavor);
        copy_atomically(&built, &kept)?;
        Ok(kept)
    }

    /// Builds an app for `flavor` (its profile; `libos/testing` for the test
    /// and benchmark flavours); returns the path of its ELF.
    pub fn build_app(&self, app: &str, flavor: Flavor) -> Result<PathBuf> {
        self.build_app_for(app, flavor, APP_TARGET)
    }

    /// [`Layout::build_app`] for `target`: [`APP_TARGET`] (hard float), or
    /// [`TARGET`] (soft float: the benchmark's "before" build of its float
    /// workload).
    pub fn build_app_for(&self, app: &str, flavor: Flavor, target: &str) -> Result<PathBuf> {
        if let Some(outside) = &self.outside {
            ensure!(outside.name == app, "this build is for the app `{}`, not `{app}`", outside.name);
        }
        let release = flavor.release;
        let script = self.libos_dir.join(USER_LINKER_SCRIPT);
        ensure!(
            script.is_file(),
            "cannot link the app `{app}`: the user linker script {} does not exist",
            script.display()
        );
        install::ensure_rust_targets(&self.toolchain, &self.root, &[target])?;
        let mut cmd = self.toolchain.cargo();
        match &self.outside {
            Some(outside) => {
                let dir = outside.manifest.parent().unwrap_or(Path::new("."));
                cmd.current_dir(dir).args(["build", "--manifest-path"]).arg(&outside.manifest).args(["--bin", app]);
            }
            None => {
                cmd.current_dir(&self.root).args(["build", "-p", app]);
            }
        }
        cmd.args(["--target", target, "--target-dir"])
            .arg(self.app_target_dir(flavor))
            .env_remove("RUSTFLAGS")
            .env("CARGO_ENCODED_RUSTFLAGS", app_rustflags(&script, target))
            .envs(app_profile_env(release).iter().copied());
        if flavor.app_testing() {
            cmd.args(["--features", APP_TESTING_FEATURE]);
        }
        if release {
            cmd.arg("--release");
        }
        run_cargo(&mut cmd, &format!("the app `{app}`"))?;
        let elf = self.app_elf_for(app, flavor, target);
        ensure!(
            elf.is_file(),
            "cargo built the app `{app}` but {} does not exist (is its binary named `{app}`?)",
            elf.display()
        );
        Ok(elf)
    }

    /// Builds the image from a kernel ELF and an optional app ELF, writes it
    /// to `out` and returns it.
    pub fn write_image(&self, kernel_elf: &Path, app: Option<(&str, &Path)>, out: &Path) -> Result<Image> {
        let kernel = fs::read(kernel_elf).with_context(|| format!("reading {}", kernel_elf.display()))?;
        let app_bytes = match app {
            Some((_, path)) => Some(fs::read(path).with_context(|| format!("reading {}", path.display()))?),
            None => None,
        };
        let input = app.zip(app_bytes.as_deref()).map(|((name, _), elf)| AppInput { name, elf });
        let image =
            image::build(&kernel, input).with_context(|| format!("making an image from {}", kernel_elf.display()))?;
        write_atomically(out, &image.bytes)?;
        Ok(image)
    }
}

impl Default for Layout {
    fn default() -> Self {
        Layout::new()
    }
}

/// The flags of an app build for `target`, joined by 0x1f as
/// `CARGO_ENCODED_RUSTFLAGS` wants them. They replace the config's
/// rustflags, so the relocation model is given again: static, so the app is
/// an `ET_EXEC` at 4 MiB as the loader wants (the musl target would make a
/// static PIE). For [`APP_TARGET`] also: `panic=abort` (apps never unwind;
/// `libos` defines the personality symbol the prebuilt `alloc` names),
/// `crt-static`, and the target's own `rust-lld` in place of `cc`, without
/// musl's self-contained objects: no `crt1.o`/`crti.o` start files and no
/// `libc.a` (`libos` provides `_start` and the few C symbols `core` calls).
pub fn app_rustflags(linker_script: &Path, target: &str) -> OsString {
    let mut flags = vec!["-Crelocation-model=static".to_string(), "-Ccode-model=small".to_string()];
    if target != TARGET {
        flags.extend(
            [
                "-Cpanic=abort",
                "-Ctarget-feature=+crt-static",
                "-Clink-self-contained=no",
                "-Clinker=rust-lld",
                "-Clinker-flavor=ld.lld",
            ]
            .map(String::from),
        );
    }
    flags.push(format!("-Clink-arg=-T{}", linker_script.display()));
    flags.push("-Clink-arg=--gc-sections".to_string());
    flags.join("\x1f").into()
}

/// The profile settings of an app build, as cargo's `CARGO_PROFILE_*`
/// variables (cargo's configuration, which comes before the manifest's
/// `[profile]`): the framework's, for its own apps and apps elsewhere alike.
/// Debug: `opt-level = 1` (boot-time tests run under an emulator; level 1
/// keeps debug information useful and builds fast). Release: `opt-level =
/// "s"`, one codegen unit, no LTO and no debug information (see the module
/// docs).
pub fn app_profile_env(release: bool) -> &'static [(&'static str, &'static str)] {
    if release {
        &[
            ("CARGO_PROFILE_RELEASE_OPT_LEVEL", "s"),
            ("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1"),
            ("CARGO_PROFILE_RELEASE_LTO", "false"),
            ("CARGO_PROFILE_RELEASE_STRIP", "debuginfo"),
        ]
    } else {
        &[("CARGO_PROFILE_DEV_OPT_LEVEL", "1")]
    }
}

/// The `name` of the `[package]` table of a Cargo.toml (a line-level read,
/// enough for our manifests).
pub fn package_name(manifest: &str) -> Option<String> {
    let mut in_package = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[package]";
            continue;
        }
        if !in_package {
            continue;
        }
        if let Some((key, value)) = line.split_once('=')
            && key.trim() == "name"
        {
            let value = value.trim();
            let unquoted = value.strip_prefix('"')?.split('"').next()?;
            return Some(unquoted.to_string());
        }
    }
    None
}

/// Runs a cargo build; its own output goes to our terminal.
fn run_cargo(cmd: &mut Command, what: &str) -> Result<()> {
    let status = cmd.status().context("running cargo")?;
    ensure!(status.success(), "building {what} failed (cargo: {status}); see cargo's errors above");
    Ok(())
}

/// Copies a file by writing a temporary file next to the target and renaming it.
fn copy_atomically(from: &Path, to: &Path) -> Result<()> {
    let bytes = fs::read(from).with_context(|| format!("reading {}", from.display()))?;
    write_atomically(to, &bytes)
}

/// Writes a file by writing a temporary file next to it and renaming it, so
/// that a concurrent reader never sees half a file. Concurrent writers of
/// the same file (two boots of one test image under Bochs write its ISO's
/// key; two xtask processes) each write a temporary file of their own,
/// named by process id and a per-process counter, and the last rename wins.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed)));
    let tmp = PathBuf::from(tmp);
    if let Err(e) = fs::write(&tmp, bytes) {
        let _ = fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("writing {}", tmp.display()));
    }
    fs::rename(&tmp, path).with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flavours_name_files() {
        let layout = Layout::workspace(PathBuf::from("/w"));
        let plain = Flavor::plain(false);
        let tests = Flavor { boot_tests: true, ..plain };
        let release_tests = Flavor { boot_tests: true, ..Flavor::plain(true) };
        let empty = Flavor { bench_empty: true, ..Flavor::plain(true) };
        assert_eq!(layout.kernel_elf(plain), Path::new("/w/target/images/kernel.elf"));
        assert_eq!(layout.kernel_elf(release_tests), Path::new("/w/target/images/kernel-tests-release.elf"));
        assert_eq!(layout.image(Some("hello"), tests), Path::new("/w/target/images/hello-tests.bin"));
        assert_eq!(layout.image(None, plain), Path::new("/w/target/images/kernel.bin"));
        assert_eq!(layout.kernel_elf(empty), Path::new("/w/target/images/kernel-bench-empty-release.elf"));
        assert_eq!(layout.image(None, empty), Path::new("/w/target/images/kernel-bench-empty-release.bin"));
        assert_eq!(
            layout.app_elf_for("hello", Flavor::plain(true), APP_TARGET),
            Path::new("/w/target/user/x86_64-unknown-linux-musl/release/hello")
        );
        let testing = Flavor::testing(false);
        assert_eq!(layout.kernel_elf(testing), Path::new("/w/target/images/kernel-testing.elf"));
        assert_eq!(
            layout.app_elf_for("hello", testing, APP_TARGET),
            Path::new("/w/target/user-testing/x86_64-unknown-linux-musl/debug/hello")
        );
        let bench = Flavor { hooks: Hooks::Bench, ..Flavor::plain(true) };
        assert_eq!(layout.image(Some("bench"), bench), Path::new("/w/target/images/bench-bench-release.bin"));
    }

    #[test]
    fn an_app_outside_builds_in_its_own_target_directory() {
        let app = OutsideApp {
            name: "myapp".into(),
            manifest: PathBuf::from("/home/u/myapp/Cargo.toml"),
            target_dir: PathBuf::from("/home/u/myapp/target"),
        };
        let layout = Layout::outside(PathBuf::from("/fw"), PathBuf::from("/fw/libos"), app);
        let plain = Flavor::plain(false);
        assert_eq!(
            layout.app_elf_for("myapp", plain, APP_TARGET),
            Path::new("/home/u/myapp/target/x86_64-unknown-linux-musl/debug/myapp")
        );
        // Its test build (with `libos/testing`) apart from the production one.
        assert_eq!(
            layout.app_elf_for("myapp", Flavor::testing(false), APP_TARGET),
            Path::new("/home/u/myapp/target/libos/user-testing/x86_64-unknown-linux-musl/debug/myapp")
        );
        assert_eq!(layout.image(Some("myapp"), plain), Path::new("/home/u/myapp/target/libos/images/myapp.bin"));
        assert_eq!(layout.kernel_elf(plain), Path::new("/home/u/myapp/target/libos/images/kernel.elf"));
        assert_eq!(layout.kernel_target_dir(), Path::new("/home/u/myapp/target/libos/kernel"));
        assert_eq!(layout.bochs_work_dir(), Path::new("/home/u/myapp/target/libos/bochs"));
        assert_eq!(layout.apps().unwrap(), ["myapp"]);
        assert!(layout.check_app("hello").is_err());
        assert!(layout.build_app("hello", plain).unwrap_err().to_string().contains("not `hello`"));
    }

    #[test]
    fn app_profiles() {
        assert_eq!(app_profile_env(false), [("CARGO_PROFILE_DEV_OPT_LEVEL", "1")]);
        assert!(app_profile_env(true).contains(&("CARGO_PROFILE_RELEASE_LTO", "false")));
    }

    #[test]
    fn concurrent_writers_of_one_file_do_not_collide() {
        let dir = std::env::temp_dir().join(format!("xtask-atomic-{}", std::process::id()));
        let path = dir.join("same.key");
        std::thread::scope(|s| {
            let writers: Vec<_> = (0..8u8)
                .map(|i| {
                    let path = &path;
                    s.spawn(move || {
                        for _ in 0..50 {
                            write_atomically(path, &[i; 4096]).unwrap();
                        }
                    })
                })
                .collect();
            for w in writers {
                w.join().unwrap();
            }
        });
        // One writer's whole content, and no temporary file left behind.
        let bytes = fs::read(&path).unwrap();
        assert!(bytes.len() == 4096 && bytes.iter().all(|&b| b == bytes[0]));
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn app_flags_are_separated_by_0x1f() {
        let flags = app_rustflags(Path::new("/w/libos/user.ld"), TARGET);
        let flags = flags.to_str().unwrap();
        assert_eq!(
            flags.split('\x1f').collect::<Vec<_>>(),
            [
                "-Crelocation-model=static",
                "-Ccode-model=small",
                "-Clink-arg=-T/w/libos/user.ld",
                "-Clink-arg=--gc-sections"
            ]
        );
        let flags = app_rustflags(Path::new("/w/libos/user.ld"), APP_TARGET);
        let flags: Vec<_> = flags.to_str().unwrap().split('\x1f').map(str::to_string).collect();
        for want in ["-Crelocation-model=static", "-Cpanic=abort", "-Clink-self-contained=no", "-Clinker=rust-lld"] {
            assert!(flags.iter().any(|f| f == want), "{want} in {flags:?}");
        }
    }

    #[test]
    fn package_names() {
        let manifest = "[package]\nname = \"hello\"\nversion.workspace = true\n\n[dependencies]\nname = \"x\"\n";
        assert_eq!(package_name(manifest).as_deref(), Some("hello"));
        assert_eq!(package_name("[dependencies]\nname = \"x\"\n"), None);
        assert_eq!(package_name("[package]\n  name=\"a-b\" # c\n").as_deref(), Some("a-b"));
    }

    #[test]
    fn the_workspace_apps_are_listed() {
        let apps = Layout::new().apps().unwrap();
        assert!(apps.iter().any(|a| a == "hello"), "{apps:?}");
        let err = Layout::new().check_app("no-such-app").unwrap_err().to_string();
        assert!(err.contains("hello"), "{err}");
    }
}
