//! libos_test_register: an app's test runner telling the kernel its tests.

use alloc::string::String;

use libos_abi::errno::Errno;
use libos_abi::test::Expect;
use libos_abi::user_ptr::UserPtr;

use crate::mm::user_access::copy_from_user;
use crate::process::{self, RegisteredTest};

/// Longest test name accepted.
const MAX_NAME: usize = 256;

/// `libos_test_register(index, name, name_len, kind, arg)`.
pub fn register(index: u64, name: UserPtr<u8>, name_len: usize, kind: u32, arg: u64) -> Result<(), Errno> {
    if name_len == 0 || name_len > MAX_NAME {
        return Err(Errno::EINVAL);
    }
    let expect = Expect::from_raw(kind, arg).ok_or(Errno::EINVAL)?;
    let mut buf = [0u8; MAX_NAME];
    copy_from_user(&mut buf[..name_len], name.addr()).map_err(|(e, _)| e)?;
    let text = core::str::from_utf8(&buf[..name_len]).map_err(|_| Errno::EINVAL)?;
    let p = process::current().ok_or(Errno::EINVAL)?;
    p.register_test(RegisteredTest { index, name: String::from(text), expect });
    Ok(())
}
