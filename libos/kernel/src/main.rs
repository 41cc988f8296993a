#![no_std]
#![no_main]

use core::fmt::Write;
use x86_64::instructions::port::Port;

extern crate entry_asm;

struct Com1;
impl Write for Com1 {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for b in s.bytes() {
            unsafe {
                let mut lsr: Port<u8> = Port::new(0x3fd);
                while lsr.read() & 0x20 == 0 {}
                Port::new(0x3f8).write(b);
            }
        }
        Ok(())
    }
}

#[unsafe(no_mangle)]
extern "C" fn kernel_main(mbi: u64) -> ! {
    let _ = writeln!(Com1, "hello from the higher half, mbi at {mbi:#x}");
    unsafe { Port::<u8>::new(0xf4).write(1) };
    loop {}
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}
