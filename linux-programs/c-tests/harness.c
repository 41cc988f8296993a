#include "harness.h"

#include <unistd.h>

void write_stderr(const char *s, int n)
{
	/* write(2) directly: the message must not wait in a stdio buffer. */
	if (n > 0)
		(void)!write(2, s, (size_t)n);
}

int run_tests(const struct test *tests, int count, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "--libos-test-list") == 0) {
		for (int i = 0; i < count; i++) {
			long len = (long)strlen(tests[i].name);
			/* r10 (the expectation) and r8 are 0: must pass. No call may
			 * come between these and the asm (it would clobber them). */
			register long kind __asm__("r10") = EXPECT_KIND_PASS;
			register long arg __asm__("r8") = 0;
			long ret;
			__asm__ volatile("syscall"
					 : "=a"(ret)
					 : "a"(LIBOS_TEST_REGISTER), "D"((long)i), "S"(tests[i].name),
					   "d"(len), "r"(kind), "r"(arg)
					 : "rcx", "r11", "memory");
			if (ret != 0)
				return 1;
		}
		return 0;
	}
	if (argc >= 3 && strcmp(argv[1], "--libos-test-run") == 0) {
		int n = atoi(argv[2]);
		if (n < 0 || n >= count)
			return 2;
		tests[n].run();
		return 0;
	}
	for (int i = 0; i < count; i++) {
		fflush(stdout);
		tests[i].run();
		printf("test %s ... ok\n", tests[i].name);
	}
	printf("%d passed, 0 failed\n", count);
	return 0;
}
