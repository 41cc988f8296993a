//! What kind of address an app touched, for the kill report: the null
//! page, its own range, the top user page that is never mapped, the
//! non-canonical hole, or the kernel's half.

/// The kind of a virtual address, seen from an app whose addresses are
/// `[user_min, user_end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressClass {
    /// Below `user_min`: the null page(s), never mapped.
    NullPage,
    /// Inside the app's range.
    User,
    /// Between `user_end` and the canonical boundary (2^47): user half,
    /// never mapped (Linux keeps the last user page unmapped too).
    UnmappedUserTop,
    /// In the hole between the halves: any access is a #GP, not a #PF.
    NonCanonical,
    /// The upper, kernel half.
    Kernel,
}

impl AddressClass {
    /// Classifies `addr` (4-level paging: 48-bit canonical addresses).
    pub const fn of(addr: u64, user_min: u64, user_end: u64) -> AddressClass {
        const LOWER_HALF_END: u64 = 1 << 47;
        const UPPER_HALF_START: u64 = !(LOWER_HALF_END - 1);
        if addr < user_min {
            AddressClass::NullPage
        } else if addr < user_end {
            AddressClass::User
        } else if addr < LOWER_HALF_END {
            AddressClass::UnmappedUserTop
        } else if addr < UPPER_HALF_START {
            AddressClass::NonCanonical
        } else {
            AddressClass::Kernel
        }
    }

    /// In words, for a report.
    pub const fn describe(self) -> &'static str {
        match self {
            AddressClass::NullPage => "null page (never mapped)",
            AddressClass::User => "user address",
            AddressClass::UnmappedUserTop => "unmapped user address (the top user page is never mapped)",
            AddressClass::NonCanonical => "non-canonical address",
            AddressClass::Kernel => "kernel address",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::AddressClass::{self, *};

    #[test]
    fn classes_at_their_edges() {
        let of = |a| AddressClass::of(a, 0x1000, 0x7fff_ffff_f000);
        assert_eq!(of(0), NullPage);
        assert_eq!(of(0xfff), NullPage);
        assert_eq!(of(0x1000), User);
        assert_eq!(of(0x7fff_ffff_efff), User);
        assert_eq!(of(0x7fff_ffff_f000), UnmappedUserTop);
        assert_eq!(of(0x7fff_ffff_ffff), UnmappedUserTop);
        assert_eq!(of(0x8000_0000_0000), NonCanonical);
        assert_eq!(of(0xffff_7fff_ffff_ffff), NonCanonical);
        assert_eq!(of(0xffff_8000_0000_0000), Kernel);
        assert_eq!(of(u64::MAX), Kernel);
        assert_eq!(Kernel.describe(), "kernel address");
    }
}
