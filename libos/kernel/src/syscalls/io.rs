//! read and write (Linux's `fs/read_write.c`): through the calling
//! process's descriptor table, to whatever the descriptor is (the console,
//! a file, a pipe).

use libos_abi::errno::Errno;
use libos_abi::syscalls::Io;
use libos_abi::user_ptr::{UserPtr, UserPtrMut};

use super::descriptors::{file, read_file, write_file};
use super::{Cx, Kernel};

impl Io for Kernel {
    fn read(_cx: &mut Cx, fd: i32, buf: UserPtrMut<u8>, count: usize) -> Result<usize, Errno> {
        let f = file(fd)?;
        read_file(&f, buf.addr(), count)
    }

    fn write(_cx: &mut Cx, fd: i32, buf: UserPtr<u8>, count: usize) -> Result<usize, Errno> {
        let f = file(fd)?;
        write_file(&f, buf.addr(), count)
    }
}
