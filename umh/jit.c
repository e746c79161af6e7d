// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_tables_jit.h>

#include "build.h"
#include "jit.h"
#include "opt.h"
#include "linkbtf.h"
#include "pass.h"
#include "setmap.h"

#define LOG_SIZE	(16u << 20)

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

const char *nftj_target_name(enum nftj_target t)
{
	const struct cg_target *d = cg_target_get(t);

	return d ? d->name : "?";
}

int nftj_target_parse(const char *s, enum nftj_target *t)
{
	return cg_target_parse(s, t);
}

size_t nftj_prog_rules(const struct nftj_prog *jp)
{
	return jp->imr.nchains ? jp->imr.chains[0].npos : 0;
}

size_t nftj_prog_compiled(const struct nftj_prog *jp)
{
	const struct imr_chain *ch;

	if (!jp->imr.nchains || (jp->prog_fd < 0 && !(jp->no_load &&
							  jp->insns)))
		return 0;
	ch = &jp->imr.chains[0];
	/* kernel positions: rules the optimizer removed count as run */
	return ch->first_unsupported < 0 ? ch->npos :
	       ch->rules[ch->first_unsupported].pos;
}

/*
 * The hash maps of the planned lookup runs (cg/lookup.c): key the key
 * fields' values, value the index + 1 of the first rule with that key;
 * frozen once filled.
 */
static int lookup_map(struct nftj_prog *jp, const struct cg_lookup *lk)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);
	uint32_t i, v, key[2];
	const void *k;
	int fd;

	if (lk->lpm)
		fd = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "nftj_lookup",
				    sizeof(key), sizeof(uint32_t),
				    lk->nelems ? lk->nelems : 1, &o);
	else
		fd = bpf_map_create(BPF_MAP_TYPE_HASH, "nftj_lookup",
				    lk->nkeys * sizeof(uint32_t),
				    sizeof(uint32_t),
				    lk->nelems ? lk->nelems : 1, NULL);
	if (fd < 0)
		return -errno;
	for (i = 0; i < lk->nelems; i++) {
		v = lk->value[i];
		k = lk->keys + (size_t)i * lk->nkeys;
		if (lk->lpm) {
			/* struct bpf_lpm_trie_key: prefix length, then
			 * the data in network order
			 */
			key[0] = lk->bits[i];
			key[1] = htonl(lk->keys[i] << lk->shift);
			k = key;
		}
		if (bpf_map_update_elem(fd, k, &v, BPF_NOEXIST))
			goto err;
	}
	if (bpf_map_freeze(fd))
		goto err;
	return fd;
err:
	i = (uint32_t)errno;
	close(fd);
	return -(int)i;
}

static int lookup_maps(struct nftj_prog *jp)
{
	size_t i;
	int fd;

	if (!jp->plan.nlookups)
		return 0;
	jp->maps.lookup_fd = malloc(jp->plan.nlookups * sizeof(int));
	if (!jp->maps.lookup_fd)
		return -ENOMEM;
	for (i = 0; i < jp->plan.nlookups; i++)
		jp->maps.lookup_fd[i] = -1;
	for (i = 0; i < jp->plan.nlookups; i++) {
		fd = lookup_map(jp, &jp->plan.lookups[i]);
		if (fd < 0) {
			snprintf(jp->why, sizeof(jp->why),
				 "creating a lookup map of %u elements: %s",
				 jp->plan.lookups[i].nelems, strerror(-fd));
			return fd;
		}
		jp->maps.lookup_fd[i] = fd;
	}
	return 0;
}

static int create_maps(struct nftj_prog *jp)
{
	const struct cg_target *t = cg_target_get(jp->target);
	size_t vsize = sizeof(struct nftj_test_stats) +
		       jp->imr.nrule_ids * sizeof(struct nftj_counter);
	size_t i;
	int err;

	jp->maps.set_fd = calloc(jp->imr.nset_maps ? jp->imr.nset_maps : 1,
				 sizeof(int));
	if (!jp->maps.set_fd)
		return -ENOMEM;
	for (i = 0; i < jp->imr.nset_maps; i++)
		jp->maps.set_fd[i] = -1;
	if (t->flags & CG_T_STATS_MAP) {
		jp->maps.stats_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY,
						   "nftj_stats", 4,
						   (uint32_t)vsize, 1, NULL);
		if (jp->maps.stats_fd < 0)
			goto err;
	}
	if (t->flags & CG_T_META_MAP) {
		jp->maps.meta_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY,
						  "nftj_meta", 4,
						  sizeof(struct nftj_test_meta),
						  1, NULL);
		if (jp->maps.meta_fd < 0)
			goto err;
	}
	err = lookup_maps(jp);
	if (err)
		return err;
	for (i = 0; (t->flags & CG_T_SET_MAPS) && i < jp->imr.nset_maps;
	     i++) {
		int fd = setmap_create(&jp->imr, (unsigned int)i, jp->why,
				       sizeof(jp->why));

		if (fd < 0)
			return fd;
		jp->maps.set_fd[i] = fd;
	}
	return 0;
err:
	snprintf(jp->why, sizeof(jp->why), "creating BPF maps: %s",
		 strerror(errno));
	return -errno;
}

static void prog_name(struct nftj_prog *jp, const char *table,
		      const char *chain)
{
	size_t i;

	snprintf(jp->name, sizeof(jp->name), "%s.%s", table, chain);
	for (i = 0; jp->name[i]; i++)	/* the kernel allows [A-Za-z0-9_.] */
		if (!(jp->name[i] == '.' || jp->name[i] == '_' ||
		      (jp->name[i] >= '0' && jp->name[i] <= '9') ||
		      (jp->name[i] >= 'a' && jp->name[i] <= 'z') ||
		      (jp->name[i] >= 'A' && jp->name[i] <= 'Z')))
			jp->name[i] = '_';
}

/*
 * Testing only (NFTJ_F_FAULT_VERIFIER): a copy of the entry program that
 * first reads r7, which nothing has written.  Jumps and calls are
 * relative, so the rest runs unchanged; the verifier refuses it with
 * "R7 !read_ok".
 */
static struct bpf_insn *fault_insns(const struct bbuf *b, size_t *len)
{
	struct bpf_insn *p = calloc(b->len + 1, sizeof(*p));

	if (!p)
		return NULL;
	p[0] = I_MOV64_REG(BPF_REG_0, BPF_REG_7);
	memcpy(p + 1, b->insn, b->len * sizeof(*p));
	*len = b->len + 1;
	return p;
}

/*
 * Testing only (nftj_build_opts.fault_forest_insns): a program the
 * verifier walks until its complexity limit, a bounded loop of 2^31
 * turns, for a segment with a longer forest; it is refused with E2BIG
 * as a forest too complex to verify would be.
 */
#define TOO_COMPLEX_LEN	4

static void too_complex(struct bpf_insn *p)
{
	p[0] = I_MOV64_IMM(BPF_REG_0, 0);
	p[1] = I_ALU64_IMM(BPF_ADD, BPF_REG_0, 1);
	p[2] = BPF_I(BPF_JMP | BPF_JLT | BPF_K, BPF_REG_0, 0, -2,
		     0x7fffffff);
	p[3] = I_EXIT();
}

static int load(struct nftj_prog *jp, struct nftj_seg *sg)
{
	const struct cg_target *t = cg_target_get(jp->target);
	LIBBPF_OPTS(bpf_prog_load_opts, o,
		    .expected_attach_type =
			(enum bpf_attach_type)t->attach_type);
	enum bpf_prog_type type = (enum bpf_prog_type)t->prog_type;
	struct bpf_prog_info info = {};
	uint32_t ilen = sizeof(info);
	const struct bpf_insn *insn = sg->buf.insn;
	struct bpf_insn *fault = NULL, bomb[TOO_COMPLEX_LEN];
	size_t len = sg->buf.len;
	int fd, err;

	if (jp->nsvc && jp->kfunc.off)
		o.fd_array = jp->kfunc.fd_array;
	if (jp->fault_verifier && sg == &jp->seg[0]) {
		fault = fault_insns(&sg->buf, &len);
		if (!fault)
			return -ENOMEM;
		insn = fault;
	}
	if (jp->fault_forest_insns &&
	    cg_plan_seg_forest_insns(&jp->plan, (size_t)(sg - jp->seg)) >
	    jp->fault_forest_insns) {
		too_complex(bomb);
		insn = bomb;
		len = TOO_COMPLEX_LEN;
	}
	fd = bpf_prog_load(type, jp->name, "GPL", insn, len, &o);
	if (fd >= 0 && insn == bomb) {
		close(fd);		/* a verifier with a higher limit */
		fd = -1;
		errno = E2BIG;
	}
	if (fd < 0 && errno == E2BIG && !fault) {
		/*
		 * Too many instructions, or too complex to verify: the
		 * caller tries a shorter program (nftj_prog_build()); the
		 * same complexity again for a log would only cost time.
		 */
		jp->log = strdup("BPF program is too large or too complex for the verifier (E2BIG)\n");
		return -E2BIG;
	}
	if (fd < 0) {
		/* again with the verifier's log, for the report */
		err = -errno;
		jp->log = calloc(1, LOG_SIZE);
		if (jp->log) {
			o.log_buf = jp->log;
			o.log_size = LOG_SIZE;
			o.log_level = 1;
			fd = bpf_prog_load(type, jp->name, "GPL", insn, len,
					   &o);
		}
		if (fd < 0) {
			free(fault);
			return err;
		}
		free(jp->log);		/* loaded after all: no rejection */
		jp->log = NULL;
	}
	free(fault);
	sg->fd = fd;
	if (!bpf_obj_get_info_by_fd(fd, &info, &ilen)) {
		sg->id = info.id;
		sg->jited_len = info.jited_prog_len;
		sg->verified_insns = info.verified_insns;
	}
	return 0;
}

/* the service table the attach request sends, from the IMR's services */
static int svc_table(struct nftj_prog *jp)
{
	const struct imr_prog *p = &jp->imr;
	size_t i;

	if (!p->nsvcs)
		return 0;
	jp->svc = calloc(p->nsvcs, sizeof(*jp->svc));
	if (!jp->svc)
		return -ENOMEM;
	for (i = 0; i < p->nsvcs; i++) {
		jp->svc[i].chain = p->chains[p->svcs[i].chain].name;
		jp->svc[i].handle = p->svcs[i].handle;
		jp->svc[i].index = p->svcs[i].pos;
		jp->svc[i].kind = p->svcs[i].kind;
		jp->svc[i].expr = p->svcs[i].text;
	}
	jp->nsvc = p->nsvcs;
	return 0;
}

/*
 * A target that cannot hand a packet to the interpreter (the link
 * target, CG_T_WHOLE_CHAIN) runs on its own for as long as it is
 * attached: the chain is compiled whole, or not at all.
 */
static int whole_refuse(struct nftj_prog *jp, const struct cg_target *t)
{
	const struct imr_chain *ch = &jp->imr.chains[0];
	const struct imr_rule *r;
	size_t i, j;

	/*
	 * The program keeps a copy of the sets for as long as it runs;
	 * `attach` follows commits, but elements that time out or that
	 * the packet path adds change a set without one.
	 */
	for (i = 0; i < jp->imr.nsets; i++) {
		const struct nftj_set *set = jp->imr.sets[i].nset;
		bool tmo = set->flags & (NFT_SET_TIMEOUT | NFT_SET_EVAL);

		for (j = 0; !tmo && j < set->nelems; j++)
			tmo = set->elems[j].has_timeout;
		if (!tmo)
			continue;
		snprintf(jp->why, sizeof(jp->why),
			 "%s target: set %.64s changes without a commit "
			 "(timeouts or updates from the packet path): a "
			 "program's copy would go stale", t->name, set->name);
		return -EOPNOTSUPP;
	}
	if (ch->first_unsupported < 0)
		return 0;
	r = &ch->rules[ch->first_unsupported];
	snprintf(jp->why, sizeof(jp->why),
		 "%s target: rule handle %llu (#%d) is not supported (%.100s); "
		 "a %s program cannot leave rules to the interpreter",
		 t->name, (unsigned long long)r->handle,
		 ch->first_unsupported, r->reason, t->name);
	return -EOPNOTSUPP;
}

static int load_all(struct nftj_prog *jp)
{
	uint32_t k;
	size_t i;
	int err;

	for (i = 0; i < jp->nseg; i++) {
		err = load(jp, &jp->seg[i]);
		if (err)
			return err;
		jp->jited_len += jp->seg[i].jited_len;
		jp->verified_insns += jp->seg[i].verified_insns;
		k = (uint32_t)i;
		if (jp->plan.nseg > 1 &&
		    bpf_map_update_elem(jp->maps.prog_array_fd, &k,
					&jp->seg[i].fd, BPF_ANY))
			return -errno;
	}
	/* the kernel part runs a program only if what it can tail-call
	 * cannot change any more
	 */
	if (jp->plan.nseg > 1 && bpf_map_freeze(jp->maps.prog_array_fd)) {
		err = -errno;
		snprintf(jp->why, sizeof(jp->why),
			 "freezing the program array: %s", strerror(errno));
		return err;
	}
	jp->prog_fd = jp->seg[0].fd;
	jp->prog_id = jp->seg[0].id;
	return 0;
}

static int kfunc_copy(struct nftj_kfunc *dst, const struct nftj_kfunc *src)
{
	*dst = *src;
	if (src->btf_fd < 0)
		return 0;
	dst->btf_fd = fcntl(src->btf_fd, F_DUPFD_CLOEXEC, 0);
	if (dst->btf_fd < 0)
		return -errno;
	dst->fd_array[NFTJ_KFUNC_FD_IDX] = dst->btf_fd;
	return 0;
}

/* ---- the pipeline ------------------------------------------------------ */

/* a field of opts, or def if opts is NULL or older than the field */
#define OPT(o, f, def)							\
	((o) && (o)->sz >= offsetof(struct nftj_build_opts, f) +	\
			   sizeof((o)->f) ? (o)->f : (def))

/* one run of the pipeline */
struct pipe {
	struct nftj_prog *jp;
	const struct nftj_ruleset *rs;
	uint32_t family;
	const char *table, *chain;
	unsigned int flags;		/* NFTJ_F_* */
	const struct nftj_kfunc *kf;
	const struct cg_target *t;
	struct cg_opts cgo;
	unsigned int no_opt;		/* OPT_* passes switched off */
	size_t fault_forest_insns;	/* testing: nftj_build_opts */
	struct imr_ids ids;		/* after the builder: ids stay */
	double t0;
	/*
	 * Base chain rules from this index on are left to the interpreter
	 * (-1: none): set after the verifier found a program too complex,
	 * with limit_why the reason shown for them.
	 */
	long limit;
	char limit_why[IMR_REASON_MAX];
};

/* the dump -> the IMR of the chain and every chain it reaches */
static int stage_build(struct pipe *x)
{
	struct nftj_prog *jp = x->jp;
	int err;

	if (x->t->flags & CG_T_LINK_BTF) {
		err = linkbtf_get(&x->cgo.btf, jp->why, sizeof(jp->why));
		if (err)
			return err == -ENOENT ? -EOPNOTSUPP : err;
	}
	err = imr_build(&jp->imr, x->rs, x->family, x->table, x->chain,
			x->t->caps, jp->why, sizeof(jp->why));
	if (!err)
		err = imr_ids_save(&jp->imr, &x->ids);
	return err;
}

static int stage_optimize(struct pipe *x)
{
	return imr_optimize(&x->jp->imr, x->no_opt, &x->jp->opt);
}

/* the planner lays the program out; the IMR is cut where it stops */
static int stage_cut(struct pipe *x)
{
	struct nftj_prog *jp = x->jp;
	const struct imr_chain *ch = &jp->imr.chains[0];
	int err;

	if (x->limit >= 0 && (size_t)x->limit < ch->nrules &&
	    (ch->first_unsupported < 0 || ch->first_unsupported > x->limit))
		imr_cut(&jp->imr, (size_t)x->limit, x->limit_why);
	err = cg_plan(&jp->imr, jp->target, &x->cgo, &jp->plan);
	if (!err && jp->plan.cut >= 0)
		imr_cut(&jp->imr, (size_t)jp->plan.cut, jp->plan.cut_reason);
	return err;
}

static int stage_prune(struct pipe *x)
{
	return imr_svc_prune(&x->jp->imr);
}

/* maps, the service table and the code of every segment */
static int stage_emit(struct pipe *x)
{
	struct nftj_prog *jp = x->jp;
	size_t i;
	int err;

	if (x->t->flags & CG_T_WHOLE_CHAIN) {
		err = whole_refuse(jp, x->t);
		if (err)
			return err;
	}
	err = svc_table(jp);
	if (!err)
		err = create_maps(jp);
	if (err)
		return err;
	if (jp->plan.nseg > 1) {
		jp->maps.prog_array_fd = bpf_map_create(BPF_MAP_TYPE_PROG_ARRAY,
							"nftj_segs", 4, 4,
							(uint32_t)jp->plan.nseg,
							NULL);
		if (jp->maps.prog_array_fd < 0)
			return -errno;
	}
	for (i = 0; i < jp->plan.nseg; i++) {
		struct nftj_seg *sg = &jp->seg[i];

		jp->nseg = i + 1;
		err = cg_emit(&jp->imr, jp->target, &x->cgo, &jp->maps,
			      &jp->plan, i, &sg->buf);
		if (err) {
			snprintf(jp->why, sizeof(jp->why),
				 "code generation: %s", err == -E2BIG ?
				 "jump out of range" : strerror(-err));
			return err;
		}
		jp->insns += sg->buf.len;
	}
	jp->compile_ms = now_ms() - x->t0;
	return 0;
}

/* the services kfunc, then the verifier */
static int stage_load(struct pipe *x)
{
	struct nftj_prog *jp = x->jp;
	double t0;
	size_t i;
	int err;

	jp->no_load = x->flags & NFTJ_F_NO_LOAD;
	jp->fault_verifier = x->flags & NFTJ_F_FAULT_VERIFIER;
	jp->fault_forest_insns = x->fault_forest_insns;
	if (jp->no_load)
		return 0;
	if (jp->nsvc) {
		err = x->kf ? kfunc_copy(&jp->kfunc, x->kf) :
		      nftj_kfunc_find(&jp->kfunc, NFTJ_KFUNC_MODULE,
				      NFTJ_SVC_KFUNC, jp->why,
				      sizeof(jp->why));
		if (err)
			return err;
		for (i = 0; i < jp->nseg; i++)
			nftj_kfunc_patch(&jp->seg[i].buf, &jp->kfunc);
	}
	t0 = now_ms();
	err = load_all(jp);
	jp->load_ms = now_ms() - t0;
	if (err && !jp->log && !jp->why[0])
		snprintf(jp->why, sizeof(jp->why), "loading: %s",
			 strerror(-err));
	return err;
}

/*
 * The pipeline, in order.  The IMR stages (build to prune) may change
 * the IMR, each within its contract (docs/imr.md, "The pipeline"), and
 * imr_check() tests the invariants after each; from emit on, the IMR is
 * only read.
 */
static const struct stage {
	const char *name;
	int (*run)(struct pipe *x);
} stages[] = {
	[NFTJ_STAGE_BUILD]	= { "build", stage_build },
	[NFTJ_STAGE_OPTIMIZE]	= { "optimize", stage_optimize },
	[NFTJ_STAGE_CUT]	= { "cut", stage_cut },
	[NFTJ_STAGE_PRUNE]	= { "prune", stage_prune },
	[NFTJ_STAGE_EMIT]	= { "emit", stage_emit },
	[NFTJ_STAGE_LOAD]	= { "load", stage_load },
};

_Static_assert(sizeof(stages) / sizeof(stages[0]) == NFTJ_STAGES,
	       "a stage without an entry");

const char *nftj_stage_name(enum nftj_stage st)
{
	return st < NFTJ_STAGES ? stages[st].name : "?";
}

int nftj_stage_parse(const char *s, enum nftj_stage *st)
{
	unsigned int i;

	for (i = 0; i < NFTJ_STAGES; i++) {
		if (!strcmp(s, stages[i].name)) {
			*st = (enum nftj_stage)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* after an IMR stage: the invariants, then whoever asked to see it */
static int imr_stage_done(struct pipe *x, enum nftj_stage st,
			  const struct nftj_build_opts *opts)
{
	struct nftj_prog *jp = x->jp;
	char why[200];
	int err;

	err = imr_check(&jp->imr, x->ids.chain ? &x->ids : NULL, why,
			sizeof(why));
	if (err == -EINVAL)
		snprintf(jp->why, sizeof(jp->why),
			 "internal error: the IMR after %s: %s",
			 stages[st].name, why);
	if (err)
		return err;
	if ((OPT(opts, imr_stages, 0) & (1u << st)) && OPT(opts, imr_cb, NULL))
		opts->imr_cb(st, &jp->imr, OPT(opts, imr_ctx, NULL));
	return 0;
}

/*
 * The verifier refused a segment as too complex ("BPF program is too
 * large. Processed 1000001 insn", -E2BIG): the base chain rule to cut at
 * for the next try, -1 for none.  The segments before the one refused
 * stay; the one refused keeps the first half of its rules (a refused
 * segment of one rule goes whole; nothing is left to try when that is
 * the first).
 */
static long verifier_limit(const struct nftj_prog *jp, int err)
{
	const struct imr_chain *ch;
	size_t first, end, i;

	if (err != -E2BIG || !jp->log || !strstr(jp->log, "too large") ||
	    jp->fault_verifier || !jp->imr.nchains)
		return -1;
	ch = &jp->imr.chains[0];
	for (i = 0; i < jp->nseg && jp->seg[i].fd >= 0; i++)
		;			/* the segment refused */
	if (i == jp->nseg)
		return -1;
	first = jp->plan.first[i];
	end = ch->first_unsupported < 0 ? ch->nrules :
	      (size_t)ch->first_unsupported;
	if (i + 1 < jp->plan.nseg && jp->plan.first[i + 1] < end)
		end = jp->plan.first[i + 1];
	if (end - first >= 2)
		return (long)(first + (end - first) / 2);
	return i > 0 ? (long)first : -1;
}

/*
 * The verifier refused a segment that holds a forest as too complex:
 * the next try plans forests at most half as long as its largest (more
 * of them, each walked by a packet),
 * before verifier_limit() gives rules up.  False when they are as small
 * as they go.
 */
static bool forest_shrink(const struct nftj_prog *jp, struct cg_opts *cgo,
			  int err)
{
	size_t i, largest;

	if (err != -E2BIG || !jp->log || !strstr(jp->log, "too large") ||
	    jp->fault_verifier)
		return false;
	for (i = 0; i < jp->nseg && jp->seg[i].fd >= 0; i++)
		;			/* the segment refused */
	if (i == jp->nseg)
		return false;
	largest = cg_plan_seg_forest_insns(&jp->plan, i);
	if (largest / 2 < CG_FOREST_INSNS_MIN)
		return false;
	cgo->forest_insns = largest / 2;
	return true;
}

/* one run of the pipeline, from build to load (or the IMR's last stage) */
static int pipe_run(struct pipe *x, const struct nftj_build_opts *opts)
{
	enum nftj_stage st, last = NFTJ_STAGE_LOAD;
	int err = 0;

	if (x->flags & NFTJ_F_IMR_ONLY)
		last = NFTJ_STAGE_IMR_LAST;
	for (st = NFTJ_STAGE_BUILD; !err && st <= last; st++) {
		err = stages[st].run(x);
		if (!err && st <= NFTJ_STAGE_IMR_LAST)
			err = imr_stage_done(x, st, opts);
	}
	imr_ids_free(&x->ids);
	return err;
}

/* one try: a fresh program, the pipeline */
static int prog_try(struct nftj_prog *jp, struct pipe *x,
		    const struct nftj_build_opts *opts)
{
	nftj_prog_init(jp);
	jp->target = OPT(opts, target, NFTJ_TARGET_TEST);
	x->t = cg_target_get(jp->target);
	if (!x->t) {
		snprintf(jp->why, sizeof(jp->why), "no target %d",
			 (int)jp->target);
		return -EINVAL;
	}
	prog_name(jp, x->table, x->chain);
	x->cgo.slow_loads = x->flags & NFTJ_F_SLOW_LOADS;
	return pipe_run(x, opts);
}

/* how often a program refused as too complex is tried again, shorter */
#define NFTJ_VERIFIER_RETRIES	12

int nftj_prog_build(struct nftj_prog *jp, const struct nftj_ruleset *rs,
		    uint32_t family, const char *table, const char *chain,
		    const struct nftj_build_opts *opts)
{
	struct pipe x = {
		.jp = jp, .rs = rs, .family = family, .table = table,
		.chain = chain, .flags = OPT(opts, flags, 0),
		.kf = OPT(opts, kfunc, NULL), .no_opt = OPT(opts, no_opt, 0),
		.fault_forest_insns = OPT(opts, fault_forest_insns, 0),
		.t0 = now_ms(), .limit = -1,
	};
	unsigned int tries;
	size_t refused, forest_insns;
	long limit;
	int err;

	for (tries = 0;; tries++) {
		err = prog_try(jp, &x, opts);
		if (!err || tries == NFTJ_VERIFIER_RETRIES)
			return err;
		forest_insns = x.cgo.forest_insns;
		if (forest_shrink(jp, &x.cgo, err)) {
			forest_insns = x.cgo.forest_insns;
			nftj_prog_free(jp);
			memset(&x.cgo, 0, sizeof(x.cgo));
			x.cgo.forest_insns = forest_insns;
			x.t0 = now_ms();
			continue;
		}
		limit = verifier_limit(jp, err);
		if (limit < 0)
			return err;
		for (refused = 0; jp->seg[refused].fd >= 0; refused++)
			;
		/*
		 * Rules from `limit` on go to the interpreter, with the
		 * reason; the whole pipeline runs again (the optimizer's
		 * trees and the segments depend on where the program ends).
		 */
		snprintf(x.limit_why, sizeof(x.limit_why),
			 "the verifier's complexity limit: a program with the rules from here on was too complex to verify (%zu BPF instructions refused)",
			 jp->seg[refused].buf.len);
		x.limit = limit;
		nftj_prog_free(jp);
		memset(&x.cgo, 0, sizeof(x.cgo));
		x.cgo.forest_insns = forest_insns;
		x.t0 = now_ms();
	}
}


void nftj_prog_init(struct nftj_prog *jp)
{
	size_t i;

	memset(jp, 0, sizeof(*jp));
	jp->prog_fd = -1;
	jp->kfunc.btf_fd = -1;
	jp->maps.stats_fd = -1;
	jp->maps.meta_fd = -1;
	jp->maps.prog_array_fd = -1;
	for (i = 0; i < CG_MAX_SEGS; i++)
		jp->seg[i].fd = -1;
}

void nftj_prog_free(struct nftj_prog *jp)
{
	size_t i;

	for (i = 0; i < jp->nseg; i++) {
		if (jp->seg[i].fd >= 0)
			close(jp->seg[i].fd);
		bbuf_free(&jp->seg[i].buf);
	}
	if (jp->maps.prog_array_fd >= 0)
		close(jp->maps.prog_array_fd);
	if (jp->maps.stats_fd >= 0)
		close(jp->maps.stats_fd);
	if (jp->maps.meta_fd >= 0)
		close(jp->maps.meta_fd);
	for (i = 0; jp->maps.set_fd && i < jp->imr.nset_maps; i++)
		if (jp->maps.set_fd[i] >= 0)
			close(jp->maps.set_fd[i]);
	free(jp->maps.set_fd);
	for (i = 0; jp->maps.lookup_fd && i < jp->plan.nlookups; i++)
		if (jp->maps.lookup_fd[i] >= 0)
			close(jp->maps.lookup_fd[i]);
	free(jp->maps.lookup_fd);
	free(jp->log);
	free(jp->svc);
	nftj_kfunc_release(&jp->kfunc);
	opt_report_free(&jp->opt);
	cg_plan_free(&jp->plan);
	imr_prog_free(&jp->imr);
	nftj_prog_init(jp);
}
