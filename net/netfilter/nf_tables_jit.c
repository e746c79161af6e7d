// SPDX-License-Identifier: GPL-2.0
/*
 * nf_tables JIT: run a BPF program compiled from a base chain.
 *
 * The user-mode helper compiles one base chain of one ruleset generation
 * into a BPF_PROG_TYPE_SCHED_CLS program and attaches it over generic
 * netlink.  nft_do_chain() then runs the program for that chain and turns
 * its return value into the verdict, or continues in the interpreter from
 * the rule the program names.  A program runs only for the rules it was
 * compiled from: the attachment holds the blob of every chain the program
 * covers, and the commit that replaces one of them detaches the program
 * before the new generation becomes visible.
 *
 * The program can ask the kernel to evaluate some expressions of its own
 * rules (counters, set lookups, ct and meta loads) through one kfunc; it
 * names them by index into the attachment's service table, which is
 * resolved and checked at attach time.
 *
 * A SCHED_CLS program was verified for tc, not for netfilter hooks (at
 * LOCAL_OUT skb->dev is still NULL): attaching one needs CAP_BPF and
 * CAP_NET_ADMIN in the initial user namespace, and it may call nothing but
 * what the helper's compiler emits: bpf_skb_load_bytes(), tail calls
 * through frozen program arrays, and the services kfunc.
 */
#include <linux/bpf.h>
#include <linux/bsearch.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/hash.h>
#include <linux/hashtable.h>
#include <linux/kallsyms.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/rculist.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/u64_stats_sync.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <net/genetlink.h>
#include <net/netns/generic.h>
#include <net/sch_generic.h>
#include <net/netfilter/nf_tables.h>
#include <net/netfilter/nf_tables_core.h>
#include <net/netfilter/nf_tables_jit.h>
#include <net/netfilter/nft_meta.h>
#include <uapi/linux/netfilter/nf_tables_jit.h>

DEFINE_STATIC_KEY_FALSE(nft_jit_active);

enum nft_jit_stat {
	NFT_JIT_RUNS,
	NFT_JIT_RESUMES,
	NFT_JIT_FALLBACKS,
	NFT_JIT_RECOUNTS,	/* fallbacks after counters ran */
	__NFT_JIT_NSTATS,
};

struct nft_jit_stats {
	u64_stats_t		n[__NFT_JIT_NSTATS];
	struct u64_stats_sync	syncp;
};

/* a chain whose rules the program was compiled from, and their blob */
struct nft_jit_cover {
	const struct nft_chain		*chain;
	const struct nft_rule_blob	*blob;
};

enum nft_jit_svc_kind {
	NFT_JIT_SVC_PLAIN,	/* a lookup */
	NFT_JIT_SVC_COUNTER,	/* run at the end of the run, see below */
	NFT_JIT_SVC_CB,		/* meta, ct: may read the packet's cb[] */
};

struct nft_jit_svc {
	const struct nft_expr		*expr;
	enum nft_jit_svc_kind		kind;
};

/* programs reachable by tail calls, program arrays: at most */
#define NFT_JIT_MAX_PROGS	1024
#define NFT_JIT_MAX_ARRAYS	64

struct nft_jit_att {
	struct hlist_node		node;	/* nft_jit_atts, by chain */
	struct list_head		list;	/* its namespace's, by id */
	struct rcu_head			rcu;
	possible_net_t			net;
	u64				id;	/* in its namespace */
	const struct nft_chain		*chain;	/* the base chain */
	const struct nft_rule_blob	*blob;	/* its blob it runs for */
	struct bpf_prog			*prog;
	struct bpf_map			**urefs;	/* its program arrays */
	u32				nurefs;
	u32				genid;
	u32				nrules;
	u32				*rule_off;	/* nrules + 1 */
	u32				ncover;
	bool				table_wide;
	struct nft_jit_cover		*cover;	/* by chain pointer */
	u32				nsvc;
	struct nft_jit_svc		*svc;
	struct nft_jit_stats __percpu	*stats;
};

/* Counter services a run defers: a program that falls back to the
 * interpreter after counting would count twice, so counters run once the
 * program decided or resumed, and are dropped on a fallback.
 */
#define NFT_JIT_DEFER		32

/* the program this CPU runs, for the kfunc; runs nest (softirq on top) */
struct nft_jit_run {
	const struct nft_jit_att	*att;
	const struct nft_pktinfo	*pkt;
	u8				*cb;	/* the packet's own skb->cb */
	struct nft_jit_run		*prev;
	bool				counted;	/* not deferred */
	u16				ndefer;
	u16				defer[NFT_JIT_DEFER];
};

struct nft_jit_net {
	struct list_head		atts;		/* by id */
	u64				next_id;
	u64				detaches;	/* by commits */
	u64				destroyed;	/* with a chain */
};

static DEFINE_PER_CPU(struct nft_jit_run *, nft_jit_cur);

/* Attachments of all namespaces, keyed by base chain, and of each
 * namespace, by id.  Writers hold nft_jit_mutex (and, except for chain
 * destruction, the namespace's commit_mutex first); the packet path reads
 * the hash under RCU.
 */
#define NFT_JIT_HASH_BITS	8
static DEFINE_HASHTABLE(nft_jit_atts, NFT_JIT_HASH_BITS);
static DEFINE_MUTEX(nft_jit_mutex);
static unsigned int nft_jit_net_id __read_mostly;

static struct genl_family nft_jit_genl_family;

static struct nft_jit_net *nft_jit_pernet(const struct net *net)
{
	return net_generic(net, nft_jit_net_id);
}

#define nft_jit_commit_locked(net) \
	lockdep_is_held(&nft_pernet(net)->commit_mutex)

static const struct nft_rule_blob *
nft_jit_blob_cur(const struct net *net, const struct nft_chain *chain)
{
	if (net->nft.gencursor)
		return rcu_dereference_protected(chain->blob_gen_1,
						 nft_jit_commit_locked(net));
	return rcu_dereference_protected(chain->blob_gen_0,
					 nft_jit_commit_locked(net));
}

static const struct nft_rule_blob *
nft_jit_blob_next(const struct net *net, const struct nft_chain *chain)
{
	if (nft_gencursor_next(net))
		return rcu_dereference_protected(chain->blob_gen_1,
						 nft_jit_commit_locked(net));
	return rcu_dereference_protected(chain->blob_gen_0,
					 nft_jit_commit_locked(net));
}

static const struct nft_rule_dp *
nft_jit_rule_first(const struct nft_rule_blob *blob)
{
	return (const struct nft_rule_dp *)blob->data;
}

static const struct nft_rule_dp *
nft_jit_rule_end(const struct nft_rule_blob *blob)
{
	return (const struct nft_rule_dp *)(blob->data + blob->size);
}

static const struct nft_rule_dp *
nft_jit_rule_next(const struct nft_rule_dp *rule)
{
	return (const void *)rule + sizeof(*rule) + rule->dlen;
}

static const struct nft_expr *nft_jit_expr_first(const struct nft_rule_dp *rule)
{
	return (const struct nft_expr *)rule->data;
}

static const struct nft_expr *nft_jit_expr_end(const struct nft_rule_dp *rule)
{
	return (const struct nft_expr *)(rule->data + rule->dlen);
}

/* ------------------------------------------------------------ packet path */

/* under RCU (the packet path) or nft_jit_mutex */
static struct nft_jit_att *nft_jit_find(const struct nft_chain *chain)
{
	struct nft_jit_att *att;

	hash_for_each_possible_rcu(nft_jit_atts, att, node,
				   (unsigned long)chain,
				   lockdep_is_held(&nft_jit_mutex)) {
		if (att->chain == chain)
			return att;
	}
	return NULL;
}

static void nft_jit_count(const struct nft_jit_att *att,
			  enum nft_jit_stat what)
{
	struct nft_jit_stats *s = get_cpu_ptr(att->stats);
	unsigned long flags;

	flags = u64_stats_update_begin_irqsave(&s->syncp);
	u64_stats_inc(&s->n[what]);
	u64_stats_update_end_irqrestore(&s->syncp, flags);
	put_cpu_ptr(att->stats);
}

static u32 nft_jit_devtype(const struct net_device *dev)
{
	return dev ? dev->type : NFTJ_NO_DEV;
}

static void nft_jit_fill_cb(const struct nft_pktinfo *pkt, u32 *cb)
{
	const struct net_device *in = nft_in(pkt), *out = nft_out(pkt);
	struct sk_buff *skb = pkt->skb;
	u32 flags = NFTJ_F_PKTINFO, info;

	if (skb->sk && sk_fullsock(skb->sk))
		flags |= NFTJ_F_HAS_SK;
	info = nft_thoff(pkt) | (u32)pkt->tprot << 16;
	if (pkt->flags & NFT_PKTINFO_L4PROTO)
		info |= NFTJ_PKTINFO_L4;
	if (pkt->fragoff)
		info |= NFTJ_PKTINFO_FRAG;

	cb[NFTJ_CB_IIF] = in ? in->ifindex : 0;
	cb[NFTJ_CB_OIF] = out ? out->ifindex : 0;
	cb[NFTJ_CB_HOOK] = NFTJ_CB2(nft_hook(pkt), nft_pf(pkt), flags);
	cb[NFTJ_CB_DEVTYPE] = nft_jit_devtype(in) | nft_jit_devtype(out) << 16;
	cb[NFTJ_CB_PKTINFO] = info;
}

/* the counters a run deferred, now that the program decided or resumed */
static noinline void nft_jit_run_counters(const struct nft_jit_run *run)
{
	const struct nft_expr *expr;
	struct nft_regs regs;
	u16 i;

	regs.verdict.code = NFT_CONTINUE;
	for (i = 0; i < run->ndefer; i++) {
		expr = run->att->svc[run->defer[i]].expr;
		expr->ops->eval(expr, &regs, run->pkt);
	}
}

/**
 * nft_jit_run - run the program attached to a base chain
 * @pkt: the packet
 * @chain: the base chain
 * @blob: the blob nft_do_chain() picked for this packet's generation
 * @rule: in: the first rule of @blob; out: where the interpreter goes on
 *
 * Return: NF_ACCEPT or NF_DROP when the program decided, NFT_CONTINUE
 * when the interpreter has to go on from *@rule: no program for this
 * chain and generation, the program stopped before a rule it cannot
 * evaluate (or after the last, so the policy applies), or it returned
 * something unexpected (then *@rule is the first rule and it is counted
 * as a fallback).
 */
int nft_jit_run(const struct nft_pktinfo *pkt, const struct nft_chain *chain,
		const struct nft_rule_blob *blob, const struct nft_rule_dp **rule)
{
	u8 saved_cb[sizeof_field(struct sk_buff, cb)];
	struct sk_buff *skb = pkt->skb;
	struct nft_jit_run run;
	struct nft_jit_att *att;
	u32 ret, k;

	att = nft_jit_find(chain);
	if (!att || att->blob != blob)
		return NFT_CONTINUE;
	/* the program sees the packet from its network header */
	if (unlikely(skb_network_offset(skb) != 0)) {
		nft_jit_count(att, NFT_JIT_FALLBACKS);
		return NFT_CONTINUE;
	}

	memcpy(saved_cb, skb->cb, sizeof(saved_cb));
	nft_jit_fill_cb(pkt, (u32 *)qdisc_skb_cb(skb)->data);
	bpf_compute_data_pointers(skb);

	run.att = att;
	run.pkt = pkt;
	run.cb = saved_cb;
	run.counted = false;
	run.ndefer = 0;
	preempt_disable();
	run.prev = this_cpu_read(nft_jit_cur);
	this_cpu_write(nft_jit_cur, &run);
	ret = bpf_prog_run(att->prog, skb);
	this_cpu_write(nft_jit_cur, run.prev);
	preempt_enable();

	memcpy(skb->cb, saved_cb, sizeof(saved_cb));
	nft_jit_count(att, NFT_JIT_RUNS);

	if (ret == NF_ACCEPT || ret == NF_DROP) {
		if (run.ndefer)
			nft_jit_run_counters(&run);
		return ret;
	}
	if (NFTJ_RET_IS_RESUME(ret)) {
		k = NFTJ_RET_RESUME_RULE(ret);
		if (k <= att->nrules) {
			if (run.ndefer)
				nft_jit_run_counters(&run);
			*rule = (const void *)blob->data + att->rule_off[k];
			nft_jit_count(att, NFT_JIT_RESUMES);
			return NFT_CONTINUE;
		}
	}
	/* the interpreter runs the whole chain: the deferred counters with it */
	nft_jit_count(att, NFT_JIT_FALLBACKS);
	if (run.counted)
		nft_jit_count(att, NFT_JIT_RECOUNTS);
	return NFT_CONTINUE;
}

/* ---------------------------------------------------------------- kfunc */

__diag_push();
__diag_ignore_all("-Wmissing-prototypes",
		  "Global functions as their definitions will be in BTF");

/**
 * nftj_svc_eval - evaluate a service expression for the running program
 * @skb_ctx: the program's context
 * @svc: index into the attachment's service table
 * @regs: the interpreter's register file (struct nft_regs)
 * @regs__sz: its size, NFTJ_REGS_SIZE
 *
 * The expression sees the packet's own skb->cb (the program's cb[] words
 * overlay IPCB and IP6CB, which meta sdif reads).  A counter runs when the
 * program has decided or resumed (nft_jit_run()), unless the run deferred
 * too many already.
 *
 * Return: the verdict code the expression left (NFT_CONTINUE, NFT_BREAK,
 * a verdict) or NFTJ_SVC_ERROR: outside a run, a bad index or size, or
 * regs inside the packet's data (6.1's verifier passes a packet pointer
 * as memory without treating the call as a packet write).  The verdict
 * register is never copied out: it can hold a chain pointer.
 */
int nftj_svc_eval(struct __sk_buff *skb_ctx, u32 svc, u32 *regs, u32 regs__sz)
{
	struct sk_buff *skb = (struct sk_buff *)skb_ctx;
	u8 prog_cb[sizeof_field(struct sk_buff, cb)];
	const struct nft_jit_svc *service;
	struct nft_jit_run *run;
	struct nft_regs r;
	const int vwords = sizeof(struct nft_verdict) / sizeof(u32);

	BUILD_BUG_ON(sizeof(r) != NFTJ_REGS_SIZE);
	BUILD_BUG_ON(sizeof(struct nft_verdict) != 4 * sizeof(u32));
	BUILD_BUG_ON(U16_MAX + 1 < NFTJ_MAX_SERVICES);

	run = this_cpu_read(nft_jit_cur);
	if (!run || run->pkt->skb != skb || svc >= run->att->nsvc ||
	    regs__sz != sizeof(r))
		return NFTJ_SVC_ERROR;
	if ((void *)regs < (void *)skb_end_pointer(skb) &&
	    (void *)regs + regs__sz > (void *)skb->head)
		return NFTJ_SVC_ERROR;

	service = &run->att->svc[svc];
	if (service->kind == NFT_JIT_SVC_COUNTER) {
		if (run->ndefer < NFT_JIT_DEFER) {
			run->defer[run->ndefer++] = svc;
			return NFT_CONTINUE;
		}
		run->counted = true;
	}

	memcpy(&r.data[vwords], &regs[vwords],
	       sizeof(r) - sizeof(struct nft_verdict));
	r.verdict.code = NFT_CONTINUE;
	r.verdict.chain = NULL;

	if (service->kind == NFT_JIT_SVC_CB) {
		memcpy(prog_cb, skb->cb, sizeof(prog_cb));
		memcpy(skb->cb, run->cb, sizeof(prog_cb));
	}
	service->expr->ops->eval(service->expr, &r, run->pkt);
	if (service->kind == NFT_JIT_SVC_CB) {
		memcpy(run->cb, skb->cb, sizeof(prog_cb));
		memcpy(skb->cb, prog_cb, sizeof(prog_cb));
	}

	memset(regs, 0, sizeof(struct nft_verdict));
	memcpy(&regs[vwords], &r.data[vwords],
	       sizeof(r) - sizeof(struct nft_verdict));
	return r.verdict.code;
}

__diag_pop();

BTF_SET8_START(nft_jit_kfunc_ids)
BTF_ID_FLAGS(func, nftj_svc_eval)
BTF_SET8_END(nft_jit_kfunc_ids)

static const struct btf_kfunc_id_set nft_jit_kfunc_set = {
	.owner	= THIS_MODULE,
	.set	= &nft_jit_kfunc_ids,
};

/* ------------------------------------------------------------ lifetime */

/* bpf_map_put_with_uref(), which Linux 6.1 does not export: drop the user
 * reference taken with bpf_map_inc_with_uref() and the map reference.
 */
static void nft_jit_map_put_uref(struct bpf_map *map)
{
	if (atomic64_dec_and_test(&map->usercnt) &&
	    map->ops->map_release_uref)
		map->ops->map_release_uref(map);
	bpf_map_put(map);
}

static void nft_jit_att_free(struct nft_jit_att *att)
{
	u32 i;

	for (i = 0; i < att->nurefs; i++)
		nft_jit_map_put_uref(att->urefs[i]);
	kfree(att->urefs);
	if (att->prog)
		bpf_prog_put(att->prog);
	free_percpu(att->stats);
	kvfree(att->rule_off);
	kvfree(att->cover);
	kvfree(att->svc);
	kfree(att);
}

static void nft_jit_att_free_rcu(struct rcu_head *head)
{
	nft_jit_att_free(container_of(head, struct nft_jit_att, rcu));
}

/* unlink: packets that already found it finish, new ones do not see it */
static void nft_jit_unlink(struct nft_jit_att *att)
{
	lockdep_assert_held(&nft_jit_mutex);
	hash_del_rcu(&att->node);
	list_del(&att->list);
	static_branch_dec(&nft_jit_active);
	call_rcu(&att->rcu, nft_jit_att_free_rcu);
}

static int nft_jit_cover_cmp(const void *key, const void *elt)
{
	const struct nft_jit_cover *c = elt;

	if (key == c->chain)
		return 0;
	return (unsigned long)key < (unsigned long)c->chain ? -1 : 1;
}

static const struct nft_jit_cover *
nft_jit_covers(const struct nft_jit_att *att, const struct nft_chain *chain)
{
	return bsearch(chain, att->cover, att->ncover, sizeof(*att->cover),
		       nft_jit_cover_cmp);
}

static bool nft_jit_stale(const struct net *net, const struct nft_jit_att *att)
{
	struct nftables_pernet *nft_net = nft_pernet(net);
	const struct nft_trans *trans;
	u32 i;

	/* step 2 of the commit gave every chain its next blob */
	for (i = 0; i < att->ncover; i++) {
		if (nft_jit_blob_next(net, att->cover[i].chain) !=
		    att->cover[i].blob)
			return true;
		if (!(i % 1024))
			cond_resched();
	}

	list_for_each_entry(trans, &nft_net->commit_list, list) {
		switch (trans->msg_type) {
		case NFT_MSG_NEWCHAIN:
			if (!nft_trans_chain_update(trans))
				break;
			fallthrough;
		case NFT_MSG_DELCHAIN:
			if (nft_jit_covers(att, trans->ctx.chain))
				return true;
			break;
		}
	}
	return false;
}

/**
 * nft_jit_commit - detach the programs a commit makes stale
 * @net: the namespace
 *
 * Called by nf_tables_commit() with the commit mutex held, after the next
 * generation's blobs are in place and before the generation cursor moves:
 * the first packet of the new generation finds no stale program.
 */
void nft_jit_commit(struct net *net)
{
	struct nft_jit_net *jn = nft_jit_pernet(net);
	struct nft_jit_att *att, *tmp;

	if (!static_key_enabled(&nft_jit_active))
		return;

	mutex_lock(&nft_jit_mutex);
	list_for_each_entry_safe(att, tmp, &jn->atts, list) {
		if (!nft_jit_stale(net, att))
			continue;
		jn->detaches++;
		nft_jit_unlink(att);
	}
	mutex_unlock(&nft_jit_mutex);
}

/**
 * nft_jit_chain_destroy - release the programs of a chain being freed
 * @chain: the chain
 *
 * Called for every chain nf_tables destroys: after a commit deleted it
 * (the commit detached its programs already), and outside a commit when a
 * namespace, an owner's table or a device goes away.  Every program that
 * covers the chain goes, not only the chain's own: none may keep a pointer
 * to the chain or its blob.
 */
void nft_jit_chain_destroy(const struct nft_chain *chain)
{
	struct nft_jit_att *att;
	struct hlist_node *tmp;
	int bkt;

	if (!static_key_enabled(&nft_jit_active))
		return;

	mutex_lock(&nft_jit_mutex);
	hash_for_each_safe(nft_jit_atts, bkt, tmp, att, node) {
		if (att->chain != chain && !nft_jit_covers(att, chain))
			continue;
		nft_jit_pernet(read_pnet(&att->net))->destroyed++;
		nft_jit_unlink(att);
	}
	mutex_unlock(&nft_jit_mutex);
}

static int __net_init nft_jit_init_net(struct net *net)
{
	INIT_LIST_HEAD(&nft_jit_pernet(net)->atts);
	return 0;
}

static void __net_exit nft_jit_exit_net(struct net *net)
{
	struct nft_jit_att *att, *tmp;

	mutex_lock(&nft_jit_mutex);
	list_for_each_entry_safe(att, tmp, &nft_jit_pernet(net)->atts, list)
		nft_jit_unlink(att);
	mutex_unlock(&nft_jit_mutex);
}

static struct pernet_operations nft_jit_net_ops = {
	.init	= nft_jit_init_net,
	.exit	= nft_jit_exit_net,
	.id	= &nft_jit_net_id,
	.size	= sizeof(struct nft_jit_net),
};

/* ------------------------------------------------------- program checks */

/* What the compiler emits, and only that: calls of bpf_skb_load_bytes()
 * and of the services kfunc, bpf-to-bpf calls, tail calls through frozen
 * program arrays.  Checked on the verifier's output (prog->insnsi, every
 * subprogram included), where a helper call's imm is the helper's address
 * relative to __bpf_call_base and a kfunc call's the kfunc's.  The
 * verifier's own calls are helper calls too: a direct packet write makes
 * it call bpf_skb_pull_data(), an LD_ABS bpf_skb_load_helper_*(), a map
 * lookup the map's lookup function: all refused.
 */
struct nft_jit_check {
	struct netlink_ext_ack		*extack;
	const struct nlattr		*attr;	/* NFTJ_A_PROG_FD */
	char				*sym;	/* KSYM_SYMBOL_LEN */
	s32				load_bytes;	/* its imm, once known */
	bool				load_bytes_known;
	struct bpf_prog			**progs;	/* referenced */
	u32				nprogs;
	struct nft_jit_att		*att;	/* urefs: the arrays */
};

static bool nft_jit_helper_ok(struct nft_jit_check *chk, s32 imm)
{
	static const char name[] = "bpf_skb_load_bytes+0x0/";

	if (chk->load_bytes_known)
		return imm == chk->load_bytes;
	sprint_symbol(chk->sym, (unsigned long)__bpf_call_base + imm);
	if (strncmp(chk->sym, name, sizeof(name) - 1) ||
	    strchr(chk->sym, '['))	/* in a module */
		return false;
	chk->load_bytes = imm;
	chk->load_bytes_known = true;
	return true;
}

static int nft_jit_check_insns(struct nft_jit_check *chk,
			       const struct bpf_prog *prog)
{
	const struct bpf_insn *insn = prog->insnsi, *end = insn + prog->len;
	unsigned long kfunc = (unsigned long)nftj_svc_eval;

	for (; insn < end; insn++) {
		if (BPF_CLASS(insn->code) != BPF_JMP)
			continue;
		switch (BPF_OP(insn->code)) {
		case BPF_TAIL_CALL:
			continue;
		case BPF_CALL_ARGS:	/* the interpreter's bpf-to-bpf call */
			if (insn->src_reg == BPF_PSEUDO_CALL)
				continue;
			break;
		case BPF_CALL:
			if (insn->src_reg == BPF_PSEUDO_CALL)
				continue;
			if (insn->src_reg == BPF_PSEUDO_KFUNC_CALL) {
				if ((unsigned long)__bpf_call_base + insn->imm ==
				    kfunc)
					continue;
				NL_SET_ERR_MSG_ATTR(chk->extack, chk->attr,
						    "program calls a kfunc other than nftj_svc_eval");
				return -EPERM;
			}
			if (!insn->src_reg && nft_jit_helper_ok(chk, insn->imm))
				continue;
			NL_SET_ERR_MSG_ATTR(chk->extack, chk->attr,
					    "program calls a helper other than bpf_skb_load_bytes");
			return -EPERM;
		default:
			continue;
		}
		NL_SET_ERR_MSG_ATTR(chk->extack, chk->attr,
				    "program has a call nf_tables does not know");
		return -EPERM;
	}
	return 0;
}

static bool nft_jit_checked(const struct nft_jit_check *chk,
			    const struct bpf_prog *prog)
{
	u32 i;

	for (i = 0; i < chk->nprogs; i++)
		if (chk->progs[i] == prog)
			return true;
	return false;
}

/* A frozen program array: hold it (a user reference keeps its programs
 * when the helper closes its descriptor), queue its programs.
 */
static int nft_jit_check_array(struct nft_jit_check *chk, struct bpf_map *map)
{
	struct bpf_array *array = container_of(map, struct bpf_array, map);
	struct nft_jit_att *att = chk->att;
	struct bpf_prog *prog;
	int err = 0;
	u32 i;

	if (map->map_type != BPF_MAP_TYPE_PROG_ARRAY) {
		NL_SET_ERR_MSG_ATTR(chk->extack, chk->attr,
				    "program uses a map other than a program array");
		return -EPERM;
	}
	/* frozen: the syscall side cannot change it any more */
	if (!READ_ONCE(map->frozen)) {
		NL_SET_ERR_MSG_ATTR(chk->extack, chk->attr,
				    "program array is not frozen (BPF_MAP_FREEZE)");
		return -EPERM;
	}
	for (i = 0; i < att->nurefs; i++)
		if (att->urefs[i] == map)
			return 0;
	if (att->nurefs == NFT_JIT_MAX_ARRAYS) {
		NL_SET_ERR_MSG_ATTR(chk->extack, chk->attr,
				    "too many program arrays");
		return -E2BIG;
	}
	bpf_map_inc_with_uref(map);
	att->urefs[att->nurefs++] = map;

	/* a program leaves the array only when its last user reference goes;
	 * the RCU read side keeps it until it has a reference of ours
	 */
	rcu_read_lock();
	for (i = 0; i < map->max_entries && !err; i++) {
		prog = READ_ONCE(array->ptrs[i]);
		if (!prog || nft_jit_checked(chk, prog))
			continue;
		if (chk->nprogs == NFT_JIT_MAX_PROGS) {
			NL_SET_ERR_MSG_ATTR(chk->extack, chk->attr,
					    "too many programs reachable by tail calls");
			err = -E2BIG;
			break;
		}
		prog = bpf_prog_inc_not_zero(prog);
		if (!IS_ERR(prog))
			chk->progs[chk->nprogs++] = prog;
	}
	rcu_read_unlock();
	return err;
}

static int nft_jit_check_maps(struct nft_jit_check *chk,
			      const struct bpf_prog *prog)
{
	struct bpf_prog_aux *aux = prog->aux;
	int err = 0;
	u32 i;

	mutex_lock(&aux->used_maps_mutex);
	for (i = 0; i < aux->used_map_cnt && !err; i++)
		err = nft_jit_check_array(chk, aux->used_maps[i]);
	mutex_unlock(&aux->used_maps_mutex);
	return err;
}

/* the attachment's program and every program it can tail-call */
static int nft_jit_check_prog(struct nft_jit_att *att,
			      struct netlink_ext_ack *extack,
			      const struct nlattr *attr)
{
	struct nft_jit_check chk = {
		.extack	= extack,
		.attr	= attr,
		.att	= att,
	};
	int err = -ENOMEM;
	u32 i;

	att->urefs = kcalloc(NFT_JIT_MAX_ARRAYS, sizeof(*att->urefs),
			     GFP_KERNEL_ACCOUNT);
	chk.progs = kvcalloc(NFT_JIT_MAX_PROGS, sizeof(*chk.progs),
			     GFP_KERNEL_ACCOUNT);
	chk.sym = kmalloc(KSYM_SYMBOL_LEN, GFP_KERNEL);
	if (!att->urefs || !chk.progs || !chk.sym)
		goto out;

	bpf_prog_inc(att->prog);
	chk.progs[chk.nprogs++] = att->prog;
	/* breadth first; progs grows while it is walked */
	for (i = 0, err = 0; i < chk.nprogs && !err; i++) {
		if (chk.progs[i]->type != BPF_PROG_TYPE_SCHED_CLS) {
			NL_SET_ERR_MSG_ATTR(extack, attr,
					    "program array holds a program of another type");
			err = -EINVAL;
			break;
		}
		err = nft_jit_check_insns(&chk, chk.progs[i]);
		if (!err)
			err = nft_jit_check_maps(&chk, chk.progs[i]);
		cond_resched();
	}
out:
	for (i = 0; i < chk.nprogs; i++)
		bpf_prog_put(chk.progs[i]);
	kvfree(chk.progs);
	kfree(chk.sym);
	return err;
}

/* ------------------------------------------------------------ attaching */

struct nft_jit_ctx {
	struct net			*net;
	struct netlink_ext_ack		*extack;
	const struct nft_table		*table;
	const struct nft_chain		*chain;
	struct nft_jit_att		*att;
	/* where the last service was found: the next is usually after it */
	const struct nft_jit_cover	*svc_cover;
	const struct nft_rule_dp	*svc_rule;
};

static struct nft_table *nft_jit_table(const struct net *net, u32 family,
				       const struct nlattr *name)
{
	struct nftables_pernet *nft_net = nft_pernet(net);
	struct nft_table *table;

	list_for_each_entry(table, &nft_net->tables, list) {
		if (table->family == family && nft_is_active(net, table) &&
		    !nla_strcmp(name, table->name))
			return table;
	}
	return NULL;
}

static struct nft_chain *nft_jit_chain(const struct net *net,
				       const struct nft_table *table,
				       const struct nlattr *name)
{
	struct nft_chain *chain;

	list_for_each_entry(chain, &table->chains, list) {
		if (nft_is_active(net, chain) && !nla_strcmp(name, chain->name))
			return chain;
	}
	return NULL;
}

static int nft_jit_index_rules(struct nft_jit_att *att)
{
	const struct nft_rule_dp *rule, *end = nft_jit_rule_end(att->blob);
	u32 n = 0;

	for (rule = nft_jit_rule_first(att->blob); rule < end;
	     rule = nft_jit_rule_next(rule))
		n++;

	att->rule_off = kvcalloc(n + 1, sizeof(u32), GFP_KERNEL_ACCOUNT);
	if (!att->rule_off)
		return -ENOMEM;
	att->nrules = n;
	n = 0;
	for (rule = nft_jit_rule_first(att->blob); rule < end;
	     rule = nft_jit_rule_next(rule))
		att->rule_off[n++] = (const void *)rule -
				     (const void *)att->blob->data;
	att->rule_off[n] = att->blob->size;
	return 0;
}

/* the chains seen while the cover is built: open addressing, at most
 * half full (a table's chains, counted first, are all there can be)
 */
struct nft_jit_seen {
	const struct nft_chain		**slot;
	u32				mask;
	u32				cap;	/* the table's chains */
};

static bool nft_jit_seen_add(struct nft_jit_seen *seen,
			     const struct nft_chain *chain)
{
	u32 i = hash_ptr(chain, 32) & seen->mask;

	while (seen->slot[i]) {
		if (seen->slot[i] == chain)
			return false;
		i = (i + 1) & seen->mask;
	}
	seen->slot[i] = chain;
	return true;
}

static int nft_jit_cover_add(struct nft_jit_ctx *ctx,
			     struct nft_jit_seen *seen,
			     const struct nft_chain *chain)
{
	struct nft_jit_att *att = ctx->att;

	if (!nft_jit_seen_add(seen, chain))
		return 0;
	/* jumps lead to chains of the same table: never more than cap */
	if (att->ncover == seen->cap) {
		NL_SET_ERR_MSG(ctx->extack, "jump to a chain of another table");
		return -EINVAL;
	}
	att->cover[att->ncover].chain = chain;
	att->cover[att->ncover].blob = nft_jit_blob_cur(ctx->net, chain);
	att->ncover++;
	return 0;
}

static int nft_jit_cover_sort_cmp(const void *a, const void *b)
{
	const struct nft_jit_cover *x = a, *y = b;

	if (x->chain == y->chain)
		return 0;
	return (unsigned long)x->chain < (unsigned long)y->chain ? -1 : 1;
}

/* The chains the program may have been compiled from: the base chain and
 * every chain reachable by jump or goto.  A verdict map can send packets
 * to any chain of the table that is not a base chain (nf_tables refuses
 * jumps to base chains): then all of those are covered.
 */
static int nft_jit_find_cover(struct nft_jit_ctx *ctx)
{
	const struct nft_rule_dp *rule, *end;
	const struct nft_immediate_expr *imm;
	const struct nft_rule_blob *blob;
	const struct nft_expr *expr;
	const struct nft_chain *chain;
	struct nft_jit_att *att = ctx->att;
	struct nft_jit_seen seen;
	struct nft_set *set;
	u32 n = 0, i;
	int err;

	list_for_each_entry(chain, &ctx->table->chains, list)
		n++;
	seen.cap = n;
	att->cover = kvcalloc(n, sizeof(*att->cover), GFP_KERNEL_ACCOUNT);
	seen.mask = roundup_pow_of_two(max(2 * n, 16U)) - 1;
	seen.slot = kvcalloc(seen.mask + 1, sizeof(*seen.slot),
			     GFP_KERNEL_ACCOUNT);
	if (!att->cover || !seen.slot) {
		kvfree(seen.slot);
		return -ENOMEM;
	}

	err = nft_jit_cover_add(ctx, &seen, ctx->chain);
	if (err)
		goto out;
	list_for_each_entry(set, &ctx->table->sets, list) {
		if (nft_is_active(ctx->net, set) &&
		    set->dtype == NFT_DATA_VERDICT) {
			att->table_wide = true;
			break;
		}
	}
	if (att->table_wide) {
		list_for_each_entry(chain, &ctx->table->chains, list) {
			if (!nft_is_active(ctx->net, chain) ||
			    nft_is_base_chain(chain))
				continue;
			err = nft_jit_cover_add(ctx, &seen, chain);
			if (err)
				goto out;
		}
		goto out;
	}

	/* breadth first; cover grows while it is walked */
	for (i = 0; i < att->ncover; i++) {
		blob = att->cover[i].blob;
		end = nft_jit_rule_end(blob);
		for (rule = nft_jit_rule_first(blob); rule < end;
		     rule = nft_jit_rule_next(rule)) {
			for (expr = nft_jit_expr_first(rule);
			     expr != nft_jit_expr_end(rule);
			     expr = nft_expr_next(expr)) {
				if (expr->ops->type != &nft_imm_type)
					continue;
				imm = nft_expr_priv(expr);
				if (imm->dreg != NFT_REG_VERDICT ||
				    (imm->data.verdict.code != NFT_JUMP &&
				     imm->data.verdict.code != NFT_GOTO))
					continue;
				err = nft_jit_cover_add(ctx, &seen,
							imm->data.verdict.chain);
				if (err)
					goto out;
			}
		}
		cond_resched();
	}
out:
	kvfree(seen.slot);
	sort(att->cover, att->ncover, sizeof(*att->cover),
	     nft_jit_cover_sort_cmp, NULL);
	return err;
}

/* ct expressions that load (get), not those that store (set): nft_ct's
 * select_ops() answers its get ops for a destination register
 */
static bool nft_jit_ct_is_get(const struct nft_expr *expr)
{
	struct {
		struct nlattr	nla;
		__be32		v;
	} key = {
		.nla = { .nla_len = NLA_HDRLEN + 4, .nla_type = NFTA_CT_KEY },
		.v = htonl(NFT_CT_STATE),
	}, dreg = {
		.nla = { .nla_len = NLA_HDRLEN + 4, .nla_type = NFTA_CT_DREG },
		.v = htonl(NFT_REG32_00),
	};
	const struct nlattr *tb[NFTA_CT_MAX + 1] = {
		[NFTA_CT_KEY]	= &key.nla,
		[NFTA_CT_DREG]	= &dreg.nla,
	};
	const struct nft_expr_type *type = expr->ops->type;
	const struct nft_expr_ops *ops;
	const struct nft_ctx ctx = {};

	if (!type->select_ops)
		return false;
	ops = type->select_ops(&ctx, tb);
	return !IS_ERR_OR_NULL(ops) && ops == expr->ops;
}

/* the kind of service the expression can be, or -1 */
static int nft_jit_svc_kind(const struct nft_expr *expr)
{
	const struct nft_expr_type *type = expr->ops->type;

	if (type == &nft_counter_type)
		return NFT_JIT_SVC_COUNTER;
	if (type == &nft_lookup_type)
		return NFT_JIT_SVC_PLAIN;
	if (type == &nft_meta_type && expr->ops->eval == nft_meta_get_eval)
		return NFT_JIT_SVC_CB;
	if (!strcmp(type->name, "ct") && nft_jit_ct_is_get(expr))
		return NFT_JIT_SVC_CB;
	return -1;
}

static const struct nla_policy nft_jit_svc_policy[NFTJ_SVC_A_MAX + 1] = {
	[NFTJ_SVC_A_CHAIN]	= { .type = NLA_STRING,
				    .len = NFT_CHAIN_MAXNAMELEN - 1 },
	[NFTJ_SVC_A_HANDLE]	= { .type = NLA_U64 },
	[NFTJ_SVC_A_INDEX]	= { .type = NLA_U32 },
};

/* the covered chain a service names: the base chain or a chain it can
 * jump to (a service elsewhere would outlive its chain: another base
 * chain goes with its device, outside a commit)
 */
static const struct nft_jit_cover *
nft_jit_svc_chain(struct nft_jit_ctx *ctx, const struct nlattr *name)
{
	const struct nft_chain *chain;

	if (ctx->svc_cover && !nla_strcmp(name, ctx->svc_cover->chain->name))
		return ctx->svc_cover;
	chain = nft_jit_chain(ctx->net, ctx->table, name);
	if (!chain) {
		NL_SET_ERR_MSG_ATTR(ctx->extack, name, "no such service chain");
		return NULL;
	}
	if (nft_is_base_chain(chain) && chain != ctx->chain) {
		NL_SET_ERR_MSG_ATTR(ctx->extack, name,
				    "service chain is another base chain");
		return NULL;
	}
	ctx->svc_cover = nft_jit_covers(ctx->att, chain);
	ctx->svc_rule = NULL;
	if (!ctx->svc_cover)
		NL_SET_ERR_MSG_ATTR(ctx->extack, name,
				    "service chain is not reachable from the base chain");
	return ctx->svc_cover;
}

/* the rule with handle in blob, searched from after the last one found */
static const struct nft_rule_dp *nft_jit_svc_rule(struct nft_jit_ctx *ctx,
						  u64 handle)
{
	const struct nft_rule_blob *blob = ctx->svc_cover->blob;
	const struct nft_rule_dp *first = nft_jit_rule_first(blob);
	const struct nft_rule_dp *end = nft_jit_rule_end(blob);
	const struct nft_rule_dp *start = ctx->svc_rule ? ctx->svc_rule : first;
	const struct nft_rule_dp *rule = start;

	if (start >= end)
		return NULL;
	do {
		if (rule->handle == handle) {
			ctx->svc_rule = rule;
			return rule;
		}
		rule = nft_jit_rule_next(rule);
		if (rule >= end)
			rule = first;
	} while (rule != start);
	return NULL;
}

static int nft_jit_svc_resolve(struct nft_jit_ctx *ctx, u32 idx,
			       const struct nlattr *nla)
{
	struct nlattr *tb[NFTJ_SVC_A_MAX + 1];
	struct netlink_ext_ack *extack = ctx->extack;
	const struct nft_rule_dp *rule;
	const struct nft_expr *expr;
	u32 pos;
	int err, kind;

	err = nla_parse_nested(tb, NFTJ_SVC_A_MAX, nla, nft_jit_svc_policy,
			       extack);
	if (err < 0)
		return err;
	if (!tb[NFTJ_SVC_A_CHAIN] || !tb[NFTJ_SVC_A_HANDLE] ||
	    !tb[NFTJ_SVC_A_INDEX]) {
		NL_SET_ERR_MSG_ATTR(extack, nla,
				    "service needs chain, handle and index");
		return -EINVAL;
	}
	if (!nft_jit_svc_chain(ctx, tb[NFTJ_SVC_A_CHAIN]))
		return -EINVAL;
	rule = nft_jit_svc_rule(ctx, nla_get_u64(tb[NFTJ_SVC_A_HANDLE]));
	if (!rule) {
		NL_SET_ERR_MSG_ATTR(extack, tb[NFTJ_SVC_A_HANDLE],
				    "no rule with this handle in the chain");
		return -EINVAL;
	}
	pos = nla_get_u32(tb[NFTJ_SVC_A_INDEX]);
	for (expr = nft_jit_expr_first(rule); expr != nft_jit_expr_end(rule);
	     expr = nft_expr_next(expr)) {
		if (pos-- != 0)
			continue;
		kind = nft_jit_svc_kind(expr);
		if (kind < 0) {
			NL_SET_ERR_MSG_ATTR(extack, nla,
					    "expression cannot be a service");
			return -EINVAL;
		}
		ctx->att->svc[idx].expr = expr;
		ctx->att->svc[idx].kind = kind;
		return 0;
	}
	NL_SET_ERR_MSG_ATTR(extack, tb[NFTJ_SVC_A_INDEX],
			    "rule has no expression at this position");
	return -EINVAL;
}

/* The service table: the NFTJ_A_SERVICE nests of every NFTJ_A_SERVICES
 * attribute, in order (one attribute holds at most 64 KiB).
 */
static int nft_jit_services(struct nft_jit_ctx *ctx,
			    const struct genl_info *info)
{
	const struct nlattr *head = genlmsg_data(info->genlhdr);
	int len = genlmsg_len(info->genlhdr);
	const struct nlattr *attr, *nla;
	int rem, rem2, err;
	u32 n = 0;

	nla_for_each_attr(attr, head, len, rem) {
		if (nla_type(attr) != NFTJ_A_SERVICES)
			continue;
		nla_for_each_nested(nla, attr, rem2) {
			if (nla_type(nla) != NFTJ_A_SERVICE) {
				NL_SET_ERR_MSG_ATTR(ctx->extack, nla,
						    "not a service");
				return -EINVAL;
			}
			if (++n > NFTJ_MAX_SERVICES) {
				NL_SET_ERR_MSG(ctx->extack, "too many services");
				return -E2BIG;
			}
		}
	}
	ctx->att->svc = kvcalloc(n ? n : 1, sizeof(*ctx->att->svc),
				 GFP_KERNEL_ACCOUNT);
	if (!ctx->att->svc)
		return -ENOMEM;
	ctx->att->nsvc = n;
	n = 0;
	nla_for_each_attr(attr, head, len, rem) {
		if (nla_type(attr) != NFTJ_A_SERVICES)
			continue;
		nla_for_each_nested(nla, attr, rem2) {
			err = nft_jit_svc_resolve(ctx, n++, nla);
			if (err)
				return err;
			if (!(n % 256))
				cond_resched();
		}
	}
	return 0;
}

static int nft_jit_lookup(struct nft_jit_ctx *ctx, struct nlattr **tb)
{
	struct netlink_ext_ack *extack = ctx->extack;
	const struct nft_table *table;
	const struct nft_chain *chain;
	u32 family;

	if (!tb[NFTJ_A_FAMILY] || !tb[NFTJ_A_TABLE] || !tb[NFTJ_A_CHAIN]) {
		NL_SET_ERR_MSG(extack, "family, table and chain are required");
		return -EINVAL;
	}
	family = nla_get_u32(tb[NFTJ_A_FAMILY]);
	if (family != NFPROTO_IPV4 && family != NFPROTO_IPV6 &&
	    family != NFPROTO_INET) {
		NL_SET_ERR_MSG_ATTR(extack, tb[NFTJ_A_FAMILY],
				    "only ip, ip6 and inet tables");
		return -EOPNOTSUPP;
	}
	table = nft_jit_table(ctx->net, family, tb[NFTJ_A_TABLE]);
	if (!table) {
		NL_SET_ERR_MSG_ATTR(extack, tb[NFTJ_A_TABLE], "no such table");
		return -ENOENT;
	}
	/* Only the owner's socket may change an owned table.  A generic
	 * netlink request cannot prove it comes from the owner (a port id
	 * of another protocol proves nothing): nobody attaches.
	 */
	if (nft_table_has_owner(table)) {
		NL_SET_ERR_MSG_ATTR(extack, tb[NFTJ_A_TABLE],
				    "table has an owner (NFT_TABLE_F_OWNER): only its owner may change it");
		return -EPERM;
	}
	chain = nft_jit_chain(ctx->net, table, tb[NFTJ_A_CHAIN]);
	if (!chain) {
		NL_SET_ERR_MSG_ATTR(extack, tb[NFTJ_A_CHAIN], "no such chain");
		return -ENOENT;
	}
	if (!nft_is_base_chain(chain)) {
		NL_SET_ERR_MSG_ATTR(extack, tb[NFTJ_A_CHAIN],
				    "not a base chain");
		return -EOPNOTSUPP;
	}
	ctx->table = table;
	ctx->chain = chain;
	return 0;
}

static int nft_jit_attach_locked(struct nft_jit_ctx *ctx,
				 const struct genl_info *info)
{
	struct nlattr **tb = info->attrs;
	struct nftables_pernet *nft_net = nft_pernet(ctx->net);
	struct nft_jit_net *jn = nft_jit_pernet(ctx->net);
	struct nft_jit_att *att = ctx->att, *old;
	int err;

	err = nft_jit_lookup(ctx, tb);
	if (err)
		return err;
	if (nla_get_u32(tb[NFTJ_A_GENID]) != nft_net->base_seq) {
		NL_SET_ERR_MSG_ATTR(ctx->extack, tb[NFTJ_A_GENID],
				    "ruleset generation changed");
		return -ESTALE;
	}
	att->genid = nft_net->base_seq;
	att->chain = ctx->chain;
	att->blob = nft_jit_blob_cur(ctx->net, ctx->chain);
	err = nft_jit_index_rules(att);
	if (err)
		return err;
	err = nft_jit_find_cover(ctx);
	if (err)
		return err;
	err = nft_jit_services(ctx, info);
	if (err)
		return err;

	mutex_lock(&nft_jit_mutex);
	old = nft_jit_find(ctx->chain);
	att->id = ++jn->next_id;
	static_branch_inc(&nft_jit_active);
	hash_add_rcu(nft_jit_atts, &att->node, (unsigned long)att->chain);
	list_add_tail(&att->list, &jn->atts);
	if (old)
		nft_jit_unlink(old);
	mutex_unlock(&nft_jit_mutex);
	return 0;
}

/* CAP_NET_ADMIN and CAP_BPF (or CAP_SYS_ADMIN) in the initial user
 * namespace, of the socket's opener and of the sender
 */
static bool nft_jit_may_attach(const struct sk_buff *skb)
{
	return netlink_capable(skb, CAP_NET_ADMIN) &&
	       (netlink_capable(skb, CAP_BPF) ||
		netlink_capable(skb, CAP_SYS_ADMIN));
}

static int nft_jit_nl_attach(struct sk_buff *skb, struct genl_info *info)
{
	struct nft_jit_ctx ctx = {
		.net	= genl_info_net(info),
		.extack	= info->extack,
	};
	struct nftables_pernet *nft_net = nft_pernet(ctx.net);
	struct nlattr **tb = info->attrs;
	struct nft_jit_att *att;
	struct bpf_prog *prog;
	int err, cpu;

	if (!nft_jit_may_attach(skb)) {
		NL_SET_ERR_MSG(info->extack,
			       "attach needs CAP_BPF and CAP_NET_ADMIN in the initial user namespace");
		return -EPERM;
	}
	if (!tb[NFTJ_A_GENID] || !tb[NFTJ_A_PROG_FD]) {
		NL_SET_ERR_MSG(info->extack, "generation and program required");
		return -EINVAL;
	}
	prog = bpf_prog_get_type(nla_get_u32(tb[NFTJ_A_PROG_FD]),
				 BPF_PROG_TYPE_SCHED_CLS);
	if (IS_ERR(prog)) {
		NL_SET_ERR_MSG_ATTR(info->extack, tb[NFTJ_A_PROG_FD],
				    "not a SCHED_CLS program");
		return PTR_ERR(prog);
	}
	att = kzalloc(sizeof(*att), GFP_KERNEL_ACCOUNT);
	if (!att) {
		bpf_prog_put(prog);
		return -ENOMEM;
	}
	att->prog = prog;
	write_pnet(&att->net, ctx.net);
	err = nft_jit_check_prog(att, info->extack, tb[NFTJ_A_PROG_FD]);
	if (err) {
		nft_jit_att_free(att);
		return err;
	}
	att->stats = alloc_percpu_gfp(struct nft_jit_stats, GFP_KERNEL_ACCOUNT);
	if (!att->stats) {
		nft_jit_att_free(att);
		return -ENOMEM;
	}
	for_each_possible_cpu(cpu)
		u64_stats_init(&per_cpu_ptr(att->stats, cpu)->syncp);
	ctx.att = att;

	mutex_lock(&nft_net->commit_mutex);
	err = nft_jit_attach_locked(&ctx, info);
	mutex_unlock(&nft_net->commit_mutex);
	if (err)
		nft_jit_att_free(att);
	return err;
}

/* caller holds nft_jit_mutex */
static struct nft_jit_att *nft_jit_find_by_name(const struct net *net,
						struct nlattr **tb)
{
	struct nft_jit_att *att;

	list_for_each_entry(att, &nft_jit_pernet(net)->atts, list) {
		if (att->chain->table->family == nla_get_u32(tb[NFTJ_A_FAMILY]) &&
		    !nla_strcmp(tb[NFTJ_A_TABLE], att->chain->table->name) &&
		    !nla_strcmp(tb[NFTJ_A_CHAIN], att->chain->name))
			return att;
	}
	return NULL;
}

static int nft_jit_nl_detach(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr **tb = info->attrs;
	struct nft_jit_att *att;

	if (!tb[NFTJ_A_FAMILY] || !tb[NFTJ_A_TABLE] || !tb[NFTJ_A_CHAIN]) {
		NL_SET_ERR_MSG(info->extack,
			       "family, table and chain are required");
		return -EINVAL;
	}
	mutex_lock(&nft_jit_mutex);
	att = nft_jit_find_by_name(genl_info_net(info), tb);
	if (att)
		nft_jit_unlink(att);
	mutex_unlock(&nft_jit_mutex);
	if (!att) {
		NL_SET_ERR_MSG(info->extack, "no program attached to this chain");
		return -ENOENT;
	}
	return 0;
}

static void nft_jit_stats_sum(const struct nft_jit_att *att,
			      u64 sum[__NFT_JIT_NSTATS])
{
	const struct nft_jit_stats *s;
	u64 v[__NFT_JIT_NSTATS];
	unsigned int start;
	int cpu, i;

	memset(sum, 0, sizeof(u64) * __NFT_JIT_NSTATS);
	for_each_possible_cpu(cpu) {
		s = per_cpu_ptr(att->stats, cpu);
		do {
			start = u64_stats_fetch_begin(&s->syncp);
			for (i = 0; i < __NFT_JIT_NSTATS; i++)
				v[i] = u64_stats_read(&s->n[i]);
		} while (u64_stats_fetch_retry(&s->syncp, start));
		for (i = 0; i < __NFT_JIT_NSTATS; i++)
			sum[i] += v[i];
	}
}

/* the namespace's counts, in every message */
static int nft_jit_put_net(struct sk_buff *skb, const struct net *net)
{
	const struct nft_jit_net *jn = nft_jit_pernet(net);

	if (nla_put_u64_64bit(skb, NFTJ_A_DETACHES, READ_ONCE(jn->detaches),
			      NFTJ_A_PAD) ||
	    nla_put_u64_64bit(skb, NFTJ_A_DESTROYED, READ_ONCE(jn->destroyed),
			      NFTJ_A_PAD))
		return -EMSGSIZE;
	return 0;
}

/* caller holds nft_jit_mutex */
static int nft_jit_fill(struct sk_buff *skb, const struct net *net,
			const struct nft_jit_att *att, u32 portid, u32 seq,
			int flags)
{
	u64 sum[__NFT_JIT_NSTATS];
	void *hdr;

	nft_jit_stats_sum(att, sum);
	hdr = genlmsg_put(skb, portid, seq, &nft_jit_genl_family, flags,
			  NFTJ_CMD_GET);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u32(skb, NFTJ_A_FAMILY, att->chain->table->family) ||
	    nla_put_string(skb, NFTJ_A_TABLE, att->chain->table->name) ||
	    nla_put_string(skb, NFTJ_A_CHAIN, att->chain->name) ||
	    nla_put_u32(skb, NFTJ_A_GENID, att->genid) ||
	    nla_put_u32(skb, NFTJ_A_PROG_ID, att->prog->aux->id) ||
	    nla_put_u32(skb, NFTJ_A_NRULES, att->nrules) ||
	    nla_put_u32(skb, NFTJ_A_NCHAINS,
			att->table_wide ? 0 : att->ncover) ||
	    nla_put_u32(skb, NFTJ_A_NSERVICES, att->nsvc) ||
	    nla_put_u64_64bit(skb, NFTJ_A_RUNS, sum[NFT_JIT_RUNS],
			      NFTJ_A_PAD) ||
	    nla_put_u64_64bit(skb, NFTJ_A_RESUMES, sum[NFT_JIT_RESUMES],
			      NFTJ_A_PAD) ||
	    nla_put_u64_64bit(skb, NFTJ_A_FALLBACKS, sum[NFT_JIT_FALLBACKS],
			      NFTJ_A_PAD) ||
	    nla_put_u64_64bit(skb, NFTJ_A_RECOUNTS, sum[NFT_JIT_RECOUNTS],
			      NFTJ_A_PAD) ||
	    nft_jit_put_net(skb, net)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

/* the namespace: programs attached, programs detached */
static int nft_jit_nl_get_net(struct genl_info *info)
{
	struct net *net = genl_info_net(info);
	struct nft_jit_att *att;
	struct sk_buff *msg;
	u32 attached = 0;
	void *hdr;

	msg = nlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &nft_jit_genl_family, 0,
				NFTJ_CMD_GET);
	if (!hdr)
		goto nla_put_failure;
	mutex_lock(&nft_jit_mutex);
	list_for_each_entry(att, &nft_jit_pernet(net)->atts, list)
		attached++;
	mutex_unlock(&nft_jit_mutex);
	if (nla_put_u32(msg, NFTJ_A_ATTACHED, attached) ||
	    nft_jit_put_net(msg, net))
		goto nla_put_failure;
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);

nla_put_failure:
	nlmsg_free(msg);
	return -EMSGSIZE;
}

static int nft_jit_nl_get(struct sk_buff *skb, struct genl_info *info)
{
	struct net *net = genl_info_net(info);
	struct nlattr **tb = info->attrs;
	struct nft_jit_att *att;
	struct sk_buff *msg;
	int err;

	if (!tb[NFTJ_A_FAMILY] && !tb[NFTJ_A_TABLE] && !tb[NFTJ_A_CHAIN])
		return nft_jit_nl_get_net(info);
	if (!tb[NFTJ_A_FAMILY] || !tb[NFTJ_A_TABLE] || !tb[NFTJ_A_CHAIN]) {
		NL_SET_ERR_MSG(info->extack,
			       "family, table and chain go together");
		return -EINVAL;
	}
	msg = nlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	mutex_lock(&nft_jit_mutex);
	att = nft_jit_find_by_name(net, tb);
	err = att ? nft_jit_fill(msg, net, att, info->snd_portid,
				 info->snd_seq, 0) : -ENOENT;
	mutex_unlock(&nft_jit_mutex);
	if (err) {
		if (err == -ENOENT)
			NL_SET_ERR_MSG(info->extack,
				       "no program attached to this chain");
		nlmsg_free(msg);
		return err;
	}
	return genlmsg_reply(msg, info);
}

/* The namespace's attachments by id: a dump resumes after the last id it
 * sent, whatever was attached or detached in between.
 */
static int nft_jit_nl_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct net *net = sock_net(skb->sk);
	u64 last = (u64)cb->args[1] << 32 | (u32)cb->args[0];
	struct nft_jit_att *att;

	mutex_lock(&nft_jit_mutex);
	list_for_each_entry(att, &nft_jit_pernet(net)->atts, list) {
		if (att->id <= last)
			continue;
		if (nft_jit_fill(skb, net, att, NETLINK_CB(cb->skb).portid,
				 cb->nlh->nlmsg_seq, NLM_F_MULTI) < 0)
			break;
		last = att->id;
	}
	mutex_unlock(&nft_jit_mutex);
	cb->args[0] = lower_32_bits(last);
	cb->args[1] = upper_32_bits(last);
	return skb->len;
}

static const struct nla_policy nft_jit_policy[NFTJ_A_MAX + 1] = {
	[NFTJ_A_FAMILY]		= { .type = NLA_U32 },
	[NFTJ_A_TABLE]		= { .type = NLA_STRING,
				    .len = NFT_TABLE_MAXNAMELEN - 1 },
	[NFTJ_A_CHAIN]		= { .type = NLA_STRING,
				    .len = NFT_CHAIN_MAXNAMELEN - 1 },
	[NFTJ_A_GENID]		= { .type = NLA_U32 },
	[NFTJ_A_PROG_FD]	= { .type = NLA_U32 },
	[NFTJ_A_SERVICES]	= { .type = NLA_NESTED },
};

static const struct genl_small_ops nft_jit_ops[] = {
	{
		.cmd	= NFTJ_CMD_ATTACH,
		.doit	= nft_jit_nl_attach,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= NFTJ_CMD_DETACH,
		.doit	= nft_jit_nl_detach,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= NFTJ_CMD_GET,
		.doit	= nft_jit_nl_get,
		.dumpit	= nft_jit_nl_dump,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
};

static struct genl_family nft_jit_genl_family __ro_after_init = {
	.name		= NFTJ_GENL_NAME,
	.version	= NFTJ_GENL_VERSION,
	.maxattr	= NFTJ_A_MAX,
	.policy		= nft_jit_policy,
	.netnsok	= true,
	.module		= THIS_MODULE,
	.small_ops	= nft_jit_ops,
	.n_small_ops	= ARRAY_SIZE(nft_jit_ops),
	.resv_start_op	= NFTJ_CMD_GET + 1,
};

int nft_jit_module_init(void)
{
	int err;

	err = register_pernet_subsys(&nft_jit_net_ops);
	if (err)
		return err;
	err = register_btf_kfunc_id_set(BPF_PROG_TYPE_SCHED_CLS,
					&nft_jit_kfunc_set);
	if (err)
		goto err_pernet;
	err = genl_register_family(&nft_jit_genl_family);
	if (err)
		goto err_pernet;
	return 0;

err_pernet:
	unregister_pernet_subsys(&nft_jit_net_ops);
	return err;
}

void nft_jit_module_exit(void)
{
	genl_unregister_family(&nft_jit_genl_family);
	/* releases every attachment */
	unregister_pernet_subsys(&nft_jit_net_ops);
	rcu_barrier();
}
