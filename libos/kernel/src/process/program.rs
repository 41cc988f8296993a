//! The program a process runs: its path (`/proc/<pid>/exe`) and its ELF
//! bytes, kept for a later `execve("/proc/self/exe")` (how BusyBox runs its
//! own applets). The first program comes from the boot image, later ones
//! from files (`execve`), read whole into kernel memory.

use alloc::string::String;
use alloc::vec::Vec;

/// Where a program's bytes are.
pub enum ProgramBytes {
    /// The boot image's app.
    Boot(&'static [u8]),
    /// A file `execve` read.
    File(Vec<u8>),
}

/// A program: its path and its ELF bytes.
pub struct Program {
    /// The path it was started by (`/<app name>` for the boot image's).
    pub path: String,
    /// Its ELF file.
    pub bytes: ProgramBytes,
}

impl Program {
    /// Its ELF file's bytes.
    pub fn elf(&self) -> &[u8] {
        match &self.bytes {
            ProgramBytes::Boot(b) => b,
            ProgramBytes::File(v) => v,
        }
    }
}
