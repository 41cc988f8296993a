/*
 * C on musl, linked with musl-gcc -static: stdio formatting, malloc,
 * pthreads, time, signals. Each test fails with CHECK (exit status 101).
 */
#include "harness.h"
#include "vdso.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void stdio_formats(void)
{
	char buf[64];
	int n = snprintf(buf, sizeof buf, "%d %s %5.2f %x", -42, "libos", 3.14159, 255u);
	CHECK(n == 18);
	CHECK(strcmp(buf, "-42 libos  3.14 ff") == 0);
	int a = 0;
	char word[16];
	CHECK(sscanf("17 apples", "%d %15s", &a, word) == 2);
	CHECK(a == 17 && strcmp(word, "apples") == 0);
}

static void malloc_sizes_and_realloc(void)
{
	/* Small blocks (brk), large ones (mmap), growth (mremap). */
	for (size_t size = 1; size <= (8u << 20); size *= 3) {
		unsigned char *p = malloc(size);
		CHECK(p != NULL);
		memset(p, 0x5a, size);
		p = realloc(p, size * 2 + 1);
		CHECK(p != NULL);
		CHECK(p[0] == 0x5a && p[size - 1] == 0x5a);
		free(p);
	}
	unsigned *z = calloc(100000, sizeof *z);
	CHECK(z != NULL);
	for (int i = 0; i < 100000; i++)
		CHECK(z[i] == 0);
	free(z);
}

static pthread_mutex_t counter_lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static void *add_many(void *arg)
{
	(void)arg;
	for (int i = 0; i < 10000; i++) {
		pthread_mutex_lock(&counter_lock);
		counter++;
		pthread_mutex_unlock(&counter_lock);
	}
	return (void *)(intptr_t)7;
}

static void pthreads_share_a_mutex(void)
{
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		CHECK(pthread_create(&t[i], NULL, add_many, NULL) == 0);
	for (int i = 0; i < 4; i++) {
		void *ret = NULL;
		CHECK(pthread_join(t[i], &ret) == 0);
		CHECK(ret == (void *)(intptr_t)7);
	}
	CHECK(counter == 40000);
}

static pthread_mutex_t turn_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn_cond = PTHREAD_COND_INITIALIZER;
static int turn;

static void *ping(void *arg)
{
	(void)arg;
	for (int round = 0; round < 100; round++) {
		pthread_mutex_lock(&turn_lock);
		while (turn % 2 == 0)
			pthread_cond_wait(&turn_cond, &turn_lock);
		turn++;
		pthread_cond_signal(&turn_cond);
		pthread_mutex_unlock(&turn_lock);
	}
	return NULL;
}

/* One waiter at a time. */
static void pthread_condvar_handshake(void)
{
	pthread_t t;
	CHECK(pthread_create(&t, NULL, ping, NULL) == 0);
	for (int round = 0; round < 100; round++) {
		pthread_mutex_lock(&turn_lock);
		turn++;
		pthread_cond_signal(&turn_cond);
		while (turn % 2 == 1)
			pthread_cond_wait(&turn_cond, &turn_lock);
		pthread_mutex_unlock(&turn_lock);
	}
	CHECK(pthread_join(t, NULL) == 0);
	CHECK(turn == 200);
}

static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static int gate_round, gate_waiting, gate_passed;

#define GATE_WAITERS 4
#define GATE_ROUNDS 20

static void *gate_waiter(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&gate_lock);
	for (int round = 1; round <= GATE_ROUNDS; round++) {
		gate_waiting++;
		while (gate_round < round)
			pthread_cond_wait(&gate_cond, &gate_lock);
		gate_passed++;
	}
	pthread_mutex_unlock(&gate_lock);
	return NULL;
}

/*
 * Several waiters, woken together by pthread_cond_broadcast: musl wakes
 * the first and requeues the others onto the mutex (FUTEX_REQUEUE in
 * pthread_cond_timedwait.c's unlock_requeue).
 */
static void pthread_cond_broadcast_wakes_every_waiter(void)
{
	pthread_t t[GATE_WAITERS];
	for (int i = 0; i < GATE_WAITERS; i++)
		CHECK(pthread_create(&t[i], NULL, gate_waiter, NULL) == 0);
	for (int round = 1; round <= GATE_ROUNDS; round++) {
		pthread_mutex_lock(&gate_lock);
		while (gate_waiting < GATE_WAITERS * round) {
			pthread_mutex_unlock(&gate_lock);
			sched_yield();
			pthread_mutex_lock(&gate_lock);
		}
		gate_round = round;
		pthread_cond_broadcast(&gate_cond);
		pthread_mutex_unlock(&gate_lock);
	}
	for (int i = 0; i < GATE_WAITERS; i++)
		CHECK(pthread_join(t[i], NULL) == 0);
	CHECK(gate_passed == GATE_WAITERS * GATE_ROUNDS);
}

static void *detached_thread(void *arg)
{
	*(volatile int *)arg = 1;
	return NULL;
}

static void pthread_detached_and_attributes(void)
{
	static volatile int ran;
	pthread_attr_t attr;
	pthread_t t;
	CHECK(pthread_attr_init(&attr) == 0);
	CHECK(pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) == 0);
	CHECK(pthread_attr_setstacksize(&attr, 256 * 1024) == 0);
	CHECK(pthread_create(&t, &attr, detached_thread, (void *)&ran) == 0);
	/* On several CPUs the thread starts on another one, which the host
	 * may run late (each virtual CPU is a host thread): wait for it by
	 * the clock, up to 10 s, not by a count of sched_yield calls. */
	struct timespec start, now, ms = {0, 1000 * 1000};
	CHECK(clock_gettime(CLOCK_MONOTONIC, &start) == 0);
	do {
		if (ran)
			break;
		nanosleep(&ms, NULL);
		CHECK(clock_gettime(CLOCK_MONOTONIC, &now) == 0);
	} while (now.tv_sec - start.tv_sec < 10);
	CHECK(ran == 1);
}

static void clocks_and_sleep(void)
{
	struct timespec a, b, res;
	CHECK(clock_gettime(CLOCK_MONOTONIC, &a) == 0);
	struct timespec req = {0, 5 * 1000 * 1000};
	CHECK(nanosleep(&req, NULL) == 0);
	CHECK(clock_gettime(CLOCK_MONOTONIC, &b) == 0);
	long long ns = (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
	CHECK(ns >= 5 * 1000 * 1000);
	CHECK(clock_getres(CLOCK_MONOTONIC, &res) == 0 && res.tv_sec == 0 && res.tv_nsec > 0);
	CHECK(time(NULL) > 1577836800);
	CHECK(clock_nanosleep(CLOCK_MONOTONIC, 0, &req, NULL) == 0);
}

static void process_identity_and_limits(void)
{
	CHECK(getuid() == 0 && geteuid() == 0 && getgid() == 0 && getegid() == 0);
	CHECK(getpgrp() == getpid());
	CHECK(getppid() == 0);
	struct rlimit rl;
	CHECK(getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur == 8u << 20);
	CHECK(sysconf(_SC_PAGESIZE) == 4096);
	CHECK(sysconf(_SC_NPROCESSORS_ONLN) >= 1);
	struct utsname u;
	CHECK(uname(&u) == 0 && strcmp(u.machine, "x86_64") == 0);
}

static void anonymous_mappings(void)
{
	size_t len = 16 * 4096;
	unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED);
	memset(p, 1, len);
	CHECK(madvise(p, len, MADV_DONTNEED) == 0);
	CHECK(p[0] == 0 && p[len - 1] == 0);
	unsigned char *q = mremap(p, len, 2 * len, MREMAP_MAYMOVE);
	CHECK(q != MAP_FAILED);
	CHECK(munmap(q, 2 * len) == 0);
	CHECK(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, -1, 0) == MAP_FAILED && errno == EBADF);
}

/*
 * musl's pthread_getattr_np measures the main thread's stack by asking
 * mremap to grow each page below the auxiliary vector in place: ENOMEM
 * (mapped, cannot grow) goes on, EFAULT (unmapped) stops. Linux's initial
 * stack mapping is at least 128 KiB (setup_arg_pages in fs/exec.c), the
 * part above the auxiliary vector not counted.
 */
static void main_thread_stack_extent(void)
{
	pthread_attr_t attr;
	void *addr;
	size_t size;
	CHECK(pthread_getattr_np(pthread_self(), &attr) == 0);
	CHECK(pthread_attr_getstack(&attr, &addr, &size) == 0);
	int local = 0;
	uintptr_t here = (uintptr_t)&local;
	CHECK(size >= 64 * 1024);
	CHECK(here >= (uintptr_t)addr && here < (uintptr_t)addr + size);
	CHECK(pthread_attr_destroy(&attr) == 0);
}

/* What the SIGSEGV handler saw, and where it jumps back to. */
static sigjmp_buf segv_return;
static volatile sig_atomic_t segv_signo, segv_code, segv_blocked;
static void *volatile segv_addr;

static void on_segv(int signo, siginfo_t *info, void *context)
{
	(void)context;
	sigset_t now;
	segv_signo = signo;
	segv_code = info->si_code;
	segv_addr = info->si_addr;
	/* Blocked while its handler runs (no SA_NODEFER). */
	segv_blocked = sigprocmask(SIG_BLOCK, NULL, &now) == 0 && sigismember(&now, SIGSEGV);
	siglongjmp(segv_return, 1);
}

/* Touches addr; whether a SIGSEGV handler jumped out of the access. */
static int faults(volatile unsigned char *addr)
{
	if (sigsetjmp(segv_return, 1) == 0) {
		(void)*addr;
		return 0;
	}
	return 1;
}

/*
 * SA_SIGINFO on SIGSEGV: si_addr is the faulting address, si_code says
 * unmapped (SEGV_MAPERR) or forbidden (SEGV_ACCERR); siglongjmp leaves
 * the handler and restores the mask sigsetjmp saved.
 */
static void sigsegv_siginfo_and_siglongjmp(void)
{
	struct sigaction sa = {0};
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(SIGSEGV, &sa, NULL) == 0);

	CHECK(faults((volatile unsigned char *)16));
	CHECK(segv_signo == SIGSEGV && segv_code == SEGV_MAPERR && segv_addr == (void *)16 && segv_blocked);
	sigset_t now;
	CHECK(sigprocmask(SIG_BLOCK, NULL, &now) == 0 && !sigismember(&now, SIGSEGV));

	unsigned char *page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(page != MAP_FAILED);
	segv_addr = NULL;
	CHECK(faults(page + 123));
	CHECK(segv_signo == SIGSEGV && segv_code == SEGV_ACCERR && segv_addr == page + 123);
	CHECK(munmap(page, 4096) == 0);

	sa.sa_handler = SIG_DFL;
	sa.sa_flags = 0;
	CHECK(sigaction(SIGSEGV, &sa, NULL) == 0);
}

static volatile sig_atomic_t usr1_count, usr1_signo, usr1_usr2_blocked;

static void on_usr1(int signo)
{
	sigset_t now;
	usr1_count++;
	usr1_signo = signo;
	/* sa_mask is added while the handler runs. */
	usr1_usr2_blocked = sigprocmask(SIG_BLOCK, NULL, &now) == 0 && sigismember(&now, SIGUSR2);
}

/* raise() runs the handler before it returns; the mask comes back. */
static void raise_runs_the_handler(void)
{
	struct sigaction sa = {0};
	sa.sa_handler = on_usr1;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
	CHECK(raise(SIGUSR1) == 0);
	CHECK(usr1_count == 1 && usr1_signo == SIGUSR1 && usr1_usr2_blocked);
	sigset_t now;
	CHECK(sigprocmask(SIG_BLOCK, NULL, &now) == 0 && !sigismember(&now, SIGUSR2));
	/* Blocked, it waits; unblocked, it runs. */
	sigset_t usr1;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	CHECK(sigprocmask(SIG_BLOCK, &usr1, NULL) == 0);
	CHECK(raise(SIGUSR1) == 0);
	CHECK(usr1_count == 1);
	CHECK(sigpending(&now) == 0 && sigismember(&now, SIGUSR1));
	CHECK(sigprocmask(SIG_UNBLOCK, &usr1, NULL) == 0);
	CHECK(usr1_count == 2);
}

/*
 * /dev/null, /dev/zero and /dev/full as drivers/char/mem.c has them:
 * character devices 1:3, 1:5 and 1:7, mode 0666; null reads as end of
 * file and swallows writes, zero reads zeros, full reads zeros and
 * refuses writes with ENOSPC; O_TRUNC is ignored on a device; creating a
 * file in /dev is refused (the folder cannot change here: EACCES, as
 * Linux's VFS answers a file system without `create`). BusyBox's gzip -t
 * opens /dev/null.
 */
static void dev_null_zero_full(void)
{
	struct stat st;
	char buf[16];
	CHECK(stat("/dev/null", &st) == 0);
	CHECK(S_ISCHR(st.st_mode) && (st.st_mode & 07777) == 0666);
	CHECK(major(st.st_rdev) == 1 && minor(st.st_rdev) == 3 && st.st_size == 0);
	int fd = open("/dev/null", O_RDWR | O_TRUNC);
	CHECK(fd >= 0);
	CHECK(write(fd, "dropped", 7) == 7);
	memset(buf, 7, sizeof buf);
	CHECK(read(fd, buf, sizeof buf) == 0 && buf[0] == 7);
	CHECK(close(fd) == 0);
	fd = open("/dev/zero", O_RDONLY);
	CHECK(fd >= 0);
	CHECK(read(fd, buf, sizeof buf) == (ssize_t)sizeof buf);
	for (size_t i = 0; i < sizeof buf; i++)
		CHECK(buf[i] == 0);
	CHECK(fstat(fd, &st) == 0 && major(st.st_rdev) == 1 && minor(st.st_rdev) == 5);
	CHECK(close(fd) == 0);
	fd = open("/dev/full", O_WRONLY);
	CHECK(fd >= 0);
	errno = 0;
	CHECK(write(fd, "x", 1) == -1 && errno == ENOSPC);
	CHECK(close(fd) == 0);
	errno = 0;
	CHECK(open("/dev/new-file", O_WRONLY | O_CREAT, 0644) == -1 && errno == EACCES);
	errno = 0;
	CHECK(open("/dev/nothing", O_RDONLY) == -1 && errno == ENOENT);
}

/* Free memory (pages, from sysinfo) now. */
static unsigned long free_pages(void)
{
	struct sysinfo si;
	CHECK(sysinfo(&si) == 0);
	return (unsigned long)(si.freeram * si.mem_unit / 4096);
}

/* 2000 children forked and reaped one by one: every one gets its own pid
 * and status, and the kernel's free memory comes back (no process, page or
 * table is left behind). */
static void fork_and_reap_2000_leaves_nothing_behind(void)
{
	/* A first round, so that caches and the heap have their size. */
	for (int i = 0; i < 20; i++) {
		pid_t pid = fork();
		CHECK(pid >= 0);
		if (pid == 0)
			_exit(i);
		int st;
		CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == i);
	}
	unsigned long before = free_pages();
	for (int i = 0; i < 2000; i++) {
		pid_t pid = fork();
		CHECK(pid >= 0);
		if (pid == 0)
			_exit(i & 0xff);
		int st;
		CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == (i & 0xff));
	}
	unsigned long after = free_pages();
	/* A few pages of slack for the kernel heap's own growth. */
	CHECK(after + 16 >= before);
	errno = 0;
	CHECK(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD);
}

/* Forking until the kernel refuses ends in EAGAIN (its process limit),
 * never in a panic or a hang; the children, each waiting on a pipe, end
 * when it closes, are all reaped, and fork works again. */
static void fork_bomb_ends_in_eagain(void)
{
	int p[2];
	CHECK(pipe(p) == 0);
	int children = 0;
	for (;;) {
		pid_t pid = fork();
		if (pid == 0) {
			char c;
			close(p[1]);
			_exit(read(p[0], &c, 1) == 0 ? 0 : 1);
		}
		if (pid < 0) {
			CHECK(errno == EAGAIN);
			break;
		}
		children++;
		CHECK(children < 100000);
	}
	CHECK(children >= 16);
	close(p[1]);
	close(p[0]);
	for (int i = 0; i < children; i++) {
		int st;
		CHECK(waitpid(-1, &st, 0) > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	errno = 0;
	CHECK(waitpid(-1, NULL, 0) == -1 && errno == ECHILD);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		_exit(0);
	CHECK(waitpid(pid, NULL, 0) == pid);
}

/* A child killed by a fault: the parent sees the signal, the child's
 * report does not end the parent. */
static void child_fault_is_its_own(void)
{
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		volatile uintptr_t bad = 8;
		*(volatile int *)bad = 1;
		_exit(0);
	}
	int st;
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);
}

/* A child left running when the test's process ends is ended with it (the
 * run goes on to the next test). */
static void running_child_left_behind(void)
{
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		for (;;)
			sleep(1);
	}
}

static const struct test TESTS[] = {
	{"c_tests::stdio_formats", stdio_formats},
	{"c_tests::malloc_sizes_and_realloc", malloc_sizes_and_realloc},
	{"c_tests::pthreads_share_a_mutex", pthreads_share_a_mutex},
	{"c_tests::pthread_condvar_handshake", pthread_condvar_handshake},
	{"c_tests::pthread_cond_broadcast_wakes_every_waiter", pthread_cond_broadcast_wakes_every_waiter},
	{"c_tests::pthread_detached_and_attributes", pthread_detached_and_attributes},
	{"c_tests::clocks_and_sleep", clocks_and_sleep},
	{"c_tests::process_identity_and_limits", process_identity_and_limits},
	{"c_tests::anonymous_mappings", anonymous_mappings},
	{"c_tests::main_thread_stack_extent", main_thread_stack_extent},
	{"c_tests::sigsegv_siginfo_and_siglongjmp", sigsegv_siginfo_and_siglongjmp},
	{"c_tests::raise_runs_the_handler", raise_runs_the_handler},
	{"c_tests::dev_null_zero_full", dev_null_zero_full},
	{"c_tests::vdso_mapped_as_auxv_and_maps_say", vdso_mapped_as_auxv_and_maps_say},
	{"c_tests::vdso_functions_answer_as_the_system_calls", vdso_functions_answer_as_the_system_calls},
	{"c_tests::clock_gettime_goes_through_the_vdso", clock_gettime_goes_through_the_vdso},
	{"c_tests::fork_and_reap_2000_leaves_nothing_behind", fork_and_reap_2000_leaves_nothing_behind},
	{"c_tests::fork_bomb_ends_in_eagain", fork_bomb_ends_in_eagain},
	{"c_tests::child_fault_is_its_own", child_fault_is_its_own},
	{"c_tests::running_child_left_behind", running_child_left_behind},
};

int main(int argc, char **argv)
{
	return run_tests(TESTS, (int)(sizeof TESTS / sizeof TESTS[0]), argc, argv);
}
