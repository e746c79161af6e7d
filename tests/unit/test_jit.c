// SPDX-License-Identifier: GPL-2.0
/*
 * struct nftj_prog's life cycle: an empty one owns no file descriptor,
 * freeing it (once or twice) closes nothing, and the callers that make
 * one without building it (status's chain_status()) leave the process's
 * descriptors alone.  fd 0 is the canary: a zeroed struct's "fds" are 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <linux/netfilter.h>

#include "jit.h"
#include "netns_util.h"
#include "status.h"
#include "unit.h"

/* put a pipe's read end on fd 0; its inode identifies it later */
static int canary_fd0(ino_t *ino)
{
	struct stat st;
	int p[2];

	if (pipe(p) < 0 || dup2(p[0], 0) < 0 || fstat(0, &st) < 0)
		return -1;
	close(p[0]);		/* p[1] stays open: the pipe lives */
	*ino = st.st_ino;
	return 0;
}

static bool canary_alive(ino_t ino)
{
	struct stat st;

	return fstat(0, &st) == 0 && st.st_ino == ino;
}

static void prog_init_free(struct nftj_ruleset *rs)
{
	struct nftj_prog jp;
	ino_t ino;

	CHECK(!canary_fd0(&ino));
	nftj_prog_init(&jp);
	CHECK_EQ(jp.prog_fd, -1);
	nftj_prog_free(&jp);
	CHECK(canary_alive(ino));
	/* freed is empty again: a second free closes nothing either */
	nftj_prog_free(&jp);
	CHECK(canary_alive(ino));
	/* a build that fails early leaves a struct that frees cleanly */
	CHECK_EQ(nftj_prog_build(&jp, rs, NFPROTO_IPV4, "t", "nosuch", NULL),
		 -ENOENT);
	nftj_prog_free(&jp);
	nftj_prog_free(&jp);
	CHECK(canary_alive(ino));
}

UNIT_TEST(jit_prog_init_free)
{
	NETNS_TEST("table ip t {\n"
		   "	chain c { type filter hook input priority 0; }\n"
		   "}\n", prog_init_free);
}

/*
 * status builds a program only for an attached chain or -v; every other
 * chain's report used to free a zeroed struct nftj_prog: close(0) through
 * its map and BTF fds.
 */
static void status_fd0(struct nftj_ruleset *rs)
{
	char dir[] = "/tmp/nftj-status-XXXXXX";
	struct status_opts o = { .state_dir = dir };
	json_t *r = NULL;
	ino_t ino;

	CHECK(mkdtemp(dir));
	CHECK(!canary_fd0(&ino));
	CHECK_EQ(status_collect(&o, &r), 0);
	rmdir(dir);
	CHECK_EQ(json_array_size(json_object_get(r, "chains")), 2);
	json_decref(r);
	CHECK(canary_alive(ino));
}

UNIT_TEST(jit_status_keeps_fds)
{
	NETNS_TEST("table ip t {\n"
		   "	chain c { type filter hook input priority 0; accept; }\n"
		   "	chain d { type filter hook output priority 0; }\n"
		   "}\n", status_fd0);
}
