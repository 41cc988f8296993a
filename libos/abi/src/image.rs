//! The bootable image: the kernel loaded flat, then the app payload.
//!
//! ```text
//! file offset 0 = physical KERNEL_PHYS_BASE
//! ┌──────────────────────────────┐
//! │ kernel (multiboot header,    │  the kernel ELF's PT_LOAD segments placed by
//! │ text, rodata, data, bss as   │  physical address; .bss is zeros in the file
//! │ zeros)                       │
//! ├──────────────────────────────┤  __image_phys_end (page aligned)
//! │ PayloadHeader                │
//! │ app ELF bytes                │  at PayloadHeader::app_offset
//! └──────────────────────────────┘  multiboot load_end_addr (patched by the xtask)
//! ```
//!
//! One file, so `cargo xtask image` writes one bootable thing that QEMU's
//! `-kernel` or GRUB's `multiboot` loads as it is.

/// Magic at the start of the payload.
pub const PAYLOAD_MAGIC: [u8; 8] = *b"LIBOSAPP";
/// Version of the payload layout.
pub const PAYLOAD_VERSION: u32 = 1;
/// Bytes reserved for the app's name.
pub const APP_NAME_LEN: usize = 32;

/// The header at the start of the payload. All fields little-endian.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PayloadHeader {
    /// [`PAYLOAD_MAGIC`].
    pub magic: [u8; 8],
    /// [`PAYLOAD_VERSION`].
    pub version: u32,
    /// `size_of::<PayloadHeader>()`.
    pub header_size: u32,
    /// Offset of the app's ELF file from the start of the payload.
    pub app_offset: u64,
    /// Size of the app's ELF file in bytes.
    pub app_size: u64,
    /// The app's name, NUL padded (for reports: "which app").
    pub app_name: [u8; APP_NAME_LEN],
}

impl PayloadHeader {
    /// Size of the header in bytes.
    pub const SIZE: usize = core::mem::size_of::<PayloadHeader>();

    /// A header for an app of `app_size` bytes placed right after the header.
    pub fn new(app_name: &str, app_size: u64) -> PayloadHeader {
        let mut name = [0u8; APP_NAME_LEN];
        let n = app_name.len().min(APP_NAME_LEN);
        name[..n].copy_from_slice(&app_name.as_bytes()[..n]);
        PayloadHeader {
            magic: PAYLOAD_MAGIC,
            version: PAYLOAD_VERSION,
            header_size: Self::SIZE as u32,
            app_offset: Self::SIZE.next_multiple_of(16) as u64,
            app_size,
            app_name: name,
        }
    }

    /// The header as bytes, for writing into an image.
    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut out = [0u8; Self::SIZE];
        out[0..8].copy_from_slice(&self.magic);
        out[8..12].copy_from_slice(&self.version.to_le_bytes());
        out[12..16].copy_from_slice(&self.header_size.to_le_bytes());
        out[16..24].copy_from_slice(&self.app_offset.to_le_bytes());
        out[24..32].copy_from_slice(&self.app_size.to_le_bytes());
        out[32..32 + APP_NAME_LEN].copy_from_slice(&self.app_name);
        out
    }

    /// Reads and checks a header from the start of `bytes`. `None` when
    /// there is no payload (wrong magic); an error when there is a payload
    /// but it is malformed.
    pub fn parse(bytes: &[u8]) -> Result<Option<PayloadHeader>, PayloadError> {
        if bytes.len() < 8 || bytes[0..8] != PAYLOAD_MAGIC {
            return Ok(None);
        }
        if bytes.len() < Self::SIZE {
            return Err(PayloadError::Truncated);
        }
        let u32_at = |o: usize| u32::from_le_bytes(bytes[o..o + 4].try_into().unwrap());
        let u64_at = |o: usize| u64::from_le_bytes(bytes[o..o + 8].try_into().unwrap());
        let mut app_name = [0u8; APP_NAME_LEN];
        app_name.copy_from_slice(&bytes[32..32 + APP_NAME_LEN]);
        let header = PayloadHeader {
            magic: PAYLOAD_MAGIC,
            version: u32_at(8),
            header_size: u32_at(12),
            app_offset: u64_at(16),
            app_size: u64_at(24),
            app_name,
        };
        if header.version != PAYLOAD_VERSION {
            return Err(PayloadError::Version(header.version));
        }
        if header.header_size as usize != Self::SIZE || header.app_offset < Self::SIZE as u64 {
            return Err(PayloadError::Layout);
        }
        match header.app_offset.checked_add(header.app_size) {
            Some(end) if end <= bytes.len() as u64 => Ok(Some(header)),
            _ => Err(PayloadError::Truncated),
        }
    }

    /// The app's name as a string (up to the first NUL; `"app"` if not UTF-8).
    pub fn name(&self) -> &str {
        let len = self.app_name.iter().position(|&b| b == 0).unwrap_or(APP_NAME_LEN);
        core::str::from_utf8(&self.app_name[..len]).unwrap_or("app")
    }
}

/// Why a payload could not be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayloadError {
    /// The payload is cut short (header or app bytes beyond the image).
    Truncated,
    /// The payload was written by another version of the xtask.
    Version(u32),
    /// Header fields are inconsistent.
    Layout,
}

impl core::fmt::Display for PayloadError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            PayloadError::Truncated => write!(f, "app payload is truncated"),
            PayloadError::Version(v) => {
                write!(f, "app payload version {v}, this kernel reads version {PAYLOAD_VERSION}")
            }
            PayloadError::Layout => write!(f, "app payload header is inconsistent"),
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    fn payload(app: &[u8]) -> Vec<u8> {
        let h = PayloadHeader::new("hello", app.len() as u64);
        let mut v = h.to_bytes().to_vec();
        v.resize(h.app_offset as usize, 0);
        v.extend_from_slice(app);
        v
    }

    #[test]
    fn round_trip() {
        let bytes = payload(b"\x7fELF-app");
        let h = PayloadHeader::parse(&bytes).unwrap().unwrap();
        assert_eq!(h.name(), "hello");
        let start = h.app_offset as usize;
        assert_eq!(&bytes[start..start + h.app_size as usize], b"\x7fELF-app");
    }

    #[test]
    fn no_magic_is_no_payload() {
        assert_eq!(PayloadHeader::parse(&[0u8; 128]), Ok(None));
        assert_eq!(PayloadHeader::parse(&[]), Ok(None));
    }

    #[test]
    fn truncated_and_bad_headers_are_errors() {
        let bytes = payload(b"0123456789");
        for cut in 8..bytes.len() {
            assert_eq!(PayloadHeader::parse(&bytes[..cut]), Err(PayloadError::Truncated), "cut {cut}");
        }
        let mut bad = bytes.clone();
        bad[8] = 9;
        assert_eq!(PayloadHeader::parse(&bad), Err(PayloadError::Version(9)));
        let mut bad = bytes.clone();
        bad[16..24].copy_from_slice(&4u64.to_le_bytes());
        assert_eq!(PayloadHeader::parse(&bad), Err(PayloadError::Layout));
        let mut bad = bytes;
        bad[24..32].copy_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(PayloadHeader::parse(&bad), Err(PayloadError::Truncated));
    }
}
