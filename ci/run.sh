#!/usr/bin/env bash
# What CI runs, in order: first the README's promise to a newcomer, on a
# toolchain from which the bare-metal target has been removed: `cargo xtask
# run hello`, then `cargo xtask test` (host unit tests, every boot-time
# suite under QEMU, and an app made with `cargo xtask new` outside the
# repository, run with `--app-path` and as `cargo libos`), with the xtask
# installing the target and QEMU itself.
# Then Bochs and GRUB's ISO tools, `cargo xtask lint` (fmt, clippy, rustdoc)
# and `cargo xtask test --emulator bochs --no-host` (the kernel and app suites under Bochs CPU
# models with PCID, which QEMU's TCG lacks), then a smoke run of the
# benchmark (`cargo xtask bench --quick`: it keeps the benchmark working; it
# fails only when a boot fails or its output cannot be read, never on a
# number). Each step prints a timestamped header and its elapsed time; the
# first failing step ends the run with its status.
#
# Run it from anywhere: it works from the repository root. Developers can run
# the same checks with `cargo xtask lint && cargo xtask test &&
# cargo xtask test --emulator bochs --no-host && cargo xtask bench --quick`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

ci_start=$(date +%s)

# step TITLE COMMAND...: runs COMMAND between a header and a footer.
step() {
    local title=$1
    shift
    local start status
    start=$(date +%s)
    printf '\n[%s] ==> %s: %s\n' "$(date -u +%H:%M:%S)" "$title" "$*"
    status=0
    "$@" || status=$?
    local elapsed=$(($(date +%s) - start))
    if [ "$status" -ne 0 ]; then
        printf '[%s] <== %s: FAILED with status %d after %d s\n' \
            "$(date -u +%H:%M:%S)" "$title" "$status" "$elapsed"
        exit "$status"
    fi
    printf '[%s] <== %s: ok (%d s)\n' "$(date -u +%H:%M:%S)" "$title" "$elapsed"
}

# The newcomer's path, first: the README's two commands on a toolchain that
# lacks the kernel's target, so that the xtask has to add it itself (rustup
# does not add a pinned toolchain's missing targets when the toolchain is
# already installed). QEMU is installed by the xtask too.
newcomer_setup() {
    if ! command -v rustup >/dev/null 2>&1; then
        echo "rustup is not installed; install it from the Rust project's instructions" >&2
        return 1
    fi
    rustup --version 2>/dev/null
    # The pinned toolchain itself (a no-op where it is installed; this
    # machine kind has it, and sets RUSTUP_AUTO_INSTALL=0).
    rustup toolchain install || rustup show
    rustc --version
    cargo --version
    # Remove every non-host target the workspace builds for, as a machine
    # that never built it would be.
    rustup target remove x86_64-unknown-none 2>&1 || true
    rustup target list --installed
}

# Runs a command as root: directly, or through sudo when there is one.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n "$@"
    else
        echo "need root for: $* (not root, and no sudo)" >&2
        return 1
    fi
}

# Bochs (its BIOS and VGA BIOS) and what grub-mkrescue needs to make the
# BIOS-bootable ISOs Bochs boots from.
bochs_packages=(bochs bochsbios vgabios grub-pc-bin grub-common xorriso mtools)
have_bochs_tools() {
    command -v bochs >/dev/null 2>&1 &&
        command -v grub-mkrescue >/dev/null 2>&1 &&
        command -v xorriso >/dev/null 2>&1 &&
        command -v mformat >/dev/null 2>&1 &&
        [ -f /usr/share/bochs/BIOS-bochs-latest ] &&
        [ -f /usr/share/vgabios/vgabios.bin ] &&
        [ -f /usr/lib/grub/i386-pc/multiboot.mod ]
}
install_bochs() {
    if ! have_bochs_tools; then
        export DEBIAN_FRONTEND=noninteractive
        as_root apt-get install -y "${bochs_packages[@]}" ||
            { as_root apt-get update && as_root apt-get install -y "${bochs_packages[@]}"; }
    fi
    dpkg-query -W -f '${Package} ${Version}\n' "${bochs_packages[@]}" 2>/dev/null || true
}

# What the Linux programs' suites need (README "Running Linux programs"):
# musl-gcc for the C tests, the static BusyBox. The xtask installs them
# itself when it runs as root (install.rs); CI names them here too.
linux_program_packages=(musl-tools busybox-static)
install_linux_program_tools() {
    if ! command -v musl-gcc >/dev/null 2>&1 || ! [ -x /bin/busybox ]; then
        export DEBIAN_FRONTEND=noninteractive
        as_root apt-get install -y "${linux_program_packages[@]}" ||
            { as_root apt-get update && as_root apt-get install -y "${linux_program_packages[@]}"; }
    fi
    dpkg-query -W -f '${Package} ${Version}\n' "${linux_program_packages[@]}" 2>/dev/null || true
}

# The test suites; their output is kept to repeat their closing lines at the end.
test_log=$(mktemp)
bochs_log=$(mktemp)
trap 'rm -f "$test_log" "$bochs_log"' EXIT
run_tests() {
    cargo xtask test 2>&1 | tee "$test_log"
}
# The host tests ran in the step before.
run_bochs_tests() {
    cargo xtask test --emulator bochs --no-host 2>&1 | tee "$bochs_log"
}

step "newcomer setup (no bare-metal target)" newcomer_setup
step "newcomer: cargo xtask run hello" cargo xtask run hello
step "linux programs' tools" install_linux_program_tools
step "newcomer: cargo xtask test" run_tests
step "bochs" install_bochs
step "lint" cargo xtask lint
step "test under bochs" run_bochs_tests
step "bench smoke" cargo xtask bench --quick

printf '\n[%s] CI finished in %d s\n' "$(date -u +%H:%M:%S)" "$(($(date +%s) - ci_start))"
# The test runners' closing lines (`N passed, M failed`) end CI's output
# too, then their sum in the same form.
qemu_line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$test_log" | tail -n 1)
bochs_line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$bochs_log" | tail -n 1)
printf 'qemu:  %s\nbochs: %s\n' "$qemu_line" "$bochs_line"
read -r qemu_passed _ qemu_failed _ <<<"${qemu_line//,/}"
read -r bochs_passed _ bochs_failed _ <<<"${bochs_line//,/}"
printf '%d passed, %d failed\n' "$((${qemu_passed:-0} + ${bochs_passed:-0}))" \
    "$((${qemu_failed:-0} + ${bochs_failed:-0}))"
