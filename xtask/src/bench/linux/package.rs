//! Debian's cloud kernel for the Linux guest: the metapackage
//! `linux-image-cloud-amd64` resolved to the real package it depends on
//! (`linux-image-<version>-cloud-amd64`), downloaded with `apt-get
//! download` and unpacked with `dpkg -x` into `target/linux/` — never
//! installed as the host's kernel. Only the kernel image, the virtio
//! modules of the disk bench ([`DISK_MODULES`]) and its config, for
//! reference, are kept; the next runs use them without asking apt again,
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

/// The modules the Linux guest loads for a virtio disk, in dependency
/// order, under `lib/modules/<release>/kernel/` (Debian's cloud kernel
/// builds virtio, its PCI transport and `virtio_blk` as modules; ext4,
/// which mounts ext2, is built in). One the package lacks is taken as
/// built in.
pub const DISK_MODULES: [&str; 6] = [
    "drivers/virtio/virtio_ring.ko",
    "drivers/virtio/virtio.ko",
    "drivers/virtio/virtio_pci_legacy_dev.ko",
    "drivers/virtio/virtio_pci_modern_dev.ko",
    "drivers/virtio/virtio_pci.ko",
    "drivers/block/virtio_blk.ko",
];

/// A Linux kernel ready to boot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kernel {
    /// The Debian package it came from (`linux-image-6.1.0-57-cloud-amd64`).
    pub package: String,
    /// The package's version (`6.1.192-3`).
    pub version: String,
    /// The bzImage QEMU boots with `-kernel`.
    pub vmlinuz: PathBuf,
    /// The [`DISK_MODULES`] it has, in that order.
    pub modules: Vec<PathBuf>,
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
    // A cache from before the modules were kept has no `modules/`.
    let modules = kept_modules(&dir.join("modules"))?;
    vmlinuz.is_file().then(|| Kernel {
        package: package.to_string(),
        version: version.to_string(),
        vmlinuz,
        modules,
        cached: true,
    })
}

/// The modules kept in `dir` (`1-virtio.ko`...), in their order; `None`
/// without the folder.
fn kept_modules(dir: &Path) -> Option<Vec<PathBuf>> {
    let mut modules: Vec<PathBuf> = fs::read_dir(dir).ok()?.flatten().map(|e| e.path()).collect();
    modules.sort();
    Some(modules)
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
    let modules_dir = dir.join("modules");
    fs::create_dir_all(&modules_dir).with_context(|| format!("creating {}", modules_dir.display()))?;
    // `lib/modules/<release>` (`usr/lib/modules` after Debian's /usr merge).
    let release_dir = ["lib/modules", "usr/lib/modules"]
        .iter()
        .find_map(|d| fs::read_dir(unpacked.join(d)).ok())
        .and_then(|mut d| d.next())
        .and_then(|e| e.ok())
        .map(|e| e.path().join("kernel"));
    for (i, module) in DISK_MODULES.iter().enumerate() {
        let Some(from) = release_dir.as_ref().map(|d| d.join(module)).filter(|p| p.is_file()) else {
            continue;
        };
        let name = Path::new(module).file_name().expect("a file name").to_string_lossy();
        let to = modules_dir.join(format!("{}-{name}", i + 1));
        fs::copy(&from, &to).with_context(|| format!("copying {}", from.display()))?;
    }
    let modules = kept_modules(&modules_dir).unwrap_or_default();
    // Only the HTTP workload needs them, and asks again (network_modules).
    if let Err(e) = keep_network_modules(&unpacked, dir) {
        eprintln!("bench: the Linux guest's network modules: {e:#}");
    }
    // Last: the stamp makes the cache valid.
    fs::write(stamp(dir), format!("{package} {version}\n")).context("writing the kernel cache's stamp")?;
    Ok(Kernel { package: package.to_string(), version, vmlinuz: kept, modules, cached: false })
}

/// The modules the guest's network card needs: Debian's cloud kernel
/// builds virtio's PCI transport and virtio-net as modules
/// (`CONFIG_VIRTIO_PCI=m`, `CONFIG_VIRTIO_NET=m`, with their dependencies
/// `virtio`, `virtio_ring`, `failover`, ...), so `/init` loads them.
pub const NETWORK_MODULES: [&str; 2] = ["virtio_pci", "virtio_net"];

/// Where the network modules are kept, in load order (beside the disk's
/// in `modules/`).
pub fn modules_dir(root: &Path) -> PathBuf {
    cache_dir(root).join(NETWORK_MODULES_DIR)
}

/// The network modules' folder in the kernel's cache.
const NETWORK_MODULES_DIR: &str = "net-modules";

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
/// package (`lib/modules/<release>/kernel/...`) to `dir/net-modules/`,
/// numbered in load order, with the list. The package has no
/// `modules.dep` (`depmod` writes it when the package is installed): the
/// dependencies come from each module's `.modinfo` section.
fn keep_network_modules(unpacked: &Path, dir: &Path) -> Result<()> {
    let lib = unpacked.join("lib/modules");
    let mut files = std::collections::HashMap::new();
    let mut todo = vec![lib.clone()];
    while let Some(d) = todo.pop() {
        for entry in fs::read_dir(&d).with_context(|| format!("listing {}", d.display()))?.flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else if let Some(stem) = path.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".ko")) {
                files.insert(stem.replace('-', "_"), path);
            }
        }
    }
    let order = load_order(&NETWORK_MODULES, |name| {
        let path = files.get(name).with_context(|| format!("the package has no {name}.ko (built in?)"))?;
        let bytes = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        modinfo_depends(&bytes).with_context(|| format!("{}", path.display()))
    })?;
    let out = dir.join(NETWORK_MODULES_DIR);
    let _ = fs::remove_dir_all(&out);
    fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let mut names = Vec::new();
    for (i, module) in order.iter().enumerate() {
        let name = format!("{:02}-{module}.ko", i + 1);
        fs::copy(&files[module], out.join(&name)).with_context(|| format!("copying {module}.ko"))?;
        names.push(name);
    }
    fs::write(modules_order(&out), names.join("\n") + "\n").context("writing the modules' order")
}

/// The modules a module needs (`depends=` of its `.modinfo` section,
/// which `modpost` writes: names, comma-separated).
pub fn modinfo_depends(ko: &[u8]) -> Result<Vec<String>> {
    let elf = libos_elf::Elf::parse(ko).map_err(|e| anyhow::anyhow!("not an ELF file: {e}"))?;
    let section = elf.section_by_name(".modinfo").map_err(|e| anyhow::anyhow!("its sections: {e}"))?;
    let data = section.and_then(|s| s.data).context("no .modinfo section")?;
    let depends =
        data.split(|&b| b == 0).find_map(|entry| entry.strip_prefix(b"depends=")).context("no depends= in .modinfo")?;
    let text = std::str::from_utf8(depends).context("depends= is not UTF-8")?;
    Ok(text.split(',').filter(|d| !d.is_empty()).map(str::to_string).collect())
}

/// The modules to load for `wanted`, each after those it depends on
/// (`deps_of`), each once.
pub fn load_order(wanted: &[&str], mut deps_of: impl FnMut(&str) -> Result<Vec<String>>) -> Result<Vec<String>> {
    fn visit(
        name: &str,
        deps_of: &mut dyn FnMut(&str) -> Result<Vec<String>>,
        path: &mut Vec<String>,
        order: &mut Vec<String>,
    ) -> Result<()> {
        if order.iter().any(|o| o == name) {
            return Ok(());
        }
        ensure!(!path.iter().any(|p| p == name), "modules depend on each other in a cycle: {}", path.join(" -> "));
        path.push(name.to_string());
        for d in deps_of(name)? {
            visit(&d, deps_of, path, order)?;
        }
        path.pop();
        order.push(name.to_string());
        Ok(())
    }
    let mut order = Vec::new();
    for name in wanted {
        visit(name, &mut deps_of, &mut Vec::new(), &mut order)?;
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
        // Debian 6.1.0-57-cloud-amd64's modules, as their .modinfo says.
        let deps = |name: &str| -> Result<Vec<String>> {
            let d: &[&str] = match name {
                "virtio" | "virtio_pci_modern_dev" | "virtio_pci_legacy_dev" | "failover" => &[],
                "virtio_ring" => &["virtio"],
                "virtio_pci" => &["virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio_ring", "virtio"],
                "net_failover" => &["failover"],
                "virtio_net" => &["net_failover", "virtio_ring", "virtio"],
                "a" => &["b"],
                "b" => &["a"],
                other => bail!("no {other}.ko"),
            };
            Ok(d.iter().map(|s| s.to_string()).collect())
        };
        assert_eq!(
            load_order(&NETWORK_MODULES, deps).unwrap(),
            [
                "virtio_pci_modern_dev",
                "virtio_pci_legacy_dev",
                "virtio",
                "virtio_ring",
                "virtio_pci",
                "failover",
                "net_failover",
                "virtio_net"
            ]
        );
        assert!(load_order(&["nothing"], deps).unwrap_err().to_string().contains("no nothing.ko"));
        assert!(load_order(&["a"], deps).unwrap_err().to_string().contains("cycle: a -> b"));
    }

    /// A relocatable x86-64 ELF file with one more section, `.modinfo`,
    /// holding `modinfo`.
    fn module_with(modinfo: &[u8]) -> Vec<u8> {
        let shstrtab = b"\0.modinfo\0.shstrtab\0";
        let (info_at, strtab_at) = (64u64, 64 + modinfo.len() as u64);
        let shoff = (strtab_at + shstrtab.len() as u64).next_multiple_of(8);
        let mut f = vec![0u8; 64];
        f[..7].copy_from_slice(b"\x7fELF\x02\x01\x01");
        f[16..18].copy_from_slice(&1u16.to_le_bytes()); // ET_REL
        f[18..20].copy_from_slice(&62u16.to_le_bytes()); // EM_X86_64
        f[20..24].copy_from_slice(&1u32.to_le_bytes());
        f[40..48].copy_from_slice(&shoff.to_le_bytes());
        f[52..54].copy_from_slice(&64u16.to_le_bytes());
        f[58..60].copy_from_slice(&64u16.to_le_bytes());
        f[60..62].copy_from_slice(&3u16.to_le_bytes());
        f[62..64].copy_from_slice(&2u16.to_le_bytes());
        f.extend_from_slice(modinfo);
        f.extend_from_slice(shstrtab);
        f.resize(shoff as usize, 0);
        let section = |name: u32, kind: u32, offset: u64, size: u64| {
            let mut h = vec![0u8; 64];
            h[..4].copy_from_slice(&name.to_le_bytes());
            h[4..8].copy_from_slice(&kind.to_le_bytes());
            h[24..32].copy_from_slice(&offset.to_le_bytes());
            h[32..40].copy_from_slice(&size.to_le_bytes());
            h[48..56].copy_from_slice(&1u64.to_le_bytes());
            h
        };
        f.extend(vec![0u8; 64]);
        f.extend(section(1, 1, info_at, modinfo.len() as u64));
        f.extend(section(10, 3, strtab_at, shstrtab.len() as u64));
        f
    }

    #[test]
    fn modinfo_names_the_dependencies() {
        let ko = module_with(b"license=GPL\0depends=net_failover,virtio_ring,virtio\0name=virtio_net\0");
        assert_eq!(modinfo_depends(&ko).unwrap(), ["net_failover", "virtio_ring", "virtio"]);
        assert_eq!(modinfo_depends(&module_with(b"depends=\0name=virtio\0")).unwrap(), Vec::<String>::new());
        assert!(modinfo_depends(&module_with(b"name=x\0")).unwrap_err().to_string().contains("no depends="));
        assert!(modinfo_depends(b"not an ELF").is_err());
    }

    #[test]
    fn the_cache_is_valid_only_with_its_stamp_and_image() {
        let root = std::env::temp_dir().join(format!("xtask-linux-cache-{}", std::process::id()));
        let dir = cache_dir(&root);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("vmlinuz"), b"bzImage").unwrap();
        fs::create_dir_all(dir.join("modules")).unwrap();
        fs::write(dir.join("modules/2-virtio_blk.ko"), b"").unwrap();
        fs::write(dir.join("modules/1-virtio.ko"), b"").unwrap();
        assert_eq!(cached(&root), None, "no stamp: a fetch did not finish");
        fs::write(stamp(&dir), "linux-image-6.1.0-57-cloud-amd64 6.1.192-3\n").unwrap();
        let kernel = cached(&root).unwrap();
        assert_eq!(
            (kernel.package.as_str(), kernel.version.as_str()),
            ("linux-image-6.1.0-57-cloud-amd64", "6.1.192-3")
        );
        assert!(kernel.cached && kernel.vmlinuz == dir.join("vmlinuz"));
        assert_eq!(kernel.modules, [dir.join("modules/1-virtio.ko"), dir.join("modules/2-virtio_blk.ko")]);
        fs::remove_dir_all(dir.join("modules")).unwrap();
        assert_eq!(cached(&root), None, "a cache from before the modules were kept");
        fs::create_dir_all(dir.join("modules")).unwrap();
        fs::remove_file(dir.join("vmlinuz")).unwrap();
        assert_eq!(cached(&root), None, "no image");
        fs::remove_dir_all(&root).unwrap();
    }
}
