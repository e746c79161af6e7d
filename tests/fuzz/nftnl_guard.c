// SPDX-License-Identifier: GPL-2.0
/*
 * libnftnl trusts the kernel.  An attribute of the wrong length or type
 * makes its parsers print "nf_tables kernel ABI is broken, contact your
 * vendor" and exit(EXIT_FAILURE); an expression without a name makes
 * nftnl_expr_parse() pass NULL to strcmp().  An arbitrary dump hits both
 * at once, and libFuzzer would count every one as a crash of nft-jit.
 *
 * The parsers the front end calls are wrapped here (the fuzzer's
 * definitions win over libnftnl.so's for the objects linked into it):
 * while one runs, exit() and a SIGSEGV jump back into the wrapper, which
 * returns -1 with errno EPROTO, what a parser that checked would return
 * for a malformed message.  Outside the parsers, exit() is libc's and a
 * SIGSEGV goes to AddressSanitizer's handler.  What a parser had
 * allocated when it gave up is lost: allocations made inside libnftnl's
 * parsers are not counted as leaks (__lsan_disable()); the objects the
 * front end allocates and frees still are.
 */
#include <dlfcn.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <sanitizer/lsan_interface.h>

#include <libnftnl/chain.h>
#include <libnftnl/gen.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include "fuzz.h"

static sigjmp_buf guard_env;
static volatile sig_atomic_t guarded;
static struct sigaction asan_segv;
unsigned long nftnl_guard_trips;

void exit(int status)
{
	static void (*real_exit)(int);

	if (guarded) {
		guarded = 0;
		siglongjmp(guard_env, 1);
	}
	if (!real_exit)
		real_exit = (void (*)(int))dlsym(RTLD_NEXT, "exit");
	if (real_exit)
		real_exit(status);
	_exit(status);
}

static void on_segv(int sig, siginfo_t *info, void *ctx)
{
	if (guarded) {
		guarded = 0;
		siglongjmp(guard_env, 1);
	}
	/* ours: AddressSanitizer reports it */
	sigaction(SIGSEGV, &asan_segv, NULL);
	if (asan_segv.sa_flags & SA_SIGINFO)
		asan_segv.sa_sigaction(sig, info, ctx);
	else if (asan_segv.sa_handler != SIG_DFL &&
		 asan_segv.sa_handler != SIG_IGN)
		asan_segv.sa_handler(sig);
	/* else: back to the fault, with the default action */
}

int nftnl_guard_init(void)
{
	struct sigaction sa = { .sa_sigaction = on_segv,
				.sa_flags = SA_SIGINFO | SA_ONSTACK };

	sigemptyset(&sa.sa_mask);
	return sigaction(SIGSEGV, &sa, &asan_segv);
}

static void *real(const char *name)
{
	void *fn = dlsym(RTLD_NEXT, name);

	if (!fn) {
		static const char msg[] = "fuzz: libnftnl parser not found\n";

		if (write(2, msg, sizeof(msg) - 1) < 0)
			_exit(1);
		abort();
	}
	return fn;
}

#define NFTNL_GUARD(fn, type)						\
int fn(const struct nlmsghdr *nlh, type *obj)				\
{									\
	static int (*parse)(const struct nlmsghdr *, type *);		\
	int ret;							\
									\
	if (!parse)							\
		parse = (int (*)(const struct nlmsghdr *, type *))real(#fn); \
	__lsan_disable();						\
	if (sigsetjmp(guard_env, 1)) {					\
		__lsan_enable();					\
		nftnl_guard_trips++;					\
		errno = EPROTO;						\
		return -1;						\
	}								\
	guarded = 1;							\
	ret = parse(nlh, obj);						\
	guarded = 0;							\
	__lsan_enable();						\
	return ret;							\
}

NFTNL_GUARD(nftnl_gen_nlmsg_parse, struct nftnl_gen)
NFTNL_GUARD(nftnl_table_nlmsg_parse, struct nftnl_table)
NFTNL_GUARD(nftnl_chain_nlmsg_parse, struct nftnl_chain)
NFTNL_GUARD(nftnl_rule_nlmsg_parse, struct nftnl_rule)
NFTNL_GUARD(nftnl_set_nlmsg_parse, struct nftnl_set)
NFTNL_GUARD(nftnl_set_elems_nlmsg_parse, struct nftnl_set)
