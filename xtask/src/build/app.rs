//! Where an app is, and which framework source builds it.
//!
//! An app is a crate with one binary that depends on `libos`. It is either a
//! package of the framework's own workspace (a directory `apps/NAME`, built
//! by name) or a crate anywhere else on disk, with its own `Cargo.lock` and
//! target directory. For an app given by its directory, `cargo metadata` on
//! its manifest finds the `libos` it depends on (a path, or a git checkout
//! in cargo's cache); the workspace around that `libos` (the one with the
//! kernel package) is the framework: the kernel is built from that source,
//! so the two halves of an image always come from the same tree.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail, ensure};
use serde::Deserialize;

use super::toolchain::cargo;
use super::{KERNEL_PACKAGE, Layout};

/// The library package every app depends on.
pub const LIBOS_PACKAGE: &str = "libos";

/// An app outside the framework's workspace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutsideApp {
    /// Its binary's name (the image's name).
    pub name: String,
    /// Its `Cargo.toml`.
    pub manifest: PathBuf,
    /// Its cargo target directory (`cargo metadata`'s `target_directory`:
    /// `target/` next to its workspace's manifest unless `CARGO_TARGET_DIR`
    /// or its cargo configuration says otherwise).
    pub target_dir: PathBuf,
}

/// The part of `cargo metadata --format-version 1` the xtask reads.
#[derive(Clone, Debug, Deserialize)]
pub struct Metadata {
    /// The packages: the workspace's, and with dependencies every package
    /// of the resolved graph.
    pub packages: Vec<Package>,
    /// The ids of the workspace's members.
    pub workspace_members: Vec<String>,
    /// The workspace's root directory.
    pub workspace_root: PathBuf,
    /// The target directory.
    pub target_directory: PathBuf,
    /// The resolved dependency graph (absent with `--no-deps`).
    pub resolve: Option<Resolve>,
}

/// The dependency graph of [`Metadata`].
#[derive(Clone, Debug, Deserialize)]
pub struct Resolve {
    /// One node per package.
    pub nodes: Vec<Node>,
}

/// A package in the dependency graph.
#[derive(Clone, Debug, Deserialize)]
pub struct Node {
    /// The package's id.
    pub id: String,
    /// The ids of the packages it depends on.
    pub dependencies: Vec<String>,
}

/// A package of [`Metadata`].
#[derive(Clone, Debug, Deserialize)]
pub struct Package {
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Its id.
    pub id: String,
    /// Its `Cargo.toml`.
    pub manifest_path: PathBuf,
    /// Its targets.
    pub targets: Vec<Target>,
}

/// A target (lib, bin, ...) of a [`Package`].
#[derive(Clone, Debug, Deserialize)]
pub struct Target {
    /// Its name.
    pub name: String,
    /// Its kinds (`bin`, `lib`, ...).
    pub kind: Vec<String>,
}

impl Metadata {
    /// `cargo metadata` of the package or workspace of `manifest`; with
    /// `deps`, the whole dependency graph (this resolves it, writing the
    /// `Cargo.lock` if there is none).
    pub fn read(manifest: &Path, deps: bool) -> Result<Metadata> {
        let mut cmd = Command::new(cargo());
        cmd.args(["metadata", "--format-version", "1", "--manifest-path"]).arg(manifest);
        if !deps {
            cmd.arg("--no-deps");
        }
        let out = cmd.stderr(Stdio::inherit()).output().context("running cargo metadata")?;
        ensure!(out.status.success(), "`cargo metadata --manifest-path {}` failed (see above)", manifest.display());
        Metadata::parse(&out.stdout)
    }

    /// Parses `cargo metadata`'s JSON.
    pub fn parse(json: &[u8]) -> Result<Metadata> {
        serde_json::from_slice(json).context("reading cargo metadata's output")
    }

    /// The package whose manifest is `manifest`.
    pub fn package_at(&self, manifest: &Path) -> Option<&Package> {
        self.packages.iter().find(|p| same_file(&p.manifest_path, manifest))
    }

    /// The package named `name` that the package `id` depends on directly.
    pub fn dependency_named(&self, id: &str, name: &str) -> Option<&Package> {
        let node = self.resolve.as_ref()?.nodes.iter().find(|n| n.id == id)?;
        self.packages.iter().find(|p| p.name == name && node.dependencies.contains(&p.id))
    }

    /// Whether the package `id` is a member of the workspace.
    pub fn is_member(&self, id: &str) -> bool {
        self.workspace_members.iter().any(|m| m == id)
    }

    /// Whether this workspace is the framework's: it has the kernel package.
    pub fn is_framework(&self) -> bool {
        self.packages.iter().any(|p| p.name == KERNEL_PACKAGE && self.is_member(&p.id))
    }
}

impl Package {
    /// Its binaries' names.
    pub fn bins(&self) -> Vec<&str> {
        self.targets.iter().filter(|t| t.kind.iter().any(|k| k == "bin")).map(|t| t.name.as_str()).collect()
    }

    /// Its directory.
    pub fn dir(&self) -> &Path {
        self.manifest_path.parent().unwrap_or(Path::new("."))
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b)
}

/// An app found by its directory: the layout that builds it and its name.
#[derive(Clone, Debug)]
pub struct Located {
    /// The layout: the framework's workspace for an app inside it, else one
    /// for the app alone (see [`Layout::outside`]).
    pub layout: Layout,
    /// The app's name (its binary's).
    pub name: String,
    /// The `libos` version the app depends on.
    pub libos_version: String,
}

/// Finds the app in `dir` and the framework it depends on (see the module
/// docs).
pub fn locate(dir: &Path) -> Result<Located> {
    let manifest = dir.join("Cargo.toml");
    ensure!(
        manifest.is_file(),
        "{} has no Cargo.toml: an app is a crate (`cargo xtask new NAME --path DIR` makes one)",
        dir.display()
    );
    let manifest = manifest.canonicalize().with_context(|| format!("reading {}", manifest.display()))?;
    let app_meta = Metadata::read(&manifest, true)?;
    let Some(package) = app_meta.package_at(&manifest) else {
        bail!("{} is a workspace manifest, not an app's (an app is a package)", manifest.display());
    };
    let Some(libos) = app_meta.dependency_named(&package.id, LIBOS_PACKAGE) else {
        bail!("`{}` ({}) is not an app: it does not depend on `{LIBOS_PACKAGE}`", package.name, manifest.display());
    };
    let name = app_binary(package)?;
    // The framework: the workspace around the libos the app depends on.
    let framework_meta;
    let framework = if app_meta.is_member(&libos.id) {
        &app_meta
    } else {
        framework_meta = Metadata::read(&libos.manifest_path, false)?;
        &framework_meta
    };
    ensure!(
        framework.is_framework(),
        "the `{LIBOS_PACKAGE}` that {} depends on ({}) is not in the framework's workspace (no \
         `{KERNEL_PACKAGE}` package beside it): depend on `{LIBOS_PACKAGE}` of the framework's \
         repository, by path or git",
        package.name,
        libos.manifest_path.display()
    );
    let root = framework.workspace_root.clone();
    let layout = if framework.is_member(&package.id) {
        // One of the framework's own apps: built by name, like `run NAME`.
        let layout = Layout::workspace(root);
        layout.check_app(&name).with_context(|| {
            format!("{} is in the framework's workspace, so it must be one of its apps", manifest.display())
        })?;
        layout
    } else {
        Layout::outside(
            root,
            libos.dir().to_path_buf(),
            OutsideApp { name: name.clone(), manifest, target_dir: app_meta.target_directory.clone() },
        )
    };
    Ok(Located { layout, name, libos_version: libos.version.clone() })
}

/// The name of the app's binary: its only one, or the one named after the
/// package.
fn app_binary(package: &Package) -> Result<String> {
    let bins = package.bins();
    match bins.as_slice() {
        [one] => Ok(one.to_string()),
        [] => bail!("`{}` has no binary: an app is a binary crate (src/main.rs)", package.name),
        many => match many.iter().find(|b| **b == package.name) {
            Some(main) => Ok(main.to_string()),
            None => bail!(
                "`{}` has several binaries ({}) and none is named after the package",
                package.name,
                many.join(", ")
            ),
        },
    }
}

/// The manifest of the package around the current directory (`cargo
/// locate-project`), if there is one.
pub fn current_package_manifest() -> Option<PathBuf> {
    let out = Command::new(cargo())
        .args(["locate-project", "--message-format", "plain"])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    path.is_file().then_some(path)
}

/// The root of the framework's workspace around the current directory
/// (`cargo locate-project --workspace`, then `cargo metadata`).
pub fn framework_around_current_dir() -> Result<PathBuf> {
    let out = Command::new(cargo())
        .args(["locate-project", "--workspace", "--message-format", "plain"])
        .stderr(Stdio::null())
        .output()
        .context("running cargo locate-project")?;
    let not_here = || {
        anyhow::anyhow!(
            "the current directory is neither in an app nor in the framework's checkout: run this in \
             an app's directory (`cargo libos new NAME` makes one) or give --app-path DIR"
        )
    };
    if !out.status.success() {
        return Err(not_here());
    }
    let manifest = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let meta = Metadata::read(&manifest, false)?;
    if !meta.is_framework() {
        return Err(not_here());
    }
    Ok(meta.workspace_root)
}

/// The directory of the app around the current directory: the package
/// there, if its manifest has a `[package]` table.
pub fn current_app_dir() -> Option<PathBuf> {
    let manifest = current_package_manifest()?;
    let text = std::fs::read_to_string(&manifest).ok()?;
    super::package_name(&text)?;
    manifest.parent().map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::workspace_root;

    const SAMPLE: &str = r#"{
        "packages": [
            {"name": "myapp", "version": "0.1.0", "id": "path+file:///tmp/myapp#0.1.0",
             "manifest_path": "/tmp/myapp/Cargo.toml",
             "targets": [{"name": "myapp", "kind": ["bin"], "src_path": "/tmp/myapp/src/main.rs"}],
             "dependencies": []},
            {"name": "libos", "version": "0.1.0", "id": "path+file:///w/libos#0.1.0",
             "manifest_path": "/w/libos/Cargo.toml",
             "targets": [{"name": "libos", "kind": ["lib"]}]}
        ],
        "workspace_members": ["path+file:///tmp/myapp#0.1.0"],
        "resolve": {"nodes": [
            {"id": "path+file:///tmp/myapp#0.1.0", "dependencies": ["path+file:///w/libos#0.1.0"], "deps": []},
            {"id": "path+file:///w/libos#0.1.0", "dependencies": [], "deps": []}
        ], "root": "path+file:///tmp/myapp#0.1.0"},
        "workspace_root": "/tmp/myapp",
        "target_directory": "/tmp/myapp/target",
        "version": 1
    }"#;

    #[test]
    fn reads_cargo_metadata() {
        let meta = Metadata::parse(SAMPLE.as_bytes()).unwrap();
        let app = meta.package_at(Path::new("/tmp/myapp/Cargo.toml")).unwrap();
        assert_eq!(app.bins(), ["myapp"]);
        assert_eq!(app_binary(app).unwrap(), "myapp");
        let libos = meta.dependency_named(&app.id, LIBOS_PACKAGE).unwrap();
        assert!(meta.dependency_named(&libos.id, LIBOS_PACKAGE).is_none());
        assert!(!meta.is_member(&libos.id));
        assert_eq!(libos.dir(), Path::new("/w/libos"));
        assert!(!meta.is_framework());
        assert_eq!(meta.target_directory, Path::new("/tmp/myapp/target"));
        assert!(app_binary(libos).unwrap_err().to_string().contains("no binary"));
    }

    #[test]
    fn an_app_of_the_workspace_is_found_by_its_directory() {
        let root = workspace_root();
        let located = locate(&root.join("apps/hello")).unwrap();
        assert_eq!(located.name, "hello");
        assert!(located.layout.outside.is_none());
        assert_eq!(located.layout.root.canonicalize().unwrap(), root.canonicalize().unwrap());
        let err = locate(&root.join("libos/abi")).unwrap_err().to_string();
        assert!(err.contains("not an app"), "{err}");
        let err = locate(&root.join("no-such-dir")).unwrap_err().to_string();
        assert!(err.contains("has no Cargo.toml"), "{err}");
    }
}
