// SPDX-License-Identifier: GPL-2.0
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* unshare() */
#endif
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/netfilter.h>

#include "netns_util.h"

int nft_load(const char *ruleset)
{
	char path[] = "/tmp/nftj-test-XXXXXX";
	char cmd[sizeof(path) + 32];
	size_t len = strlen(ruleset);
	int fd, ret;

	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	ret = write(fd, ruleset, len) == (ssize_t)len ? 0 : -1;
	close(fd);
	if (!ret) {
		snprintf(cmd, sizeof(cmd), "nft -f %s", path);
		ret = system(cmd);
	}
	unlink(path);
	return ret;
}

void netns_skip_bpf(void)
{
	fflush(NULL);
	_exit(NETNS_SKIP_BPF);
}

static void netns_child(const char *ruleset,
			void (*fn)(struct nftj_ruleset *rs))
{
	struct nftj_ruleset rs;
	int ret;

	if (unshare(CLONE_NEWNET) < 0)
		_exit(errno == EPERM ? NETNS_SKIP_PERM : NETNS_FAIL);
	if (system("nft --version >/dev/null 2>&1") != 0)
		_exit(NETNS_SKIP_NFT);
	if (ruleset && nft_load(ruleset) != 0) {
		fprintf(stderr, "  nft -f failed\n");
		_exit(NETNS_FAIL);
	}
	ret = nftj_ruleset_dump(&rs, NFPROTO_UNSPEC);
	if (ret) {
		fprintf(stderr, "  nftj_ruleset_dump: %s\n", strerror(-ret));
		_exit(NETNS_FAIL);
	}
	fn(&rs);
	nftj_ruleset_free(&rs);
	fflush(NULL);
	_exit(unit_failed() ? NETNS_FAIL : NETNS_OK);
}

int netns_run(const char *ruleset, void (*fn)(struct nftj_ruleset *rs))
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return NETNS_FAIL;
	if (pid == 0)
		netns_child(ruleset, fn);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return NETNS_FAIL;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		fprintf(stderr, "  child killed by signal %d\n",
			WTERMSIG(status));
	return NETNS_FAIL;
}
