//! The kernel command line.
//!
//! Words are separated by spaces. Kernel options come first; everything after
//! a lone `--` word belongs to the app (its argv after the app's name).
//!
//! | option | meaning |
//! |---|---|
//! | `kpti=on\|off` | kernel page-table isolation (default on) |
//! | `pcid=on\|off` | use PCID when the CPU has it (default on) |
//! | `trace=syscalls` | print every syscall strace-style |
//! | `test` | run the boot-time tests instead of the app's `main` |
//! | `test.filter=TEXT` | run only tests whose name contains TEXT |
//! | `test.self-check=wrong\|crash\|hang` | run the harness self-checks |
//! | `probe=ring3` | check that ring 3, SYSCALL, interrupts and SMAP work (for `--accel auto`) |
//! | `maxcpus=N` | start at most N CPUs |
//! | `tsc_khz=N` | the TSC runs at N kHz (checked against the HPET, not measured; Linux's `tsc_early_khz=`) |
//! | `nmi=dump` | an NMI makes each CPU print its scheduler state (debugging hangs) |
//! | `env=KEY=VALUE` | one variable of the app's environment (repeatable, at most [`MAX_ENV`]) |
//! | `net.ip=A.B.C.D/N` | a static IPv4 address for the network card (default: DHCP) |
//! | `net.gw=A.B.C.D` | the default router (with `net.ip=`) |
//! | `net.dns=A.B.C.D` | the name server (`/etc/resolv.conf`) |
//! | `net.dump=SECS` | test kernels: every SECS seconds, print every TCP socket's state, queues and waiters (debugging stalled connections) |
//! | `fs.ram=SIZE` | byte limit of the RAM file systems (`/` and `/tmp` each; `64M`, `1G`...) |
//! | `fs.disk=PATH` | mount the first virtio disk's ext2 file system at PATH |
//!
//! QEMU's multiboot loader puts the image's path in front of the command
//! line (GRUB does not): a first word that contains `/` and no `=` is taken
//! as that path and skipped.

/// Unknown words the parser remembers for the boot report.
pub const MAX_UNKNOWN: usize = 8;
/// Most `env=` words kept (the app's environment).
pub const MAX_ENV: usize = 32;

/// Which harness self-check to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelfCheck {
    /// Tests with wrong outcomes that the harness must report as failures.
    Wrong,
    /// A test that takes an unexpected kernel exception.
    Crash,
    /// A test that never ends.
    Hang,
}

/// A problem with one word of the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadOption<'a> {
    /// The word.
    pub word: &'a str,
    /// What is wrong with it.
    pub why: &'static str,
}

/// The parsed command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootOptions<'a> {
    /// The image path QEMU put first, if any.
    pub image_path: Option<&'a str>,
    /// `kpti=`: `None` when not given.
    pub kpti: Option<bool>,
    /// `pcid=`: `None` when not given.
    pub pcid: Option<bool>,
    /// `vdso=`: `None` when not given (on). Off, processes get no vDSO and
    /// no `AT_SYSINFO_EHDR` (Linux's `vdso=0`): their C library makes the
    /// time system calls.
    pub vdso: Option<bool>,
    /// `trace=syscalls`.
    pub trace_syscalls: bool,
    /// `test`.
    pub test: bool,
    /// `test.filter=`.
    pub test_filter: Option<&'a str>,
    /// `test.self-check=`.
    pub self_check: Option<SelfCheck>,
    /// `probe=`.
    pub probe: Option<&'a str>,
    /// `maxcpus=`.
    pub max_cpus: Option<usize>,
    /// `tsc_khz=`: the TSC frequency, published by whoever started the
    /// machine (the xtask knows it under QEMU).
    pub tsc_khz: Option<u64>,
    /// `nmi=dump`: an NMI prints each CPU's scheduler state.
    pub nmi_dump: bool,
    /// `net.ip=`: a static address (see [`crate::net_config`]).
    pub net_ip: Option<crate::net_config::Ipv4Cidr>,
    /// `net.gw=`: the default router.
    pub net_gw: Option<[u8; 4]>,
    /// `net.dns=`: the name server.
    pub net_dns: Option<[u8; 4]>,
    /// `net.dump=`: seconds between two dumps of the socket table (test
    /// kernels only).
    pub net_dump_secs: Option<u64>,
    /// `fs.ram=`: the RAM file systems' size limit, as written (`64M`).
    pub fs_ram: Option<&'a str>,
    /// `fs.disk=`: where the disk's file system is mounted (`/data`).
    pub fs_disk: Option<&'a str>,
    /// Everything after the `--` word (the app's arguments), or "".
    pub app_args: &'a str,
    /// The app's environment: the `KEY=VALUE` of each `env=KEY=VALUE` word.
    pub env: heapless::Vec<&'a str, MAX_ENV>,
    /// Words that were not understood (at most [`MAX_UNKNOWN`] kept).
    pub unknown: heapless::Vec<BadOption<'a>, MAX_UNKNOWN>,
}

fn on_off(value: &str) -> Option<bool> {
    match value {
        "on" | "1" | "yes" | "true" => Some(true),
        "off" | "0" | "no" | "false" => Some(false),
        _ => None,
    }
}

impl<'a> BootOptions<'a> {
    /// Parses a command line. Never fails: bad words are collected in
    /// [`BootOptions::unknown`] for the boot report.
    pub fn parse(cmdline: &'a str) -> BootOptions<'a> {
        let (kernel_part, app_args) = split_app_args(cmdline);
        let mut opts = BootOptions {
            image_path: None,
            kpti: None,
            pcid: None,
            vdso: None,
            trace_syscalls: false,
            test: false,
            test_filter: None,
            self_check: None,
            probe: None,
            max_cpus: None,
            tsc_khz: None,
            nmi_dump: false,
            net_ip: None,
            net_gw: None,
            net_dns: None,
            net_dump_secs: None,
            fs_ram: None,
            fs_disk: None,
            app_args,
            env: heapless::Vec::new(),
            unknown: heapless::Vec::new(),
        };
        let mut words = kernel_part.split(' ').filter(|w| !w.is_empty()).peekable();
        if let Some(first) = words.peek()
            && first.contains('/')
            && !first.contains('=')
        {
            opts.image_path = Some(first);
            words.next();
        }
        for word in words {
            let (key, value) = match word.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (word, None),
            };
            let bad = match (key, value) {
                ("kpti", Some(v)) => on_off(v).map(|b| opts.kpti = Some(b)).ok_or("expected kpti=on or kpti=off"),
                ("pcid", Some(v)) => on_off(v).map(|b| opts.pcid = Some(b)).ok_or("expected pcid=on or pcid=off"),
                ("vdso", Some(v)) => on_off(v).map(|b| opts.vdso = Some(b)).ok_or("expected vdso=on or vdso=off"),
                ("trace", Some("syscalls")) => {
                    opts.trace_syscalls = true;
                    Ok(())
                }
                ("trace", _) => Err("expected trace=syscalls"),
                ("test", None) => {
                    opts.test = true;
                    Ok(())
                }
                ("test.filter", Some(v)) if !v.is_empty() => {
                    opts.test_filter = Some(v);
                    Ok(())
                }
                ("test.self-check", Some(v)) => match v {
                    "wrong" => Ok(SelfCheck::Wrong),
                    "crash" => Ok(SelfCheck::Crash),
                    "hang" => Ok(SelfCheck::Hang),
                    _ => Err("expected test.self-check=wrong, crash or hang"),
                }
                .map(|s| opts.self_check = Some(s)),
                ("probe", Some(v)) if !v.is_empty() => {
                    opts.probe = Some(v);
                    Ok(())
                }
                ("env", Some(v)) if v.split_once('=').is_some_and(|(k, _)| !k.is_empty()) => {
                    opts.env.push(v).map_err(|_| "too many env= words")
                }
                ("env", _) => Err("expected env=KEY=VALUE"),
                ("nmi", Some("dump")) => {
                    opts.nmi_dump = true;
                    Ok(())
                }
                ("net.ip", Some(v)) => crate::net_config::parse_ipv4_cidr(v)
                    .map(|c| opts.net_ip = Some(c))
                    .ok_or("expected net.ip=A.B.C.D/N"),
                ("net.gw", Some(v)) => {
                    crate::net_config::parse_ipv4(v).map(|a| opts.net_gw = Some(a)).ok_or("expected net.gw=A.B.C.D")
                }
                ("net.dns", Some(v)) => {
                    crate::net_config::parse_ipv4(v).map(|a| opts.net_dns = Some(a)).ok_or("expected net.dns=A.B.C.D")
                }
                ("net.dump", Some(v)) => match v.parse::<u64>() {
                    Ok(secs) if (1..=3600).contains(&secs) => {
                        opts.net_dump_secs = Some(secs);
                        Ok(())
                    }
                    _ => Err("expected net.dump=SECS with SECS in 1..=3600"),
                },
                ("fs.ram", Some(v)) if !v.is_empty() => {
                    opts.fs_ram = Some(v);
                    Ok(())
                }
                ("fs.disk", Some(v)) if v.starts_with('/') => {
                    opts.fs_disk = Some(v);
                    Ok(())
                }
                ("fs.disk", _) => Err("expected fs.disk=/ABSOLUTE/PATH"),
                ("maxcpus", Some(v)) => match v.parse::<usize>() {
                    Ok(n) if n >= 1 => {
                        opts.max_cpus = Some(n);
                        Ok(())
                    }
                    _ => Err("expected maxcpus=N with N >= 1"),
                },
                ("tsc_khz", Some(v)) => match v.parse::<u64>() {
                    // 1 MHz to 100 GHz: anything else is a typo.
                    Ok(khz) if (1_000..=100_000_000).contains(&khz) => {
                        opts.tsc_khz = Some(khz);
                        Ok(())
                    }
                    _ => Err("expected tsc_khz=N with N in 1000..=100000000"),
                },
                _ => Err("unknown option"),
            };
            if let Err(why) = bad {
                // Beyond MAX_UNKNOWN the report says less, which is fine.
                let _ = opts.unknown.push(BadOption { word, why });
            }
        }
        opts
    }

    /// The app's arguments, word by word: words are separated by spaces,
    /// and a word that starts with a double quote runs to the next double
    /// quote that ends a word, spaces included, without the quotes (an
    /// empty pair is an empty argument); an unclosed quote runs to the end
    /// of the line. Linux's `next_arg` (lib/cmdline.c) quotes the same way.
    pub fn app_arg_words(&self) -> AppArgWords<'a> {
        AppArgWords { rest: self.app_args }
    }
}

/// The app's arguments ([`BootOptions::app_arg_words`]).
#[derive(Clone, Debug)]
pub struct AppArgWords<'a> {
    rest: &'a str,
}

impl<'a> Iterator for AppArgWords<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let s = self.rest.trim_start_matches(' ');
        if s.is_empty() {
            self.rest = s;
            return None;
        }
        if let Some(inner) = s.strip_prefix('"') {
            let mut from = 0;
            while let Some(i) = inner[from..].find('"') {
                let end = from + i;
                let after = &inner[end + 1..];
                if after.is_empty() || after.starts_with(' ') {
                    self.rest = after;
                    return Some(&inner[..end]);
                }
                from = end + 1;
            }
            self.rest = "";
            return Some(inner);
        }
        let end = s.find(' ').unwrap_or(s.len());
        self.rest = &s[end..];
        Some(&s[..end])
    }
}

/// Splits at the first lone `--` word: (kernel options, app arguments).
fn split_app_args(cmdline: &str) -> (&str, &str) {
    let mut offset = 0;
    for word in cmdline.split(' ') {
        if word == "--" {
            let rest = &cmdline[(offset + 2).min(cmdline.len())..];
            return (&cmdline[..offset], rest.trim_start_matches(' '));
        }
        offset += word.len() + 1;
    }
    (cmdline, "")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    #[test]
    fn network_options() {
        let o = BootOptions::parse("net.ip=10.0.2.16/24 net.gw=10.0.2.2 net.dns=10.0.2.3");
        assert_eq!(o.net_ip, Some(crate::net_config::Ipv4Cidr { address: [10, 0, 2, 16], prefix: 24 }));
        assert_eq!(o.net_gw, Some([10, 0, 2, 2]));
        assert_eq!(o.net_dns, Some([10, 0, 2, 3]));
        assert!(o.unknown.is_empty());
        let bad = BootOptions::parse("net.ip=10.0.2.300 net.gw=x net.dns=");
        assert_eq!((bad.net_ip, bad.net_gw, bad.net_dns), (None, None, None));
        assert_eq!(bad.unknown.len(), 3);
    }

    #[test]
    fn defaults() {
        let o = BootOptions::parse("");
        assert_eq!(o.kpti, None);
        assert!(!o.test && !o.trace_syscalls);
        assert_eq!(o.app_args, "");
        assert!(o.unknown.is_empty());
    }

    #[test]
    fn file_system_options() {
        let o = BootOptions::parse("fs.ram=16M fs.disk=/data");
        assert_eq!((o.fs_ram, o.fs_disk), (Some("16M"), Some("/data")));
        assert!(o.unknown.is_empty());
        let o = BootOptions::parse("fs.disk=data");
        assert_eq!(o.fs_disk, None);
        assert_eq!(o.unknown.len(), 1);
    }

    #[test]
    fn qemu_image_path_is_skipped() {
        let o = BootOptions::parse("/work/target/images/hello.bin kpti=off test");
        assert_eq!(o.image_path, Some("/work/target/images/hello.bin"));
        assert_eq!(o.kpti, Some(false));
        assert!(o.test);
        let grub = BootOptions::parse("kpti=off");
        assert_eq!(grub.image_path, None);
        let path_only = BootOptions::parse("images/hello.bin");
        assert_eq!(path_only.image_path, Some("images/hello.bin"));
    }

    #[test]
    fn every_option() {
        let o = BootOptions::parse(
            "kpti=on pcid=off trace=syscalls test test.filter=heap test.self-check=crash probe=ring3 maxcpus=2 \
             tsc_khz=1000000",
        );
        assert_eq!(o.tsc_khz, Some(1_000_000));
        assert_eq!(BootOptions::parse("tsc_khz=12").unknown.len(), 1);
        assert_eq!(BootOptions::parse("tsc_khz=fast").tsc_khz, None);
        assert_eq!(o.kpti, Some(true));
        assert_eq!(o.pcid, Some(false));
        assert!(o.trace_syscalls && o.test);
        assert_eq!(o.test_filter, Some("heap"));
        assert_eq!(o.self_check, Some(SelfCheck::Crash));
        assert_eq!(o.probe, Some("ring3"));
        assert_eq!(o.max_cpus, Some(2));
        assert!(o.unknown.is_empty(), "{:?}", o.unknown);
    }

    #[test]
    fn quoted_app_arguments_keep_their_spaces() {
        let words = |line: &'static str| BootOptions::parse(line).app_arg_words().collect::<Vec<_>>();
        assert_eq!(words("-- sh -c \"ls | wc -l\" x"), ["sh", "-c", "ls | wc -l", "x"]);
        assert_eq!(words("-- a \"\" b"), ["a", "", "b"]);
        assert_eq!(words("--  \"two  spaces\"  "), ["two  spaces"]);
        assert_eq!(words("-- \"a\"b c\" d"), ["a\"b c", "d"]);
        assert_eq!(words("-- \"unclosed to the end"), ["unclosed to the end"]);
        assert_eq!(words("-- mid\"quote plain"), ["mid\"quote", "plain"]);
        assert_eq!(words("kpti=off"), Vec::<&str>::new());
    }

    #[test]
    fn vdso_is_on_unless_turned_off() {
        assert_eq!(BootOptions::parse("").vdso, None);
        assert_eq!(BootOptions::parse("vdso=off").vdso, Some(false));
        assert_eq!(BootOptions::parse("vdso=on").vdso, Some(true));
        let bad = BootOptions::parse("vdso=maybe");
        assert_eq!((bad.vdso, bad.unknown.len()), (None, 1));
    }

    #[test]
    fn net_dump_takes_seconds_in_range() {
        assert_eq!(BootOptions::parse("net.dump=30").net_dump_secs, Some(30));
        assert_eq!(BootOptions::parse("").net_dump_secs, None);
        for bad in ["net.dump=0", "net.dump=3601", "net.dump=soon", "net.dump"] {
            let o = BootOptions::parse(bad);
            assert_eq!((o.net_dump_secs, o.unknown.len()), (None, 1), "{bad}");
        }
    }

    #[test]
    fn app_arguments_after_double_dash() {
        let o = BootOptions::parse("/img kpti=off -- a  b --c -- d");
        assert_eq!(o.kpti, Some(false));
        assert_eq!(o.app_args, "a  b --c -- d");
        assert_eq!(o.app_arg_words().collect::<Vec<_>>(), ["a", "b", "--c", "--", "d"]);
        let o = BootOptions::parse("--");
        assert_eq!(o.app_args, "");
        let o = BootOptions::parse("test -- --");
        assert!(o.test);
        assert_eq!(o.app_args, "--");
        // `--x` is not the separator.
        let o = BootOptions::parse("--x");
        assert_eq!(o.app_args, "");
        assert_eq!(o.unknown[0].word, "--x");
    }

    #[test]
    fn environment_words() {
        let o = BootOptions::parse("env=HOME=/ kpti=off env=EMPTY= env=A=b=c -- env=X=1");
        assert_eq!(o.env.as_slice(), ["HOME=/", "EMPTY=", "A=b=c"]);
        assert_eq!(o.app_args, "env=X=1");
        let o = BootOptions::parse("env=NOEQUALS env==x env");
        assert!(o.env.is_empty());
        assert_eq!(o.unknown.len(), 3);
        let many: std::string::String = (0..MAX_ENV + 1).map(|i| std::format!("env=V{i}=1 ")).collect();
        let o = BootOptions::parse(&many);
        assert_eq!(o.env.len(), MAX_ENV);
        assert_eq!(o.unknown[0].why, "too many env= words");
    }

    #[test]
    fn bad_words_are_reported() {
        let o = BootOptions::parse("kpti=maybe bogus maxcpus=0 trace=all test=1 test.self-check=x");
        let words: Vec<_> = o.unknown.iter().map(|b| b.word).collect();
        assert_eq!(words, ["kpti=maybe", "bogus", "maxcpus=0", "trace=all", "test=1", "test.self-check=x"]);
        assert_eq!(o.kpti, None);
        assert!(!o.test);
        let many = BootOptions::parse("a b c d e f g h i j k");
        assert_eq!(many.unknown.len(), MAX_UNKNOWN);
    }
}
