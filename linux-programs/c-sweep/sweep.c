/*
 * What ordinary POSIX C programs do, on musl, printed as deterministic
 * facts (values, errno names, sizes; never pids, addresses, times or inode
 * numbers). `cargo xtask test` runs it once on the host's Linux and once
 * in the unikernel and compares the outputs section by section: a line
 * "@@ section NAME" starts a compared section, "@@ uncompared NAME" one
 * that is only shown (calls the kernel does not implement: Linux succeeds
 * where we say ENOSYS), "@@ end" ends the run.
 *
 * Usage: c-sweep DIR [ARG...]: DIR is an empty-or-missing scratch folder
 * the program makes and works in (a fresh one under the host's target
 * folder on Linux, /tmp/c-sweep in the unikernel). The extra arguments are
 * printed by the args section.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* ---- printing helpers ---- */

static const char *errname(int e)
{
	switch (e) {
	case 0:
		return "0";
#define E(x) case x: return #x;
		E(EPERM) E(ENOENT) E(ESRCH) E(EINTR) E(EIO) E(ENXIO) E(E2BIG) E(ENOEXEC)
		E(EBADF) E(ECHILD) E(EAGAIN) E(ENOMEM) E(EACCES) E(EFAULT) E(EBUSY)
		E(EEXIST) E(EXDEV) E(ENODEV) E(ENOTDIR) E(EISDIR) E(EINVAL) E(ENFILE)
		E(EMFILE) E(ENOTTY) E(EFBIG) E(ENOSPC) E(ESPIPE) E(EROFS) E(EMLINK)
		E(EPIPE) E(EDOM) E(ERANGE) E(EDEADLK) E(ENAMETOOLONG) E(ENOSYS)
		E(ENOTEMPTY) E(ELOOP) E(ENOTSUP) E(EOVERFLOW) E(ETIMEDOUT)
#undef E
	}
	static char buf[32];
	snprintf(buf, sizeof buf, "errno %d", e);
	return buf;
}

/* "NAME: ok" / "NAME: -1 ENOENT" for a call returning -1 and errno. */
static void res(const char *what, long ret)
{
	if (ret == -1)
		printf("%s: -1 %s\n", what, errname(errno));
	else
		printf("%s: %ld\n", what, ret);
}

static void section(const char *name)
{
	printf("@@ section %s\n", name);
}

/* ---- stdio ---- */

static void sweep_stdio(void)
{
	section("stdio");
	FILE *f = fopen("s.txt", "w");
	printf("fopen w: %s\n", f ? "ok" : errname(errno));
	if (!f)
		return;
	printf("fprintf: %d\n", fprintf(f, "line one %d\nline two %s\n%.3f\n", 42, "x", 2.5));
	printf("ftell after write: %ld\n", ftell(f));
	printf("fclose: %d\n", fclose(f));
	f = fopen("s.txt", "r+");
	char line[64];
	while (fgets(line, sizeof line, f))
		printf("fgets: %s", line);
	printf("feof: %d ferror: %d\n", feof(f) != 0, ferror(f) != 0);
	int r = fseek(f, 5, SEEK_SET);
	printf("fseek 5: %d ftell: %ld\n", r, ftell(f));
	int c = fgetc(f);
	printf("fgetc: %c ungetc: %c\n", c, ungetc('Z', f));
	c = fgetc(f);
	printf("after ungetc fgetc: %c ftell: %ld\n", c, ftell(f));
	r = fseek(f, 0, SEEK_END);
	printf("fseek end: %d ftell: %ld\n", r, ftell(f));
	fputs("appended\n", f);
	rewind(f);
	size_t n = fread(line, 1, 8, f);
	printf("fread 8: %zu %.8s\n", n, line);
	fclose(f);
	printf("fopen missing: %s\n", fopen("missing.txt", "r") ? "ok" : errname(errno));

	/* setvbuf: a fully buffered stream writes nothing until flushed. */
	f = fopen("buf.txt", "w");
	static char buffer[256];
	printf("setvbuf full: %d\n", setvbuf(f, buffer, _IOFBF, sizeof buffer));
	fputs("buffered", f);
	struct stat st;
	stat("buf.txt", &st);
	printf("size before fflush: %lld\n", (long long)st.st_size);
	fflush(f);
	stat("buf.txt", &st);
	printf("size after fflush: %lld\n", (long long)st.st_size);
	fclose(f);

	f = tmpfile();
	printf("tmpfile: %s\n", f ? "ok" : errname(errno));
	if (f) {
		fprintf(f, "temporary %d", 7);
		rewind(f);
		int v = 0;
		int matched = fscanf(f, "temporary %d", &v);
		printf("fscanf: %d %d\n", matched, v);
		fclose(f);
	}
	char *mem = NULL;
	size_t memlen = 0;
	FILE *m = open_memstream(&mem, &memlen);
	fprintf(m, "memstream %s", "text");
	fclose(m);
	printf("open_memstream: %zu %s\n", memlen, mem);
	free(mem);
	f = fopen("s.txt", "r");
	char *lineptr = NULL;
	size_t cap = 0;
	ssize_t got;
	while ((got = getline(&lineptr, &cap, f)) > 0)
		printf("getline %zd\n", got);
	free(lineptr);
	fclose(f);
}

/* ---- files ---- */

static void print_stat(const char *what, const struct stat *st)
{
	printf("%s: type %o perm %o nlink %lu size %lld\n", what, (unsigned)(st->st_mode & S_IFMT),
	       (unsigned)(st->st_mode & 07777), (unsigned long)st->st_nlink, (long long)st->st_size);
}

static void sweep_files(void)
{
	section("files");
	char buf[64];
	struct stat st;
	printf("umask old: %o\n", umask(022));
	int fd = open("f.bin", O_CREAT | O_EXCL | O_RDWR, 0666);
	res("open creat excl", fd >= 0 ? 0 : -1);
	res("open creat excl again", open("f.bin", O_CREAT | O_EXCL | O_RDWR, 0666));
	res("write", write(fd, "0123456789", 10));
	res("pwrite at 20", pwrite(fd, "abc", 3, 20));
	res("pread at 0", pread(fd, buf, 4, 0));
	printf("pread data: %.4s\n", buf);
	res("pread past end", pread(fd, buf, 4, 100));
	res("lseek cur after pread", lseek(fd, 0, SEEK_CUR));
	res("lseek end", lseek(fd, 0, SEEK_END));
	res("lseek end-3", lseek(fd, -3, SEEK_END));
	res("lseek negative", lseek(fd, -100, SEEK_SET));
	res("read hole", pread(fd, buf, 10, 10));
	printf("hole bytes zero: %d\n", buf[0] == 0 && buf[9] == 0);
	fstat(fd, &st);
	print_stat("fstat", &st);
	res("ftruncate 5", ftruncate(fd, 5));
	fstat(fd, &st);
	print_stat("after ftruncate", &st);
	res("ftruncate grow 4096", ftruncate(fd, 4096));
	res("pread zero tail", pread(fd, buf, 8, 4000));
	res("ftruncate negative", ftruncate(fd, -1));
	close(fd);

	fd = open("f.bin", O_WRONLY | O_APPEND);
	res("lseek 0 on append", lseek(fd, 0, SEEK_SET));
	res("append write", write(fd, "END", 3));
	res("offset after append", lseek(fd, 0, SEEK_CUR));
	close(fd);
	fd = open("f.bin", O_RDWR | O_TRUNC);
	fstat(fd, &st);
	print_stat("after O_TRUNC", &st);
	close(fd);
	res("creat", fd = creat("c.txt", 0600));
	close(fd);
	stat("c.txt", &st);
	print_stat("creat mode 0600", &st);
	res("chmod 0640", chmod("c.txt", 0640));
	stat("c.txt", &st);
	print_stat("after chmod", &st);
	umask(077);
	fd = open("u.txt", O_CREAT | O_WRONLY, 0666);
	fstat(fd, &st);
	print_stat("umask 077 create", &st);
	close(fd);
	umask(022);

	res("access F_OK", access("c.txt", F_OK));
	res("access missing", access("nope", F_OK));
	res("access R_OK|W_OK", access("c.txt", R_OK | W_OK));
	res("rename", rename("c.txt", "d.txt"));
	res("stat old name", stat("c.txt", &st));
	res("stat new name", stat("d.txt", &st));
	res("rename over existing", rename("u.txt", "d.txt"));
	res("link", link("d.txt", "e.txt"));
	stat("d.txt", &st);
	print_stat("after link", &st);
	res("link exists", link("d.txt", "e.txt"));
	res("unlink", unlink("e.txt"));
	stat("d.txt", &st);
	print_stat("after unlink", &st);
	res("unlink missing", unlink("e.txt"));
	res("symlink", symlink("d.txt", "l.txt"));
	ssize_t n = readlink("l.txt", buf, sizeof buf);
	printf("readlink: %zd %.*s\n", n, (int)(n > 0 ? n : 0), buf);
	res("readlink not a link", readlink("d.txt", buf, sizeof buf));
	res("lstat", lstat("l.txt", &st));
	print_stat("lstat link", &st);
	stat("l.txt", &st);
	print_stat("stat through link", &st);
	res("symlink dangling", symlink("nowhere", "dangling"));
	res("stat dangling", stat("dangling", &st));
	res("lstat dangling", lstat("dangling", &st));
	res("open dangling", open("dangling", O_RDONLY));
	res("open O_NOFOLLOW link", open("l.txt", O_RDONLY | O_NOFOLLOW));
	/* posix_fadvise returns the error number, not -1 and errno. */
	int afd = open("d.txt", O_RDONLY);
	printf("posix_fadvise sequential: %s\n", errname(posix_fadvise(afd, 0, 0, POSIX_FADV_SEQUENTIAL)));
	printf("posix_fadvise dontneed: %s\n", errname(posix_fadvise(afd, 0, 4096, POSIX_FADV_DONTNEED)));
	printf("posix_fadvise bad advice: %s\n", errname(posix_fadvise(afd, 0, 0, 99)));
	printf("posix_fadvise negative length: %s\n", errname(posix_fadvise(afd, 0, -1, POSIX_FADV_NORMAL)));
	close(afd);
	printf("posix_fadvise bad fd: %s\n", errname(posix_fadvise(afd, 0, 0, POSIX_FADV_NORMAL)));

	/* O_EXCL through a dangling symlink fails (open(2)). */
	res("open creat excl dangling", open("dangling", O_CREAT | O_EXCL | O_WRONLY, 0600));
	int big = open("big", O_CREAT | O_RDWR, 0600);
	res("lseek SEEK_DATA 0", lseek(big, 0, SEEK_DATA));
	res("write big", write(big, "x", 1));
	res("lseek SEEK_HOLE 0", lseek(big, 0, SEEK_HOLE));
	res("lseek SEEK_DATA past end", lseek(big, 5, SEEK_DATA));
	close(big);
}

/* ---- folders ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_dir(const char *path)
{
	DIR *d = opendir(path);
	if (!d) {
		printf("opendir %s: %s\n", path, errname(errno));
		return;
	}
	char *names[64];
	int count = 0;
	struct dirent *e;
	while ((e = readdir(d)) && count < 64) {
		char type = e->d_type == DT_DIR ? 'd' : e->d_type == DT_REG ? 'f' : e->d_type == DT_LNK ? 'l' : '?';
		char *s = malloc(strlen(e->d_name) + 3);
		sprintf(s, "%s:%c", e->d_name, type);
		names[count++] = s;
	}
	closedir(d);
	qsort(names, count, sizeof names[0], cmp_str);
	printf("readdir %s:", path);
	for (int i = 0; i < count; i++) {
		printf(" %s", names[i]);
		free(names[i]);
	}
	printf("\n");
}

static void sweep_dirs(void)
{
	section("dirs");
	char cwd[512], base[512];
	struct stat st;
	getcwd(base, sizeof base);
	res("mkdir", mkdir("sub", 0755));
	stat("sub", &st);
	printf("mkdir mode: type %o perm %o\n", (unsigned)(st.st_mode & S_IFMT), (unsigned)(st.st_mode & 07777));
	res("mkdir exists", mkdir("sub", 0755));
	res("mkdir missing parent", mkdir("no/such", 0755));
	res("mkdir under a file", mkdir("d.txt/x", 0755));
	res("mkdir nested", mkdir("sub/inner", 0700));
	close(open("sub/file", O_CREAT | O_WRONLY, 0644));
	symlink("file", "sub/link");
	list_dir("sub");
	list_dir("missing");
	list_dir("d.txt");
	res("chdir", chdir("sub"));
	getcwd(cwd, sizeof cwd);
	printf("getcwd ends with /sub: %d\n", strlen(cwd) > 4 && strcmp(cwd + strlen(cwd) - 4, "/sub") == 0);
	printf("getcwd length grew by 4: %d\n", strlen(cwd) == strlen(base) + 4);
	res("stat ../d.txt", stat("../d.txt", &st));
	res("chdir ..", chdir(".."));
	getcwd(cwd, sizeof cwd);
	printf("back at base: %d\n", strcmp(cwd, base) == 0);
	res("getcwd small buffer", getcwd(cwd, 2) ? 0 : -1);
	res("chdir to a file", chdir("d.txt"));
	res("chdir missing", chdir("missing"));
	res("rmdir not empty", rmdir("sub"));
	res("rmdir a file", rmdir("d.txt"));
	res("unlink a folder", unlink("sub/inner"));
	res("open folder for writing", open("sub", O_WRONLY));
	res("open file with O_DIRECTORY", open("d.txt", O_RDONLY | O_DIRECTORY));
	int dfd = open("sub", O_RDONLY | O_DIRECTORY);
	res("open O_DIRECTORY", dfd >= 0 ? 0 : -1);
	char c;
	res("read a folder", read(dfd, &c, 1));
	res("openat relative", openat(dfd, "file", O_RDONLY) >= 0 ? 0 : -1);
	res("fstatat", fstatat(dfd, "link", &st, AT_SYMLINK_NOFOLLOW));
	printf("fstatat link type %o\n", (unsigned)(st.st_mode & S_IFMT));
	res("unlinkat AT_REMOVEDIR inner", unlinkat(dfd, "inner", AT_REMOVEDIR));
	close(dfd);
	res("rmdir missing", rmdir("sub/inner"));
	res("unlink file", unlink("sub/file"));
	res("unlink link", unlink("sub/link"));
	res("rmdir empty", rmdir("sub"));
	res("rename into itself", (mkdir("r", 0755), rename("r", "r/x")));
	res("rename folder over file", rename("r", "d.txt"));
	res("rename file over folder", rename("d.txt", "r"));
	rmdir("r");
}

/* ---- descriptors ---- */

static void sweep_fds(void)
{
	section("fds");
	int fd = open("d.txt", O_RDONLY);
	int d = dup(fd);
	printf("dup is next lowest: %d\n", d == fd + 1);
	res("dup2 to 100", dup2(fd, 100));
	res("dup2 same fd", dup2(fd, fd) == fd ? 0 : -1);
	res("dup3 same fd", dup3(fd, fd, 0));
	res("dup3 bad flags", dup3(fd, 101, 12345));
	res("dup3 cloexec", dup3(fd, 101, O_CLOEXEC));
	res("F_GETFD 101", fcntl(101, F_GETFD));
	res("F_GETFD 100", fcntl(100, F_GETFD));
	res("F_SETFD", fcntl(100, F_SETFD, FD_CLOEXEC));
	res("F_GETFD after", fcntl(100, F_GETFD));
	res("F_GETFL rdonly", fcntl(fd, F_GETFL) & (O_ACCMODE | O_APPEND | O_NONBLOCK));
	res("F_SETFL nonblock", fcntl(fd, F_SETFL, O_NONBLOCK));
	res("F_GETFL shared by dup", fcntl(d, F_GETFL) & (O_ACCMODE | O_APPEND | O_NONBLOCK));
	res("F_DUPFD_CLOEXEC 200", fcntl(fd, F_DUPFD_CLOEXEC, 200));
	res("F_GETFD 200", fcntl(200, F_GETFD));
	res("F_DUPFD 200 (taken)", fcntl(fd, F_DUPFD, 200));
	res("lseek shared offset", (lseek(fd, 3, SEEK_SET), lseek(d, 0, SEEK_CUR)));
	close(100);
	close(101);
	close(200);
	close(201);
	close(d);
	res("close twice", close(d));
	res("read bad fd", read(999, &d, 1));
	res("write bad fd", write(-1, &d, 1));
	res("fstat bad fd", fstat(999, &(struct stat){0}));
	res("dup bad fd", dup(999));
	res("dup2 bad fd", dup2(999, 5));
	res("fcntl bad cmd", fcntl(fd, 99999));
	res("write to O_RDONLY", write(fd, "x", 1));
	int w = open("d.txt", O_WRONLY);
	char c;
	res("read from O_WRONLY", read(w, &c, 1));
	close(w);
	res("lseek bad whence", lseek(fd, 0, 42));
	close(fd);
	res("open EINVAL flags", open("d.txt", O_RDONLY | O_WRONLY | O_RDWR) >= 0 ? 0 : -1);
	res("open empty path", open("", O_RDONLY));
	char longname[300];
	memset(longname, 'n', sizeof longname - 1);
	longname[sizeof longname - 1] = 0;
	res("open long name", open(longname, O_RDONLY));
	res("open ENOTDIR", open("d.txt/x", O_RDONLY));
	res("isatty on a file", isatty(open("d.txt", O_RDONLY)));
	printf("isatty errno: %s\n", errname(errno));
}

/* ---- pipes ---- */

static void sweep_pipes(void)
{
	section("pipes");
	int p[2];
	res("pipe2 cloexec", pipe2(p, O_CLOEXEC));
	res("F_GETFD read end", fcntl(p[0], F_GETFD));
	res("F_GETFL write end", fcntl(p[1], F_GETFL) & O_ACCMODE);
	struct pollfd pf[2] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}};
	res("poll empty", poll(pf, 2, 0));
	printf("revents: %x %x\n", pf[0].revents, pf[1].revents);
	res("write", write(p[1], "hello", 5));
	res("poll ready", poll(pf, 2, 0));
	printf("revents: %x %x\n", pf[0].revents, pf[1].revents);
	fd_set r;
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	struct timeval tv = {0, 0};
	res("select", select(p[0] + 1, &r, NULL, NULL, &tv));
	printf("select says readable: %d\n", FD_ISSET(p[0], &r) != 0);
	char buf[16];
	res("read", read(p[0], buf, sizeof buf));
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	res("read empty nonblock", read(p[0], buf, sizeof buf));
	res("lseek a pipe", lseek(p[0], 0, SEEK_SET));
	res("pread a pipe", pread(p[0], buf, 1, 0));
	printf("posix_fadvise a pipe: %s\n", errname(posix_fadvise(p[0], 0, 0, POSIX_FADV_NORMAL)));
	res("write to read end", write(p[0], "x", 1));
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	long total = 0;
	static char chunk[4096];
	for (;;) {
		ssize_t n = write(p[1], chunk, sizeof chunk);
		if (n < 0) {
			printf("fill ends with %s\n", errname(errno));
			break;
		}
		total += n;
	}
	printf("pipe capacity: %ld\n", total);
	res("F_GETPIPE_SZ", fcntl(p[1], F_GETPIPE_SZ));
	close(p[1]);
	long drained = 0;
	ssize_t n;
	while ((n = read(p[0], chunk, sizeof chunk)) > 0)
		drained += n;
	printf("drained %ld, then read says %zd\n", drained, n);
	pf[0].events = POLLIN;
	res("poll after writer closed", poll(pf, 1, 0));
	printf("revents: %x\n", pf[0].revents);
	close(p[0]);
	pipe(p);
	close(p[0]);
	signal(SIGPIPE, SIG_IGN);
	res("write without reader", write(p[1], "x", 1));
	signal(SIGPIPE, SIG_DFL);
	close(p[1]);
}

/* ---- record locks (fcntl F_SETLK, F_GETLK, F_OFD_*; lockf) ---- */

static const char *lock_type(short t)
{
	return t == F_RDLCK ? "F_RDLCK" : t == F_WRLCK ? "F_WRLCK" : t == F_UNLCK ? "F_UNLCK" : "?";
}

/* One fcntl lock call; for the GETLK forms, what it reported. */
static void lk(const char *what, int fd, int cmd, short type, short whence, off_t start, off_t len)
{
	struct flock fl = { .l_type = type, .l_whence = whence, .l_start = start, .l_len = len, .l_pid = 0 };
	if (fcntl(fd, cmd, &fl) == -1) {
		printf("%s: -1 %s\n", what, errname(errno));
		return;
	}
	if (cmd != F_GETLK && cmd != F_OFD_GETLK) {
		printf("%s: 0\n", what);
		return;
	}
	if (fl.l_type == F_UNLCK) {
		printf("%s: F_UNLCK\n", what);
		return;
	}
	printf("%s: %s whence=%d start=%lld len=%lld pid=%s\n", what, lock_type(fl.l_type), fl.l_whence,
	       (long long)fl.l_start, (long long)fl.l_len,
	       fl.l_pid == -1 ? "-1" : fl.l_pid == getpid() ? "self" : "other");
}

/* F_OFD_SETLKW from one thread while another holds the conflicting lock. */
struct lock_waiter {
	int fd;
	int unlocked_first; /* the holder's unlock came before the waiter got it */
	volatile int released;
	int ret, err;
};

static void *lock_waiter_thread(void *arg)
{
	struct lock_waiter *w = arg;
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10 };
	w->ret = fcntl(w->fd, F_OFD_SETLKW, &fl);
	w->err = errno;
	w->unlocked_first = w->released;
	return NULL;
}

static void on_lock_signal(int sig)
{
	(void)sig;
}

static void sweep_lock_waits(void)
{
	int a = open("lk.txt", O_RDWR), b = open("lk.txt", O_RDWR);
	lk("OFD wr 0+10 on a", a, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 10);
	struct lock_waiter w = { .fd = b };
	pthread_t t;
	pthread_create(&t, NULL, lock_waiter_thread, &w);
	usleep(100 * 1000);
	w.released = 1;
	lk("OFD UNLCK on a", a, F_OFD_SETLK, F_UNLCK, SEEK_SET, 0, 0);
	pthread_join(t, NULL);
	printf("OFD_SETLKW on b waited for the unlock: %d %s, after it: %d\n", w.ret, w.ret ? errname(w.err) : "",
	       w.unlocked_first);
	lk("  b holds it now", a, F_OFD_GETLK, F_RDLCK, SEEK_SET, 0, 0);
	/* A signal (handler, no SA_RESTART) ends the wait with EINTR. */
	struct sigaction sa = { .sa_handler = on_lock_signal };
	sigaction(SIGUSR1, &sa, NULL);
	struct lock_waiter w2 = { .fd = a };
	pthread_create(&t, NULL, lock_waiter_thread, &w2);
	usleep(100 * 1000);
	pthread_kill(t, SIGUSR1);
	pthread_join(t, NULL);
	printf("OFD_SETLKW interrupted by a signal: %d %s\n", w2.ret, errname(w2.err));
	signal(SIGUSR1, SIG_DFL);
	close(a);
	close(b);
}

static void sweep_locks(void)
{
	section("locks");
	int fd = open("lk.txt", O_RDWR | O_CREAT | O_TRUNC, 0644);
	char block[100];
	memset(block, 'l', sizeof block);
	res("write 100", write(fd, block, sizeof block));
	/* One process: its classic locks never conflict with each other. */
	lk("SETLK wr 0+10", fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10);
	lk("SETLK rd 5+10 (same owner)", fd, F_SETLK, F_RDLCK, SEEK_SET, 5, 10);
	lk("GETLK wr all (own locks)", fd, F_GETLK, F_WRLCK, SEEK_SET, 0, 0);
	lk("SETLKW wr all (own locks)", fd, F_SETLKW, F_WRLCK, SEEK_SET, 0, 0);
	/* Another open of the file sees them through its OFD form. */
	int other = open("lk.txt", O_RDWR);
	lk("OFD_GETLK rd from a 2nd open", other, F_OFD_GETLK, F_RDLCK, SEEK_SET, 50, 1);
	lk("OFD_SETLK rd from a 2nd open", other, F_OFD_SETLK, F_RDLCK, SEEK_SET, 50, 1);
	/* Closing any descriptor of the file drops the process's locks. */
	int third = open("lk.txt", O_RDONLY);
	close(third);
	lk("OFD_GETLK after closing a 3rd open", other, F_OFD_GETLK, F_WRLCK, SEEK_SET, 0, 0);
	lk("UNLCK all", fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0);
	/* OFD locks belong to the open file description: two opens conflict. */
	lk("OFD_SETLK wr 0+10 on a", fd, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 10);
	lk("OFD_SETLK rd 5+1 on b", other, F_OFD_SETLK, F_RDLCK, SEEK_SET, 5, 1);
	lk("OFD_SETLKW wr 10+5 on b (beside)", other, F_OFD_SETLKW, F_WRLCK, SEEK_SET, 10, 5);
	lk("OFD_GETLK rd on b", other, F_OFD_GETLK, F_RDLCK, SEEK_SET, 0, 0);
	lk("OFD_GETLK wr on a", fd, F_OFD_GETLK, F_WRLCK, SEEK_SET, 0, 0);
	lk("classic SETLK wr vs OFD", fd, F_SETLK, F_WRLCK, SEEK_SET, 3, 1);
	lk("classic GETLK vs OFD", fd, F_GETLK, F_RDLCK, SEEK_SET, 12, 0);
	lk("OFD rd 20+5 on a", fd, F_OFD_SETLK, F_RDLCK, SEEK_SET, 20, 5);
	lk("OFD rd 22+5 on b (shared)", other, F_OFD_SETLK, F_RDLCK, SEEK_SET, 22, 5);
	lk("OFD wr 24+1 on b (a reads)", other, F_OFD_SETLK, F_WRLCK, SEEK_SET, 24, 1);
	lk("OFD UNLCK all on a", fd, F_OFD_SETLK, F_UNLCK, SEEK_SET, 0, 0);
	lk("OFD wr 24+1 on b now", other, F_OFD_SETLK, F_WRLCK, SEEK_SET, 24, 1);
	lk("OFD_GETLK wr on a after", fd, F_OFD_GETLK, F_WRLCK, SEEK_SET, 0, 0);
	/* The last close of a description drops its OFD locks. */
	int dupped = dup(other);
	close(other);
	lk("OFD_GETLK with b's dup open", fd, F_OFD_GETLK, F_WRLCK, SEEK_SET, 0, 0);
	close(dupped);
	lk("OFD_GETLK after b's last close", fd, F_OFD_GETLK, F_WRLCK, SEEK_SET, 0, 0);
	/* Ranges: from the offset, from the end, backwards, to the end. */
	other = open("lk.txt", O_RDWR);
	lseek(fd, 40, SEEK_SET);
	lk("OFD SEEK_CUR -5+10", fd, F_OFD_SETLK, F_WRLCK, SEEK_CUR, -5, 10);
	lk("  seen from b", other, F_OFD_GETLK, F_WRLCK, SEEK_SET, 0, 0);
	lk("OFD UNLCK", fd, F_OFD_SETLK, F_UNLCK, SEEK_SET, 0, 0);
	lk("OFD SEEK_END -10+0", fd, F_OFD_SETLK, F_RDLCK, SEEK_END, -10, 0);
	lk("  seen from b", other, F_OFD_GETLK, F_WRLCK, SEEK_SET, 0, 0);
	lk("OFD UNLCK", fd, F_OFD_SETLK, F_UNLCK, SEEK_SET, 0, 0);
	lk("OFD 30 len -10", fd, F_OFD_SETLK, F_WRLCK, SEEK_SET, 30, -10);
	lk("  seen from b", other, F_OFD_GETLK, F_RDLCK, SEEK_SET, 0, 0);
	lk("OFD UNLCK 25+1 (split)", fd, F_OFD_SETLK, F_UNLCK, SEEK_SET, 25, 1);
	lk("  seen from b at 26", other, F_OFD_GETLK, F_RDLCK, SEEK_SET, 26, 0);
	lk("OFD UNLCK", fd, F_OFD_SETLK, F_UNLCK, SEEK_SET, 0, 0);
	lk("OFD at LLONG_MAX+1", fd, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0x7fffffffffffffffLL, 1);
	lk("  seen from b", other, F_OFD_GETLK, F_WRLCK, SEEK_SET, 1000, 0);
	lk("OFD UNLCK", fd, F_OFD_SETLK, F_UNLCK, SEEK_SET, 0, 0);
	/* Bad arguments. */
	lk("bad type", fd, F_SETLK, 7, SEEK_SET, 0, 1);
	lk("bad whence", fd, F_SETLK, F_WRLCK, 5, 0, 1);
	lk("GETLK F_UNLCK", fd, F_GETLK, F_UNLCK, SEEK_SET, 0, 1);
	lk("start -1", fd, F_SETLK, F_WRLCK, SEEK_SET, -1, 1);
	lk("SEEK_END -200", fd, F_SETLK, F_WRLCK, SEEK_END, -200, 1);
	lk("len -11 from 10", fd, F_SETLK, F_WRLCK, SEEK_SET, 10, -11);
	lk("start LLONG_MAX len 2", fd, F_SETLK, F_WRLCK, SEEK_SET, 0x7fffffffffffffffLL, 2);
	lk("SEEK_CUR +LLONG_MAX", fd, F_SETLK, F_WRLCK, SEEK_CUR, 0x7fffffffffffffffLL, 1);
	lk("OFD_SETLK l_pid 0 only", fd, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 1);
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1, .l_pid = 1 };
	res("OFD_SETLK l_pid 1", fcntl(fd, F_OFD_SETLK, &fl));
	res("OFD_GETLK l_pid 1", fcntl(fd, F_OFD_GETLK, &fl));
	res("SETLK bad pointer", fcntl(fd, F_SETLK, (struct flock *)8));
	res("GETLK bad pointer", fcntl(fd, F_GETLK, (struct flock *)8));
	res("SETLK bad fd", fcntl(999, F_SETLK, &fl));
	close(fd);
	int ro = open("lk.txt", O_RDONLY), wo = open("lk.txt", O_WRONLY);
	lk("wr on O_RDONLY", ro, F_SETLK, F_WRLCK, SEEK_SET, 0, 1);
	lk("rd on O_RDONLY", ro, F_SETLK, F_RDLCK, SEEK_SET, 0, 1);
	lk("rd on O_WRONLY", wo, F_SETLK, F_RDLCK, SEEK_SET, 0, 1);
	lk("wr on O_WRONLY", wo, F_SETLK, F_WRLCK, SEEK_SET, 0, 1);
	lk("unlock on O_RDONLY", ro, F_SETLK, F_UNLCK, SEEK_SET, 0, 0);
	lk("GETLK wr on O_RDONLY", ro, F_GETLK, F_WRLCK, SEEK_SET, 0, 1);
	/* lockf is F_SETLK/F_GETLK underneath. */
	res("lockf F_TLOCK", lockf(wo, F_TLOCK, 0));
	res("lockf F_TEST (own)", lockf(wo, F_TEST, 0));
	lk("  seen as OFD from b", other, F_OFD_GETLK, F_WRLCK, SEEK_SET, 0, 0);
	res("lockf F_ULOCK", lockf(wo, F_ULOCK, 0));
	lk("  after F_ULOCK", other, F_OFD_GETLK, F_WRLCK, SEEK_SET, 0, 0);
	close(ro);
	close(wo);
	close(other);
	sweep_lock_waits();
}

/* ---- memory ---- */

static void sweep_memory(void)
{
	section("memory");
	long page = sysconf(_SC_PAGESIZE);
	printf("page size: %ld\n", page);
	unsigned sum = 0;
	for (int i = 1; i <= 200; i++) {
		unsigned char *p = malloc((size_t)i * 997);
		memset(p, i, (size_t)i * 997);
		sum += p[(size_t)i * 997 - 1];
		p = realloc(p, (size_t)i * 1500);
		sum += p[0];
		free(p);
	}
	printf("malloc pattern sum: %u\n", sum);
	void *big = malloc(64 << 20);
	printf("malloc 64 MiB: %s\n", big ? "ok" : "null");
	free(big);
	errno = 0;
	void *huge = malloc((size_t)1 << 62);
	printf("malloc huge: %s %s\n", huge ? "ok" : "null", errname(errno));
	int *z = calloc(1000, sizeof(int));
	int allzero = 1;
	for (int i = 0; i < 1000; i++)
		allzero &= z[i] == 0;
	printf("calloc zeroed: %d\n", allzero);
	free(z);
	void *al = NULL;
	int err = posix_memalign(&al, 4096, 100);
	printf("posix_memalign 4096: %d aligned %d\n", err, ((uintptr_t)al & 4095) == 0);
	free(al);

	char *a = mmap(NULL, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	printf("mmap anon: %s\n", a == MAP_FAILED ? errname(errno) : "ok");
	printf("anon zero: %d\n", a[0] == 0 && a[3 * page - 1] == 0);
	a[page] = 7;
	res("mprotect read-only", mprotect(a, page, PROT_READ));
	res("mprotect unaligned", mprotect(a + 1, page, PROT_READ));
	res("munmap middle", munmap(a + page, page));
	res("munmap rest", munmap(a, 3 * page));
	res("munmap unaligned", munmap(a + 1, page));
	printf("mmap len 0: %s\n", mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED ? errname(errno) : "ok");
	printf("mmap bad fd: %s\n", mmap(NULL, page, PROT_READ, MAP_PRIVATE, 999, 0) == MAP_FAILED ? errname(errno) : "ok");

	int fd = open("m.bin", O_CREAT | O_RDWR | O_TRUNC, 0600);
	for (int i = 0; i < 3000; i++)
		write(fd, "0123456789", 10);
	char *f = mmap(NULL, 30000, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	printf("mmap file private: %s\n", f == MAP_FAILED ? errname(errno) : "ok");
	if (f != MAP_FAILED) {
		printf("file bytes: %.10s %c\n", f + 29990, f[12345]);
		printf("past end of file in last page zero: %d\n", f[30000] == 0 && f[8 * 4096 - 1] == 0);
		f[0] = 'X';
		char first;
		pread(fd, &first, 1, 0);
		printf("private write stays private: %c\n", first);
		munmap(f, 30000);
	}
	char *off = mmap(NULL, page, PROT_READ, MAP_PRIVATE, fd, page);
	printf("mmap with offset: %c\n", off == MAP_FAILED ? '!' : off[0]);
	printf("mmap unaligned offset: %s\n", mmap(NULL, page, PROT_READ, MAP_PRIVATE, fd, 100) == MAP_FAILED ? errname(errno) : "ok");
	int wo = open("m.bin", O_WRONLY);
	printf("mmap of O_WRONLY: %s\n", mmap(NULL, page, PROT_READ, MAP_PRIVATE, wo, 0) == MAP_FAILED ? errname(errno) : "ok");
	close(wo);
	close(fd);

	/* musl's sbrk only answers sbrk(0): the brk system call itself. */
	errno = 0;
	printf("sbrk(4 pages) on musl: %s\n", sbrk(page * 4) == (void *)-1 ? errname(errno) : "ok");
	char *start = (char *)syscall(SYS_brk, 0);
	char *grown = (char *)syscall(SYS_brk, start + page * 4);
	printf("brk grows: +%ld\n", (long)(grown - start));
	if (grown == start + page * 4)
		memset(start, 1, page * 4);
	printf("brk shrinks: %d\n", (char *)syscall(SYS_brk, start) == start);
	printf("brk below the start stays: %d\n", (char *)syscall(SYS_brk, (char *)4096) == start);
}

/* ---- libc without the kernel ---- */

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

static void sweep_libc(void)
{
	section("libc");
	int v[16];
	unsigned s = 12345;
	for (int i = 0; i < 16; i++) {
		s = s * 1103515245 + 12345;
		v[i] = (int)(s >> 16) % 1000;
	}
	qsort(v, 16, sizeof v[0], cmp_int);
	printf("qsort:");
	for (int i = 0; i < 16; i++)
		printf(" %d", v[i]);
	printf("\n");
	int key = v[7];
	int *found = bsearch(&key, v, 16, sizeof v[0], cmp_int);
	printf("bsearch: %ld\n", found ? (long)(found - v) : -1L);
	const char *nums[] = {"42", "-17", "0x1f", "077", "  12abc", "99999999999999999999", "", "abc"};
	for (unsigned i = 0; i < sizeof nums / sizeof nums[0]; i++) {
		char *end;
		errno = 0;
		long x = strtol(nums[i], &end, 0);
		printf("strtol \"%s\": %ld rest \"%s\" %s\n", nums[i], x, end, errno ? errname(errno) : "-");
	}
	const char *dbl[] = {"3.14159", "1e308", "1e309", "-0", "nan", "inf", "0x1p-3", "1e-400"};
	for (unsigned i = 0; i < sizeof dbl / sizeof dbl[0]; i++) {
		errno = 0;
		double x = strtod(dbl[i], NULL);
		printf("strtod \"%s\": %.17g %s\n", dbl[i], x, errno ? errname(errno) : "-");
	}
	printf("snprintf: %.3f %e %g %a %10.4f|\n", 1.0 / 3, 12345.678, 0.0001, 1.0, -2.5);
	char small[8];
	const char *volatile longer = "abcdefghijk";
	printf("snprintf truncates: %d %s\n", snprintf(small, sizeof small, "%s", longer), small);
	printf("sqrt: %.17g %.17g\n", sqrt(2.0), sqrt(1e10));
	printf("sin cos: %.17g %.17g\n", sin(1.0), cos(1.0));
	printf("exp log: %.17g %.17g\n", exp(1.0), log(10.0));
	printf("pow: %.17g %.17g\n", pow(2.0, 0.5), pow(10.0, -3));
	printf("atan2 fmod: %.17g %.17g\n", atan2(1.0, 2.0), fmod(10.5, 3.0));
	errno = 0;
	printf("sqrt(-1): %s errno %s\n", isnan(sqrt(-1.0)) ? "nan" : "?", errname(errno));
	printf("strings: %zu %d %s %s\n", strlen("hello"), strcmp("a", "b") < 0, strstr("haystack", "st"), strchr("x=y", '='));
	char tok[] = "a,b,,c";
	char *save;
	printf("strtok_r:");
	for (char *t = strtok_r(tok, ",", &save); t; t = strtok_r(NULL, ",", &save))
		printf(" %s", t);
	printf("\n");
	printf("strerror(ENOENT): %s\n", strerror(ENOENT));
}

/* ---- time ---- */

static void sweep_time(void)
{
	section("time");
	struct timespec a, b, res_;
	clock_gettime(CLOCK_MONOTONIC, &a);
	int nondecreasing = 1;
	for (int i = 0; i < 1000; i++) {
		clock_gettime(CLOCK_MONOTONIC, &b);
		if (b.tv_sec < a.tv_sec || (b.tv_sec == a.tv_sec && b.tv_nsec < a.tv_nsec))
			nondecreasing = 0;
		a = b;
	}
	printf("monotonic non-decreasing: %d\n", nondecreasing);
	res("clock_getres monotonic", clock_getres(CLOCK_MONOTONIC, &res_));
	printf("resolution at most 1 ms: %d\n", res_.tv_sec == 0 && res_.tv_nsec <= 1000000);
	res("clock_gettime bad clock", clock_gettime(12345, &a));
	clock_gettime(CLOCK_MONOTONIC, &a);
	struct timespec nap = {0, 20 * 1000 * 1000};
	res("nanosleep 20 ms", nanosleep(&nap, NULL));
	clock_gettime(CLOCK_MONOTONIC, &b);
	long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	printf("slept at least 20 ms: %d\n", ms >= 20);
	struct timespec badnap = {0, 1000000000};
	res("nanosleep bad nsec", nanosleep(&badnap, NULL));
	struct timeval tv;
	res("gettimeofday", gettimeofday(&tv, NULL));
	printf("gettimeofday after 2020: %d usec in range: %d\n", tv.tv_sec > 1577836800, tv.tv_usec >= 0 && tv.tv_usec < 1000000);
	time_t now = time(NULL);
	printf("time agrees with gettimeofday: %d\n", now - tv.tv_sec <= 1 && now >= tv.tv_sec);
	clock_gettime(CLOCK_REALTIME, &a);
	printf("realtime agrees: %d\n", a.tv_sec - now <= 1 && a.tv_sec >= now);
	clock_t c = clock();
	printf("clock() non-negative: %d\n", c >= 0);
	time_t fixed = 1700000000;
	struct tm tm;
	gmtime_r(&fixed, &tm);
	char out[64];
	strftime(out, sizeof out, "%Y-%m-%d %H:%M:%S %a %j", &tm);
	printf("gmtime: %s\n", out);
	setenv("TZ", "UTC0", 1);
	tzset();
	localtime_r(&fixed, &tm);
	strftime(out, sizeof out, "%c", &tm);
	printf("localtime TZ=UTC0: %s\n", out);
	printf("mktime round trip: %lld\n", (long long)mktime(&tm));
	unsetenv("TZ");
}

/* ---- environment and arguments ---- */

static void sweep_env(int argc, char **argv)
{
	section("env");
	printf("argc: %d\n", argc);
	/* argv[1] is the scratch folder, different on each side. */
	for (int i = 2; i < argc; i++)
		printf("argv[%d]: %s\n", i, argv[i]);
	printf("argv[argc] null: %d\n", argv[argc] == NULL);
	printf("getenv unset: %s\n", getenv("C_SWEEP_UNSET") ? "set" : "null");
	res("setenv", setenv("C_SWEEP_VAR", "one", 0));
	printf("getenv: %s\n", getenv("C_SWEEP_VAR"));
	setenv("C_SWEEP_VAR", "two", 0);
	printf("setenv no overwrite: %s\n", getenv("C_SWEEP_VAR"));
	setenv("C_SWEEP_VAR", "three", 1);
	printf("setenv overwrite: %s\n", getenv("C_SWEEP_VAR"));
	res("setenv bad name", setenv("A=B", "x", 1));
	res("unsetenv", unsetenv("C_SWEEP_VAR"));
	printf("after unsetenv: %s\n", getenv("C_SWEEP_VAR") ? "set" : "null");
	printf("C_SWEEP_GIVEN: %s\n", getenv("C_SWEEP_GIVEN") ? getenv("C_SWEEP_GIVEN") : "null");
}

/* ---- process identity ---- */

static void sweep_identity(void)
{
	section("identity");
	printf("getpid > 0: %d\n", getpid() > 0);
	printf("gettid == getpid (main thread): %d\n", gettid() == getpid());
	printf("getppid >= 0: %d\n", getppid() >= 0);
	/*
	 * Group and session ids depend on who started the host's run: in a
	 * container the session leader may live outside the pid namespace and
	 * getsid says 0. Compare only what holds everywhere: the two ways of
	 * asking agree, and neither is an error.
	 */
	printf("getpgrp == getpgid(0) >= 0: %d\n", getpgrp() == getpgid(0) && getpgrp() >= 0);
	printf("getsid(0) == getsid(self) >= 0: %d\n", getsid(0) == getsid(getpid()) && getsid(0) >= 0);
	printf("getsid of a missing process: %s\n", getsid(0x7ffffff0) < 0 ? errname(errno) : "ok");
	printf("uid == euid: %d gid == egid: %d\n", getuid() == geteuid(), getgid() == getegid());
	struct utsname u;
	res("uname", uname(&u));
	printf("machine: %s\n", u.machine);
	int dots = 0;
	for (char *p = u.release; *p; p++)
		dots += *p == '.';
	printf("release starts with a digit and has dots: %d\n", u.release[0] >= '0' && u.release[0] <= '9' && dots >= 2);
	printf("sysname: %s\n", u.sysname);
	printf("nodename set: %d\n", u.nodename[0] != 0);
	/* No children yet (the processes section makes some). */
	res("waitpid any, WNOHANG", waitpid(-1, NULL, WNOHANG));
	res("waitpid any", waitpid(-1, NULL, 0));
	res("waitpid a missing pid", waitpid(12345, NULL, 0));
	res("waitpid bad options", waitpid(-1, NULL, 0x100));
	res("wait", wait(NULL));
	res("getgroups negative size", getgroups(-1, NULL));
	/* How many groups depends on the host's user: only the sign. */
	printf("getgroups count >= 0: %d\n", getgroups(0, NULL) >= 0);
	res("kill self 0", kill(getpid(), 0));
	res("kill missing", kill(0x7ffffff0, 0));
	res("kill bad signal", kill(getpid(), 99));
}

/* ---- signals ---- */

static volatile sig_atomic_t hits;
static volatile int last_sig;
static sigjmp_buf jump;

static void on_signal(int sig)
{
	hits++;
	last_sig = sig;
}

static void on_info(int sig, siginfo_t *info, void *ctx)
{
	(void)ctx;
	hits++;
	last_sig = sig * 1000 + info->si_code;
}

static void on_fpe(int sig)
{
	siglongjmp(jump, sig);
}

static void sweep_signals(void)
{
	section("signals");
	struct sigaction sa = {0}, old;
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	res("sigaction USR1", sigaction(SIGUSR1, &sa, &old));
	printf("old handler default: %d\n", old.sa_handler == SIG_DFL);
	res("raise", raise(SIGUSR1));
	printf("hits %d last %d\n", hits, last_sig);
	res("kill self", kill(getpid(), SIGUSR1));
	printf("hits %d\n", hits);
	sigset_t block, pending, prev;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	res("sigprocmask block", sigprocmask(SIG_BLOCK, &block, &prev));
	raise(SIGUSR1);
	raise(SIGUSR1);
	printf("blocked: hits %d\n", hits);
	sigpending(&pending);
	printf("pending USR1: %d USR2: %d\n", sigismember(&pending, SIGUSR1), sigismember(&pending, SIGUSR2));
	res("sigprocmask unblock", sigprocmask(SIG_SETMASK, &prev, NULL));
	printf("after unblock (standard signals do not queue): hits %d\n", hits);
	sa.sa_flags = SA_SIGINFO;
	sa.sa_sigaction = on_info;
	sigaction(SIGUSR2, &sa, NULL);
	raise(SIGUSR2);
	printf("siginfo: sig*1000+code %d\n", last_sig);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESETHAND;
	sigaction(SIGUSR1, &sa, NULL);
	raise(SIGUSR1);
	sigaction(SIGUSR1, NULL, &old);
	printf("SA_RESETHAND back to default: %d\n", old.sa_handler == SIG_DFL);
	res("sigaction SIGKILL", sigaction(SIGKILL, &sa, NULL));
	res("sigaction bad signal", sigaction(0, &sa, NULL));
	signal(SIGUSR2, SIG_IGN);
	res("raise ignored", raise(SIGUSR2));
	sigemptyset(&block);
	sigaddset(&block, SIGKILL);
	sigaddset(&block, SIGSTOP);
	sigprocmask(SIG_BLOCK, &block, NULL);
	sigprocmask(SIG_BLOCK, NULL, &prev);
	printf("SIGKILL cannot be blocked: %d\n", !sigismember(&prev, SIGKILL) && !sigismember(&prev, SIGSTOP));
	signal(SIGFPE, on_fpe);
	int sig = sigsetjmp(jump, 1);
	if (sig == 0) {
		/* 7, not 1: gcc turns 1 / x into a comparison. */
		volatile int zero = 0, seven = 7;
		volatile int r = seven / zero;
		(void)r;
		printf("no SIGFPE\n");
	} else {
		printf("SIGFPE caught, siglongjmp returned %d\n", sig);
	}
	signal(SIGFPE, SIG_DFL);
	sigprocmask(SIG_BLOCK, NULL, &prev);
	printf("sigsetjmp restored the mask (FPE unblocked): %d\n", !sigismember(&prev, SIGFPE));
	stack_t ss = {0}, oss;
	ss.ss_sp = malloc(SIGSTKSZ);
	ss.ss_size = SIGSTKSZ;
	res("sigaltstack", sigaltstack(&ss, &oss));
	printf("old alt stack disabled: %d\n", (oss.ss_flags & SS_DISABLE) != 0);
	ss.ss_size = 100;
	res("sigaltstack too small", sigaltstack(&ss, NULL));
	ss.ss_flags = SS_DISABLE;
	sigaltstack(&ss, NULL);
}

/* ---- threads ---- */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static long counter;
static int turn;
static __thread int tls_value = 5;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int once_runs;
static pthread_key_t key;
static int destructor_runs;

static void run_once(void)
{
	once_runs++;
}

static void destructor(void *p)
{
	(void)p;
	__atomic_fetch_add(&destructor_runs, 1, __ATOMIC_SEQ_CST);
}

static void *worker(void *arg)
{
	long id = (long)arg;
	tls_value += (int)id;
	pthread_once(&once, run_once);
	pthread_setspecific(key, (void *)(id + 1));
	for (int i = 0; i < 10000; i++) {
		pthread_mutex_lock(&lock);
		counter++;
		pthread_mutex_unlock(&lock);
	}
	pthread_mutex_lock(&lock);
	while (turn != id)
		pthread_cond_wait(&cond, &lock);
	turn++;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	return (void *)(long)(tls_value * 10 + (long)pthread_getspecific(key));
}

static void sweep_threads(void)
{
	section("threads");
	pthread_key_create(&key, destructor);
	pthread_t t[4];
	for (long i = 0; i < 4; i++)
		printf("pthread_create %ld: %d\n", i, pthread_create(&t[i], NULL, worker, (void *)i));
	for (int i = 0; i < 4; i++) {
		void *ret = NULL;
		int err = pthread_join(t[i], &ret);
		printf("join %d: %d returned %ld\n", i, err, (long)ret);
	}
	printf("counter: %ld once: %d destructors: %d main tls: %d\n", counter, once_runs, destructor_runs, tls_value);
	pthread_mutex_t m;
	pthread_mutexattr_t ma;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&m, &ma);
	pthread_mutex_lock(&m);
	printf("errorcheck relock: %s\n", errname(pthread_mutex_lock(&m)));
	printf("trylock held: %s\n", errname(pthread_mutex_trylock(&m)));
	pthread_mutex_unlock(&m);
	printf("unlock not owned: %s\n", errname(pthread_mutex_unlock(&m)));
	struct timespec soon;
	clock_gettime(CLOCK_REALTIME, &soon);
	soon.tv_nsec += 10 * 1000 * 1000;
	if (soon.tv_nsec >= 1000000000) {
		soon.tv_sec++;
		soon.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&lock);
	printf("cond_timedwait: %s\n", errname(pthread_cond_timedwait(&cond, &lock, &soon)));
	pthread_mutex_unlock(&lock);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	size_t stack;
	pthread_attr_setstacksize(&attr, 256 * 1024);
	pthread_attr_getstacksize(&attr, &stack);
	printf("stack size attr: %zu\n", stack);
	printf("tiny stack size: %s\n", errname(pthread_attr_setstacksize(&attr, 16)));
	pthread_t tt;
	printf("create with attr: %d\n", pthread_create(&tt, &attr, worker, (void *)4L));
	pthread_join(tt, NULL);
	printf("priority range OTHER: %d..%d FIFO: %d..%d RR: %d..%d\n", sched_get_priority_min(SCHED_OTHER),
	       sched_get_priority_max(SCHED_OTHER), sched_get_priority_min(SCHED_FIFO), sched_get_priority_max(SCHED_FIFO),
	       sched_get_priority_min(SCHED_RR), sched_get_priority_max(SCHED_RR));
	res("priority max of policy 42", sched_get_priority_max(42));
}

/* ---- limits ---- */

static void sweep_limits(void)
{
	section("limits");
	struct rlimit rl;
	res("getrlimit NOFILE", getrlimit(RLIMIT_NOFILE, &rl));
	printf("NOFILE soft <= hard: %d soft >= 64: %d\n", rl.rlim_cur <= rl.rlim_max, rl.rlim_cur >= 64);
	res("getrlimit STACK", getrlimit(RLIMIT_STACK, &rl));
	printf("STACK soft >= 1 MiB: %d\n", rl.rlim_cur >= (1 << 20));
	res("getrlimit bad", getrlimit(99, &rl));
	struct rlimit inverted = {200, 100};
	res("setrlimit soft above hard", setrlimit(RLIMIT_NOFILE, &inverted));
	res("setrlimit unchanged", (getrlimit(RLIMIT_NOFILE, &rl), setrlimit(RLIMIT_NOFILE, &rl)));
	/* Lowering the soft NOFILE limit (any process may, setrlimit(2)); the
	 * descriptor calls then enforce it (fs/file.c): dup2 EBADF, F_DUPFD
	 * EINVAL at or above it, EMFILE when no number below it is free. */
	struct rlimit saved;
	getrlimit(RLIMIT_NOFILE, &saved);
	rl = saved;
	rl.rlim_cur = 100;
	res("lower NOFILE soft to 100", setrlimit(RLIMIT_NOFILE, &rl));
	getrlimit(RLIMIT_NOFILE, &rl);
	printf("NOFILE soft now: %ld hard kept: %d\n", (long)rl.rlim_cur, rl.rlim_max == saved.rlim_max);
	printf("sysconf OPEN_MAX follows: %ld\n", sysconf(_SC_OPEN_MAX));
	int nf = open("d.txt", O_RDONLY);
	res("dup2 to 99", dup2(nf, 99));
	res("dup2 to 100 (the limit)", dup2(nf, 100));
	res("dup2 beyond NOFILE", dup2(nf, 150));
	res("F_DUPFD from 99 (taken, last below the limit)", fcntl(nf, F_DUPFD, 99));
	res("F_DUPFD from 100", fcntl(nf, F_DUPFD, 100));
	res("F_DUPFD beyond NOFILE", fcntl(nf, F_DUPFD, 150));
	res("poll more fds than NOFILE", poll(NULL, 101, 0));
	int opened[128], nopened = 0, last = 0;
	while (nopened < 128 && (last = open("d.txt", O_RDONLY)) >= 0)
		opened[nopened++] = last;
	printf("open until the limit ends with: %s below 100: %d\n", last < 0 ? errname(errno) : "ok", nopened < 100);
	res("dup at the limit", dup(nf));
	res("pipe at the limit", pipe((int[2]){0}));
	while (nopened > 0)
		close(opened[--nopened]);
	close(99);
	close(nf);
	rl.rlim_cur = rl.rlim_max + 1;
	res("soft above hard", setrlimit(RLIMIT_NOFILE, &rl));
	res("restore NOFILE soft", setrlimit(RLIMIT_NOFILE, &saved));
	getrlimit(RLIMIT_NOFILE, &rl);
	printf("NOFILE soft restored: %d\n", rl.rlim_cur == saved.rlim_cur);
	printf("sysconf PAGESIZE: %ld\n", sysconf(_SC_PAGESIZE));
	getrlimit(RLIMIT_NOFILE, &rl);
	printf("sysconf OPEN_MAX is the NOFILE soft limit: %d\n", sysconf(_SC_OPEN_MAX) == (long)rl.rlim_cur);
	printf("sysconf CLK_TCK: %ld\n", sysconf(_SC_CLK_TCK));
	printf("NPROCESSORS_ONLN >= 1: %d\n", sysconf(_SC_NPROCESSORS_ONLN) >= 1);
	struct rusage ru;
	res("getrusage", getrusage(RUSAGE_SELF, &ru));
	res("getrusage bad who", getrusage(42, &ru));
}

/* ---- interval timers and alarm ---- */

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static void print_itimer(const char *what, const struct itimerval *v)
{
	printf("%s: interval %ld.%06ld value zero: %d\n", what, (long)v->it_interval.tv_sec,
	       (long)v->it_interval.tv_usec, v->it_value.tv_sec == 0 && v->it_value.tv_usec == 0);
}

static void sweep_timers(void)
{
	section("timers");
	struct sigaction sa = {0};
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a blocked call ends with EINTR. */
	sigaction(SIGALRM, &sa, NULL);
	res("alarm 0 (none armed)", alarm(0));
	res("alarm 100", alarm(100));
	/* 99.99... seconds left: rounded to the nearest second. */
	res("alarm 5 returns what was left", alarm(5));
	res("alarm 0 returns what was left", alarm(0));
	/* The alarm system call (musl's alarm() is setitimer, and rounds up):
	 * what it returns is rounded to the nearest second, and 1 rather than
	 * 0 while armed (kernel/time/itimer.c alarm_setitimer). */
	res("SYS_alarm 100", syscall(SYS_alarm, 100));
	res("SYS_alarm 0 returns what was left", syscall(SYS_alarm, 0));
	setitimer(ITIMER_REAL, &(struct itimerval){{0, 0}, {4, 600000}}, NULL);
	res("SYS_alarm after 4.6 s was set", syscall(SYS_alarm, 0));
	setitimer(ITIMER_REAL, &(struct itimerval){{0, 0}, {4, 400000}}, NULL);
	res("SYS_alarm after 4.4 s was set", syscall(SYS_alarm, 0));
	setitimer(ITIMER_REAL, &(struct itimerval){{0, 0}, {0, 300000}}, NULL);
	res("SYS_alarm after 0.3 s was set", syscall(SYS_alarm, 0));
	struct itimerval v, old;
	res("getitimer REAL", getitimer(ITIMER_REAL, &v));
	print_itimer("disarmed", &v);
	v = (struct itimerval){{0, 20000}, {0, 50000}};
	res("setitimer 50 ms then every 20 ms", setitimer(ITIMER_REAL, &v, &old));
	print_itimer("old setting", &old);
	res("getitimer armed", getitimer(ITIMER_REAL, &v));
	printf("interval read back: %ld.%06ld value in (0, 50 ms]: %d\n", (long)v.it_interval.tv_sec,
	       (long)v.it_interval.tv_usec, v.it_value.tv_sec == 0 && v.it_value.tv_usec > 0 && v.it_value.tv_usec <= 50000);
	sigset_t none;
	sigemptyset(&none);
	while (alarms < 3)
		sigsuspend(&none);
	printf("periodic: three SIGALRMs came\n");
	res("disarm", setitimer(ITIMER_REAL, &(struct itimerval){0}, &old));
	print_itimer("it was", &old);
	getitimer(ITIMER_REAL, &v);
	print_itimer("after disarm", &v);
	/* A read of an empty pipe is interrupted by the alarm. */
	int p[2];
	pipe(p);
	char c;
	alarms = 0;
	setitimer(ITIMER_REAL, &(struct itimerval){{0, 0}, {0, 30000}}, NULL);
	res("read interrupted by SIGALRM", read(p[0], &c, 1));
	printf("alarms: %d\n", alarms);
	close(p[0]);
	close(p[1]);
	res("setitimer usec out of range", setitimer(ITIMER_REAL, &(struct itimerval){{0, 0}, {0, 1000000}}, NULL));
	res("setitimer negative", setitimer(ITIMER_REAL, &(struct itimerval){{0, 0}, {-1, 0}}, NULL));
	res("setitimer bad timer", setitimer(99, &(struct itimerval){0}, NULL));
	res("getitimer bad timer", getitimer(99, &v));
	res("getitimer bad pointer", getitimer(ITIMER_REAL, (struct itimerval *)16));
	res("setitimer bad pointer", setitimer(ITIMER_REAL, (struct itimerval *)16, NULL));
	signal(SIGALRM, SIG_DFL);
}

/* ---- memory locks and residency ---- */

static void print_vec(const char *what, const unsigned char *v, int n)
{
	printf("%s:", what);
	for (int i = 0; i < n; i++)
		printf(" %d", v[i] & 1);
	printf("\n");
}

static void sweep_mlock(void)
{
	section("mlock");
	long page = sysconf(_SC_PAGESIZE);
	unsigned char v[4];
	char *m = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	res("mincore fresh", mincore(m, 4 * page, v));
	print_vec("resident", v, 4);
	m[page] = 1;
	mincore(m, 4 * page, v);
	print_vec("after touching page 1", v, 4);
	res("mlock2 MLOCK_ONFAULT", syscall(SYS_mlock2, m + 2 * page, page, 1));
	mincore(m, 4 * page, v);
	print_vec("onfault faults nothing in", v, 4);
	res("mlock", mlock(m, 4 * page));
	mincore(m, 4 * page, v);
	print_vec("after mlock", v, 4);
	res("munlock", munlock(m, 4 * page));
	mincore(m, 4 * page, v);
	print_vec("after munlock (still resident)", v, 4);
	res("mlock unaligned start, rounded", mlock(m + 10, 100));
	res("mlock length 0", mlock(m, 0));
	res("mlock2 bad flags", syscall(SYS_mlock2, m, page, 8));
	res("mlock wrapping range", mlock((void *)-page, 2 * page));
	res("mincore unaligned", mincore(m + 1, page, v));
	res("mincore bad vector", mincore(m, page, (unsigned char *)16));
	res("mincore beyond user space", mincore((void *)(1UL << 62), page, v));
	munmap(m + 2 * page, page);
	res("mincore over a hole", mincore(m, 4 * page, v));
	res("mlock over a hole", mlock(m, 4 * page));
	res("munlock over a hole", munlock(m, 4 * page));
	res("mincore length 0 over a hole", mincore(m + 2 * page, 0, v));
	res("mlockall no flags", mlockall(0));
	res("mlockall MCL_ONFAULT alone", mlockall(4));
	res("mlockall bad flag", mlockall(64));
	res("munlockall", munlockall());
	munmap(m, 4 * page);
}

/* ---- nice values ---- */

static void sweep_priority(void)
{
	section("priority");
	errno = 0;
	int start = getpriority(PRIO_PROCESS, 0);
	printf("getpriority: errno %s in range: %d\n", errname(errno), start >= -20 && start <= 19);
	/* Raising the nice value is allowed to anyone (lowering needs
	 * privilege, so the sweep only raises it). */
	int up = start < 19 ? start + 1 : 19;
	res("setpriority one nicer", setpriority(PRIO_PROCESS, 0, up));
	printf("getpriority follows: %d\n", getpriority(PRIO_PROCESS, 0) == up);
	printf("own pid names the thread: %d\n", getpriority(PRIO_PROCESS, getpid()) == up);
	res("setpriority 100 (clamped)", setpriority(PRIO_PROCESS, 0, 100));
	res("getpriority after clamp", getpriority(PRIO_PROCESS, 0));
	errno = 0;
	res("getpriority bad which", getpriority(42, 0));
	res("setpriority bad which", setpriority(42, 0, 0));
	res("getpriority missing pid", getpriority(PRIO_PROCESS, 0x7ffffff0));
	res("setpriority missing pid", setpriority(PRIO_PROCESS, 0x7ffffff0, 19));
	res("getpriority missing group", getpriority(PRIO_PGRP, 0x7ffffff0));
}

/* ---- flock ---- */

static int flock_fd;
static int flock_waiter_result = -2;

static void *flock_waiter(void *arg)
{
	(void)arg;
	flock_waiter_result = flock(flock_fd, LOCK_EX);
	return NULL;
}

static void sweep_flock(void)
{
	section("flock");
	int a = open("d.txt", O_RDWR);
	int b = open("d.txt", O_RDONLY);
	res("LOCK_EX", flock(a, LOCK_EX));
	res("LOCK_EX again (same description)", flock(a, LOCK_EX));
	res("second open LOCK_EX|LOCK_NB", flock(b, LOCK_EX | LOCK_NB));
	res("second open LOCK_SH|LOCK_NB", flock(b, LOCK_SH | LOCK_NB));
	int a2 = dup(a);
	res("dup shares the lock", flock(a2, LOCK_EX | LOCK_NB));
	close(a);
	res("closing one of two descriptors keeps it", flock(b, LOCK_EX | LOCK_NB));
	close(a2);
	res("the last close released it", flock(b, LOCK_EX | LOCK_NB));
	res("LOCK_UN", flock(b, LOCK_UN));
	res("LOCK_UN again", flock(b, LOCK_UN));
	/* Shared locks coexist; converting drops the old lock first. */
	a = open("d.txt", O_RDONLY);
	res("LOCK_SH", flock(a, LOCK_SH));
	res("second LOCK_SH", flock(b, LOCK_SH | LOCK_NB));
	res("upgrade while another shares", flock(a, LOCK_EX | LOCK_NB));
	res("the other upgrades (the first lost its lock)", flock(b, LOCK_EX | LOCK_NB));
	res("downgrade", flock(b, LOCK_SH | LOCK_NB));
	res("shared again beside it", flock(a, LOCK_SH | LOCK_NB));
	flock(a, LOCK_UN);
	flock(b, LOCK_UN);
	/* A blocked flock is woken by the unlock. */
	res("lock for the waiter", flock(a, LOCK_EX));
	flock_fd = b;
	pthread_t t;
	pthread_create(&t, NULL, flock_waiter, NULL);
	struct timespec nap = {0, 20 * 1000 * 1000};
	nanosleep(&nap, NULL);
	flock(a, LOCK_UN);
	pthread_join(t, NULL);
	printf("waiter got the lock after the unlock: %d\n", flock_waiter_result);
	res("now held by the waiter's description", flock(a, LOCK_EX | LOCK_NB));
	/* A blocked flock is interrupted by a signal. */
	struct sigaction sa = {0};
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &(struct itimerval){{0, 0}, {0, 30000}}, NULL);
	res("blocked LOCK_EX interrupted by SIGALRM", flock(a, LOCK_EX));
	signal(SIGALRM, SIG_DFL);
	close(b);
	res("after the holder closed", flock(a, LOCK_EX | LOCK_NB));
	res("bad operation", flock(a, 3));
	res("bad operation LOCK_NB alone", flock(a, LOCK_NB));
	res("bad operation before bad fd", flock(-1, 3));
	close(a);
	res("bad fd", flock(a, LOCK_EX));
	int p[2];
	pipe(p);
	res("a pipe", flock(p[0], LOCK_EX | LOCK_NB));
	close(p[0]);
	close(p[1]);
}

/* ---- chown ---- */

static void sweep_chown(void)
{
	section("chown");
	struct stat st;
	uid_t uid = getuid();
	gid_t gid = getgid();
	int fd = open("own.txt", O_CREAT | O_RDWR, 0644);
	res("fchown to oneself", fchown(fd, uid, gid));
	fstat(fd, &st);
	printf("owner is the caller: %d\n", st.st_uid == uid && st.st_gid == gid);
	res("fchown -1 -1", fchown(fd, -1, -1));
	res("fchmod 04755", fchmod(fd, 04755));
	res("fchown clears set-user-ID", fchown(fd, -1, -1));
	fstat(fd, &st);
	printf("mode after: %o\n", (unsigned)(st.st_mode & 07777));
	fchmod(fd, 02755);
	fchown(fd, uid, -1);
	fstat(fd, &st);
	printf("set-group-ID with group execute cleared: %o\n", (unsigned)(st.st_mode & 07777));
	fchmod(fd, 02644);
	fchown(fd, -1, gid);
	fstat(fd, &st);
	printf("set-group-ID without group execute kept: %o\n", (unsigned)(st.st_mode & 07777));
	close(fd);
	res("fchown bad fd", fchown(fd, uid, gid));
	res("chown", chown("own.txt", uid, gid));
	res("chown missing", chown("missing", uid, gid));
	res("chown ENOTDIR", chown("own.txt/x", uid, gid));
	symlink("own.txt", "own.lnk");
	res("lchown a link", lchown("own.lnk", uid, gid));
	res("fchownat NOFOLLOW", fchownat(AT_FDCWD, "own.lnk", uid, gid, AT_SYMLINK_NOFOLLOW));
	res("fchownat bad flags", fchownat(AT_FDCWD, "own.txt", uid, gid, 0x4));
	res("fchownat empty path without AT_EMPTY_PATH", fchownat(AT_FDCWD, "", uid, gid, 0));
	mkdir("owndir", 0755);
	chmod("owndir", 02755);
	chown("owndir", -1, -1);
	stat("owndir", &st);
	printf("a folder keeps set-group-ID: %o\n", (unsigned)(st.st_mode & 07777));
	rmdir("owndir");
	unlink("own.lnk");
	unlink("own.txt");
}

/* ---- fallocate ---- */

static void sweep_fallocate(void)
{
	section("fallocate");
	struct stat st;
	char buf[64];
	int fd = open("fa.bin", O_CREAT | O_RDWR, 0644);
	res("mode 0 from 0, 8192 bytes", fallocate(fd, 0, 0, 8192));
	fstat(fd, &st);
	printf("size: %lld\n", (long long)st.st_size);
	res("KEEP_SIZE past the end", fallocate(fd, 1, 8192, 4096));
	fstat(fd, &st);
	printf("size kept: %lld\n", (long long)st.st_size);
	res("mode 0 from 10000, 100 bytes", fallocate(fd, 0, 10000, 100));
	res("inside the file", fallocate(fd, 0, 0, 10));
	fstat(fd, &st);
	printf("size: %lld\n", (long long)st.st_size);
	memset(buf, 0x55, sizeof buf);
	res("pread the allocated range", pread(fd, buf, sizeof buf, 9000));
	printf("zeros: %d\n", buf[0] == 0 && buf[63] == 0);
	res("write into it", pwrite(fd, "abc", 3, 100));
	res("length 0", fallocate(fd, 0, 0, 0));
	res("negative length", fallocate(fd, 0, 0, -1));
	res("negative offset", fallocate(fd, 0, -1, 10));
	res("unknown mode bit", fallocate(fd, 0x1000, 0, 10));
	res("past the largest offset", fallocate(fd, 0, 0x7fffffffffffff00LL, 0x1000));
	close(fd);
	res("closed fd", fallocate(fd, 0, 0, 10));
	fd = open("fa.bin", O_RDONLY);
	res("read-only fd", fallocate(fd, 0, 0, 10));
	close(fd);
	int p[2];
	pipe(p);
	res("pipe write end", fallocate(p[1], 0, 0, 10));
	res("pipe read end", fallocate(p[0], 0, 0, 10));
	close(p[0]);
	close(p[1]);
	fd = open("/dev/null", O_WRONLY);
	res("/dev/null", fallocate(fd, 0, 0, 10));
	close(fd);
	unlink("fa.bin");
}

/* ---- processes: fork, wait4, kill, execve ---- */

static volatile sig_atomic_t chld_hits, chld_code, chld_status, usr1_hits;
static int copied_global = 1;

static void on_chld(int sig, siginfo_t *info, void *ctx)
{
	(void)sig;
	(void)ctx;
	chld_hits++;
	chld_code = info->si_code;
	chld_status = info->si_status;
}

static void on_usr1(int sig)
{
	(void)sig;
	usr1_hits++;
}

/* "WHAT: pid matches, exited 3" (never the pid itself). */
static void print_wait(const char *what, pid_t got, pid_t want, const int *status)
{
	int st = *status;
	if (got == -1) {
		printf("%s: -1 %s\n", what, errname(errno));
		return;
	}
	printf("%s: pid %s", what, got == want ? "matches" : got == 0 ? "0" : "differs");
	if (got != want)
		printf("\n");
	else if (WIFEXITED(st))
		printf(", exited %d\n", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		printf(", killed by %d, core %d\n", WTERMSIG(st), WCOREDUMP(st) ? 1 : 0);
	else
		printf(", status %#x\n", st);
}

/* The program again, after execve from the processes section:
 * c-sweep --exec-child WORD KEPT_FD CLOEXEC_FD. */
static int exec_child(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("exec child: argc %d, argv[2] %s\n", argc, argc > 2 ? argv[2] : "-");
	if (argc < 5)
		return 1;
	char c = 0;
	res("exec child reads the inherited pipe", read(atoi(argv[3]), &c, 1));
	printf("exec child read: %c\n", c);
	res("exec child F_GETFD of the close-on-exec fd", fcntl(atoi(argv[4]), F_GETFD));
	printf("exec child env C_SWEEP_EXEC: %s\n", getenv("C_SWEEP_EXEC") ? getenv("C_SWEEP_EXEC") : "(none)");
	struct sigaction sa;
	sigaction(SIGUSR1, NULL, &sa);
	printf("exec child caught SIGUSR1 is back to default: %d\n", sa.sa_handler == SIG_DFL);
	sigaction(SIGUSR2, NULL, &sa);
	printf("exec child ignored SIGUSR2 stays ignored: %d\n", sa.sa_handler == SIG_IGN);
	sigset_t mask;
	sigprocmask(SIG_SETMASK, NULL, &mask);
	printf("exec child keeps the blocked SIGWINCH: %d\n", sigismember(&mask, SIGWINCH));
	return 7;
}

static void sweep_processes(void)
{
	section("processes");
	fflush(stdout);
	int st = 0;
	pid_t me = getpid(), pid;

	/* Exit codes through wait4. */
	int codes[] = { 0, 1, 42, 255, 256 + 3 };
	for (unsigned i = 0; i < sizeof codes / sizeof codes[0]; i++) {
		pid = fork();
		if (pid == 0)
			_exit(codes[i]);
		char what[48];
		snprintf(what, sizeof what, "child _exit(%d)", codes[i]);
		print_wait(what, wait4(pid, &st, 0, NULL), pid, &st);
	}
	pid = fork();
	if (pid == 0)
		exit(getppid() == me ? 5 : 6);
	print_wait("child sees its parent (5)", waitpid(-1, &st, 0), pid, &st);
	res("no children left", waitpid(-1, &st, 0));
	res("no children left, WNOHANG", waitpid(-1, &st, WNOHANG));

	/* Memory is copied, not shared. */
	int *heap = malloc(sizeof *heap);
	*heap = 10;
	pid = fork();
	if (pid == 0) {
		copied_global = 2;
		*heap = 20;
		_exit(copied_global == 2 && *heap == 20 ? 0 : 1);
	}
	print_wait("child changes its copy", waitpid(pid, &st, 0), pid, &st);
	printf("parent's global %d, heap %d\n", copied_global, *heap);
	free(heap);

	/* A pipe from child to parent. */
	int p[2];
	res("pipe", pipe(p));
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		const char *msg = "hello from the child";
		_exit(write(p[1], msg, strlen(msg)) == (ssize_t)strlen(msg) ? 0 : 1);
	}
	close(p[1]);
	char buf[64];
	size_t got = 0;
	ssize_t n;
	while ((n = read(p[0], buf + got, sizeof buf - 1 - got)) > 0)
		got += n;
	buf[got] = 0;
	printf("parent read until EOF: %s\n", buf);
	close(p[0]);
	print_wait("writer child", waitpid(pid, &st, 0), pid, &st);

	/* The file offset is shared (one open file description). */
	int fd = open("shared-offset.txt", O_RDWR | O_CREAT | O_TRUNC, 0644);
	pid = fork();
	if (pid == 0)
		_exit(write(fd, "child,", 6) == 6 ? 0 : 1);
	waitpid(pid, &st, 0);
	res("parent writes after the child", write(fd, "parent", 6));
	lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, sizeof buf - 1);
	buf[n > 0 ? n : 0] = 0;
	printf("file: %s\n", buf);
	close(fd);

	/* WNOHANG on a running child, kill, WIFSIGNALED; SIGCHLD. */
	struct sigaction sa = { 0 };
	sa.sa_sigaction = on_chld;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigaction(SIGCHLD, &sa, NULL);
	res("pipe", pipe(p));
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		write(p[1], "r", 1);
		for (;;)
			pause();
	}
	close(p[1]);
	read(p[0], buf, 1);
	close(p[0]);
	print_wait("WNOHANG on a running child", waitpid(pid, &st, WNOHANG), pid, &st);
	res("kill(child, 0)", kill(pid, 0));
	res("kill(child, SIGTERM)", kill(pid, SIGTERM));
	print_wait("child killed by SIGTERM", waitpid(pid, &st, 0), pid, &st);
	printf("SIGCHLD: %d, si_code CLD_KILLED: %d, si_status %d\n", chld_hits, chld_code == CLD_KILLED, chld_status);
	res("kill(reaped child, 0)", kill(pid, 0));
	chld_hits = 0;
	pid = fork();
	if (pid == 0)
		_exit(9);
	print_wait("child exits 9", waitpid(pid, &st, 0), pid, &st);
	printf("SIGCHLD: %d, si_code CLD_EXITED: %d, si_status %d\n", chld_hits, chld_code == CLD_EXITED, chld_status);
	signal(SIGCHLD, SIG_DFL);

	/* A signal interrupts wait4 (no SA_RESTART): EINTR. The child sends
	 * its parent SIGUSR1 with kill(getppid()) every 10 ms (one may come
	 * before the parent waits) until it is killed. */
	struct sigaction su = { 0 };
	su.sa_handler = on_usr1;
	sigaction(SIGUSR1, &su, NULL);
	pid = fork();
	if (pid == 0) {
		for (;;) {
			kill(getppid(), SIGUSR1);
			nanosleep(&(struct timespec){ .tv_nsec = 10000000 }, NULL);
		}
	}
	res("waitpid interrupted by SIGUSR1", waitpid(pid, &st, 0));
	printf("SIGUSR1 handled: %d\n", usr1_hits > 0);
	res("kill(child, SIGKILL)", kill(pid, SIGKILL));
	print_wait("child killed by SIGKILL", waitpid(pid, &st, 0), pid, &st);

	/* SIGCHLD ignored: children are reaped at once, wait4 says ECHILD. */
	signal(SIGCHLD, SIG_IGN);
	pid = fork();
	if (pid == 0)
		_exit(0);
	res("wait with SIGCHLD ignored", waitpid(pid, &st, 0));
	signal(SIGCHLD, SIG_DFL);

	/* vfork: the child runs first, in the same memory. */
	static volatile int vforked;
	vforked = 0;
	pid = vfork();
	if (pid == 0) {
		vforked = 1;
		_exit(3);
	}
	printf("vfork child ran first, in shared memory: %d\n", vforked);
	print_wait("vfork child", waitpid(pid, &st, 0), pid, &st);

	/* execve errors. */
	char *args[] = { "c-sweep", NULL };
	res("execve missing", execve("/no/such/program", args, environ));
	res("execve a directory", execve("/", args, environ));
	int text = open("not-elf", O_WRONLY | O_CREAT | O_TRUNC, 0755);
	write(text, "just text\n", 10);
	close(text);
	res("execve a text file", execve("not-elf", args, environ));
	text = open("not-exec", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	write(text, "\177ELF", 4);
	close(text);
	res("execve a file without x bits", execve("not-exec", args, environ));
	res("execve a bad path pointer", syscall(SYS_execve, (char *)8, args, environ));
	res("execve a bad argv pointer", syscall(SYS_execve, "/proc/self/exe", (char **)8, environ));

	/* execve of this program: the kept pipe, the close-on-exec file,
	 * signal actions reset, the mask kept, the exit code. */
	res("pipe", pipe(p));
	int cloexec = open("shared-offset.txt", O_RDONLY | O_CLOEXEC);
	signal(SIGUSR2, SIG_IGN);
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGWINCH);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		sigprocmask(SIG_BLOCK, &block, NULL);
		write(p[1], "x", 1);
		char kept[16], closed[16];
		snprintf(kept, sizeof kept, "%d", p[0]);
		snprintf(closed, sizeof closed, "%d", cloexec);
		char *argv2[] = { "c-sweep", "--exec-child", "word", kept, closed, NULL };
		setenv("C_SWEEP_EXEC", "yes", 1);
		execve("/proc/self/exe", argv2, environ);
		printf("execve failed: %s\n", errname(errno));
		_exit(1);
	}
	print_wait("exec'd child", waitpid(pid, &st, 0), pid, &st);
	close(p[0]);
	close(p[1]);
	close(cloexec);
	signal(SIGUSR1, SIG_DFL);
	signal(SIGUSR2, SIG_DFL);
}

/* ---- calls the kernel does not implement (not compared) ---- */

static void sweep_unimplemented(void)
{
	printf("@@ uncompared unimplemented\n");
	res("setitimer ITIMER_VIRTUAL", setitimer(ITIMER_VIRTUAL, &(struct itimerval){0}, NULL));
	res("setitimer ITIMER_PROF", setitimer(ITIMER_PROF, &(struct itimerval){0}, NULL));
	int fd = open("d.txt", O_RDWR);
	res("fallocate punch hole", fallocate(fd, 3, 0, 10));
	close(fd);
	res("mkfifo", mkfifo("fifo", 0600));
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--exec-child") == 0)
		return exec_child(argc, argv);
	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR [ARG...]\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (mkdir(argv[1], 0755) != 0 && errno != EEXIST) {
		printf("mkdir %s: %s\n", argv[1], errname(errno));
		return 1;
	}
	if (chdir(argv[1]) != 0) {
		printf("chdir %s: %s\n", argv[1], errname(errno));
		return 1;
	}
	umask(022);
	sweep_stdio();
	sweep_files();
	sweep_dirs();
	sweep_fds();
	sweep_pipes();
	sweep_locks();
	sweep_memory();
	sweep_libc();
	sweep_time();
	sweep_env(argc, argv);
	sweep_identity();
	sweep_signals();
	sweep_threads();
	sweep_limits();
	sweep_timers();
	sweep_mlock();
	sweep_priority();
	sweep_flock();
	sweep_chown();
	sweep_fallocate();
	sweep_processes();
	sweep_unimplemented();
	printf("@@ end\n");
	return 0;
}
