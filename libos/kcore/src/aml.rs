//! Just enough AML to power off: the sleep type of `\_S5`.
//!
//! ACPI S5 (soft off) is entered by writing `SLP_TYPa | SLP_EN` to the PM1a
//! control register. `SLP_TYPa` is the first element of the `\_S5` package
//! in the DSDT. Interpreting AML in full is a large job; this reads the one
//! byte pattern firmware uses for it — `NameOp "_S5_" PackageOp PkgLength
//! NumElements <first element>` — and gives up (returns `None`) on anything
//! else.

/// AML opcodes used here.
mod op {
    pub const NAME: u8 = 0x08;
    pub const PACKAGE: u8 = 0x12;
    pub const ZERO: u8 = 0x00;
    pub const ONE: u8 = 0x01;
    pub const BYTE_PREFIX: u8 = 0x0A;
    pub const WORD_PREFIX: u8 = 0x0B;
    pub const DWORD_PREFIX: u8 = 0x0C;
    pub const ROOT_CHAR: u8 = b'\\';
}

/// Length in bytes of an AML PkgLength encoding starting with `lead`.
fn pkg_length_size(lead: u8) -> usize {
    1 + (lead >> 6) as usize
}

/// How far the search for `_S5_` may move on when the window's last byte
/// is `last` (Horspool's bad-character shift): as far as the nearest
/// earlier place of that byte in the name, or the whole name.
fn s5_shift(last: u8) -> usize {
    match last {
        b'_' => 3,
        b'5' => 1,
        b'S' => 2,
        _ => 4,
    }
}

/// The `SLP_TYPa` value of `\_S5` in the AML of a DSDT, if found.
///
/// Every place of the name `_S5_` is looked at, in order, as a plain scan
/// would; the windows that cannot hold it are skipped by their last byte
/// (most of them by four bytes: the boot reads a whole DSDT for this).
pub fn s5_sleep_type_a(aml: &[u8]) -> Option<u8> {
    let mut i = 0;
    while i + 4 <= aml.len() {
        if &aml[i..i + 4] != b"_S5_" {
            i += s5_shift(aml[i + 3]);
            continue;
        }
        // The name must be the object of a NameOp, optionally rooted.
        let named =
            (i >= 1 && aml[i - 1] == op::NAME) || (i >= 2 && aml[i - 1] == op::ROOT_CHAR && aml[i - 2] == op::NAME);
        let mut j = i + 4;
        if !named || aml.get(j) != Some(&op::PACKAGE) {
            i += s5_shift(aml[i + 3]);
            continue;
        }
        j += 1;
        j += pkg_length_size(*aml.get(j)?);
        j += 1; // NumElements
        return match *aml.get(j)? {
            op::ZERO => Some(0),
            op::ONE => Some(1),
            op::BYTE_PREFIX | op::WORD_PREFIX | op::DWORD_PREFIX => aml.get(j + 1).copied(),
            // A bare small integer is not valid AML here; accept nothing else.
            _ => None,
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qemu_piix_style_zero_package() {
        // Name (_S5, Package (0x04) { Zero, Zero, Zero, Zero })
        let aml = [0x10, 0x20, 0x08, b'_', b'S', b'5', b'_', 0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00];
        assert_eq!(s5_sleep_type_a(&aml), Some(0));
    }

    #[test]
    fn byte_prefixed_and_rooted() {
        // Name (\_S5, Package (0x02) { 0x05, 0x05 })
        let aml = [0x08, b'\\', b'_', b'S', b'5', b'_', 0x12, 0x08, 0x02, 0x0A, 0x05, 0x0A, 0x05];
        assert_eq!(s5_sleep_type_a(&aml), Some(5));
        let one = [0x08, b'_', b'S', b'5', b'_', 0x12, 0x04, 0x02, 0x01, 0x01];
        assert_eq!(s5_sleep_type_a(&one), Some(1));
    }

    #[test]
    fn long_pkg_length() {
        // PkgLength with one extra byte (lead 0x4X).
        let aml = [0x08, b'_', b'S', b'5', b'_', 0x12, 0x40, 0x01, 0x04, 0x0A, 0x07];
        assert_eq!(s5_sleep_type_a(&aml), Some(7));
    }

    #[test]
    fn not_found_or_malformed() {
        assert_eq!(s5_sleep_type_a(b""), None);
        assert_eq!(s5_sleep_type_a(b"_S5_"), None);
        // A method reference to _S5_ that is not a NameOp object.
        assert_eq!(s5_sleep_type_a(&[0x70, b'_', b'S', b'5', b'_', 0x12, 0x04, 0x01, 0x00]), None);
        // Cut off in the middle.
        assert_eq!(s5_sleep_type_a(&[0x08, b'_', b'S', b'5', b'_', 0x12, 0x04]), None);
        // Every prefix of a valid encoding is safe.
        let aml = [0x08, b'\\', b'_', b'S', b'5', b'_', 0x12, 0x08, 0x02, 0x0A, 0x05];
        for cut in 0..aml.len() {
            let _ = s5_sleep_type_a(&aml[..cut]);
        }
    }

    /// The plain scan (one byte at a time) the skipping search must agree with.
    fn s5_by_plain_scan(aml: &[u8]) -> Option<u8> {
        let mut i = 0;
        while i + 4 <= aml.len() {
            let named =
                i >= 1 && aml[i - 1] == op::NAME || i >= 2 && aml[i - 1] == op::ROOT_CHAR && aml[i - 2] == op::NAME;
            if &aml[i..i + 4] != b"_S5_" || !named || aml.get(i + 4) != Some(&op::PACKAGE) {
                i += 1;
                continue;
            }
            let j = i + 5;
            let j = j + pkg_length_size(*aml.get(j)?) + 1;
            return match *aml.get(j)? {
                op::ZERO => Some(0),
                op::ONE => Some(1),
                op::BYTE_PREFIX | op::WORD_PREFIX | op::DWORD_PREFIX => aml.get(j + 1).copied(),
                _ => None,
            };
        }
        None
    }

    #[test]
    fn skipping_search_agrees_with_a_plain_scan() {
        // Byte strings over the bytes that matter (the name's, the opcodes'),
        // from a fixed xorshift sequence: overlapping and decoy names.
        let alphabet = [b'_', b'S', b'5', op::NAME, op::ROOT_CHAR, op::PACKAGE, 0x0A, 0x01, 0x00, 0x04, b'X'];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut found = 0;
        for len in 0..4000 {
            let mut next = || {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state
            };
            let mut aml: std::vec::Vec<u8> =
                (0..len % 40).map(|_| alphabet[(next() % alphabet.len() as u64) as usize]).collect();
            if len % 3 == 0 {
                // A valid package somewhere, maybe after decoys.
                let at = (next() % (aml.len() as u64 + 1)) as usize;
                let valid = [op::NAME, b'_', b'S', b'5', b'_', op::PACKAGE, 0x04, 0x01, 0x0A, (len % 7) as u8];
                aml.splice(at..at, valid);
            }
            let expected = s5_by_plain_scan(&aml);
            found += usize::from(expected.is_some());
            assert_eq!(s5_sleep_type_a(&aml), expected, "{aml:x?}");
        }
        assert!(found > 0, "the inputs hold some valid _S5_ packages");
    }
}
