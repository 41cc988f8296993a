/*
 * The kernel's test protocol from C: a static musl program registers its
 * tests with the libos_test_register hook (number 1024, not a Linux call)
 * when started with --libos-test-list, and runs one with
 * --libos-test-run N (exit 0: it passed; 101: it failed). Without
 * arguments (under Linux, say) it runs them all and prints a line each.
 */
#ifndef HARNESS_H
#define HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The kernel's hook number and the "must pass" expectation. */
#define LIBOS_TEST_REGISTER 1024
#define EXPECT_KIND_PASS 0
/* The exit status of a failed test (the kernel's EXIT_PANICKED). */
#define EXIT_FAILED 101

struct test {
	const char *name;
	void (*run)(void);
};

/* Fails the running test: a message on stderr, exit status 101. */
#define CHECK(cond)                                                              \
	do {                                                                         \
		if (!(cond)) {                                                           \
			char msg_[256];                                                      \
			int n_ = snprintf(msg_, sizeof msg_, "%s:%d: check failed: %s\n",  \
					  __FILE__, __LINE__, #cond);                                \
			write_stderr(msg_, n_);                                              \
			exit(EXIT_FAILED);                                                   \
		}                                                                        \
	} while (0)

void write_stderr(const char *s, int n);
int run_tests(const struct test *tests, int count, int argc, char **argv);

#endif
