// SPDX-License-Identifier: GPL-2.0
/* The daemon's state file (state.h, docs/daemon.md). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/netfilter.h>

#include "cli.h"
#include "state.h"

double nftj_unix_time(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* a JSON string, or null for NULL; bytes that are not UTF-8 become '?' */
static json_t *jstr(const char *s)
{
	json_t *v;
	char *c;
	size_t i;

	if (!s)
		return json_null();
	v = json_string(s);
	if (v)
		return v;
	c = strdup(s);
	if (!c)
		return NULL;
	for (i = 0; c[i]; i++)
		if ((unsigned char)c[i] >= 0x80)
			c[i] = '?';
	v = json_string(c);
	free(c);
	return v;
}

/* the last NFTJ_STATE_LOG_TAIL bytes of a log, from a line start */
static json_t *log_tail(const char *log)
{
	size_t len;
	const char *p, *nl;

	if (!log)
		return json_null();
	len = strlen(log);
	if (len <= NFTJ_STATE_LOG_TAIL)
		return jstr(log);
	p = log + len - NFTJ_STATE_LOG_TAIL;
	nl = strchr(p, '\n');
	if (nl && nl[1])
		p = nl + 1;
	return jstr(p);
}

/* hook numbers are per family: netdev and arp have their own */
static const char *hook_of(uint32_t family, uint32_t hook)
{
	static const char *const netdev[] = { "ingress", "egress" };
	static const char *const arp[] = { "input", "output", "forward" };

	if (family == NFPROTO_NETDEV)
		return hook < 2 ? netdev[hook] : "unknown";
	if (family == NFPROTO_ARP)
		return hook < 3 ? arp[hook] : "unknown";
	return cli_hook_name(hook);
}

static const char *const cstate_name[] = {
	[NFTJ_CS_JIT] = "jit",
	[NFTJ_CS_PARTIAL] = "partial",
	[NFTJ_CS_INTERP] = "interpreter",
};

json_t *nftj_state_chain(const struct nftj_centry *c)
{
	json_t *first = json_null(), *prog = json_null();

	if (c->first)
		first = json_pack("{s:I, s:i, s:o}",
				  "handle", (json_int_t)c->first_handle,
				  "index", c->first_index,
				  "reason", jstr(c->first_reason));
	if (c->prog_id)
		prog = json_pack("{s:I, s:o, s:I, s:I, s:I}",
				 "id", (json_int_t)c->prog_id,
				 "name", jstr(c->name),
				 "insns", (json_int_t)c->insns,
				 "programs", (json_int_t)c->nprogs,
				 "jited_len", (json_int_t)c->jited_len);
	if (!first || !prog) {
		json_decref(first);
		json_decref(prog);
		return NULL;
	}
	return json_pack("{s:s, s:o, s:o, s:s, s:i, s:I, s:s, s:o, s:o,"
			 " s:o, s:I, s:I, s:I, s:f, s:f, s:o, s:o}",
			 "family", cli_family_name(c->family),
			 "table", jstr(c->table), "chain", jstr(c->chain),
			 "hook", hook_of(c->family, c->hook), "priority", (int)c->prio,
			 "generation", (json_int_t)c->genid,
			 "state", cstate_name[c->state],
			 "reason", jstr(c->reason),
			 "first_interpreted", first, "program", prog,
			 "rules", (json_int_t)c->rules,
			 "compiled", (json_int_t)c->compiled,
			 "services", (json_int_t)c->services,
			 "compile_ms", c->compile_ms,
			 "attach_ms", c->attach_ms,
			 "attached_at", c->attached_at > 0 ?
			 json_real(c->attached_at) : json_null(),
			 "verifier_log", log_tail(c->verifier_log));
}

int nftj_state_path(char *buf, size_t len, const char *dir, uint64_t inode)
{
	int n = snprintf(buf, len, "%s/netns-%llu.json", dir,
			 (unsigned long long)inode);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int nftj_state_write(const char *path, const struct nftj_shdr *h,
		     json_t *chains)
{
	char tmp[4096];
	json_t *o;
	int fd, err = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	o = json_pack("{s:i, s:I, s:o, s:I, s:f, s:f, s:I, s:I, s:I, s:I,"
		      " s:O}",
		      "version", NFTJ_STATE_VERSION,
		      "pid", (json_int_t)h->pid,
		      "netns", jstr(h->netns),
		      "netns_inode", (json_int_t)h->inode,
		      "started", h->started, "updated", h->updated,
		      "generation", (json_int_t)h->genid,
		      "syncs", (json_int_t)h->syncs,
		      "resyncs", (json_int_t)h->resyncs,
		      "stale_retries", (json_int_t)h->stale_retries,
		      "chains", chains);
	if (!o)
		return -ENOMEM;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	errno = 0;
	if (json_dumpfd(o, fd, JSON_COMPACT) < 0 || write(fd, "\n", 1) != 1)
		err = errno ? -errno : -EIO;
	if (close(fd) < 0 && !err)
		err = -errno;
	if (!err && rename(tmp, path) < 0)
		err = -errno;
	if (err)
		unlink(tmp);
out:
	json_decref(o);
	return err;
}
