//! Where a BIOS machine keeps the ACPI RSDP, and the scan for its
//! signature (ACPI 6.5, 5.2.5.1 "Finding the RSDP on IA-PC Systems").
//!
//! The RSDP lies on a 16-byte boundary in the first KiB of the EBDA or in
//! the BIOS ROM area 0xE0000-0xFFFFF. The scan looks only at the 8-byte
//! signature, one 64-bit compare per boundary; the kernel then validates
//! each candidate whole (checksums, revision) before it uses it. (The
//! `acpi` crate's own search validates a whole RSDP-sized window at every
//! boundary: under QEMU's qboot, whose RSDP sits near 0xF35E0, that was
//! about 80,000 instructions of the boot.)

use core::ops::Range;

/// `"RSD PTR "`, the RSDP's first 8 bytes.
pub const RSDP_SIGNATURE: [u8; 8] = *b"RSD PTR ";
/// The BIOS data area word holding the EBDA's segment.
pub const EBDA_SEGMENT_PTR: u64 = 0x40E;
/// The lowest address an EBDA can start at.
const EBDA_EARLIEST_START: u64 = 0x8_0000;
/// The end of the region an EBDA can lie in.
const EBDA_END: u64 = 0xA_0000;
/// The BIOS ROM area searched.
const BIOS_AREA: Range<u64> = 0xE_0000..0x10_0000;

/// The physical ranges to search, in order: the BIOS ROM area, then the
/// first KiB of the EBDA whose segment the BIOS data area holds (all of
/// the possible EBDA region when that segment is not plausible); the same
/// areas and order as the `acpi` crate's `Rsdp::search_for_on_bios`.
pub fn search_areas(ebda_segment: u16) -> [Range<u64>; 2] {
    let ebda = u64::from(ebda_segment) << 4;
    let ebda_area =
        if (EBDA_EARLIEST_START..EBDA_END).contains(&ebda) { ebda..ebda + 1024 } else { EBDA_EARLIEST_START..EBDA_END };
    [BIOS_AREA, ebda_area]
}

/// The offsets in `area` (whose start is 16-byte aligned) of the 16-byte
/// boundaries that begin with the RSDP signature, in order.
pub fn signature_offsets(area: &[u8]) -> impl Iterator<Item = usize> + '_ {
    let mut from = 0;
    core::iter::from_fn(move || {
        let found = next_signature(area, from)?;
        from = found + 16;
        Some(found)
    })
}

/// The first 16-byte boundary at or after `from` (a multiple of 16) that
/// begins with the signature: one load and one compare per boundary.
fn next_signature(area: &[u8], from: usize) -> Option<usize> {
    let signature = u64::from_le_bytes(RSDP_SIGNATURE);
    let rest = area.get(from..)?;
    let (blocks, tail) = rest.as_chunks::<16>();
    if let Some(i) = blocks.iter().position(|b| u64::from_le_bytes(*b.first_chunk::<8>().unwrap()) == signature) {
        return Some(from + i * 16);
    }
    // A last, shorter piece can still hold the 8 signature bytes.
    let tail_start = from + blocks.len() * 16;
    tail.first_chunk::<8>().filter(|s| u64::from_le_bytes(**s) == signature).map(|_| tail_start)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;
    use std::vec::Vec;

    #[test]
    fn finds_signatures_on_16_byte_boundaries_only() {
        let mut area = vec![0u8; 256];
        area[32..40].copy_from_slice(&RSDP_SIGNATURE);
        area[72..80].copy_from_slice(&RSDP_SIGNATURE); // not on a boundary
        area[248..256].copy_from_slice(&RSDP_SIGNATURE); // last boundary but one
        assert_eq!(signature_offsets(&area).collect::<Vec<_>>(), [32]);
        area[240..248].copy_from_slice(&RSDP_SIGNATURE);
        assert_eq!(signature_offsets(&area).collect::<Vec<_>>(), [32, 240]);
    }

    #[test]
    fn a_signature_cut_by_the_end_is_not_found() {
        let mut area = vec![0u8; 36];
        area[32..36].copy_from_slice(&RSDP_SIGNATURE[..4]);
        assert_eq!(signature_offsets(&area).count(), 0);
        assert_eq!(signature_offsets(&[]).count(), 0);
    }

    #[test]
    fn areas_are_the_bios_rom_then_the_ebda() {
        assert_eq!(search_areas(0x9FC0), [0xE_0000..0x10_0000, 0x9_FC00..0x9_FC00 + 1024]);
        // No plausible EBDA segment: the whole region where one may lie.
        assert_eq!(search_areas(0), [0xE_0000..0x10_0000, 0x8_0000..0xA_0000]);
        assert_eq!(search_areas(0xA000), [0xE_0000..0x10_0000, 0x8_0000..0xA_0000]);
    }
}
