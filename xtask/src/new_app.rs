//! `cargo xtask new NAME [--path DIR]` (and `cargo libos new`): writes a new
//! app crate.
//!
//! The crate is `Cargo.toml` (the `libos` dependency), `src/main.rs` (a
//! `#[libos::main]` and one `#[libos::test]`) and `README.md` (how to run
//! it). Inside the framework's repository an app is a directory `apps/NAME`
//! that the workspace picks up (`apps/*` are members) and its manifest
//! takes the workspace's settings. Anywhere else it is a workspace of its
//! own that depends on `libos` by path or by git; nothing else is needed in
//! it, since the xtask passes the target, the flags, the linker script and
//! the profile (see `build`). With a path dependency it starts from the
//! framework's `Cargo.lock`, so it builds with the dependency versions the
//! framework is tested with (cargo drops the entries it does not use).

use std::fs;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};

use crate::build::app::LIBOS_PACKAGE;
use crate::build::{KERNEL_PACKAGE, Layout, NO_APP_NAME};
use crate::commands::Spelling;
use crate::emulator::qemu::shell_quote;
use crate::install;

/// Where the new app's `libos` comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LibosSource {
    /// The framework checkout at this directory (its root).
    Path(PathBuf),
    /// The framework's git repository.
    Git {
        /// Its URL.
        url: String,
        /// `rev = "..."`, `tag = "..."` or `branch = "..."`, if any.
        pin: Option<GitPin>,
    },
}

/// How a git dependency is pinned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GitPin {
    /// A commit.
    Rev(String),
    /// A tag.
    Tag(String),
    /// A branch.
    Branch(String),
}

/// What `new` writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewApp {
    /// The app's (package's and binary's) name.
    pub name: String,
    /// Its directory, which must not exist or be empty.
    pub dir: PathBuf,
    /// Where its `libos` comes from.
    pub libos: LibosSource,
}

/// Names that cannot be an app's: cargo's reserved ones, the image name of
/// the kernel alone, the framework's packages.
const RESERVED: &[&str] = &["test", "core", "std", "alloc", "proc_macro", NO_APP_NAME, LIBOS_PACKAGE, KERNEL_PACKAGE];

/// Checks that `name` can be an app's: a package name (ASCII letters,
/// digits, `-` and `_`, starting with a letter) that is not reserved.
pub fn check_name(name: &str) -> Result<()> {
    ensure!(
        name.starts_with(|c: char| c.is_ascii_alphabetic())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
        "`{name}` cannot be an app's name: use ASCII letters, digits, `-` and `_`, starting with a letter"
    );
    ensure!(
        !RESERVED.contains(&name) && !name.starts_with("libos-"),
        "`{name}` cannot be an app's name: it is reserved"
    );
    Ok(())
}

/// The path made absolute and without `.` and `..` (lexically: the
/// directory may not exist yet).
fn normalize(path: &Path) -> Result<PathBuf> {
    let absolute = std::path::absolute(path).with_context(|| format!("making {} absolute", path.display()))?;
    let mut out = PathBuf::new();
    for part in absolute.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    Ok(out)
}

/// Where an app directory lies relative to a framework checkout.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Place {
    /// `<root>/apps/NAME`: a member of the workspace.
    WorkspaceApp,
    /// Outside the checkout.
    Outside,
}

/// Where `dir` lies relative to the framework at `root` (both absolute and
/// normalized); an error for a directory inside the checkout but not
/// `apps/NAME`.
fn place(dir: &Path, root: &Path, name: &str) -> Result<Place> {
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    // The part of `dir` that exists, resolved, then the rest as given.
    let mut existing = dir.to_path_buf();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.file_name().map(|n| n.to_os_string()), existing.parent()) {
            (Some(last), Some(parent)) => {
                rest.push(last);
                existing = parent.to_path_buf();
            }
            _ => break,
        }
    }
    let mut resolved = existing.canonicalize().unwrap_or(existing);
    resolved.extend(rest.iter().rev());
    let Ok(inside) = resolved.strip_prefix(&root) else {
        return Ok(Place::Outside);
    };
    ensure!(
        inside == Path::new("apps").join(name),
        "{} is inside the framework's repository ({}): an app there is `apps/{name}` (the workspace's \
         members are apps/*); anywhere outside the repository is fine too",
        dir.display(),
        root.display()
    );
    Ok(Place::WorkspaceApp)
}

/// The framework root for a `--libos-path` given as the checkout or as its
/// `libos/` directory.
pub fn framework_root(given: &Path) -> Result<PathBuf> {
    let given = normalize(given)?;
    let is_root = |dir: &Path| dir.join("libos/Cargo.toml").is_file() && dir.join("Cargo.toml").is_file();
    let root = if is_root(&given) {
        given
    } else if given.file_name().is_some_and(|n| n == LIBOS_PACKAGE) && given.parent().is_some_and(is_root) {
        given.parent().map(Path::to_path_buf).unwrap_or(given)
    } else {
        bail!("{} is not the framework's checkout (no libos/Cargo.toml in it)", given.display());
    };
    Ok(root.canonicalize().unwrap_or(root))
}

/// `new`: writes the app named `name` in `path` (default: `apps/NAME` of
/// the framework with `cargo xtask`, `./NAME` with `cargo libos`) with its
/// `libos` from `source` (default: see [`default_framework`]), and says how
/// to run it.
pub fn command(spelling: Spelling, name: String, path: Option<PathBuf>, source: Option<LibosSource>) -> Result<()> {
    check_name(&name)?;
    let source = match source {
        Some(source) => source,
        None => LibosSource::Path(default_framework(spelling)?),
    };
    let dir = match (path, spelling) {
        (Some(path), _) => path,
        (None, Spelling::Xtask) => Layout::new().root.join("apps").join(&name),
        (None, Spelling::CargoLibos) => PathBuf::from(&name),
    };
    let dir = normalize(&dir)?;
    let app = NewApp { name, dir, libos: source };
    let written = create(&app)?;
    let names: Vec<String> =
        written.iter().filter_map(|p| p.strip_prefix(&app.dir).ok()).map(|p| p.display().to_string()).collect();
    println!("created the app `{}` in {}: {}", app.name, app.dir.display(), names.join(", "));
    let inside = written.iter().all(|p| p.file_name().is_some_and(|n| n != ".gitignore"));
    if inside {
        println!("run it:  cargo xtask run {}", app.name);
        println!("test it: cargo xtask test {}", app.name.replace('-', "_"));
        return Ok(());
    }
    let dir = shell_quote(&app.dir.to_string_lossy());
    println!("run it:  cd {dir} && cargo libos run      (its tests: cargo libos test)");
    println!("     or, in the framework's checkout: cargo xtask run --app-path {dir}");
    if install::find_in_path("cargo-libos").is_none() {
        println!("`cargo libos` is not installed; install it once with:");
        println!("    {}", install_command(&app.libos));
    }
    Ok(())
}

/// The command that installs `cargo-libos` from the framework's source.
fn install_command(libos: &LibosSource) -> String {
    match libos {
        LibosSource::Path(root) => {
            format!("cargo install --locked --path {}", shell_quote(&root.join("xtask").to_string_lossy()))
        }
        LibosSource::Git { url, pin } => {
            let pin = match pin {
                None => String::new(),
                Some(GitPin::Rev(r)) => format!(" --rev {}", shell_quote(r)),
                Some(GitPin::Tag(t)) => format!(" --tag {}", shell_quote(t)),
                Some(GitPin::Branch(b)) => format!(" --branch {}", shell_quote(b)),
            };
            format!("cargo install --locked --git {}{pin} xtask", shell_quote(url))
        }
    }
}

/// The framework a new app depends on when no source is given: with
/// `cargo xtask`, its checkout; with `cargo libos`, the checkout around the
/// current directory, else the one the tool was built from if it is still
/// there.
pub fn default_framework(spelling: Spelling) -> Result<PathBuf> {
    if spelling == Spelling::Xtask {
        return framework_root(&Layout::new().root);
    }
    if let Ok(root) = crate::build::app::framework_around_current_dir() {
        return framework_root(&root);
    }
    match framework_root(&crate::build::workspace_root()) {
        Ok(root) => {
            eprintln!("xtask: the app depends on the framework at {} (where this tool was built)", root.display());
            Ok(root)
        }
        Err(_) => bail!(
            "which framework should the app depend on? Give --libos-path DIR (a checkout of the \
             framework) or --git URL (with --rev or --tag to pin it)"
        ),
    }
}

/// Writes the app; returns the files written.
pub fn create(app: &NewApp) -> Result<Vec<PathBuf>> {
    check_name(&app.name)?;
    let dir = normalize(&app.dir)?;
    if dir.exists() {
        let mut entries = fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))?;
        ensure!(entries.next().is_none(), "{} exists and is not empty", dir.display());
    }
    let place = match &app.libos {
        LibosSource::Path(root) => place(&dir, root, &app.name)?,
        LibosSource::Git { .. } => Place::Outside,
    };
    if place == Place::WorkspaceApp {
        let dir_name = dir.file_name().map(|n| n.to_string_lossy().into_owned());
        ensure!(dir_name.as_deref() == Some(app.name.as_str()), "an app in apps/ is named after its directory");
    }
    let mut files: Vec<(PathBuf, String)> = vec![
        (dir.join("Cargo.toml"), manifest(app, &place)),
        (dir.join("src/main.rs"), main_rs(&app.name)),
        (dir.join("README.md"), readme(&app.name, &dir, &place)),
    ];
    if place == Place::Outside {
        files.push((dir.join(".gitignore"), "/target\n".to_string()));
    }
    let mut written = Vec::new();
    for (path, text) in &files {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
        written.push(path.clone());
    }
    if let (Place::Outside, LibosSource::Path(root)) = (&place, &app.libos) {
        let lock = root.join("Cargo.lock");
        if lock.is_file() {
            let to = dir.join("Cargo.lock");
            fs::copy(&lock, &to).with_context(|| format!("copying {} to {}", lock.display(), to.display()))?;
            written.push(to);
        }
    }
    Ok(written)
}

/// The `libos = ...` line of an app outside the repository.
fn dependency(libos: &LibosSource) -> String {
    match libos {
        LibosSource::Path(root) => {
            format!("libos = {{ path = {} }}", toml_string(&root.join(LIBOS_PACKAGE).to_string_lossy()))
        }
        LibosSource::Git { url, pin } => {
            let pin = match pin {
                None => String::new(),
                Some(GitPin::Rev(r)) => format!(", rev = {}", toml_string(r)),
                Some(GitPin::Tag(t)) => format!(", tag = {}", toml_string(t)),
                Some(GitPin::Branch(b)) => format!(", branch = {}", toml_string(b)),
            };
            format!("libos = {{ git = {}{pin} }}", toml_string(url))
        }
    }
}

/// A TOML basic string.
fn toml_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn manifest(app: &NewApp, place: &Place) -> String {
    let name = &app.name;
    match place {
        Place::WorkspaceApp => format!(
            "[package]\n\
             name = \"{name}\"\n\
             description = \"The {name} app.\"\n\
             version.workspace = true\n\
             edition.workspace = true\n\
             rust-version.workspace = true\n\
             license.workspace = true\n\
             publish.workspace = true\n\
             \n\
             [lints]\n\
             workspace = true\n\
             \n\
             [dependencies]\n\
             libos.workspace = true\n"
        ),
        Place::Outside => format!(
            "[package]\n\
             name = \"{name}\"\n\
             version = \"0.1.0\"\n\
             edition = \"2024\"\n\
             \n\
             [dependencies]\n\
             # The framework. `cargo libos` builds the kernel from the same source as\n\
             # this library, so this line pins both halves of the image. By path, or\n\
             # by git with a commit or a tag:\n\
             #   libos = {{ git = \"https://example.org/libos.git\", rev = \"0123abc\" }}\n\
             #   libos = {{ git = \"https://example.org/libos.git\", tag = \"v0.1.0\" }}\n\
             {}\n\
             \n\
             # The app is a workspace of its own (its Cargo.lock and target/ are here).\n\
             [workspace]\n",
            dependency(&app.libos)
        ),
    }
}

fn main_rs(name: &str) -> String {
    format!(
        "//! {name}: an app on libos. It runs in ring 3; the kernel, in ring 0, is\n\
         //! built into the same image.\n\
         #![no_std]\n\
         #![no_main]\n\
         \n\
         use libos::prelude::*;\n\
         \n\
         #[libos::main]\n\
         fn main() -> i32 {{\n\
         \x20   let args: Vec<&str> = libos::env::args().collect();\n\
         \x20   println!(\"Hello from {name}! Started as {{args:?}} on {{}} CPU(s).\", libos::cpu::count());\n\
         \x20   0\n\
         }}\n\
         \n\
         /// Runs at boot with `cargo libos test` (or `cargo xtask test`).\n\
         #[libos::test]\n\
         fn arithmetic_works() {{\n\
         \x20   assert_eq!(2 + 2, 4);\n\
         }}\n"
    )
}

fn readme(name: &str, dir: &Path, place: &Place) -> String {
    let how = match place {
        Place::WorkspaceApp => format!(
            "Run it with `cargo xtask run {name}`; `cargo xtask test {}` runs its\n\
             `#[libos::test]` functions (they are part of `cargo xtask test` too).\n",
            name.replace('-', "_")
        ),
        Place::Outside => format!(
            "Run it with `cargo libos run` in this directory; `cargo libos test` runs its\n\
             `#[libos::test]` functions. (`cargo install --locked --path <framework>/xtask`\n\
             gives `cargo libos`; in the framework's checkout, `cargo xtask run --app-path\n\
             {}` does the same.)\n",
            dir.display()
        ),
    };
    format!("# {name}\n\nAn app on the libos framework, booted together with its kernel under QEMU.\n\n{how}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["myapp", "my-app", "a_1"] {
            check_name(ok).unwrap();
        }
        for bad in ["", "1app", "my app", "kernel", "libos", "libos-kernel", "test", "a/b", "é"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dependencies() {
        assert_eq!(dependency(&LibosSource::Path("/w".into())), "libos = { path = \"/w/libos\" }");
        let git = |pin| LibosSource::Git { url: "https://x/y.git".into(), pin };
        assert_eq!(dependency(&git(None)), "libos = { git = \"https://x/y.git\" }");
        assert_eq!(
            dependency(&git(Some(GitPin::Rev("abc".into())))),
            "libos = { git = \"https://x/y.git\", rev = \"abc\" }"
        );
        assert_eq!(toml_string("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(install_command(&LibosSource::Path("/w".into())), "cargo install --locked --path /w/xtask");
        assert_eq!(
            install_command(&git(Some(GitPin::Tag("v1".into())))),
            "cargo install --locked --git https://x/y.git --tag v1 xtask"
        );
    }

    #[test]
    fn places() {
        let root = crate::build::workspace_root().canonicalize().unwrap();
        assert_eq!(place(&root.join("apps/foo"), &root, "foo").unwrap(), Place::WorkspaceApp);
        assert!(place(&root.join("foo"), &root, "foo").is_err());
        assert!(place(&root.join("apps/bar"), &root, "foo").is_err());
        assert_eq!(place(Path::new("/surely/elsewhere/foo"), &root, "foo").unwrap(), Place::Outside);
        assert_eq!(framework_root(&root.join("libos")).unwrap(), root);
        assert_eq!(framework_root(&root).unwrap(), root);
        assert!(framework_root(&root.join("apps")).is_err());
    }

    #[test]
    fn writes_an_app_outside() {
        let root = crate::build::workspace_root().canonicalize().unwrap();
        let dir = std::env::temp_dir().join(format!("xtask-new-test-{}", std::process::id()));
        let app = NewApp { name: "myapp".into(), dir: dir.clone(), libos: LibosSource::Path(root.clone()) };
        let written = create(&app).unwrap();
        assert!(written.contains(&dir.join("Cargo.lock")), "{written:?}");
        let manifest = fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        assert_eq!(crate::build::package_name(&manifest).as_deref(), Some("myapp"));
        assert!(manifest.contains(&format!("libos = {{ path = \"{}/libos\" }}", root.display())), "{manifest}");
        assert!(manifest.contains("\n[workspace]\n"));
        let main = fs::read_to_string(dir.join("src/main.rs")).unwrap();
        assert!(main.contains("#[libos::main]") && main.contains("#[libos::test]"), "{main}");
        assert!(fs::read_to_string(dir.join("README.md")).unwrap().contains("cargo libos run"));
        let again = create(&app).unwrap_err().to_string();
        assert!(again.contains("not empty"), "{again}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
