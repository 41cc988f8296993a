//! Addresses in the app's address space, as system call arguments.
//!
//! A [`UserPtr<T>`] or [`UserPtrMut<T>`] is only a number plus the type of
//! what it points to: nothing here dereferences it. The kernel validates the
//! range (mapped, user half, right permissions) and copies through its own
//! checked accessors. The app side of a system call takes a raw pointer
//! instead (`*const T` / `*mut T`, see [`crate::syscall_arg::SyscallArg`]).

use core::fmt;
use core::hash::{Hash, Hasher};
use core::marker::PhantomData;

/// Writes the shared methods and trait impls of the two pointer types.
macro_rules! user_ptr {
    ($ty:ident) => {
        impl<T> $ty<T> {
            /// The null address.
            pub const fn null() -> Self {
                Self::from_addr(0)
            }

            /// The pointer at user address `addr`.
            pub const fn from_addr(addr: u64) -> Self {
                Self { addr, _target: PhantomData }
            }

            /// The user address.
            pub const fn addr(self) -> u64 {
                self.addr
            }

            /// Whether the address is 0.
            pub const fn is_null(self) -> bool {
                self.addr == 0
            }

            /// The pointer `count` elements of `T` further on, or `None` when
            /// the byte offset or the address overflows 64 bits.
            pub const fn add(self, count: usize) -> Option<Self> {
                let Some(bytes) = (count as u64).checked_mul(core::mem::size_of::<T>() as u64) else {
                    return None;
                };
                match self.addr.checked_add(bytes) {
                    Some(addr) => Some(Self::from_addr(addr)),
                    None => None,
                }
            }

            /// The same address, pointing to a `U`.
            pub const fn cast<U>(self) -> $ty<U> {
                $ty::from_addr(self.addr)
            }
        }

        impl<T> Clone for $ty<T> {
            fn clone(&self) -> Self {
                *self
            }
        }

        impl<T> Copy for $ty<T> {}

        impl<T> PartialEq for $ty<T> {
            fn eq(&self, other: &Self) -> bool {
                self.addr == other.addr
            }
        }

        impl<T> Eq for $ty<T> {}

        impl<T> Hash for $ty<T> {
            fn hash<H: Hasher>(&self, state: &mut H) {
                self.addr.hash(state);
            }
        }

        impl<T> fmt::Debug for $ty<T> {
            /// `UserPtr(0x400120)`.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($ty), "({:#x})"), self.addr)
            }
        }

        impl<T> fmt::Pointer for $ty<T> {
            /// `0x400120`.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:#x}", self.addr)
            }
        }
    };
}

/// The address of a `T` in user memory that the kernel reads.
///
/// `Copy`, `Send` and `Sync` whatever `T` is: it is only an address.
#[repr(transparent)]
pub struct UserPtr<T> {
    addr: u64,
    // `fn() -> T`: covariant, and Send + Sync without requiring it of `T`.
    _target: PhantomData<fn() -> T>,
}

/// The address of a `T` in user memory that the kernel writes (and may read).
///
/// `Copy`, `Send` and `Sync` whatever `T` is: it is only an address.
#[repr(transparent)]
pub struct UserPtrMut<T> {
    addr: u64,
    // `fn() -> T`: covariant, and Send + Sync without requiring it of `T`.
    _target: PhantomData<fn() -> T>,
}

user_ptr!(UserPtr);
user_ptr!(UserPtrMut);

impl<T> UserPtrMut<T> {
    /// The same address, for reading only.
    pub const fn as_const(self) -> UserPtr<T> {
        UserPtr::from_addr(self.addr)
    }
}

const _: () = {
    assert!(core::mem::size_of::<UserPtr<[u8; 4096]>>() == 8);
    assert!(core::mem::size_of::<UserPtrMut<u8>>() == 8);
};

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use std::format;

    fn assert_send_sync_copy<T: Send + Sync + Copy>() {}

    #[test]
    fn send_sync_copy_for_any_target() {
        // `*mut u8` is neither Send nor Sync nor is `core::cell::Cell` Sync:
        // the pointer types still are.
        assert_send_sync_copy::<UserPtr<*mut u8>>();
        assert_send_sync_copy::<UserPtrMut<core::cell::Cell<u8>>>();
    }

    #[test]
    fn address_and_null() {
        let p = UserPtr::<u32>::from_addr(0x40_0120);
        assert_eq!(p.addr(), 0x40_0120);
        assert!(!p.is_null());
        assert!(UserPtrMut::<u8>::null().is_null());
        assert_eq!(UserPtrMut::<u8>::from_addr(7).as_const().addr(), 7);
        assert_eq!(p.cast::<u8>().addr(), 0x40_0120);
    }

    #[test]
    fn add_scales_and_checks() {
        let p = UserPtr::<u32>::from_addr(0x1000);
        assert_eq!(p.add(3), Some(UserPtr::from_addr(0x100c)));
        assert_eq!(p.add(0), Some(p));
        assert_eq!(UserPtr::<u32>::from_addr(u64::MAX - 3).add(1), None);
        assert_eq!(UserPtrMut::<u64>::from_addr(0).add(usize::MAX), None);
        assert_eq!(UserPtr::<()>::from_addr(5).add(usize::MAX), Some(UserPtr::from_addr(5)));
    }

    #[test]
    fn debug_is_hex() {
        assert_eq!(format!("{:?}", UserPtr::<u8>::from_addr(0x40_0120)), "UserPtr(0x400120)");
        assert_eq!(format!("{:?}", UserPtrMut::<u8>::from_addr(0)), "UserPtrMut(0x0)");
        assert_eq!(format!("{:p}", UserPtr::<u8>::from_addr(255)), "0xff");
    }
}
