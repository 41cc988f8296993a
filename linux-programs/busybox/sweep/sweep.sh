# The BusyBox sweep (`cargo xtask test busybox_sweep`): each section below
# runs one BusyBox applet (with a few shell builtins around it) in our
# kernel and on the host's Linux, from the folder this file is in (the root
# in the guest, a fresh copy of the folder on the host), with the
# environment `SWEEP=1 TZ=UTC`; the xtask compares what each prints
# (standard output and error) and its exit status.
#
# Sections are marked `NAME) # KIND`:
# - `ordered`: `busybox sh sweep.sh NAME` on both sides, lines compared in
#   order. The shell forks and execs its pipelines, `$(...)`, subshells and
#   applets (BusyBox runs its applets through /proc/self/exe).
# - `unordered`: the same, the lines compared as sorted lists (their order
#   is the directory order `getdents64` gives, which is each file system's
#   own: ext4's hash order on the host, creation order in the RAM file
#   system; both are right for Linux).
# - `direct` (and `direct unordered`): the `exec` line's words are the
#   program's argv (`busybox WORDS`, on the kernel's command line in the
#   guest), without the shell. Words are whitespace-free, optionally in
#   single quotes; the only redirection is a last `< FILE`: the host runs
#   the applet with FILE as its standard input, the guest's console types
#   FILE then end of file.
#
# Left out, each for a missing mechanism named with Linux's errno here:
# - `nohup`, `time`, `printenv`: not in Debian's BusyBox (`applet not
#   found` on both sides).
# - `mkfifo`, `mknod`: mknodat (and mknod) are not in the kernel's table
#   (ENOSYS): no named pipes or device nodes on the file systems.
# - `du`: a file's blocks (st_blocks) are each file system's own: the RAM
#   file system counts the archive's bytes in 512-byte units (2 for 67
#   bytes), ext4 and tmpfs whole 4 KiB blocks (8).
# - `uname -s`: the kernel calls itself `libos` (apps/syscall-tests asserts
#   it), Linux `Linux` (UTS_SYSNAME, include/linux/uts.h): only `uname -m`.
# - `ls -l` owners and `id`: the host's user need not be root; `date`
#   without `-d`: the clocks differ (`busybox_files::` checks `ls -l`).
# - `gzip` compression and `tar c`: their output holds the files' times;
#   `awk` math functions: Debian's build has none ("Math support is not
#   compiled in" on Linux too).

case "$1" in
  # --- listing
  ls_1) # ordered
    exec ls -1 tree ;;
  ls_a) # ordered
    exec ls -1a tree/sub ;;
  ls_R) # ordered
    exec ls -1R tree ;;
  ls_sort_size) # ordered
    exec ls -1S tree/a.txt tree/b.txt tree/nums.txt tree/data.csv tree/dups.txt ;;
  ls_reverse) # ordered
    exec ls -1r tree ;;
  ls_classify) # ordered
    exec ls -1F tree tree/sub ;;
  stat_times) # ordered
    # The xtask gives the host's copy the files' times, in whole seconds
    # as the archive has them (not the symbolic links': their times are
    # the copy's). No owners: the host's user need not be root.
    exec stat -c '%n %A %y %Y' tree/sub/run.sh tree/sub/empty tree/docs ;;
  find_name) # unordered
    exec find tree -name '*.txt' ;;
  find_type) # unordered
    exec find tree -type d ;;
  find_type_l) # unordered
    exec find tree -type l ;;
  find_size) # unordered
    exec find tree -type f -size -1 ;;
  find_newer_not) # unordered
    exec find tree/sub ! -name empty ;;
  stat_files) # ordered
    exec stat -c '%n %s %a %F %h' tree/a.txt tree/link tree/sub/empty tree/sub/run.sh tree/bin.dat ;;
  stat_link_follow) # ordered
    # No folder sizes: they are the file system's own (4096 on ext4, the
    # entries' bytes in a RAM file system).
    exec stat -L -c '%n %F %a' tree/link tree/deeplink ;;
  stat_dirs_nlink) # ordered
    exec stat -c '%n %a %F %h' tree tree/sub tree/sub/deep ;;
  readlink) # ordered
    exec readlink tree/deeplink ;;
  readlink_f) # ordered
    exec readlink -f tree/deeplink/../../link ;;
  readlink_missing) # ordered
    exec readlink tree/a.txt ;;
  realpath) # ordered
    exec realpath tree/deeplink tree/./sub//deep/../empty ;;
  basename) # ordered
    exec basename tree/sub/deep/c.txt .txt ;;
  dirname) # ordered
    exec dirname tree/sub/deep/c.txt ;;
  find_maxdepth) # unordered
    exec find tree -maxdepth 1 -type f -name '*.t*' ;;
  find_empty_perm) # unordered
    exec find tree -empty -o -perm -u+x ;;
  find_missing) # ordered
    exec find tree/nothing ;;
  stat_dev_null) # ordered
    exec stat -c '%n %F %a %t %T %s' /dev/null /dev/zero ;;
  test_c_dev_null) # ordered
    exec test -c /dev/null -a -w /dev/null ;;
  od_dev_zero) # direct
    exec od -A d -N 8 -t x1 /dev/zero ;;
  # --- reading text
  cat_n) # direct
    exec cat -n tree/a.txt tree/sub/deep/c.txt ;;
  cat_missing) # direct
    exec cat tree/nothing.txt ;;
  cat_dir) # direct
    exec cat tree/sub ;;
  grep_n) # direct
    exec grep -n alpha tree/a.txt ;;
  grep_c) # direct
    exec grep -c a tree/a.txt tree/b.txt ;;
  grep_E) # direct
    exec grep -E '^(beta|delta).[a-z]+$' tree/a.txt tree/b.txt ;;
  grep_v_i) # direct
    exec grep -vi ALPHA tree/a.txt ;;
  grep_r) # direct unordered
    exec grep -rn alpha tree ;;
  grep_l_r) # direct unordered
    exec grep -rli alpha tree ;;
  grep_none) # direct
    exec grep -q nothing-like-this tree/a.txt ;;
  sed_s) # direct
    exec sed 's/a/A/g;s/^\([a-z]*\)./[\1]./' tree/a.txt ;;
  sed_n_p) # direct
    exec sed -n '2,4p;$p' tree/a.txt ;;
  sed_d) # direct
    exec sed '/alpha/d;/^$/d' tree/a.txt ;;
  sed_y_eq) # direct
    exec sed -n 'y/abc/ABC/;=;p' tree/a.txt ;;
  awk_fields) # ordered
    exec awk -F, 'NR > 1 { print NR ": " $1 " x" $2 " at " $3; total += $2 * $3 } END { printf "total %.2f over %d rows\n", total, NR - 1 }' tree/data.csv ;;
  awk_math) # ordered
    # Debian's build has no awk math functions (sin, exp...): "Math
    # support is not compiled in" on Linux too.
    exec awk 'BEGIN { printf "%d %.4f %.3e %5.1f|%-4s|%x\n", 7 / 2, 22 / 7, 1024 * 1024 * 1024 * 1024, 2.25, "ab", 255; s = "a,b,,c"; n = split(s, p, ","); print n, p[4], length(s), substr(s, 3, 2), toupper(s), index(s, "c"); x = sprintf("%03d", 7); gsub(/0/, "o", x); print x }' ;;
  awk_sum) # ordered
    exec awk '{ s += $1; if ($1 > m) m = $1 } END { print s, m, NR }' tree/nums.txt ;;
  sort_n) # ordered
    exec sort -n tree/nums.txt ;;
  sort_r) # ordered
    exec sort -r tree/a.txt ;;
  sort_u) # ordered
    exec sort -u tree/dups.txt ;;
  sort_k) # ordered
    exec sort -t, -k2,2n -k1,1 tree/data.csv ;;
  uniq_c) # direct
    exec uniq -c tree/dups.txt ;;
  cut_f) # ordered
    exec cut -d, -f1,3 tree/data.csv ;;
  cut_c) # ordered
    exec cut -c2-4 tree/a.txt ;;
  tr_upper) # direct
    exec tr a-z A-Z < tree/a.txt ;;
  tr_d_s) # direct
    exec tr -s 'a-z' -d 'e' < tree/a.txt ;;
  head_n) # ordered
    exec head -n 3 tree/a.txt tree/b.txt ;;
  head_c) # ordered
    exec head -c 20 tree/a.txt ;;
  tail_n) # direct
    exec tail -n 2 tree/a.txt ;;
  tail_c) # direct
    exec tail -c 15 tree/a.txt ;;
  tail_plus) # direct
    exec tail -n +4 tree/a.txt ;;
  wc) # direct
    exec wc tree/a.txt tree/b.txt tree/sub/empty tree/bin.dat ;;
  wc_l) # direct
    exec wc -l tree/nums.txt ;;
  wc_stdin) # direct
    exec wc < tree/data.csv ;;
  od) # direct
    exec od -A x -t x1 tree/bin.dat ;;
  od_c) # direct
    exec od -c tree/bin.dat ;;
  hexdump_C) # ordered
    exec hexdump -C tree/bin.dat ;;
  xxd) # ordered
    exec xxd tree/bin.dat ;;
  strings) # direct
    exec strings -n 3 tree/bin.dat ;;
  md5sum) # ordered
    exec md5sum tree/a.txt tree/bin.dat tree/sub/empty ;;
  md5sum_c) # ordered
    cd tree || exit 98
    exec md5sum -c ../sums.md5 ;;
  sha1sum) # ordered
    exec sha1sum tree/a.txt tree/bin.dat ;;
  sha256sum) # ordered
    exec sha256sum tree/a.txt tree/bin.dat ;;
  sha256sum_stdin) # direct
    exec sha256sum < tree/data.csv ;;
  sha512sum) # ordered
    exec sha512sum tree/data.csv ;;
  cksum) # direct
    exec cksum tree/a.txt tree/bin.dat ;;
  base64) # direct
    exec base64 tree/bin.dat ;;
  cmp_same) # direct
    exec cmp tree/a.txt tree/a.txt ;;
  cmp_differ) # direct
    exec cmp tree/a.txt tree/b.txt ;;
  cmp_l) # direct
    exec cmp -l tree/a.txt tree/b.txt ;;
  diff_u) # direct
    exec diff -L a -L b -u tree/a.txt tree/b.txt ;;
  diff_same) # direct
    exec diff tree/a.txt tree/a.txt ;;
  nl) # direct
    exec nl tree/a.txt ;;
  tac) # ordered
    exec tac tree/a.txt ;;
  rev) # direct
    exec rev tree/a.txt ;;
  fold) # ordered
    exec fold -w 7 tree/a.txt ;;
  expand) # direct
    exec expand -t 4 tree/sub/deep/c.txt ;;
  paste) # ordered
    exec paste -d: tree/a.txt tree/b.txt ;;
  comm) # direct
    exec comm -3 tree/sorted1.txt tree/sorted2.txt ;;
  gunzip_c) # direct
    exec gunzip -c a.txt.gz ;;
  gzip_t) # direct
    # It opens /dev/null (ENOENT before the kernel had /dev).
    exec gzip -t a.txt.gz ;;
  tar_t) # direct
    exec tar -tvf pkg.tar ;;
  tar_x) # direct
    exec tar -xvf pkg.tar -C work ;;
  # --- writing (the guest's root is writable RAM)
  tee) # direct
    exec tee work/copy.txt work/copy2.txt < tree/b.txt ;;
  touch) # ordered
    exec touch work/new work/.keep ;;
  mkdir_p) # ordered
    exec mkdir -pv work/a/b/c ;;
  mkdir_exists) # ordered
    exec mkdir tree/sub ;;
  rmdir_not_empty) # ordered
    exec rmdir tree/sub ;;
  rmdir_not_dir) # ordered
    exec rmdir tree/a.txt ;;
  rm_dir) # ordered
    exec rm tree/sub ;;
  rm_r) # ordered
    exec rm -r tree/sub tree/docs tree/link ;;
  rm_missing) # ordered
    exec rm tree/nothing ;;
  rm_f_missing) # ordered
    exec rm -f tree/nothing ;;
  mv) # ordered
    exec mv tree/a.txt tree/b.txt tree/docs ;;
  mv_into_itself) # ordered
    exec mv tree/sub tree/sub/deep ;;
  ln_s) # ordered
    exec ln -sv ../tree/a.txt work/alink ;;
  ln_s_exists) # ordered
    exec ln -s a.txt tree/link ;;
  ln_hard) # ordered
    exec ln tree/a.txt work/hard ;;
  cp) # ordered
    exec cp -v tree/a.txt work/a-copy.txt ;;
  cp_r) # unordered
    exec cp -rv tree work/tree-copy ;;
  cp_onto_dir) # ordered
    exec cp tree/a.txt tree/sub ;;
  chmod_v) # ordered
    exec chmod -v 600 tree/a.txt tree/sub/run.sh ;;
  chmod_missing) # ordered
    exec chmod 600 tree/nothing ;;
  dd) # direct
    exec dd if=tree/a.txt bs=4 skip=2 count=3 status=none ;;
  sed_inplace) # direct
    exec sed -i s/alpha/ALPHA/ tree/a.txt ;;
  split) # direct
    exec split -b 20 tree/a.txt work/part. ;;
  truncate) # ordered
    exec truncate -s 5 tree/a.txt ;;
  # --- numbers, words, environment
  printf) # ordered
    exec printf '%5d|%-6s|%05.1f|%x|%o|%c|%%|%b\n' 42 ab 3.14159 255 8 xyz 'a\tb' ;;
  expr) # ordered
    exec expr 6 \* 7 + 1 ;;
  expr_match) # ordered
    exec expr abc123 : '[a-z]*\([0-9]*\)' ;;
  expr_false) # ordered
    exec expr 3 \< 1 ;;
  test_d) # ordered
    exec test -d tree/sub ;;
  test_f_false) # ordered
    exec [ -f tree/sub ] ;;
  test_L) # ordered
    exec test -L tree/link -a -s tree/a.txt -a ! -s tree/sub/empty -a -x tree/sub/run.sh ;;
  seq) # ordered
    exec seq 1 3 10 ;;
  seq_w) # ordered
    exec seq -w -s, 8 11 ;;
  factor) # direct
    exec factor 360 97 1001 ;;
  dc) # direct
    exec dc tree/calc.dc ;;
  bc) # direct
    exec bc tree/calc.bc ;;
  cal) # ordered
    exec cal 2 2024 ;;
  date_d) # ordered
    exec date -u -d @1000000000 '+%Y-%m-%d %H:%M:%S %a %j %s' ;;
  env) # direct
    exec env ;;
  printenv) # direct
    exec printenv SWEEP ;;
  uname) # ordered
    exec uname -m ;;
  true) # ordered
    exec true ;;
  false) # ordered
    exec false ;;
  sleep) # direct
    exec sleep 0.1 ;;
  # --- the shell itself
  sh_features) # ordered
    set -u
    f() { echo "f got $# args: $*"; return 3; }
    f a 'b c' d
    echo "status $?"
    i=0
    while [ $i -lt 5 ]; do i=$((i + 1)); [ $i -eq 2 ] && continue; printf '%s ' $i; done
    echo
    for w in one two three; do case $w in t*) echo "t-word $w";; *) echo "other $w";; esac; done
    echo first > work/out.txt
    echo second >> work/out.txt
    while read -r line; do echo "read: $line"; done < work/out.txt
    read -r a b rest <<EOF
x y z w
EOF
    echo "here-doc: a=$a b=$b rest=$rest"
    x=${undefined_var:-default}; y=abcdef
    echo "$x ${#y} ${y#ab} ${y%ef} ${y%%c*}"
    echo $((7 * 6)) $((1 << 10)) $((-7 / 2)) $((0x10 + 010))
    kill -0 $$ && echo "kill -0 self ok"
    false || echo "false gave $?"
    trap 'echo "USR1 trapped"' USR1
    kill -USR1 $$
    trap 'echo "exit trap"' EXIT
    set -e
    true
    echo "last"
    false
    echo "not reached" ;;
  # --- child processes: fork, execve, wait4, pipes
  sh_pipes) # ordered
    sort tree/dups.txt | uniq -c | sort -rn | head -n 3
    seq 1 100 | wc -l
    echo hello world | tr a-z A-Z | rev
    false | true; echo "pipeline status $?"
    true | false; echo "pipeline status $?"
    yes | head -n 3
    cat tree/a.txt | cat | cat | md5sum ;;
  sh_subst) # ordered
    n=$(seq 1 5 | wc -l); echo "n=$n"
    echo "files in tree/sub: $(ls tree/sub | sort | tr '\n' ' ')"
    echo "backticks: `echo inner`"
    x=$(exit 3); echo "substitution status $?"
    ( cd tree/sub && pwd ); pwd
    (exit 4); echo "subshell status $?"
    sh -c 'echo "child sh $0 $1"; exit 5' zero one; echo "sh -c status $?"
    sleep 0.1 & wait $!; echo "background waited $?" ;;
  xargs) # ordered
    seq 1 5 | xargs echo
    printf 'a\nb\nc\n' | xargs -n 1 echo item
    printf 'tree/a.txt\ntree/b.txt\n' | xargs wc -l ;;
  find_exec) # ordered
    find tree -name '*.txt' -exec wc -c {} \; | sort
    find tree/sub -type f -exec echo found {} + | tr ' ' '\n' | sort ;;
  env_cmd) # ordered
    # bin/NAME links to /proc/self/exe: the same BusyBox on both sides
    # (the host's default PATH would find its own programs).
    PATH=bin env FOO=bar env | grep FOO
    env -i A=1 B=2 bin/env | sort
    PATH=bin env FOO=bar sh -c 'echo "FOO is $FOO"'
    PATH=bin env true; echo "env true status $?"
    env ./no-such-program; echo "env missing status $?" ;;
  zcat) # ordered
    zcat a.txt.gz | head -n 2 ;;
  sh_redirect_errors) # ordered
    echo x > tree/sub || echo "redirect to a folder failed: $?"
    read -r l < tree/nothing || echo "read of a missing file failed: $?"
    cd tree/nothing || echo "cd failed: $?"
    cd tree/sub/deep && pwd ;;
  *)
    echo "no section $1" >&2
    exit 2 ;;
esac
