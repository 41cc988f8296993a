//! uname and getrandom (Linux's `kernel/sys.c`, `drivers/char/random.c`).

use libos_abi::abi_types::{GRND_NONBLOCK, GRND_RANDOM, Utsname};
use libos_abi::errno::Errno;
use libos_abi::syscalls::Info;
use libos_abi::user_ptr::UserPtrMut;

use super::{Cx, Kernel};
use crate::mm::user_access::{self, copy_to_user, write_user};

/// GRND_INSECURE (Linux 5.6).
const GRND_INSECURE: u32 = 4;
/// Most bytes one getrandom call returns (Linux: 32 MiB - 1).
const MAX_GETRANDOM: usize = (32 << 20) - 1;

impl Info for Kernel {
    fn uname(_cx: &mut Cx, buf: UserPtrMut<Utsname>) -> Result<(), Errno> {
        let mut u = Utsname::zeroed();
        let set = |field: &mut [u8; 65], text: &str| field[..text.len()].copy_from_slice(text.as_bytes());
        // Programs that check for Linux see it: the calls are Linux's. The
        // release is that of the Linux whose ABI the calls follow (6.1, the
        // kernel the benchmarks compare against), naming this kernel after it.
        set(&mut u.sysname, "Linux");
        set(&mut u.nodename, "libos");
        set(&mut u.release, concat!("6.1.0-libos-", env!("CARGO_PKG_VERSION")));
        set(&mut u.version, concat!("#1 libos ", env!("CARGO_PKG_VERSION"), " unikernel"));
        set(&mut u.machine, "x86_64");
        set(&mut u.domainname, "(none)");
        write_user(buf.addr(), &u)
    }

    /// RDSEED/RDRAND bytes (see `crate::random`).
    fn getrandom(_cx: &mut Cx, buf: UserPtrMut<u8>, count: usize, flags: u32) -> Result<usize, Errno> {
        if flags & !(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) != 0
            || flags & (GRND_RANDOM | GRND_INSECURE) == (GRND_RANDOM | GRND_INSECURE)
        {
            return Err(Errno::EINVAL);
        }
        let count = count.min(MAX_GETRANDOM);
        user_access::check(buf.addr(), count)?;
        let mut done = 0;
        let mut chunk = [0u8; 256];
        while done < count {
            let n = chunk.len().min(count - done);
            crate::random::fill(&mut chunk[..n]);
            if let Err((e, partial)) = copy_to_user(buf.addr() + done as u64, &chunk[..n]) {
                done += partial;
                return if done > 0 { Ok(done) } else { Err(e) };
            }
            done += n;
        }
        Ok(done)
    }
}
