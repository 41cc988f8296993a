/*
 * The multiboot (v1) header. It must lie in the first 8 KiB of the image,
 * 4-byte aligned; the linker script puts its section first.
 *
 * Flag bit 16 ("address fields valid", the a.out kludge) makes QEMU's -kernel
 * and GRUB load the file flat: byte 0 of the file goes to `load_addr`, up to
 * `load_end_addr`. The xtask writes the image so that the file layout equals
 * the memory layout, appends the app payload, and then patches
 * `load_end_addr` and `bss_end_addr` to cover it (see xtask/src/image.rs).
 */
    .section .multiboot_header, "a"
    .balign 8
    .global multiboot_header
multiboot_header:
    .long {MAGIC}                       /* magic */
    .long {FLAGS}                       /* flags: page-align modules, memory map, address fields */
    .long -({MAGIC} + {FLAGS})          /* checksum: the three words sum to zero */
    .long multiboot_header              /* header_addr: physical address of this header */
    .long __image_phys_start            /* load_addr: where the file's first byte goes */
    .long __image_phys_end              /* load_end_addr: patched by the xtask */
    .long __image_phys_end              /* bss_end_addr: patched by the xtask (no loader-zeroed bss) */
    .long _start32                      /* entry_addr */
