// SPDX-License-Identifier: GPL-2.0
/*
 * The daemon's worker: one per network namespace.  It listens to the
 * nf_tables events (NFNLGRP_NFTABLES), and after every commit runs a sync
 * pass: dump the ruleset, compile every base chain the kernel part has no
 * program for and attach it at the dump's generation.  docs/daemon.md.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_tables_jit.h>

#include "cli.h"
#include "daemon.h"
#include "genwatch.h"
#include "jit.h"
#include "kctl.h"
#include "nl.h"
#include "state.h"

#define SYNC_TRIES	5		/* attempts of a pass while commits land */
#define EV_RCVBUF	(16 << 20)	/* event socket receive buffer */
#define EV_BUFSZ	65536		/* one read: an skb of events */
#define EV_DRAIN_MAX	100000		/* reads per drain */
#define NETNS_WAIT_MS	5000		/* a new /run/netns entry gets mounted */
#define RETRY_MAX_MS	30000		/* a pass that failed, retried */

/* a table that events named: failed chains of it are compiled again */
struct tstamp {
	uint32_t family;
	char *name;
	uint32_t genid;			/* the NEWGEN that followed */
	bool pending;			/* no NEWGEN yet */
};

/* a base chain, as the last pass left it */
struct dchain {
	uint32_t family;
	char *table, *chain;
	json_t *entry;			/* its state file entry */
	uint32_t prog_id;		/* attached program, 0: none */
	bool failed;			/* no program: wait for a table event */
	uint32_t fail_gen;		/* generation of that verdict */
};

struct dchains {
	struct dchain *v;
	size_t n, cap;
};

struct pass_stats {
	unsigned int attached, interp, kept, adopted;
	double dump_ms;
};

struct worker {
	struct nftj_dopts o;		/* a copy: errors_to_stderr changes */
	const char *netns;
	char label[300];		/* "netns NAME" or "own netns" */
	char path[PATH_MAX], lock[PATH_MAX];
	int lock_fd, sig_fd, ready_fd;
	struct mnl_socket *ev;
	char *evbuf;
	struct nftj_kctl k;
	bool kctl_open;
	bool restart;			/* the kernel part failed: exit 1 */
	struct nftj_kfunc kf;		/* the services kfunc, found once */
	bool kf_ok;
	uint32_t kf_gen;		/* pass of the last lookup that failed */

	/* what the events said since the last completed pass */
	struct tstamp *ts;
	size_t nts, tscap;
	bool structural;		/* more than set elements changed */
	bool newgen;			/* a NEWGEN in the last drain */
	uint32_t ev_genid;		/* the last NEWGEN's generation */
	bool resync;			/* events were lost: retry everything */
	double ev_ms;			/* first event not synced yet, or 0 */

	struct dchains ch;
	struct nftj_shdr hdr;
	bool synced;			/* a pass completed */
	bool stop;
	double retry_at;		/* a failed pass, retried then; or 0 */
	unsigned int retry_ms;

	/* testing only: NFTJ_FAULT_VERIFIER, NFTJ_FAULT_COMPILE_DELAY_MS */
	const char *fault_chain;
	unsigned int fault_delay_ms;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void nftj_dlog(const struct nftj_dopts *o, int prio, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	int n;

	if (prio == LOG_DEBUG && !o->verbose)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (!o->foreground)
		syslog(prio, "%s", buf);
	if (o->foreground || (o->errors_to_stderr && prio <= LOG_ERR)) {
		char line[sizeof(buf) + 16];

		n = snprintf(line, sizeof(line), "nft-jit: %s\n", buf);
		if (n > (int)sizeof(line) - 1)
			n = sizeof(line) - 1;
		if (write(STDERR_FILENO, line, (size_t)n) < 0)
			return;
	}
}

/* "LABEL: MESSAGE" */
__attribute__((format(printf, 3, 4)))
static void wlog(const struct worker *w, int prio, const char *fmt, ...)
{
	char buf[1800];
	va_list ap;

	if (prio == LOG_DEBUG && !w->o.verbose)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	nftj_dlog(&w->o, prio, "%s: %s", w->label, buf);
}

/* SIGTERM or SIGINT pending?  Sets w->stop. */
static bool check_stop(struct worker *w, int timeout_ms)
{
	struct pollfd p = { .fd = w->sig_fd, .events = POLLIN };
	struct signalfd_siginfo si;

	if (w->stop)
		return true;
	if (poll(&p, 1, timeout_ms) > 0 &&
	    read(w->sig_fd, &si, sizeof(si)) == sizeof(si)) {
		wlog(w, LOG_DEBUG, "%s", strsignal((int)si.ssi_signo));
		w->stop = true;
	}
	return w->stop;
}

/* ---- events ---- */

static int ev_open(struct worker *w)
{
	int sz = EV_RCVBUF, err;
	struct mnl_socket *nl;

	err = genwatch_open(&nl);
	if (err)
		return err;
	/* beyond rmem_max with CAP_NET_ADMIN; else what rmem_max allows */
	if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &sz,
		       sizeof(sz)) < 0)
		setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUF, &sz,
			   sizeof(sz));
	w->ev = nl;
	return 0;
}

static struct tstamp *tstamp_get(struct worker *w, uint32_t family,
				 const char *name)
{
	struct tstamp *t;
	size_t i;

	for (i = 0; i < w->nts; i++)
		if (w->ts[i].family == family && !strcmp(w->ts[i].name, name))
			return &w->ts[i];
	if (w->nts == w->tscap) {
		size_t cap = w->tscap ? 2 * w->tscap : 16;

		t = realloc(w->ts, cap * sizeof(*t));
		if (!t)
			return NULL;
		w->ts = t;
		w->tscap = cap;
	}
	t = &w->ts[w->nts];
	t->name = strdup(name);
	if (!t->name)
		return NULL;
	t->family = family;
	t->genid = 0;
	w->nts++;
	return t;
}

/* attribute 1 of every nf_tables object message is its table's name */
static int table_attr_cb(const struct nlattr *a, void *data)
{
	const char **name = data;

	if (mnl_attr_get_type(a) == 1 &&
	    !mnl_attr_validate(a, MNL_TYPE_NUL_STRING))
		*name = mnl_attr_get_str(a);
	return MNL_CB_OK;
}

static int gen_attr_cb(const struct nlattr *a, void *data)
{
	uint32_t *id = data;

	if (mnl_attr_get_type(a) == NFTA_GEN_ID &&
	    !mnl_attr_validate(a, MNL_TYPE_U32))
		*id = ntohl(mnl_attr_get_u32(a));
	return MNL_CB_OK;
}

static int ev_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nfgenmsg *nfg = mnl_nlmsg_get_payload(nlh);
	struct worker *w = data;
	const char *table = NULL;
	struct tstamp *t;
	uint32_t id = 0;
	size_t i;

	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES ||
	    nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*nfg)))
		return MNL_CB_OK;
	switch (NFNL_MSG_TYPE(nlh->nlmsg_type)) {
	case NFT_MSG_NEWGEN:
		mnl_attr_parse(nlh, sizeof(*nfg), gen_attr_cb, &id);
		w->newgen = true;
		w->ev_genid = id;
		for (i = 0; i < w->nts; i++) {
			if (w->ts[i].pending) {
				w->ts[i].pending = false;
				w->ts[i].genid = id;
			}
		}
		break;
	case NFT_MSG_NEWSETELEM:
	case NFT_MSG_DELSETELEM:
		/* lookups are live (services): nothing to compile */
		break;
	default:
		if (!w->ev_ms)
			w->ev_ms = now_ms();
		w->structural = true;
		mnl_attr_parse(nlh, sizeof(*nfg), table_attr_cb, &table);
		t = table ? tstamp_get(w, nfg->nfgen_family, table) : NULL;
		if (t)
			t->pending = true;
		else
			w->resync = true;	/* unnamed, or no memory */
	}
	return MNL_CB_OK;
}

/* read every queued event; -errno on a socket error */
static int ev_drain(struct worker *w)
{
	int i, err = -ENOBUFS;

	/* each loss is reported once; the events after it are queued */
	for (i = 0; i < 64 && err == -ENOBUFS; i++) {
		err = nftj_nl_events(w->ev, w->evbuf, EV_BUFSZ, EV_DRAIN_MAX,
				     ev_cb, w);
		if (err != -ENOBUFS)
			break;
		wlog(w, LOG_WARNING, "event loss (ENOBUFS): full resync");
		w->resync = true;
		w->hdr.resyncs++;
		if (!w->ev_ms)
			w->ev_ms = now_ms();
	}
	return err == -ENOBUFS ? 0 : err;
}

/* did an event name this table after generation gen? */
static bool table_changed(const struct worker *w, uint32_t family,
			  const char *table, uint32_t gen)
{
	size_t i;

	for (i = 0; i < w->nts; i++) {
		const struct tstamp *t = &w->ts[i];

		if (t->family != family || strcmp(t->name, table))
			continue;
		return t->pending || (int32_t)(t->genid - gen) > 0;
	}
	return false;
}

/* after a pass at generation gen: stamps up to gen changed nothing left */
static void tstamp_prune(struct worker *w, uint32_t gen)
{
	size_t i, j = 0;

	for (i = 0; i < w->nts; i++) {
		if (!w->ts[i].pending && (int32_t)(w->ts[i].genid - gen) <= 0) {
			free(w->ts[i].name);
			continue;
		}
		w->ts[j++] = w->ts[i];
	}
	w->nts = j;
}

static bool stamps_pending(const struct worker *w)
{
	size_t i;

	for (i = 0; i < w->nts; i++)
		if (w->ts[i].pending)
			return true;
	return false;
}

/* ---- chains ---- */

static struct dchain *dchain_find(const struct dchains *c, uint32_t family,
				  const char *table, const char *chain)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (c->v[i].family == family && !strcmp(c->v[i].table, table) &&
		    !strcmp(c->v[i].chain, chain))
			return &c->v[i];
	return NULL;
}

static struct dchain *dchain_add(struct dchains *c, uint32_t family,
				 const char *table, const char *chain)
{
	struct dchain *d;

	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 16;

		d = realloc(c->v, cap * sizeof(*d));
		if (!d)
			return NULL;
		c->v = d;
		c->cap = cap;
	}
	d = &c->v[c->n];
	memset(d, 0, sizeof(*d));
	d->family = family;
	d->table = strdup(table);
	d->chain = strdup(chain);
	if (!d->table || !d->chain) {
		free(d->table);
		free(d->chain);
		return NULL;
	}
	c->n++;
	return d;
}

static void dchains_free(struct dchains *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		free(c->v[i].table);
		free(c->v[i].chain);
		json_decref(c->v[i].entry);
	}
	free(c->v);
	memset(c, 0, sizeof(*c));
}

/*
 * A pass stopped half-way: keep what it did, and the last pass's view of
 * the chains it did not reach.  Consumes old.
 */
static void dchains_merge(struct dchains *nw, struct dchains *old)
{
	struct dchain *d, *o;
	size_t i, j;

	for (i = 0; i < old->n; i++) {
		o = &old->v[i];
		d = dchain_find(nw, o->family, o->table, o->chain);
		if (d && d->entry)
			continue;
		if (!d)
			d = dchain_add(nw, o->family, o->table, o->chain);
		if (!d)
			continue;
		d->entry = o->entry;
		o->entry = NULL;
		d->prog_id = o->prog_id;
		d->failed = o->failed;
		d->fail_gen = o->fail_gen;
	}
	for (i = 0, j = 0; i < nw->n; i++) {
		if (!nw->v[i].entry) {
			free(nw->v[i].table);
			free(nw->v[i].chain);
			continue;
		}
		nw->v[j++] = nw->v[i];
	}
	nw->n = j;
	dchains_free(old);
}

static size_t count_rules(const struct nftj_ruleset *rs, uint32_t family,
			  const char *table, const char *chain)
{
	struct nftnl_rule_list_iter *it;
	struct nftnl_rule *r;
	size_t n = 0;

	it = nftnl_rule_list_iter_create(rs->rules);
	while (it && (r = nftnl_rule_list_iter_next(it)))
		n += nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY) == family &&
		     !strcmp(nftnl_rule_get_str(r, NFTNL_RULE_TABLE), table) &&
		     !strcmp(nftnl_rule_get_str(r, NFTNL_RULE_CHAIN), chain);
	if (it)
		nftnl_rule_list_iter_destroy(it);
	return n;
}

/* the verifier's complaint: its last line before the statistics */
static void verifier_reason(const char *log, char *buf, size_t len)
{
	const char *end = log + strlen(log), *s, *e;

	snprintf(buf, len, "the verifier rejected the program");
	while (end > log) {
		e = end;
		while (e > log && e[-1] == '\n')
			e--;
		s = e;
		while (s > log && s[-1] != '\n')
			s--;
		end = s;
		if (e == s || !strncmp(s, "processed ", 10) ||
		    !strncmp(s, "verification time", 17) ||
		    !strncmp(s, "stack depth", 11))
			continue;
		snprintf(buf, len, "the verifier rejected the program: %.*s",
			 (int)(e - s), s);
		return;
	}
}

static void first_interpreted(const struct nftj_prog *jp,
			      struct nftj_centry *ci)
{
	const struct imr_chain *ch = &jp->imr.chains[0];
	const struct imr_rule *u;

	if (ch->first_unsupported < 0)
		return;
	u = &ch->rules[ch->first_unsupported];
	ci->first = true;
	ci->first_handle = u->handle;
	ci->first_index = (int)u->pos;
	ci->first_reason = u->reason;
}

static const char *fam(uint32_t family)
{
	return cli_family_name(family);
}

/* a failure that may go away by itself: retried without an event */
static bool transient(int err)
{
	switch (err) {
	case -ENOMEM: case -EAGAIN: case -EBUSY: case -EINTR: case -ENOSPC:
	case -EMFILE: case -ENFILE: case -ENOBUFS: case -ETIMEDOUT:
		return true;
	}
	return false;
}

static void retry_later(struct worker *w)
{
	if (w->retry_at)
		return;
	w->retry_ms = w->retry_ms ? 2 * w->retry_ms : 1000;
	if (w->retry_ms > RETRY_MAX_MS)
		w->retry_ms = RETRY_MAX_MS;
	w->retry_at = now_ms() + w->retry_ms;
}

/*
 * The chain stays with the interpreter: entry, log, and the failure,
 * remembered until its table changes unless err is transient.
 */
static int set_interp(struct worker *w, struct nftj_centry *ci,
		      struct dchain *d, int err)
{
	ci->state = NFTJ_CS_INTERP;
	ci->prog_id = 0;
	ci->compiled = 0;
	ci->attach_ms = 0;
	ci->attached_at = 0;
	wlog(w, LOG_NOTICE, "%s %s %s stays with the interpreter: %s%s",
	     fam(ci->family), ci->table, ci->chain, ci->reason,
	     transient(err) ? " (will retry)" : "");
	d->failed = !transient(err);
	d->fail_gen = ci->genid;
	if (!d->failed)
		retry_later(w);
	d->entry = nftj_state_chain(ci);
	return d->entry ? 0 : -ENOMEM;
}

/* 0, or -ESTALE (attach again), -EINTR (stop), -ENOMEM */
static int attach_prog(struct worker *w, const struct nftj_ruleset *rs,
		       struct nftj_prog *jp, struct nftj_centry *ci,
		       struct dchain *d)
{
	struct nftj_kattach a = {
		.family = ci->family, .table = ci->table, .chain = ci->chain,
		.genid = rs->genid, .prog_fd = jp->prog_fd,
		.svc = jp->svc, .nsvc = jp->nsvc,
	};
	char reason[600];
	double t0;
	int err;

	/* testing only: time for a test to kill the daemon mid-compile */
	if (w->fault_delay_ms && check_stop(w, (int)w->fault_delay_ms))
		return -EINTR;
	t0 = now_ms();
	err = nftj_kctl_attach(&w->k, &a);
	ci->attach_ms = now_ms() - t0;
	if (err == -ESTALE) {
		wlog(w, LOG_INFO, "attach %s %s %s: stale (generation %u), again",
		     fam(ci->family), ci->table, ci->chain, rs->genid);
		return -ESTALE;
	}
	if (err) {
		snprintf(reason, sizeof(reason), "attach refused: %s%s%s",
			 strerror(-err), w->k.ext_msg[0] ? ": " : "",
			 w->k.ext_msg);
		ci->reason = reason;
		return set_interp(w, ci, d, err);
	}
	ci->state = ci->compiled == ci->rules ? NFTJ_CS_JIT : NFTJ_CS_PARTIAL;
	ci->reason = ci->state == NFTJ_CS_PARTIAL ? ci->first_reason : NULL;
	ci->prog_id = jp->prog_id;
	ci->name = jp->name;
	ci->jited_len = jp->jited_len;
	ci->attached_at = nftj_unix_time();
	wlog(w, LOG_INFO,
	     "attached %s %s %s: prog %u, %zu insns, %zu/%zu rules, generation %u (%.1f ms compile, %.1f ms attach)%s%s",
	     fam(ci->family), ci->table, ci->chain, ci->prog_id, ci->insns,
	     ci->compiled, ci->rules, ci->genid, ci->compile_ms,
	     ci->attach_ms, ci->reason ? "; then the interpreter: " : "",
	     ci->reason ? ci->reason : "");
	d->prog_id = jp->prog_id;
	d->entry = nftj_state_chain(ci);
	return d->entry ? 0 : -ENOMEM;
}

/*
 * The services kfunc, looked up once: the lookup reads the kernel's BTF,
 * by far the longest step of building a small chain.  Looked up again,
 * at most once per pass, after a build failed in a way it could explain.
 */
static const struct nftj_kfunc *kfunc(struct worker *w, uint32_t gen)
{
	char why[256];

	if (!w->kf_ok && w->kf_gen != gen) {
		w->kf_gen = gen;
		w->kf_ok = !nftj_kfunc_find(&w->kf, NFTJ_KFUNC_MODULE,
					    NFTJ_SVC_KFUNC, why, sizeof(why));
		if (!w->kf_ok)
			wlog(w, LOG_DEBUG, "services kfunc: %s", why);
	}
	return w->kf_ok ? &w->kf : NULL;
}

static void kfunc_drop(struct worker *w)
{
	if (w->kf_ok)
		nftj_kfunc_release(&w->kf);
	w->kf_ok = false;
}

/* compile, load and attach one chain; 0, -ESTALE, -EINTR, -ENOMEM */
static int chain_sync(struct worker *w, const struct nftj_ruleset *rs,
		      struct nftj_centry *ci, struct dchain *d)
{
	NFTJ_BUILD_OPTS(o, .target = NFTJ_TARGET_KERNEL,
			.kfunc = kfunc(w, rs->genid));
	char reason[600];
	struct nftj_prog jp;
	double t0;
	int err;

	if (w->fault_chain && !strcmp(w->fault_chain, ci->chain))
		o.flags |= NFTJ_F_FAULT_VERIFIER;	/* testing only */
	t0 = now_ms();
	err = nftj_prog_build(&jp, rs, ci->family, ci->table, ci->chain, &o);
	ci->compile_ms = now_ms() - t0;
	wlog(w, LOG_DEBUG, "%s %s %s: %.1f ms IMR and code, %.1f ms verifier, %.1f ms other (kfunc BTF)",
	     fam(ci->family), ci->table, ci->chain, jp.compile_ms, jp.load_ms,
	     ci->compile_ms - jp.compile_ms - jp.load_ms);
	ci->rules = jp.imr.nchains ? nftj_prog_rules(&jp) :
		    count_rules(rs, ci->family, ci->table, ci->chain);
	ci->services = jp.nsvc;
	ci->insns = jp.insns;
	ci->nprogs = jp.nseg;
	if (!err) {
		first_interpreted(&jp, ci);
		ci->compiled = nftj_prog_compiled(&jp);
		if (ci->compiled) {
			err = attach_prog(w, rs, &jp, ci, d);
			nftj_prog_free(&jp);
			return err;
		}
		/* a program that runs no rule would only cost time */
		ci->reason = ci->rules ? ci->first_reason :
			     "no rules: the interpreter applies the policy";
	} else if (err == -EOPNOTSUPP || err == -ENOPKG) {
		ci->reason = jp.why;
	} else if (jp.log) {
		verifier_reason(jp.log, reason, sizeof(reason));
		ci->reason = reason;
		ci->verifier_log = jp.log;
	} else {
		snprintf(reason, sizeof(reason), "%s",
			 jp.why[0] ? jp.why : strerror(-err));
		ci->reason = reason;
		kfunc_drop(w);
	}
	err = set_interp(w, ci, d, err);
	nftj_prog_free(&jp);
	return err;
}

/* a program someone attached before us (an earlier daemon): describe it */
static int adopt(struct worker *w, const struct nftj_ruleset *rs,
		 struct nftj_centry *ci, const struct nftj_kstat *st,
		 struct dchain *d)
{
	struct bpf_prog_info info = {};
	uint32_t ilen = sizeof(info);
	NFTJ_BUILD_OPTS(o, .target = NFTJ_TARGET_KERNEL,
			.flags = NFTJ_F_NO_LOAD);
	struct nftj_prog jp;
	double t0 = now_ms();
	int fd, err;

	err = nftj_prog_build(&jp, rs, ci->family, ci->table, ci->chain, &o);
	ci->compile_ms = now_ms() - t0;
	ci->genid = st->genid;
	ci->rules = st->nrules;
	ci->services = st->nservices;
	ci->prog_id = st->prog_id;
	ci->name = jp.name;
	ci->insns = jp.insns;
	ci->nprogs = jp.nseg;
	fd = bpf_prog_get_fd_by_id(st->prog_id);
	if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &ilen)) {
		ci->name = info.name;
		ci->jited_len = info.jited_prog_len;
	}
	if (fd >= 0)
		close(fd);
	if (!err) {
		first_interpreted(&jp, ci);
		ci->compiled = nftj_prog_compiled(&jp);
		ci->state = ci->first ? NFTJ_CS_PARTIAL : NFTJ_CS_JIT;
		ci->reason = ci->first ? ci->first_reason : NULL;
	} else {
		ci->state = NFTJ_CS_PARTIAL;
		ci->reason = "attached before this daemon started; not compilable here";
	}
	wlog(w, LOG_INFO, "%s %s %s: prog %u of generation %u was attached already, kept",
	     fam(ci->family), ci->table, ci->chain, st->prog_id, st->genid);
	d->prog_id = st->prog_id;
	d->entry = nftj_state_chain(ci);
	nftj_prog_free(&jp);
	return d->entry ? 0 : -ENOMEM;
}

static bool family_ok(uint32_t family)
{
	return family == NFPROTO_IPV4 || family == NFPROTO_IPV6 ||
	       family == NFPROTO_INET;
}

/* a table with an owner (NFT_TABLE_F_OWNER): only the owner's socket
 * may change it, and the kernel part attaches to none
 */
static bool table_owned(const struct nftj_ruleset *rs, uint32_t family,
			const char *table)
{
	struct nftnl_table_list_iter *it;
	struct nftnl_table *t;
	bool owned = false;

	it = nftnl_table_list_iter_create(rs->tables);
	if (!it)
		return false;	/* then the kernel refuses the attach */
	while ((t = nftnl_table_list_iter_next(it))) {
		if (nftnl_table_get_u32(t, NFTNL_TABLE_FAMILY) == family &&
		    !strcmp(nftnl_table_get_str(t, NFTNL_TABLE_NAME), table)) {
			owned = nftnl_table_get_u32(t, NFTNL_TABLE_FLAGS) &
				NFT_TABLE_F_OWNER;
			break;
		}
	}
	nftnl_table_list_iter_destroy(it);
	return owned;
}

/* a chain the daemon never compiles: the interpreter's, for reason */
static int leave_chain(const struct nftj_ruleset *rs, struct nftj_centry *ci,
		       struct dchain *d, const char *reason)
{
	ci->state = NFTJ_CS_INTERP;
	ci->reason = reason;
	ci->rules = count_rules(rs, ci->family, ci->table, ci->chain);
	d->failed = true;
	d->fail_gen = rs->genid;
	d->entry = nftj_state_chain(ci);
	return d->entry ? 0 : -ENOMEM;
}

/* one base chain of the dump; 0, -ESTALE, -EINTR, -ENOMEM */
static int chain_pass(struct worker *w, const struct nftj_ruleset *rs,
		      const struct nftj_kstats *ka, struct nftnl_chain *nc,
		      struct dchains *nw, struct pass_stats *ps)
{
	struct nftj_centry ci = {
		.family = nftnl_chain_get_u32(nc, NFTNL_CHAIN_FAMILY),
		.table = nftnl_chain_get_str(nc, NFTNL_CHAIN_TABLE),
		.chain = nftnl_chain_get_str(nc, NFTNL_CHAIN_NAME),
		.hook = nftnl_chain_get_u32(nc, NFTNL_CHAIN_HOOKNUM),
		.prio = (int32_t)nftnl_chain_get_u32(nc, NFTNL_CHAIN_PRIO),
		.genid = rs->genid,
	};
	const struct nftj_kstat *st;
	struct dchain *d, *old;
	int err;

	d = dchain_add(nw, ci.family, ci.table, ci.chain);
	if (!d)
		return -ENOMEM;
	old = dchain_find(&w->ch, ci.family, ci.table, ci.chain);
	if (!family_ok(ci.family))
		return leave_chain(rs, &ci, d,
				   "only ip, ip6 and inet chains are compiled");
	if (table_owned(rs, ci.family, ci.table))
		return leave_chain(rs, &ci, d,
				   "the table has an owner (NFT_TABLE_F_OWNER): only its owner may change it");
	st = nftj_kstats_find(ka, ci.family, ci.table, ci.chain);
	if (st && old && old->prog_id == st->prog_id && old->entry) {
		/* unchanged: the kernel still runs that program */
		d->entry = json_incref(old->entry);
		d->prog_id = old->prog_id;
		ps->kept++;
		return 0;
	}
	if (st) {
		ps->adopted++;
		return adopt(w, rs, &ci, st, d);
	}
	if (old && old->failed && old->entry && !w->resync &&
	    !table_changed(w, ci.family, ci.table, old->fail_gen)) {
		/* nothing it depends on changed: still the interpreter's */
		json_object_set_new(old->entry, "generation",
				    json_integer(rs->genid));
		d->entry = json_incref(old->entry);
		d->failed = true;
		d->fail_gen = old->fail_gen;
		ps->kept++;
		return 0;
	}
	if (check_stop(w, 0))
		return -EINTR;
	err = chain_sync(w, rs, &ci, d);
	if (!err && d->prog_id)
		ps->attached++;
	else if (!err)
		ps->interp++;
	return err;
}

static int state_write(struct worker *w)
{
	json_t *chains = json_array();
	size_t i;
	int err;

	if (!chains)
		return -ENOMEM;
	for (i = 0; i < w->ch.n; i++)
		json_array_append(chains, w->ch.v[i].entry);
	w->hdr.updated = nftj_unix_time();
	err = nftj_state_write(w->path, &w->hdr, chains);
	json_decref(chains);
	if (err)
		wlog(w, LOG_ERR, "state file %s: %s", w->path, strerror(-err));
	return err;
}

/* one attempt: 0, -ESTALE, -EINTR, or another -errno */
static int sync_once(struct worker *w, struct pass_stats *ps)
{
	struct nftnl_chain_list_iter *it;
	struct nftj_kstats ka = {};
	struct dchains nw = {};
	struct nftj_ruleset rs;
	struct nftnl_chain *nc;
	double t0 = now_ms();
	int err;

	memset(ps, 0, sizeof(*ps));
	err = nftj_ruleset_dump(&rs, NFPROTO_UNSPEC);
	ps->dump_ms = now_ms() - t0;
	if (err) {
		wlog(w, err == -EAGAIN ? LOG_INFO : LOG_ERR,
		     "cannot read the ruleset: %s", err == -EAGAIN ?
		     "commits kept landing during the dump" : strerror(-err));
		return err;
	}
	err = nftj_kctl_get_all(&w->k, &ka);
	if (err) {
		wlog(w, LOG_ERR, "kernel part: reading the attachments: %s%s%s",
		     strerror(-err), w->k.ext_msg[0] ? ": " : "",
		     w->k.ext_msg);
		w->restart = true;	/* unloaded? a new worker starts over */
		nftj_ruleset_free(&rs);
		return err;
	}
	it = nftnl_chain_list_iter_create(rs.chains);
	if (!it)
		err = -ENOMEM;
	while (it && (nc = nftnl_chain_list_iter_next(it))) {
		if (!nftnl_chain_is_set(nc, NFTNL_CHAIN_HOOKNUM))
			continue;
		err = chain_pass(w, &rs, &ka, nc, &nw, ps);
		if (err)
			break;
	}
	if (it)
		nftnl_chain_list_iter_destroy(it);
	if (err) {
		dchains_merge(&nw, &w->ch);
	} else {
		dchains_free(&w->ch);
		w->hdr.genid = rs.genid;
		tstamp_prune(w, rs.genid);
	}
	w->ch = nw;
	nftj_kstats_free(&ka);
	nftj_ruleset_free(&rs);
	return err;
}

/* a sync pass: attempts while commits make it stale */
static void sync_pass(struct worker *w)
{
	struct pass_stats ps;
	double t0 = now_ms();
	int attempt, err = 0;
	char since[64];

	w->retry_at = 0;	/* set again by transient failures */
	for (attempt = 1; attempt <= SYNC_TRIES; attempt++) {
		err = sync_once(w, &ps);
		if (err != -ESTALE)
			break;
		w->hdr.stale_retries++;
		if (attempt < SYNC_TRIES && ev_drain(w) < 0)
			break;
	}
	if (err == -EINTR)
		return;
	if (err == -ESTALE || err == -EAGAIN) {
		/* the commits that made it stale are queued: next event */
		wlog(w, LOG_NOTICE, "the ruleset changed during each of %d attempts: waiting for the next commit",
		     attempt > SYNC_TRIES ? SYNC_TRIES : attempt);
		return;
	}
	if (err && w->restart)
		return;
	if (err) {
		w->retry_at = 0;
		retry_later(w);
		wlog(w, LOG_ERR, "sync failed (%s): again in %u s",
		     strerror(-err), w->retry_ms / 1000);
		return;
	}
	if (!w->retry_at)
		w->retry_ms = 0;	/* no transient failure left */
	w->resync = false;
	w->structural = stamps_pending(w);
	w->hdr.syncs++;
	since[0] = '\0';
	if (w->ev_ms)
		snprintf(since, sizeof(since), ", %.1f ms after the first event",
			 now_ms() - w->ev_ms);
	wlog(w, ps.attached || ps.interp || ps.adopted ? LOG_INFO : LOG_DEBUG,
	     "generation %u: %u attached, %u with the interpreter, %u kept, %u adopted (dump %.1f ms, pass %.1f ms%s)",
	     w->hdr.genid, ps.attached, ps.interp, ps.kept, ps.adopted,
	     ps.dump_ms, now_ms() - t0, since);
	if (!w->structural)
		w->ev_ms = 0;
	w->synced = true;
	state_write(w);
}

/*
 * A commit that changed only set elements: no program changes (lookups
 * are live), only the generation the state holds for.
 */
static void elements_only(struct worker *w)
{
	size_t i;

	if (!w->synced)
		return;
	for (i = 0; i < w->ch.n; i++)
		if (w->ch.v[i].failed)
			json_object_set_new(w->ch.v[i].entry, "generation",
					    json_integer(w->ev_genid));
	w->hdr.genid = w->ev_genid;
	wlog(w, LOG_DEBUG, "generation %u: set elements only", w->ev_genid);
	state_write(w);
}

/* ---- setup ---- */

/* enter the namespace; a new /run/netns entry may not be mounted yet */
static int enter(struct worker *w)
{
	double until = now_ms() + NETNS_WAIT_MS;
	int err;

	for (;;) {
		err = nftj_netns_enter(w->netns);
		if (err != -EINVAL || now_ms() > until)
			break;
		if (check_stop(w, 50))
			return 0;
	}
	if (err == -ENOENT) {
		wlog(w, LOG_DEBUG, "gone");
		return NFTJ_WORKER_GONE;
	}
	if (err) {
		wlog(w, LOG_ERR, "cannot enter: %s", strerror(-err));
		return 1;
	}
	return 0;
}

static int lock_netns(struct worker *w)
{
	int n = snprintf(w->lock, sizeof(w->lock), "%s/.netns-%llu.lock",
			 w->o.state_dir, (unsigned long long)w->hdr.inode);

	if (n < 0 || n >= (int)sizeof(w->lock) ||
	    nftj_state_path(w->path, sizeof(w->path), w->o.state_dir,
			    w->hdr.inode)) {
		wlog(w, LOG_ERR, "state directory %s: name too long",
		     w->o.state_dir);
		return 1;
	}
	w->lock_fd = open(w->lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (w->lock_fd < 0) {
		wlog(w, LOG_ERR, "%s: %s", w->lock, strerror(errno));
		return 1;
	}
	if (flock(w->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		wlog(w, errno == EWOULDBLOCK ? LOG_NOTICE : LOG_ERR,
		     "%s: %s", w->lock, errno == EWOULDBLOCK ?
		     "another nft-jit daemon watches this network namespace" :
		     strerror(errno));
		close(w->lock_fd);
		w->lock_fd = -1;
		return errno == EWOULDBLOCK ? NFTJ_WORKER_BUSY : 1;
	}
	return 0;
}

static int setup(struct worker *w)
{
	const char *delay = getenv("NFTJ_FAULT_COMPILE_DELAY_MS");
	struct stat sb;
	sigset_t ss;
	int err;

	snprintf(w->label, sizeof(w->label), "%s%s", w->netns ? "netns " :
		 "own netns", w->netns ? w->netns : "");
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	w->sig_fd = signalfd(-1, &ss, SFD_NONBLOCK | SFD_CLOEXEC);
	if (w->sig_fd < 0) {
		wlog(w, LOG_ERR, "signalfd: %s", strerror(errno));
		return 1;
	}
	if (w->netns) {
		err = enter(w);
		if (err || w->stop)
			return err;
	}
	if (stat("/proc/self/ns/net", &sb) < 0) {
		wlog(w, LOG_ERR, "/proc/self/ns/net: %s", strerror(errno));
		return 1;
	}
	w->hdr.inode = sb.st_ino;
	w->hdr.pid = getpid();
	w->hdr.netns = w->netns;
	w->hdr.started = nftj_unix_time();
	err = lock_netns(w);
	if (err)
		return err;
	w->evbuf = malloc(EV_BUFSZ);
	err = w->evbuf ? ev_open(w) : -ENOMEM;
	if (err) {
		wlog(w, LOG_ERR, "nf_tables events: %s", strerror(-err));
		return 1;
	}
	err = nftj_kctl_open(&w->k);
	if (err) {
		wlog(w, LOG_ERR, "kernel part: %s", err == -ENOENT ?
		     "not loaded (no generic netlink family nft_jit)" :
		     strerror(-err));
		return 1;
	}
	w->kctl_open = true;
	w->fault_chain = getenv("NFTJ_FAULT_VERIFIER");
	if (w->fault_chain && !*w->fault_chain)
		w->fault_chain = NULL;
	if (delay)
		w->fault_delay_ms = (unsigned int)strtoul(delay, NULL, 10);
	if (w->fault_chain)
		wlog(w, LOG_WARNING, "testing: the verifier will reject chain %s (NFTJ_FAULT_VERIFIER)",
		     w->fault_chain);
	if (w->fault_delay_ms)
		wlog(w, LOG_WARNING, "testing: %u ms before each attach (NFTJ_FAULT_COMPILE_DELAY_MS)",
		     w->fault_delay_ms);
	wlog(w, LOG_INFO, "watching (pid %d, state %s)", (int)w->hdr.pid,
	     w->path);
	return 0;
}

/* the first pass is done: tell the supervisor; detached: stderr goes */
static void ready(struct worker *w)
{
	pid_t pid = getpid();
	int fd;

	if (w->ready_fd >= 0) {
		if (write(w->ready_fd, &pid, sizeof(pid)) < 0)
			wlog(w, LOG_DEBUG, "readiness: %s", strerror(errno));
		close(w->ready_fd);
		w->ready_fd = -1;
	}
	if (w->o.foreground || !w->o.errors_to_stderr)
		return;
	w->o.errors_to_stderr = false;
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
}

static void teardown(struct worker *w)
{
	size_t i;

	if (w->lock_fd >= 0) {
		unlink(w->path);
		unlink(w->lock);
		close(w->lock_fd);
	}
	if (w->kctl_open)
		nftj_kctl_close(&w->k);
	kfunc_drop(w);
	if (w->ev)
		mnl_socket_close(w->ev);
	if (w->sig_fd >= 0)
		close(w->sig_fd);
	if (w->ready_fd >= 0)
		close(w->ready_fd);
	dchains_free(&w->ch);
	for (i = 0; i < w->nts; i++)
		free(w->ts[i].name);
	free(w->ts);
	free(w->evbuf);
}

static int loop(struct worker *w)
{
	struct pollfd p[2];
	int timeout, err;

	while (!w->stop) {
		p[0] = (struct pollfd){ .fd = mnl_socket_get_fd(w->ev),
					.events = POLLIN };
		p[1] = (struct pollfd){ .fd = w->sig_fd, .events = POLLIN };
		timeout = -1;
		if (w->retry_at) {
			double left = w->retry_at - now_ms();

			timeout = left > 0 ? (int)left + 1 : 0;
		}
		if (poll(p, 2, timeout) < 0 && errno != EINTR) {
			wlog(w, LOG_ERR, "poll: %s", strerror(errno));
			return 1;
		}
		if (check_stop(w, 0))
			break;
		w->newgen = false;
		err = ev_drain(w);
		if (err) {
			wlog(w, LOG_ERR, "nf_tables events: %s",
			     strerror(-err));
			return 1;
		}
		if (w->resync || (w->newgen && w->structural) ||
		    (w->retry_at && now_ms() >= w->retry_at))
			sync_pass(w);
		else if (w->newgen)
			elements_only(w);
		if (w->restart)
			return 1;
	}
	return 0;
}

int nftj_worker_run(const char *netns, const struct nftj_dopts *o,
		    int ready_fd)
{
	struct worker w = {
		.o = *o, .netns = netns, .lock_fd = -1, .sig_fd = -1,
		.ready_fd = ready_fd,
	};
	int rc;

	rc = setup(&w);
	if (!rc && !w.stop) {
		w.resync = true;	/* the first pass: everything */
		sync_pass(&w);
		ready(&w);
		rc = w.restart ? 1 : loop(&w);
	}
	if (!rc)
		wlog(&w, LOG_INFO, "stopped; attached programs stay (bound to their generation)");
	teardown(&w);
	return rc;
}
