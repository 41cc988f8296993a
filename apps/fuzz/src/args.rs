//! Choosing a call and its hostile arguments.
//!
//! Pointers aim at nothing (null, low pages, kernel and non-canonical
//! addresses, the top of user space), or at the fuzzer's own scratch and
//! arena mappings, each followed by a `PROT_NONE` guard: a kernel copy that
//! runs past their end faults there, and never reaches memory the app uses.
//! Calls that remove or replace mappings (`munmap`, `mprotect`,
//! `MAP_FIXED`, `mremap`, ...) get the arena, or an address no mapping can
//! have; their lengths stay inside the arena or are too large for any
//! address (2^63 and up, which Linux refuses).

use libos::sys::{self as user, nr};
use libos_abi::abi_types::{MAP_ANONYMOUS, MAP_PRIVATE, PROT_NONE, PROT_READ, PROT_WRITE};
use libos_abi::syscalls::{is_hook, syscall_name};

use crate::rng::Rng;
use crate::{EXCLUDED, MAX_NR};

const PAGE: u64 = 4096;
/// The scratch buffer calls may read and write.
const SCRATCH: u64 = 64 << 10;
/// The arena that memory calls may map, unmap and protect.
const ARENA: u64 = 1 << 20;
/// The guard after each.
const GUARD: u64 = 64 << 10;

const MAP_FIXED: u64 = 0x10;
const MAP_FIXED_NOREPLACE: u64 = 0x10_0000;
const MREMAP_FIXED: u64 = 2;

/// The fuzzer's memory: scratch, guard, arena, guard.
#[derive(Clone, Copy, Debug)]
pub struct Arena {
    scratch: u64,
    arena: u64,
}

impl Arena {
    /// Maps it.
    pub fn map() -> Result<Arena, libos::Errno> {
        let total = SCRATCH + GUARD + ARENA + GUARD;
        // SAFETY: a fresh anonymous mapping where the kernel chooses: it
        // replaces nothing.
        let base = unsafe { user::mmap(0, total as usize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) }?
            as u64;
        let scratch = base;
        let arena = base + SCRATCH + GUARD;
        // SAFETY: the guards are pages of the mapping just made, which
        // nothing else uses.
        unsafe {
            user::mprotect((scratch + SCRATCH) as usize, GUARD as usize, PROT_NONE)?;
            user::mprotect((arena + ARENA) as usize, GUARD as usize, PROT_NONE)?;
        }
        // The scratch pages are made present now (no call is given the
        // scratch to unmap or protect, so they stay so); the arena's come
        // and go with the calls.
        for page in (scratch..scratch + SCRATCH).step_by(PAGE as usize) {
            // SAFETY: a page of the scratch mapping, readable and writable.
            unsafe { core::ptr::write_volatile(page as *mut u8, 0) };
        }
        Ok(Arena { scratch, arena })
    }
}

/// Picks calls and arguments from one generator.
pub struct Fuzzer {
    rng: Rng,
    mem: Arena,
    /// The numbers the table declares (hooks left out).
    declared: [u64; 64],
    declared_len: usize,
    /// A timespec of at most 1 µs, for calls that may wait.
    short_timeout: [i64; 2],
}

impl Fuzzer {
    /// A fuzzer drawing from `rng`.
    pub fn new(rng: Rng, mem: Arena) -> Fuzzer {
        let mut declared = [0u64; 64];
        let mut declared_len = 0;
        for n in 0..=MAX_NR {
            if syscall_name(n).is_some() && !is_hook(n) && !EXCLUDED.contains(&n) && declared_len < declared.len() {
                declared[declared_len] = n;
                declared_len += 1;
            }
        }
        Fuzzer { rng, mem, declared, declared_len, short_timeout: [0, 0] }
    }

    /// The next call: a number and six arguments. `main` says whether this
    /// is the main thread (the only one that may change its clear-TID
    /// address: the others' joins wait on theirs).
    pub fn pick(&mut self, main: bool) -> (u64, [u64; 6]) {
        let number = loop {
            let n = if self.rng.one_in(2) {
                self.declared[self.rng.below(self.declared_len as u64) as usize]
            } else {
                self.rng.below(MAX_NR + 1)
            };
            if EXCLUDED.contains(&n) || is_hook(n) || (n == nr::SET_TID_ADDRESS && !main) {
                continue;
            }
            break n;
        };
        let mut a = [0u64; 6];
        for v in a.iter_mut() {
            *v = self.any();
        }
        self.short_timeout = [0, self.rng.below(1000) as i64];
        let timeout = core::ptr::addr_of!(self.short_timeout) as u64;
        match number {
            // read, pread64, readv, preadv: never fd 0 (a read of the
            // console waits for input that never comes).
            0 | 17 | 19 | 295 => {
                a[0] = self.fd();
                if a[0] as u32 == 0 {
                    a[0] = 1000;
                }
                a[1] = self.ptr();
                a[2] = self.len();
            }
            // pipe, pipe2: the fds go to an invalid pointer, so the pipe is
            // made and taken back (EFAULT) and no pipe stays open: a read of
            // an empty pipe with a writer waits for ever.
            22 | 293 => a[0] = self.invalid(),
            // close, dup, dup2, dup3, fcntl: never close or replace fds 0-2
            // (the fuzzer reports on the console) and never copy fd 0 (a
            // read of the copy would wait for console input).
            3 if a[0] as u32 <= 2 => a[0] = 1000,
            32 if a[0] as u32 == 0 => a[0] = 1000,
            // fcntl: as dup, and F_SETLKW/F_OFD_SETLKW (7, 38) become
            // F_SETLK/F_OFD_SETLK: they wait while another owner's lock
            // conflicts, and the fuzzer's own open file descriptions (two
            // opens of one file, or the console's two) can hold such locks.
            72 => {
                if a[0] as u32 == 0 {
                    a[0] = 1000;
                }
                if matches!(a[1] as u32, 7 | 38) {
                    a[1] = u64::from(a[1] as u32 - 1);
                }
            }
            33 | 292 => {
                if a[0] as u32 == 0 {
                    a[0] = 1000;
                }
                if a[1] as u32 <= 2 {
                    a[1] = 1000;
                }
            }
            // flock: never a wait (a lock another description holds would
            // keep it for ever): always LOCK_NB.
            73 => a[1] |= 4,
            // write: at most 32 bytes from valid memory to the console.
            1 => {
                a[0] = self.fd();
                a[1] = self.ptr();
                a[2] = self.len();
                if self.is_valid(a[1]) && matches!(a[0] as u32, 1 | 2) {
                    a[2] %= 33;
                }
            }
            // mmap: a hint anywhere; MAP_FIXED only in the arena or where
            // no mapping can be. Successes are unmapped in `after`.
            9 => {
                a[0] = self.ptr();
                a[1] = self.len();
                a[2] = self.int();
                a[3] = self.int();
                a[4] = self.fd();
                a[5] = self.len();
                if a[3] & (MAP_FIXED | MAP_FIXED_NOREPLACE) != 0 {
                    self.range(&mut a, 0, 1);
                }
            }
            // Calls on address ranges: the arena or nothing.
            10 | 11 | 26 | 27 | 28 | 149 | 150 | 216 | 237 | 325 | 329 => {
                for v in a.iter_mut().skip(2) {
                    *v = self.int();
                }
                if number == 27 {
                    a[2] = self.ptr();
                }
                self.range(&mut a, 0, 1);
            }
            // mremap(old, old_size, new_size, flags, new_addr).
            25 => {
                self.range(&mut a, 0, 1);
                a[2] = self.arena_len(a[0]);
                a[3] = self.int();
                a[4] = self.hostile_or_arena();
                if a[3] & MREMAP_FIXED != 0 {
                    let mut b = [a[4], a[2], 0, 0, 0, 0];
                    self.range(&mut b, 0, 1);
                    a[4] = b[0];
                    a[2] = b[1];
                }
            }
            // execve: a path from scratch memory or an invalid pointer,
            // never a program (the app's root has none; `/proc/self/exe`
            // is never written there), so it fails before the point of no
            // return; argv and envp anywhere.
            59 => {
                a[0] = self.ptr();
                a[1] = self.ptr();
                a[2] = self.ptr();
            }
            // brk: only values no heap can have.
            12 => {
                let (k, n) = (self.kernel(), self.non_canonical());
                a[0] = self.rng.pick(&[0, 1, PAGE, u64::MAX, k, n]);
            }
            // nanosleep: a short sleep, or pointers to nothing.
            35 => {
                a[0] = if self.rng.one_in(2) { timeout } else { self.invalid() };
                a[1] = self.ptr();
            }
            // futex: a timeout always (short, or invalid), never none.
            202 => {
                a[0] = self.ptr();
                a[1] = self.rng.below(14) | self.rng.pick(&[0, 128, 256, 384]);
                a[2] = self.int();
                let (k, n) = (self.kernel(), self.non_canonical());
                a[3] = if self.rng.one_in(2) { timeout } else { self.rng.pick(&[k, n]) };
                a[4] = self.ptr();
                a[5] = self.int();
            }
            // The readiness waits: a timeout of at most 2 ms, or a timeout
            // pointer that is short or unreadable (never null: no limit).
            7 => {
                a[0] = self.ptr();
                a[1] = self.len();
                a[2] = self.rng.below(3);
            }
            232 | 281 => {
                a[0] = self.int();
                a[1] = self.ptr();
                a[2] = self.int();
                a[3] = self.rng.below(3);
                a[4] = self.ptr();
            }
            23 | 270 | 271 | 441 => {
                let at = if number == 271 {
                    2
                } else if number == 441 {
                    3
                } else {
                    4
                };
                let (k, n) = (self.kernel(), self.non_canonical());
                a[at] = if self.rng.one_in(2) { timeout } else { self.rng.pick(&[k, n]) };
            }
            // arch_prctl: never a new FS or GS base (the app's TLS).
            158 => {
                let i = self.int();
                a[0] = self.rng.pick(&[0x1001, 0x1002, 0x1003, 0x1004, 0x3001, 0x3002, 0x1011, i]);
                if matches!(a[0], 0x1001 | 0x1002) {
                    a[0] += 2;
                }
                a[1] = self.ptr();
            }
            // prctl(option, arg2..arg5): arguments that may be pointers.
            157 => {
                let i = self.int();
                a[0] = self.rng.pick(&[15, 16, 1, 2, 4, 22, 38, 39, i]);
                for v in a.iter_mut().skip(1) {
                    *v = self.ptr();
                }
            }
            // Known calls with (int, len, pointer) and pointer arguments.
            203 | 204 => {
                a[0] = self.int();
                a[1] = self.len();
                a[2] = self.ptr();
            }
            63 | 218 | 228 | 309 | 318 => {
                a[0] = if number == 228 { self.int() } else { self.ptr() };
                a[1] = if number == 318 { self.len() } else { self.ptr() };
                a[2] = self.int();
            }
            // Numbers the table does not declare: anything (they must
            // answer -ENOSYS), but no pointer into the app's own memory.
            _ => {}
        }
        (number, a)
    }

    /// What a successful call leaves behind is undone: mappings the
    /// fuzzer made outside the arena are removed.
    pub fn after(&mut self, number: u64, a: &[u64; 6], ret: i64) {
        if (-4095..0).contains(&ret) {
            return;
        }
        let fresh = match number {
            9 if a[3] & (MAP_FIXED | MAP_FIXED_NOREPLACE) == 0 => Some((ret as u64, a[1])),
            25 if ret as u64 != a[0] && !self.in_arena(ret as u64) => Some((ret as u64, a[2])),
            _ => None,
        };
        if let Some((addr, len)) = fresh
            && !self.in_arena(addr)
            && !self.in_scratch(addr)
            && len < (1 << 47)
        {
            // SAFETY: the mapping the call just made, which nothing uses.
            let _ = unsafe { user::munmap(addr as usize, len as usize) };
        }
    }

    fn in_arena(&self, addr: u64) -> bool {
        (self.mem.arena..self.mem.arena + ARENA + GUARD).contains(&addr)
    }

    fn in_scratch(&self, addr: u64) -> bool {
        (self.mem.scratch..self.mem.scratch + SCRATCH + GUARD).contains(&addr)
    }

    fn is_valid(&self, addr: u64) -> bool {
        self.in_arena(addr) || self.in_scratch(addr)
    }

    /// A start and a length for a call on an address range, in `a[at]`
    /// and `a[len_at]`: inside the arena, or at an address no mapping has.
    fn range(&mut self, a: &mut [u64; 6], at: usize, len_at: usize) {
        a[at] = self.hostile_or_arena();
        a[len_at] = if self.in_arena(a[at]) { self.arena_len(a[at]) } else { self.len() };
    }

    /// A length from `addr` (in the arena) that stays in the arena, or one
    /// no address can have.
    fn arena_len(&mut self, addr: u64) -> u64 {
        if !self.in_arena(addr) {
            return self.len();
        }
        let room = (self.mem.arena + ARENA).saturating_sub(addr);
        match self.rng.below(8) {
            0 => u64::MAX - self.rng.below(PAGE),
            1 => (1 << 63) + self.rng.below(1 << 40),
            2 => 0,
            _ => self.rng.below(room + 1),
        }
    }

    /// An arena address (page-aligned or not), or one no mapping can have.
    fn hostile_or_arena(&mut self) -> u64 {
        if self.rng.one_in(2) {
            let off = self.rng.below(ARENA);
            self.mem.arena + if self.rng.one_in(4) { off } else { off & !(PAGE - 1) }
        } else {
            let (k, n) = (self.kernel(), self.non_canonical());
            self.rng.pick(&[k, n, !(PAGE - 1), 1 << 47])
        }
    }

    /// Any argument: a pointer, a length or an integer.
    fn any(&mut self) -> u64 {
        match self.rng.below(3) {
            0 => self.ptr(),
            1 => self.len(),
            _ => self.int(),
        }
    }

    /// A pointer: to nothing, or into the scratch or the arena.
    fn ptr(&mut self) -> u64 {
        match self.rng.below(8) {
            0 | 1 => self.mem.scratch + self.rng.below(SCRATCH),
            2 => self.mem.arena + self.rng.below(ARENA),
            _ => self.invalid(),
        }
    }

    /// A pointer to nothing.
    fn invalid(&mut self) -> u64 {
        match self.rng.below(8) {
            0 => 0,
            1 => self.rng.below(PAGE),
            2 => self.kernel(),
            3 => self.non_canonical(),
            4 => (1 << 47) - 1 - self.rng.below(64),
            5 => u64::MAX - self.rng.below(64),
            6 => self.mem.scratch + SCRATCH + self.rng.below(GUARD),
            _ => self.mem.arena + ARENA + self.rng.below(GUARD),
        }
    }

    /// A kernel address (the direct map, the image, the top).
    fn kernel(&mut self) -> u64 {
        match self.rng.below(3) {
            0 => 0xffff_8000_0000_0000 | (self.rng.next() & 0x7fff_ffff_fff8),
            1 => 0xffff_ffff_8000_0000 + self.rng.below(64 << 20),
            _ => 0xffff_ffff_ffff_f000 + self.rng.below(PAGE),
        }
    }

    /// An address no x86-64 page table can map.
    fn non_canonical(&mut self) -> u64 {
        match self.rng.below(3) {
            0 => (1 << 47) + self.rng.below(1 << 40),
            1 => 0x8000_0000_0000_0000 | self.rng.below(1 << 47),
            _ => 0x7fff_ffff_ffff_f000 | self.rng.below(PAGE),
        }
    }

    /// A length: small, a page multiple, or huge.
    fn len(&mut self) -> u64 {
        match self.rng.below(10) {
            0 => 0,
            1 => 1,
            2 => self.rng.below(PAGE),
            3 => self.rng.below(64) * PAGE,
            4 => u64::MAX,
            5 => u64::MAX - self.rng.below(PAGE),
            6 => 1 << (31 + self.rng.below(33)),
            7 => u32::MAX as u64,
            8 => i64::MAX as u64,
            _ => self.rng.below(SCRATCH),
        }
    }

    /// An integer (a descriptor, flags, a count, an identifier).
    fn int(&mut self) -> u64 {
        match self.rng.below(8) {
            0 => 0,
            1 => 1,
            2 => u64::MAX,
            3 => u32::MAX as u64,
            4 => self.rng.below(64),
            5 => 1 << self.rng.below(64),
            6 => self.rng.next() & 0xffff_ffff,
            _ => self.rng.next(),
        }
    }

    /// A file descriptor: the standard ones, unopened ones, -1, huge.
    fn fd(&mut self) -> u64 {
        self.rng.pick(&[1, 2, 3, 63, 1024, 1 << 20, u32::MAX as u64, u64::MAX, i32::MAX as u64])
    }
}
