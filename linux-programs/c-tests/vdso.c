/*
 * The vDSO: the kernel maps it (AT_SYSINFO_EHDR, [vdso] and [vvar] in
 * /proc/self/maps), its functions are found by name and version as C
 * libraries find them, they answer as the system calls do, and musl's
 * clock_gettime goes through it. Booted once as is and once with
 * vdso=off (env C_TESTS_VDSO=off), where none of it may be there and
 * every call must still work through the system calls.
 */
#include "harness.h"
#include "vdso.h"

#include <elf.h>
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* Whether this boot has a vDSO (the plan says so through the environment). */
static int vdso_expected(void)
{
	const char *v = getenv("C_TESTS_VDSO");
	return !(v && strcmp(v, "off") == 0);
}

/*
 * The address of `name` at version LINUX_2.6 in the vDSO, or NULL: the
 * lookup musl's src/internal/vdso.c makes (PT_LOAD for the load bias,
 * PT_DYNAMIC for the tables, DT_HASH's chain count for the symbol count).
 */
static void *vdso_sym(const char *name)
{
	const Elf64_Ehdr *eh = (const void *)getauxval(AT_SYSINFO_EHDR);
	if (!eh)
		return NULL;
	const Elf64_Phdr *ph = (const void *)((const char *)eh + eh->e_phoff);
	uintptr_t base = 0;
	const Elf64_Dyn *dyn = NULL;
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD)
			base = (uintptr_t)eh + ph[i].p_offset - ph[i].p_vaddr;
		else if (ph[i].p_type == PT_DYNAMIC)
			dyn = (const void *)((const char *)eh + ph[i].p_offset);
	}
	CHECK(dyn != NULL);
	const char *strtab = NULL;
	const Elf64_Sym *symtab = NULL;
	const Elf64_Word *hash = NULL;
	const Elf64_Half *versym = NULL;
	const Elf64_Verdef *verdef = NULL;
	for (; dyn->d_tag != DT_NULL; dyn++) {
		void *p = (void *)(base + dyn->d_un.d_ptr);
		switch (dyn->d_tag) {
		case DT_STRTAB: strtab = p; break;
		case DT_SYMTAB: symtab = p; break;
		case DT_HASH: hash = p; break;
		case DT_VERSYM: versym = p; break;
		case DT_VERDEF: verdef = p; break;
		}
	}
	CHECK(strtab && symtab && hash && versym && verdef);
	for (Elf64_Word i = 0; i < hash[1]; i++) {
		const Elf64_Sym *s = &symtab[i];
		if (ELF64_ST_TYPE(s->st_info) != STT_FUNC || ELF64_ST_BIND(s->st_info) != STB_GLOBAL ||
		    s->st_shndx == SHN_UNDEF || strcmp(strtab + s->st_name, name) != 0)
			continue;
		for (const Elf64_Verdef *d = verdef;; d = (const void *)((const char *)d + d->vd_next)) {
			if (!(d->vd_flags & VER_FLG_BASE) && (d->vd_ndx & 0x7fff) == (versym[i] & 0x7fff)) {
				const Elf64_Verdaux *aux = (const void *)((const char *)d + d->vd_aux);
				if (strcmp(strtab + aux->vda_name, "LINUX_2.6") == 0)
					return (void *)(base + s->st_value);
			}
			if (!d->vd_next)
				break;
		}
	}
	return NULL;
}

/* /proc/self/maps' line naming `what`, copied to `line`; 0 if none. */
static int maps_line(const char *what, char *line, size_t size)
{
	FILE *f = fopen("/proc/self/maps", "r");
	CHECK(f != NULL);
	int found = 0;
	while (!found && fgets(line, (int)size, f))
		found = strstr(line, what) != NULL;
	fclose(f);
	return found;
}

void vdso_mapped_as_auxv_and_maps_say(void)
{
	const Elf64_Ehdr *eh = (const void *)getauxval(AT_SYSINFO_EHDR);
	char vdso[256], vvar[256];
	int has_vdso = maps_line("[vdso]", vdso, sizeof vdso), has_vvar = maps_line("[vvar]", vvar, sizeof vvar);
	if (!vdso_expected()) {
		CHECK(eh == NULL && !has_vdso && !has_vvar);
		return;
	}
	CHECK(eh != NULL);
	CHECK(memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0 && eh->e_ident[EI_CLASS] == ELFCLASS64);
	CHECK(eh->e_type == ET_DYN && eh->e_machine == EM_X86_64);
	CHECK(has_vdso && has_vvar);
	unsigned long vdso_start, vdso_end, vvar_start, vvar_end;
	char vdso_perm[5], vvar_perm[5];
	CHECK(sscanf(vdso, "%lx-%lx %4s", &vdso_start, &vdso_end, vdso_perm) == 3);
	CHECK(sscanf(vvar, "%lx-%lx %4s", &vvar_start, &vvar_end, vvar_perm) == 3);
	CHECK(vdso_start == (uintptr_t)eh);
	CHECK(strcmp(vdso_perm, "r-xp") == 0 && strcmp(vvar_perm, "r--p") == 0);
	CHECK(vvar_end == vdso_start && vvar_end - vvar_start == 4096);
}

static int ts_le(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec <= b->tv_nsec);
}

void vdso_functions_answer_as_the_system_calls(void)
{
	typedef long (*gettime_fn)(clockid_t, struct timespec *);
	typedef long (*getres_fn)(clockid_t, struct timespec *);
	typedef long (*gettimeofday_fn)(struct timeval *, struct timezone *);
	typedef long (*time_fn)(time_t *);
	typedef long (*getcpu_fn)(unsigned *, unsigned *, void *);
	gettime_fn gettime = (gettime_fn)vdso_sym("__vdso_clock_gettime");
	getres_fn getres = (getres_fn)vdso_sym("__vdso_clock_getres");
	gettimeofday_fn gtod = (gettimeofday_fn)vdso_sym("__vdso_gettimeofday");
	time_fn vtime = (time_fn)vdso_sym("__vdso_time");
	getcpu_fn getcpu = (getcpu_fn)vdso_sym("__vdso_getcpu");
	if (!vdso_expected()) {
		CHECK(!gettime && !getres && !gtod && !vtime && !getcpu);
		return;
	}
	CHECK(gettime && getres && gtod && vtime && getcpu);
	CHECK(vdso_sym("__vdso_clock_gettime_nonexistent") == NULL);

	/* Each clock the vDSO reads itself, interleaved with the system call:
	 * neither is ever behind the other (one formula, one TSC). */
	const clockid_t clocks[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW,
				    CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME};
	for (size_t c = 0; c < sizeof clocks / sizeof clocks[0]; c++) {
		for (int i = 0; i < 200; i++) {
			struct timespec a, b, d;
			CHECK(gettime(clocks[c], &a) == 0);
			CHECK(syscall(SYS_clock_gettime, clocks[c], &b) == 0);
			CHECK(gettime(clocks[c], &d) == 0);
			CHECK(a.tv_nsec >= 0 && a.tv_nsec < 1000000000 && d.tv_nsec < 1000000000);
			CHECK(ts_le(&a, &b) && ts_le(&b, &d));
		}
	}
	/* What it passes on: CPU-time clocks answer, unknown clocks EINVAL. */
	struct timespec ts;
	CHECK(gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) == 0 && ts.tv_nsec < 1000000000);
	CHECK(gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0);
	CHECK(gettime(99, &ts) == -EINVAL);
	CHECK(getres(CLOCK_MONOTONIC, &ts) == 0 && ts.tv_sec == 0 && ts.tv_nsec == 1);
	CHECK(getres(99, &ts) == -EINVAL);

	struct timeval t1, t2, s;
	CHECK(gtod(&t1, NULL) == 0);
	CHECK(syscall(SYS_gettimeofday, &s, NULL) == 0);
	CHECK(gtod(&t2, NULL) == 0);
	long long u1 = t1.tv_sec * 1000000LL + t1.tv_usec, us = s.tv_sec * 1000000LL + s.tv_usec,
		  u2 = t2.tv_sec * 1000000LL + t2.tv_usec;
	CHECK(t1.tv_usec >= 0 && t1.tv_usec < 1000000 && u1 <= us && us <= u2);
	struct timezone tz = {-1, -1};
	CHECK(gtod(NULL, &tz) == 0 && tz.tz_minuteswest == 0 && tz.tz_dsttime == 0);

	time_t stored = 0;
	long v1 = vtime(NULL), sys = syscall(SYS_time, NULL), v2 = vtime(&stored);
	CHECK(v1 > 1577836800 && v1 <= sys && sys <= v2 && stored == v2);

	/* getcpu on each CPU this thread is moved to. */
	cpu_set_t all;
	CHECK(sched_getaffinity(0, sizeof all, &all) == 0);
	int cpus = 0;
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &all))
			continue;
		cpu_set_t one;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		CHECK(sched_setaffinity(0, sizeof one, &one) == 0);
		unsigned vc = 99, vn = 99, sc = 98, sn = 98;
		CHECK(getcpu(&vc, &vn, NULL) == 0);
		CHECK(syscall(SYS_getcpu, &sc, &sn, NULL) == 0);
		CHECK(vc == (unsigned)cpu && sc == (unsigned)cpu && vn == 0 && sn == 0);
		cpus++;
	}
	CHECK(cpus >= 1);
	CHECK(sched_setaffinity(0, sizeof all, &all) == 0);
}

static sigjmp_buf fault_jump;
static volatile uintptr_t fault_address;

static void on_segv(int sig, siginfo_t *info, void *ctx)
{
	(void)sig;
	(void)ctx;
	fault_address = (uintptr_t)info->si_addr;
	siglongjmp(fault_jump, 1);
}

/*
 * musl's clock_gettime calls the vDSO when there is one: then a bad
 * pointer is the caller's own page fault in ring 3 (as on Linux), where
 * the system call would have said EFAULT. So the answer to a bad pointer
 * tells which way the call went.
 */
void clock_gettime_goes_through_the_vdso(void)
{
	struct sigaction sa, old;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO;
	CHECK(sigaction(SIGSEGV, &sa, &old) == 0);
	struct timespec *bad = (struct timespec *)8;
	fault_address = 0;
	int faulted = 0, result = 0, error = 0;
	if (sigsetjmp(fault_jump, 1) == 0) {
		errno = 0;
		result = clock_gettime(CLOCK_MONOTONIC, bad);
		error = errno;
	} else {
		faulted = 1;
	}
	CHECK(sigaction(SIGSEGV, &old, NULL) == 0);
	if (vdso_expected()) {
		CHECK(faulted && fault_address == 8);
	} else {
		CHECK(!faulted && result == -1 && error == EFAULT);
	}
	/* And the good call works either way. */
	struct timespec ts;
	CHECK(clock_gettime(CLOCK_MONOTONIC, &ts) == 0 && ts.tv_nsec < 1000000000);
}
