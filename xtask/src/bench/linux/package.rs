//! Debian's cloud kernel for the Linux guest: the metapackage
//! `linux-image-cloud-amd64` resolved to the real package it depends on
//! (`linux-image-<version>-cloud-amd64`), downloaded with `apt-get
//! download` and unpacked with `dpkg -x` into `target/linux/` — never
//! installed as the host's kernel. Only the kernel image (and its config,
//! for reference) is kept; the next runs use it without asking apt again,
//! so that every run compares against the same Linux. Delete
//! `target/linux/kernel/` to fetch the newest.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use anyhow::{Context, Result, bail, ensure};

use crate::install::{find_in_path, running_as_root};

/// The Debian metapackage that always depends on the current cloud kernel.
pub const METAPACKAGE: &str = "linux-image-cloud-amd64";
/// The suffix of the real package's name, after its version.
const FLAVOUR_SUFFIX: &str = "-cloud-amd64";
/// The prefix of the real package's name, before its version.
const IMAGE_PREFIX: &str = "linux-image-";

/// A Linux kernel ready to boot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kernel {
    /// The Debian package it came from (`linux-image-6.1.0-57-cloud-amd64`).
    pub package: String,
    /// The package's version (`6.1.192-3`).
    pub version: String,
    /// The bzImage QEMU boots with `-kernel`.
    pub vmlinuz: PathBuf,
    /// Whether it came from the cache (no apt this run).
    pub cached: bool,
}

/// The real kernel package in the output of `apt-cache depends
/// linux-image-cloud-amd64`: the first dependency (alternatives, `|Depends`,
/// included) named `linux-image-<version>-cloud-amd64` whose version starts
/// with a digit. `None` when there is none.
pub fn real_package(depends: &str) -> Option<String> {
    depends.lines().find_map(|line| {
        let name = line.trim().trim_start_matches('|').strip_prefix("Depends:")?.trim();
        let version = name.strip_prefix(IMAGE_PREFIX)?.strip_suffix(FLAVOUR_SUFFIX)?;
        let plausible = version.starts_with(|c: char| c.is_ascii_digit())
            && version.chars().all(|c| c.is_ascii_alphanumeric() || ".-+~".contains(c));
        plausible.then(|| name.to_string())
    })
}

/// The package name, version and architecture in the name of a `.deb` file
/// as `apt-get download` writes it: `<name>_<version>_<arch>.deb`, with an
/// epoch's `:` written as `%3a`.
pub fn deb_file_name(file: &str) -> Option<(String, String, String)> {
    let stem = file.strip_suffix(".deb")?;
    let mut parts = stem.splitn(3, '_');
    let (name, version, arch) = (parts.next()?, parts.next()?, parts.next()?);
    if name.is_empty() || version.is_empty() || arch.is_empty() || arch.contains('_') {
        return None;
    }
    Some((name.to_string(), version.replace("%3a", ":").replace("%3A", ":"), arch.to_string()))
}

/// The `.deb` of `package` among the names of the files in a directory.
pub fn find_deb<'a>(package: &str, files: impl IntoIterator<Item = &'a str>) -> Option<(String, String)> {
    files.into_iter().find_map(|f| {
        let (name, version, _) = deb_file_name(f)?;
        (name == package).then(|| (f.to_string(), version))
    })
}

/// Where the kernel is kept: `target/linux/kernel/`.
pub fn cache_dir(root: &Path) -> PathBuf {
    root.join("target/linux/kernel")
}

/// The file in the cache that names the package and version, written last.
fn stamp(dir: &Path) -> PathBuf {
    dir.join("package")
}

/// The cached kernel, if a run has unpacked one.
pub fn cached(root: &Path) -> Option<Kernel> {
    let dir = cache_dir(root);
    let text = fs::read_to_string(stamp(&dir)).ok()?;
    let (package, version) = text.trim().split_once(' ')?;
    let vmlinuz = dir.join("vmlinuz");
    vmlinuz.is_file().then(|| Kernel {
        package: package.to_string(),
        version: version.to_string(),
        vmlinuz,
        cached: true,
    })
}

/// The kernel: the cached one, or Debian's current cloud kernel fetched now.
/// An error says in one line why it cannot be had (no apt, no network, ...).
pub fn ensure(root: &Path) -> Result<Kernel> {
    if let Some(kernel) = cached(root) {
        return Ok(kernel);
    }
    for tool in ["apt-cache", "apt-get", "dpkg"] {
        ensure!(find_in_path(tool).is_some(), "no {tool} on this host (a Debian host has it)");
    }
    let package = resolve()?;
    let dir = cache_dir(root);
    let work = root.join("target/linux/fetch.tmp");
    let _ = fs::remove_dir_all(&work);
    fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    let result = fetch(&package, &work, &dir);
    let _ = fs::remove_dir_all(&work);
    result
}

/// Resolves the metapackage, updating apt's lists once (as root) when apt
/// does not know it.
fn resolve() -> Result<String> {
    let ask = || -> Result<Option<String>> {
        let out = quiet(Command::new("apt-cache").args(["depends", METAPACKAGE]))?;
        Ok(out.status.success().then(|| real_package(&String::from_utf8_lossy(&out.stdout))).flatten())
    };
    if let Some(package) = ask()? {
        return Ok(package);
    }
    ensure!(running_as_root(), "apt does not know {METAPACKAGE} (`apt-get update` as root may help)");
    eprintln!("bench: apt does not know {METAPACKAGE}; running `apt-get update`");
    let out = quiet(Command::new("apt-get").args(["-q", "update"]))?;
    ensure!(out.status.success(), "`apt-get update` failed: {}", first_error(&out));
    ask()?.with_context(|| format!("`apt-cache depends {METAPACKAGE}` names no {IMAGE_PREFIX}*{FLAVOUR_SUFFIX}"))
}

/// Downloads and unpacks `package` in `work`; keeps its kernel in `dir`.
fn fetch(package: &str, work: &Path, dir: &Path) -> Result<Kernel> {
    eprintln!("bench: downloading {package} (apt-get download; not installed)");
    let out = quiet(Command::new("apt-get").current_dir(work).args(["download", package]))?;
    ensure!(out.status.success(), "`apt-get download {package}` failed: {}", first_error(&out));
    let names: Vec<String> = fs::read_dir(work)
        .with_context(|| format!("listing {}", work.display()))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let Some((deb, version)) = find_deb(package, names.iter().map(String::as_str)) else {
        bail!("`apt-get download {package}` left no {package}_*.deb in {}", work.display());
    };
    let unpacked = work.join("unpacked");
    let out = quiet(Command::new("dpkg").arg("-x").arg(work.join(&deb)).arg(&unpacked))?;
    ensure!(out.status.success(), "`dpkg -x {deb}` failed: {}", first_error(&out));
    let boot = unpacked.join("boot");
    let file = |prefix: &str| -> Option<PathBuf> {
        fs::read_dir(&boot)
            .ok()?
            .flatten()
            .map(|e| e.path())
            .find(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with(prefix)))
    };
    let vmlinuz = file("vmlinuz-").with_context(|| format!("{deb} has no boot/vmlinuz-*"))?;
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let kept = dir.join("vmlinuz");
    fs::copy(&vmlinuz, &kept).with_context(|| format!("copying {} to {}", vmlinuz.display(), kept.display()))?;
    if let Some(config) = file("config-") {
        let _ = fs::copy(config, dir.join("config"));
    }
    keep_network_modules(&unpacked, dir)?;
    // Last: the stamp makes the cache valid.
    fs::write(stamp(dir), format!("{package} {version}\n")).context("writing the kernel cache's stamp")?;
    Ok(Kernel { package: package.to_string(), version, vmlinuz: kept, cached: false })
}

/// The modules the guest's network card needs: Debian's cloud kernel
/// builds virtio's PCI transport and virtio-net as modules
/// (`CONFIG_VIRTIO_PCI=m`, `CONFIG_VIRTIO_NET=m`, with their dependencies
/// `virtio`, `virtio_ring`, `failover`, ...), so `/init` loads them.
pub const NETWORK_MODULES: [&str; 2] = ["virtio_pci", "virtio_net"];

/// Where the network modules are kept, in load order.
pub fn modules_dir(root: &Path) -> PathBuf {
    cache_dir(root).join("modules")
}

/// The file in [`modules_dir`] that lists the modules in load order,
/// written last.
fn modules_order(dir: &Path) -> PathBuf {
    dir.join("order")
}

/// The kernel's network modules, in the order they load: the cached ones,
/// or taken from the kernel's package, downloaded again (a cache from
/// before the modules were kept has only the kernel).
pub fn network_modules(root: &Path, kernel: &Kernel) -> Result<Vec<PathBuf>> {
    let dir = modules_dir(root);
    if let Ok(text) = fs::read_to_string(modules_order(&dir)) {
        return Ok(text.lines().filter(|l| !l.is_empty()).map(|l| dir.join(l)).collect());
    }
    let work = root.join("target/linux/fetch.tmp");
    let _ = fs::remove_dir_all(&work);
    fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    let result = (|| {
        let exact = format!("{}={}", kernel.package, kernel.version);
        eprintln!("bench: downloading {exact} again for its network modules (apt-get download; not installed)");
        let out = quiet(Command::new("apt-get").current_dir(&work).args(["download", &exact]))?;
        ensure!(out.status.success(), "`apt-get download {exact}` failed: {}", first_error(&out));
        let names: Vec<String> =
            fs::read_dir(&work)?.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        let (deb, _) = find_deb(&kernel.package, names.iter().map(String::as_str))
            .with_context(|| format!("`apt-get download {exact}` left no .deb"))?;
        let unpacked = work.join("unpacked");
        let out = quiet(Command::new("dpkg").arg("-x").arg(work.join(&deb)).arg(&unpacked))?;
        ensure!(out.status.success(), "`dpkg -x {deb}` failed: {}", first_error(&out));
        keep_network_modules(&unpacked, &cache_dir(root))
    })();
    let _ = fs::remove_dir_all(&work);
    result?;
    network_modules(root, kernel)
}

/// Copies [`NETWORK_MODULES`] and what they depend on from an unpacked
/// package (`lib/modules/<release>/`) to `dir/modules/`, numbered in load
/// order, with the list.
fn keep_network_modules(unpacked: &Path, dir: &Path) -> Result<()> {
    let lib = unpacked.join("lib/modules");
    let release = fs::read_dir(&lib)
        .with_context(|| format!("the package has no {}", lib.display()))?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.join("modules.dep").is_file())
        .with_context(|| format!("no modules.dep under {}", lib.display()))?;
    let dep = fs::read_to_string(release.join("modules.dep")).context("reading modules.dep")?;
    let order = load_order(&dep, &NETWORK_MODULES)?;
    let out = dir.join("modules");
    let _ = fs::remove_dir_all(&out);
    fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let mut names = Vec::new();
    for (i, path) in order.iter().enumerate() {
        let base = Path::new(path).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let name = format!("{:02}-{base}", i + 1);
        fs::copy(release.join(path), out.join(&name)).with_context(|| format!("copying {path}"))?;
        names.push(name);
    }
    fs::write(modules_order(&out), names.join("\n") + "\n").context("writing the modules' order")
}

/// The modules (paths as `modules.dep` gives them) that load `wanted`,
/// each after what it depends on, each once. `modules.dep` lists a
/// module's dependencies so that `modprobe` loads them last to first.
pub fn load_order(modules_dep: &str, wanted: &[&str]) -> Result<Vec<String>> {
    let deps: Vec<(&str, Vec<&str>)> = modules_dep
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(m, d)| (m.trim(), d.split_whitespace().collect()))
        .collect();
    let find = |path: &str| deps.iter().find(|(m, _)| *m == path);
    let mut order: Vec<String> = Vec::new();
    for name in wanted {
        let file = format!("/{name}.ko");
        let (path, needs) = deps
            .iter()
            .find(|(m, _)| m.ends_with(&file))
            .with_context(|| format!("modules.dep has no {name}.ko (built into this kernel?)"))?;
        for &d in needs.iter().rev().chain(std::iter::once(path)) {
            ensure!(find(d).is_some(), "modules.dep names {d} but has no line for it");
            if !order.iter().any(|o| o == d) {
                order.push(d.to_string());
            }
        }
    }
    Ok(order)
}

/// Runs a command with its output captured, in the C locale.
fn quiet(cmd: &mut Command) -> Result<Output> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    cmd.stdin(Stdio::null())
        .env("LC_ALL", "C")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .output()
        .with_context(|| format!("running {program}"))
}

/// The first error line of a failed command (apt's `E:` lines first), for
/// a one-line note.
fn first_error(out: &Output) -> String {
    let text = format!("{}\n{}", String::from_utf8_lossy(&out.stderr), String::from_utf8_lossy(&out.stdout));
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    lines
        .iter()
        .find(|l| l.starts_with("E:"))
        .or(lines.first())
        .map(|l| l.to_string())
        .unwrap_or_else(|| format!("{} (no output)", out.status))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metapackage_resolves_to_the_versioned_package() {
        // `apt-cache depends linux-image-cloud-amd64` on Debian 12.
        let out = "linux-image-cloud-amd64\n  Depends: linux-image-6.1.0-57-cloud-amd64\n";
        assert_eq!(real_package(out).as_deref(), Some("linux-image-6.1.0-57-cloud-amd64"));
        // Alternatives, other relations, virtual packages and look-alikes.
        let out = "linux-image-cloud-amd64\n\
                   \x20 Recommends: linux-image-6.1.0-9-cloud-amd64\n\
                   \x20 Depends: <linux-image-cloud-amd64>\n\
                   \x20 Depends: linux-image-cloud-amd64\n\
                   \x20 Depends: linux-image-6.1.0-9-cloud-amd64-unsigned\n\
                   \x20 Depends: linux-image-6.1.0-9-amd64\n\
                   \x20|Depends: linux-image-6.12.9+bpo-cloud-amd64\n\
                   \x20 Depends: linux-image-6.1.0-10-cloud-amd64\n";
        assert_eq!(real_package(out).as_deref(), Some("linux-image-6.12.9+bpo-cloud-amd64"));
        assert_eq!(real_package("E: No packages found\n"), None);
        assert_eq!(real_package(""), None);
    }

    #[test]
    fn deb_file_names() {
        assert_eq!(
            deb_file_name("linux-image-6.1.0-57-cloud-amd64_6.1.192-3_amd64.deb"),
            Some(("linux-image-6.1.0-57-cloud-amd64".into(), "6.1.192-3".into(), "amd64".into()))
        );
        assert_eq!(deb_file_name("pkg_1%3a2.0-1_all.deb").map(|d| d.1), Some("1:2.0-1".into()));
        assert_eq!(deb_file_name("pkg_1.0_amd64.txt"), None);
        assert_eq!(deb_file_name("pkg_1.0.deb"), None);
        assert_eq!(deb_file_name("_1.0_amd64.deb"), None);
        let files = ["other_1_amd64.deb", "linux-image-6.1.0-57-cloud-amd64_6.1.192-3_amd64.deb", "x.partial"];
        assert_eq!(
            find_deb("linux-image-6.1.0-57-cloud-amd64", files),
            Some(("linux-image-6.1.0-57-cloud-amd64_6.1.192-3_amd64.deb".into(), "6.1.192-3".into()))
        );
        assert_eq!(find_deb("linux-image-6.1.0-58-cloud-amd64", files), None);
    }

    #[test]
    fn modules_load_after_their_dependencies() {
        // Debian 6.1.0-57-cloud-amd64's modules.dep, the lines that matter.
        let dep = "kernel/drivers/virtio/virtio.ko:\n\
                   kernel/drivers/virtio/virtio_ring.ko: kernel/drivers/virtio/virtio.ko\n\
                   kernel/drivers/virtio/virtio_pci_modern_dev.ko:\n\
                   kernel/drivers/virtio/virtio_pci_legacy_dev.ko:\n\
                   kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_pci_legacy_dev.ko \
                   kernel/drivers/virtio/virtio_pci_modern_dev.ko kernel/drivers/virtio/virtio_ring.ko \
                   kernel/drivers/virtio/virtio.ko\n\
                   kernel/net/core/failover.ko:\n\
                   kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko\n\
                   kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko \
                   kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko\n";
        let order = load_order(dep, &NETWORK_MODULES).unwrap();
        let names: Vec<&str> = order.iter().map(|p| p.rsplit('/').next().unwrap().trim_end_matches(".ko")).collect();
        assert_eq!(
            names,
            [
                "virtio",
                "virtio_ring",
                "virtio_pci_modern_dev",
                "virtio_pci_legacy_dev",
                "virtio_pci",
                "failover",
                "net_failover",
                "virtio_net"
            ]
        );
        let err = load_order("kernel/a.ko:\n", &["virtio_net"]).unwrap_err().to_string();
        assert!(err.contains("no virtio_net.ko"), "{err}");
        assert!(load_order("kernel/drivers/net/virtio_net.ko: kernel/x.ko\n", &["virtio_net"]).is_err());
    }

    #[test]
    fn the_cache_is_valid_only_with_its_stamp_and_image() {
        let root = std::env::temp_dir().join(format!("xtask-linux-cache-{}", std::process::id()));
        let dir = cache_dir(&root);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("vmlinuz"), b"bzImage").unwrap();
        assert_eq!(cached(&root), None, "no stamp: a fetch did not finish");
        fs::write(stamp(&dir), "linux-image-6.1.0-57-cloud-amd64 6.1.192-3\n").unwrap();
        let kernel = cached(&root).unwrap();
        assert_eq!(
            (kernel.package.as_str(), kernel.version.as_str()),
            ("linux-image-6.1.0-57-cloud-amd64", "6.1.192-3")
        );
        assert!(kernel.cached && kernel.vmlinuz == dir.join("vmlinuz"));
        fs::remove_file(dir.join("vmlinuz")).unwrap();
        assert_eq!(cached(&root), None, "no image");
        fs::remove_dir_all(&root).unwrap();
    }
}
