// SPDX-License-Identifier: GPL-2.0
/*
 * Golden tests of the IMR passes, as nftables' tests/py *.payload files:
 * for every captured dump DIR/NAME.nl (replay.c), every base chain and
 * the test and kernel targets, the IMR after each stage of the pipeline
 * (imr_prog_print(): build, then optimize, cut and prune, "unchanged" when
 * a stage changed nothing) must be DIR/NAME.imr to the byte.  No root, no
 * network namespace, no BPF: nftj_prog_build() with NFTJ_F_IMR_ONLY on a
 * replayed dump.
 *
 *   golden [--dir DIR] [--fix] [NAME...]   compare (--fix: rewrite .imr)
 *   golden --capture FILE                  record this netns's dump (root)
 *
 * Ends with "N passed, N failed"; exit status 1 on any difference.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter.h>

#include "cli.h"
#include "jit.h"
#include "replay.h"

/* the targets whose IMR needs nothing of the machine (link: its BTF) */
static const enum nftj_target targets[] = {
	NFTJ_TARGET_TEST, NFTJ_TARGET_KERNEL,
};

struct stages {
	FILE *out;
	char *prev;			/* the previous stage's print */
};

static char *print_imr(const struct imr_prog *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	imr_prog_print(p, f);
	fclose(f);
	return buf;
}

static void stage_cb(enum nftj_stage st, const struct imr_prog *p, void *ctx)
{
	struct stages *s = ctx;
	char *now = print_imr(p);

	if (s->prev && now && !strcmp(s->prev, now)) {
		fprintf(s->out, "## %s: unchanged\n", nftj_stage_name(st));
	} else {
		fprintf(s->out, "## %s\n%s", nftj_stage_name(st),
			now ? now : "(out of memory)\n");
	}
	free(s->prev);
	s->prev = now;
}

static void chain_imr(FILE *out, const struct nftj_ruleset *rs,
		      const struct nftnl_chain *nc)
{
	uint32_t family = nftnl_chain_get_u32(nc, NFTNL_CHAIN_FAMILY);
	const char *table = nftnl_chain_get_str(nc, NFTNL_CHAIN_TABLE);
	const char *chain = nftnl_chain_get_str(nc, NFTNL_CHAIN_NAME);
	size_t i;

	for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		struct stages s = { .out = out };
		NFTJ_BUILD_OPTS(o, .target = targets[i],
				.flags = NFTJ_F_IMR_ONLY,
				.imr_stages = (1u << (NFTJ_STAGE_IMR_LAST + 1)) - 1,
				.imr_cb = stage_cb, .imr_ctx = &s);
		struct nftj_prog jp;
		int err;

		fprintf(out, "# %s %s %s, target %s\n", cli_family_name(family),
			table, chain, nftj_target_name(targets[i]));
		err = nftj_prog_build(&jp, rs, family, table, chain, &o);
		if (err)
			fprintf(out, "## error: %s: %s\n", strerror(-err),
				jp.why);
		free(s.prev);
		nftj_prog_free(&jp);
	}
}

/* the expected text of one captured dump */
static char *golden_of(const char *nl_path)
{
	struct nftnl_chain_list_iter *it;
	struct nftj_ruleset rs;
	struct nftnl_chain *nc;
	char *tape = NULL, *text = NULL;
	size_t len = 0, tlen = 0;
	FILE *f, *out;
	int err;

	f = fopen(nl_path, "rb");
	if (!f)
		return NULL;
	out = open_memstream(&tape, &len);
	if (out) {
		char buf[65536];
		size_t n;

		while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
			fwrite(buf, 1, n, out);
		fclose(out);
	}
	fclose(f);
	if (!tape)
		return NULL;
	replay_tape(tape, len);
	out = open_memstream(&text, &tlen);
	if (!out) {
		free(tape);
		return NULL;
	}
	err = nftj_ruleset_dump(&rs, NFPROTO_UNSPEC);
	if (err) {
		fprintf(out, "# dump: %s\n", strerror(-err));
	} else {
		it = nftnl_chain_list_iter_create(rs.chains);
		while (it && (nc = nftnl_chain_list_iter_next(it)))
			if (nftnl_chain_is_set(nc, NFTNL_CHAIN_HOOKNUM))
				chain_imr(out, &rs, nc);
		if (it)
			nftnl_chain_list_iter_destroy(it);
		nftj_ruleset_free(&rs);
	}
	fclose(out);
	replay_tape(NULL, 0);
	free(tape);
	return text;
}

static char *slurp(const char *path)
{
	char *buf = NULL;
	long n;
	FILE *f = fopen(path, "rb");

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n)
			buf[n] = '\0';
		else if (buf) {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	return buf;
}

/* the first line where a and b differ, for the report */
static void first_diff(const char *a, const char *b)
{
	const char *la = a, *lb = b;
	size_t line = 1;

	for (; *a && *a == *b; a++, b++) {
		if (*a == '\n') {
			line++;
			la = a + 1;
			lb = b + 1;
		}
	}
	printf("  line %zu\n  expected: %.*s\n  got:      %.*s\n",
		line, (int)strcspn(la, "\n"), la, (int)strcspn(lb, "\n"), lb);
}

/* 0 pass, 1 fail */
static int one(const char *dir, const char *name, bool fix)
{
	char nl[4096], imr[4096];
	char *got, *want;
	int rc = 0;
	FILE *f;

	snprintf(nl, sizeof(nl), "%s/%s.nl", dir, name);
	snprintf(imr, sizeof(imr), "%s/%s.imr", dir, name);
	got = golden_of(nl);
	if (!got) {
		printf("FAIL %s: cannot read %s\n", name, nl);
		return 1;
	}
	want = slurp(imr);
	if (fix && (!want || strcmp(want, got))) {
		f = fopen(imr, "w");
		rc = !f || fputs(got, f) < 0;
		if (f && fclose(f))
			rc = 1;
		printf("%s %s\n", rc ? "FAIL" : "fixed", name);
	} else if (!want) {
		printf("FAIL %s: no %s (--fix writes it)\n", name, imr);
		rc = 1;
	} else if (strcmp(want, got)) {
		printf("FAIL %s\n", name);
		first_diff(want, got);
		rc = 1;
	} else {
		printf("ok   %s\n", name);
	}
	free(got);
	free(want);
	return rc;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *dir, bool fix)
{
	char **names = NULL;
	size_t n = 0, i;
	int failed = 0;
	struct dirent *d;
	DIR *dp = opendir(dir);

	if (!dp) {
		fprintf(stderr, "golden: %s: %s\n", dir, strerror(errno));
		printf("0 passed, 1 failed\n");
		return 1;
	}
	while ((d = readdir(dp))) {
		size_t l = strlen(d->d_name);
		char **nn;

		if (l < 4 || strcmp(d->d_name + l - 3, ".nl"))
			continue;
		nn = realloc(names, (n + 1) * sizeof(*names));
		if (!nn)
			break;
		names = nn;
		names[n++] = strndup(d->d_name, l - 3);
	}
	closedir(dp);
	qsort(names, n, sizeof(*names), by_name);
	for (i = 0; i < n; i++) {
		failed += one(dir, names[i], fix);
		free(names[i]);
	}
	free(names);
	printf("%zu passed, %d failed\n", n - (size_t)failed, failed);
	return failed ? 1 : 0;
}

static int capture(const char *path)
{
	struct nftj_ruleset rs;
	FILE *f = fopen(path, "wb");
	int err;

	if (!f) {
		fprintf(stderr, "golden: %s: %s\n", path, strerror(errno));
		return 1;
	}
	replay_record(f);
	err = nftj_ruleset_dump(&rs, NFPROTO_UNSPEC);
	if (!err) {
		nftj_ruleset_free(&rs);
		err = replay_record_err();
	}
	replay_tape(NULL, 0);
	if (fclose(f) && !err)
		err = -errno;
	if (err) {
		fprintf(stderr, "golden: capture %s: %s\n", path,
			strerror(-err));
		return 1;
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: golden [--dir DIR] [--fix] [NAME...]\n"
		"       golden --capture FILE\n"
		"Compare the IMR of each DIR/NAME.nl (default: the directory of\n"
		"this program) with DIR/NAME.imr; --fix rewrites the .imr files\n"
		"that differ; --capture records this network namespace's\n"
		"ruleset (root).  See tests/golden/README.md.\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "fix", no_argument, NULL, 'f' },
		{ "capture", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	char *self = strdup(argv[0]);
	const char *dir = self && strchr(self, '/') ? dirname(self) : ".";
	bool fix = false;
	int c, i, failed = 0;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'f': fix = true; break;
		case 'c': return capture(optarg);
		case 'h': usage(stdout); return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind == argc)
		return run_dir(dir, fix);
	for (i = optind; i < argc; i++)
		failed += one(dir, argv[i], fix);
	printf("%d passed, %d failed\n", argc - optind - failed, failed);
	return failed ? 1 : 0;
}
