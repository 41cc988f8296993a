//! What a registered test is: the records `#[kernel_test]` and
//! `#[libos::test]` place in the [`TEST_SECTION`] link section.
//!
//! Each annotated function gets one `#[used]` static [`TestCase`] in the
//! section; the linker gathers them into one array (every record has the same
//! size, a multiple of its alignment, so the section is a `[TestCase]` that
//! the linker script brackets with start and end symbols). The kernel's boot
//! test runner walks its own array; an app's test runner walks the app's and
//! tells the kernel about each test with the `libos_test_register` system
//! call, where only the kind of [`Expect`] and the fault vector cross (see
//! [`Expect::to_raw`]).

use core::fmt;

/// The link section holding the [`TestCase`] records.
pub const TEST_SECTION: &str = ".libos_tests";

/// One registered test.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct TestCase {
    /// `"<module path>::<function>"`, e.g. `"kernel::mm::tests::maps_a_page"`.
    pub name: &'static str,
    /// The source file of the function.
    pub file: &'static str,
    /// The line of the function's name.
    pub line: u32,
    /// How the test must end to pass.
    pub expect: Expect,
    /// The test function.
    pub run: fn(),
}

/// How a test must end to pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// It returns.
    Pass,
    /// It panics (`should_panic`).
    Panic {
        /// A substring the panic message must contain (`should_panic =
        /// "..."`), or `None` for any message.
        message: Option<&'static str>,
    },
    /// It raises the CPU exception with this vector (`expect_fault = PF`).
    Fault {
        /// The exception vector (0..=31), see [`fault_name`].
        vector: u8,
    },
}

/// [`Expect::to_raw`] kind of [`Expect::Pass`].
pub const EXPECT_KIND_PASS: u32 = 0;
/// [`Expect::to_raw`] kind of [`Expect::Panic`].
pub const EXPECT_KIND_PANIC: u32 = 1;
/// [`Expect::to_raw`] kind of [`Expect::Fault`].
pub const EXPECT_KIND_FAULT: u32 = 2;

impl Expect {
    /// The `(kind, arg)` pair of the `libos_test_register` system call:
    /// `Pass` is `(0, 0)`; `Panic` is `(1, 0)` for any message and `(1, n)`
    /// when the message must contain a substring of `n` bytes (the substring
    /// itself does not cross the system call: the app's runner checks it);
    /// `Fault` is `(2, vector)`.
    pub const fn to_raw(self) -> (u32, u64) {
        match self {
            Expect::Pass => (EXPECT_KIND_PASS, 0),
            Expect::Panic { message: None } => (EXPECT_KIND_PANIC, 0),
            Expect::Panic { message: Some(substring) } => (EXPECT_KIND_PANIC, substring.len() as u64),
            Expect::Fault { vector } => (EXPECT_KIND_FAULT, vector as u64),
        }
    }

    /// The expectation from a `(kind, arg)` pair, or `None` for an unknown
    /// kind or a vector above 31. A panic comes back with `message: None`
    /// whatever `arg` is: the substring does not cross the system call.
    pub const fn from_raw(kind: u32, arg: u64) -> Option<Expect> {
        match kind {
            EXPECT_KIND_PASS => Some(Expect::Pass),
            EXPECT_KIND_PANIC => Some(Expect::Panic { message: None }),
            EXPECT_KIND_FAULT if arg < 32 => Some(Expect::Fault { vector: arg as u8 }),
            _ => None,
        }
    }

    /// Writes what the test must do, for messages: `return`, `panic`,
    /// `panic with a message containing "overflow"`, `fault #PF (vector
    /// 14)`.
    pub fn describe(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        match *self {
            Expect::Pass => out.write_str("return"),
            Expect::Panic { message: None } => out.write_str("panic"),
            Expect::Panic { message: Some(substring) } => write!(out, "panic with a message containing {substring:?}"),
            Expect::Fault { vector } => match fault_name(vector) {
                Some(name) => write!(out, "fault #{name} (vector {vector})"),
                None => write!(out, "fault with vector {vector}"),
            },
        }
    }
}

impl fmt::Display for Expect {
    /// As [`Expect::describe`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.describe(f)
    }
}

/// The mnemonics `expect_fault` accepts, indexed by vector (Intel SDM vol. 3
/// table 6-1); `None` for the reserved vectors 9 and 15.
pub const FAULT_NAMES: [Option<&str>; 22] = [
    Some("DE"),
    Some("DB"),
    Some("NMI"),
    Some("BP"),
    Some("OF"),
    Some("BR"),
    Some("UD"),
    Some("NM"),
    Some("DF"),
    None,
    Some("TS"),
    Some("NP"),
    Some("SS"),
    Some("GP"),
    Some("PF"),
    None,
    Some("MF"),
    Some("AC"),
    Some("MC"),
    Some("XM"),
    Some("VE"),
    Some("CP"),
];

/// The mnemonic of exception `vector` (`"PF"` for 14), or `None` when it has
/// none in [`FAULT_NAMES`].
pub const fn fault_name(vector: u8) -> Option<&'static str> {
    if (vector as usize) < FAULT_NAMES.len() { FAULT_NAMES[vector as usize] } else { None }
}

/// The vector of an exception mnemonic (`14` for `"PF"`).
pub fn fault_vector(name: &str) -> Option<u8> {
    FAULT_NAMES.iter().position(|&n| n == Some(name)).map(|v| v as u8)
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use std::string::ToString;

    #[test]
    fn raw_encoding() {
        assert_eq!(Expect::Pass.to_raw(), (0, 0));
        assert_eq!(Expect::Panic { message: None }.to_raw(), (1, 0));
        let with = Expect::Panic { message: Some("oops") };
        assert_eq!(with.to_raw(), (1, 4));
        assert_eq!(Expect::Fault { vector: 14 }.to_raw(), (2, 14));
        for e in [Expect::Pass, Expect::Panic { message: None }, Expect::Fault { vector: 3 }] {
            let (kind, arg) = e.to_raw();
            assert_eq!(Expect::from_raw(kind, arg), Some(e));
        }
        assert_eq!(Expect::from_raw(1, 4), Some(Expect::Panic { message: None }));
        assert_eq!(Expect::from_raw(2, 32), None);
        assert_eq!(Expect::from_raw(3, 0), None);
    }

    #[test]
    fn descriptions() {
        assert_eq!(Expect::Pass.to_string(), "return");
        assert_eq!(Expect::Panic { message: None }.to_string(), "panic");
        assert_eq!(
            Expect::Panic { message: Some("overflow") }.to_string(),
            "panic with a message containing \"overflow\""
        );
        assert_eq!(Expect::Fault { vector: 14 }.to_string(), "fault #PF (vector 14)");
        assert_eq!(Expect::Fault { vector: 15 }.to_string(), "fault with vector 15");
    }

    #[test]
    fn fault_names() {
        assert_eq!(fault_name(0), Some("DE"));
        assert_eq!(fault_name(2), Some("NMI"));
        assert_eq!(fault_name(13), Some("GP"));
        assert_eq!(fault_name(21), Some("CP"));
        assert_eq!(fault_name(9), None);
        assert_eq!(fault_name(200), None);
        assert_eq!(fault_vector("PF"), Some(14));
        assert_eq!(fault_vector("XM"), Some(19));
        assert_eq!(fault_vector("XX"), None);
    }
}
