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
 */
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>
#include <linux/filter.h>
#include <linux/hashtable.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/rculist.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
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

struct nft_jit_stats {
	u64	runs;
	u64	resumes;
	u64	fallbacks;
};

/* a chain whose rules the program was compiled from, and their blob */
struct nft_jit_cover {
	const struct nft_chain		*chain;
	const struct nft_rule_blob	*blob;
};

struct nft_jit_att {
	struct hlist_node		node;	/* nft_jit_atts, by chain */
	struct rcu_head			rcu;
	possible_net_t			net;
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
	struct nft_jit_cover		*cover;	/* [0] is the base chain */
	u32				nsvc;
	const struct nft_expr		**svc;
	struct nft_jit_stats __percpu	*stats;
};

/* the program this CPU runs, for the kfunc; runs nest (softirq on top) */
struct nft_jit_run {
	const struct nft_jit_att	*att;
	const struct nft_pktinfo	*pkt;
	struct nft_jit_run		*prev;
};

struct nft_jit_net {
	u64				detaches;	/* by commits */
};

static DEFINE_PER_CPU(struct nft_jit_run *, nft_jit_cur);

/* Attachments of all namespaces, keyed by base chain.  Writers hold
 * nft_jit_mutex (and, except for chain destruction, the namespace's
 * commit_mutex first); the packet path reads under RCU.
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

static struct nft_jit_att *nft_jit_find(const struct nft_chain *chain)
{
	struct nft_jit_att *att;

	hash_for_each_possible_rcu(nft_jit_atts, att, node,
				   (unsigned long)chain) {
		if (att->chain == chain)
			return att;
	}
	return NULL;
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

/**
 * nft_jit_run - run the program attached to a base chain
 * @pkt: the packet
 * @chain: the base chain
 * @blob: the blob nft_do_chain() picked for this packet's generation
 * @rule: in: the first rule of @blob; out: where the interpreter goes on
 *
 * Returns NF_ACCEPT or NF_DROP when the program decided, NFT_CONTINUE
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
		this_cpu_inc(att->stats->fallbacks);
		return NFT_CONTINUE;
	}

	memcpy(saved_cb, skb->cb, sizeof(saved_cb));
	nft_jit_fill_cb(pkt, (u32 *)qdisc_skb_cb(skb)->data);
	bpf_compute_data_pointers(skb);

	run.att = att;
	run.pkt = pkt;
	preempt_disable();
	run.prev = this_cpu_read(nft_jit_cur);
	this_cpu_write(nft_jit_cur, &run);
	ret = bpf_prog_run(att->prog, skb);
	this_cpu_write(nft_jit_cur, run.prev);
	this_cpu_inc(att->stats->runs);
	preempt_enable();

	memcpy(skb->cb, saved_cb, sizeof(saved_cb));

	if (ret == NF_ACCEPT || ret == NF_DROP)
		return ret;
	if (NFTJ_RET_IS_RESUME(ret)) {
		k = NFTJ_RET_RESUME_RULE(ret);
		if (k <= att->nrules) {
			*rule = (const void *)blob->data + att->rule_off[k];
			this_cpu_inc(att->stats->resumes);
			return NFT_CONTINUE;
		}
	}
	this_cpu_inc(att->stats->fallbacks);
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
 * Returns the verdict code the expression left (NFT_CONTINUE, NFT_BREAK,
 * a verdict) or NFTJ_SVC_ERROR.  The verdict register is never copied
 * out: it can hold a chain pointer.
 */
int nftj_svc_eval(struct __sk_buff *skb_ctx, u32 svc, u32 *regs, u32 regs__sz)
{
	struct sk_buff *skb = (struct sk_buff *)skb_ctx;
	const struct nft_jit_run *run;
	const struct nft_expr *expr;
	struct nft_regs r;
	const int vwords = sizeof(struct nft_verdict) / sizeof(u32);

	BUILD_BUG_ON(sizeof(r) != NFTJ_REGS_SIZE);
	BUILD_BUG_ON(sizeof(struct nft_verdict) != 4 * sizeof(u32));

	run = this_cpu_read(nft_jit_cur);
	if (!run || run->pkt->skb != skb || svc >= run->att->nsvc ||
	    regs__sz != sizeof(r))
		return NFTJ_SVC_ERROR;

	memcpy(&r.data[vwords], &regs[vwords],
	       sizeof(r) - sizeof(struct nft_verdict));
	r.verdict.code = NFT_CONTINUE;
	r.verdict.chain = NULL;

	expr = run->att->svc[svc];
	expr->ops->eval(expr, &r, run->pkt);

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
	static_branch_dec(&nft_jit_active);
	call_rcu(&att->rcu, nft_jit_att_free_rcu);
}

static bool nft_jit_covers(const struct nft_jit_att *att,
			   const struct nft_chain *chain)
{
	u32 i;

	for (i = 0; i < att->ncover; i++)
		if (att->cover[i].chain == chain)
			return true;
	return false;
}

static bool nft_jit_stale(const struct net *net, const struct nft_jit_att *att)
{
	struct nftables_pernet *nft_net = nft_pernet(net);
	const struct nft_trans *trans;
	u32 i;

	/* step 2 of the commit gave every chain its next blob */
	for (i = 0; i < att->ncover; i++)
		if (nft_jit_blob_next(net, att->cover[i].chain) !=
		    att->cover[i].blob)
			return true;

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
	struct nft_jit_att *att;
	struct hlist_node *tmp;
	int bkt;

	if (!static_key_enabled(&nft_jit_active))
		return;

	mutex_lock(&nft_jit_mutex);
	hash_for_each_safe(nft_jit_atts, bkt, tmp, att, node) {
		if (!net_eq(read_pnet(&att->net), net) || !nft_jit_stale(net, att))
			continue;
		nft_jit_pernet(net)->detaches++;
		nft_jit_unlink(att);
	}
	mutex_unlock(&nft_jit_mutex);
}

/**
 * nft_jit_chain_destroy - release the program of a chain being freed
 * @chain: the chain
 *
 * Called for every chain nf_tables destroys: after a commit deleted it,
 * and when a namespace, an owner's table or a device goes away.
 */
void nft_jit_chain_destroy(const struct nft_chain *chain)
{
	struct nft_jit_att *att;

	if (!static_key_enabled(&nft_jit_active))
		return;

	mutex_lock(&nft_jit_mutex);
	att = nft_jit_find(chain);
	if (att)
		nft_jit_unlink(att);
	mutex_unlock(&nft_jit_mutex);
}

static void __net_exit nft_jit_exit_net(struct net *net)
{
	struct nft_jit_att *att;
	struct hlist_node *tmp;
	int bkt;

	mutex_lock(&nft_jit_mutex);
	hash_for_each_safe(nft_jit_atts, bkt, tmp, att, node) {
		if (net_eq(read_pnet(&att->net), net))
			nft_jit_unlink(att);
	}
	mutex_unlock(&nft_jit_mutex);
}

static struct pernet_operations nft_jit_net_ops = {
	.exit	= nft_jit_exit_net,
	.id	= &nft_jit_net_id,
	.size	= sizeof(struct nft_jit_net),
};

/* ------------------------------------------------------------ attaching */

struct nft_jit_ctx {
	struct net			*net;
	struct netlink_ext_ack		*extack;
	const struct nft_table		*table;
	const struct nft_chain		*chain;
	struct nft_jit_att		*att;
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

static int nft_jit_cover_add(struct nft_jit_ctx *ctx,
			     const struct nft_chain *chain, u32 *cap)
{
	struct nft_jit_att *att = ctx->att;
	struct nft_jit_cover *cover;

	if (nft_jit_covers(att, chain))
		return 0;
	if (att->ncover == *cap) {
		*cap = *cap ? 2 * *cap : 8;
		cover = kvrealloc(att->cover, att->ncover * sizeof(*cover),
				  *cap * sizeof(*cover), GFP_KERNEL_ACCOUNT);
		if (!cover)
			return -ENOMEM;
		att->cover = cover;
	}
	att->cover[att->ncover].chain = chain;
	att->cover[att->ncover].blob = nft_jit_blob_cur(ctx->net, chain);
	att->ncover++;
	return 0;
}

/* The chains the program may have been compiled from: the base chain and
 * every chain reachable by jump or goto.  A verdict map can send packets
 * to any chain of the table: then every chain of the table is covered.
 */
static int nft_jit_find_cover(struct nft_jit_ctx *ctx)
{
	const struct nft_rule_dp *rule, *end;
	const struct nft_immediate_expr *imm;
	const struct nft_rule_blob *blob;
	const struct nft_expr *expr;
	const struct nft_chain *chain;
	struct nft_jit_att *att = ctx->att;
	struct nft_set *set;
	u32 cap = 0, i;
	int err;

	err = nft_jit_cover_add(ctx, ctx->chain, &cap);
	if (err)
		return err;

	list_for_each_entry(set, &ctx->table->sets, list) {
		if (nft_is_active(ctx->net, set) &&
		    set->dtype == NFT_DATA_VERDICT) {
			att->table_wide = true;
			break;
		}
	}
	if (att->table_wide) {
		list_for_each_entry(chain, &ctx->table->chains, list) {
			if (!nft_is_active(ctx->net, chain))
				continue;
			err = nft_jit_cover_add(ctx, chain, &cap);
			if (err)
				return err;
		}
		return 0;
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
				err = nft_jit_cover_add(ctx,
							imm->data.verdict.chain,
							&cap);
				if (err)
					return err;
			}
		}
	}
	return 0;
}

/* ct expressions that load (get), not those that set */
static bool nft_jit_ct_is_get(const struct nft_expr *expr)
{
	struct sk_buff *skb;
	bool get = false;

	skb = alloc_skb(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!skb)
		return false;
	if (expr->ops->dump && expr->ops->dump(skb, expr, false) == 0)
		get = nla_find((struct nlattr *)skb->data, skb->len,
			       NFTA_CT_DREG) != NULL;
	kfree_skb(skb);
	return get;
}

static bool nft_jit_svc_allowed(const struct nft_expr *expr)
{
	const struct nft_expr_type *type = expr->ops->type;

	if (type == &nft_counter_type || type == &nft_lookup_type)
		return true;
	if (type == &nft_meta_type)
		return expr->ops->eval == nft_meta_get_eval;
	if (!strcmp(type->name, "ct"))
		return nft_jit_ct_is_get(expr);
	return false;
}

static const struct nla_policy nft_jit_svc_policy[NFTJ_SVC_A_MAX + 1] = {
	[NFTJ_SVC_A_CHAIN]	= { .type = NLA_STRING,
				    .len = NFT_CHAIN_MAXNAMELEN - 1 },
	[NFTJ_SVC_A_HANDLE]	= { .type = NLA_U64 },
	[NFTJ_SVC_A_INDEX]	= { .type = NLA_U32 },
};

static int nft_jit_svc_resolve(struct nft_jit_ctx *ctx, u32 idx,
			       const struct nlattr *nla)
{
	struct nlattr *tb[NFTJ_SVC_A_MAX + 1];
	struct netlink_ext_ack *extack = ctx->extack;
	const struct nft_rule_blob *blob = NULL;
	const struct nft_rule_dp *rule, *end;
	const struct nft_chain *chain = NULL;
	const struct nft_expr *expr;
	u64 handle;
	u32 i, pos;
	int err;

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
	for (i = 0; i < ctx->att->ncover; i++) {
		if (!nla_strcmp(tb[NFTJ_SVC_A_CHAIN],
				ctx->att->cover[i].chain->name)) {
			chain = ctx->att->cover[i].chain;
			blob = ctx->att->cover[i].blob;
			break;
		}
	}
	if (!chain) {
		NL_SET_ERR_MSG_ATTR(extack, tb[NFTJ_SVC_A_CHAIN],
				    "service chain is not reachable from the base chain");
		return -EINVAL;
	}
	handle = nla_get_u64(tb[NFTJ_SVC_A_HANDLE]);
	pos = nla_get_u32(tb[NFTJ_SVC_A_INDEX]);
	end = nft_jit_rule_end(blob);
	for (rule = nft_jit_rule_first(blob); rule < end;
	     rule = nft_jit_rule_next(rule)) {
		if (rule->handle != handle)
			continue;
		for (expr = nft_jit_expr_first(rule);
		     expr != nft_jit_expr_end(rule);
		     expr = nft_expr_next(expr)) {
			if (pos-- != 0)
				continue;
			if (!nft_jit_svc_allowed(expr)) {
				NL_SET_ERR_MSG_ATTR(extack, nla,
						    "expression cannot be a service");
				return -EINVAL;
			}
			ctx->att->svc[idx] = expr;
			return 0;
		}
		NL_SET_ERR_MSG_ATTR(extack, tb[NFTJ_SVC_A_INDEX],
				    "rule has no expression at this position");
		return -EINVAL;
	}
	NL_SET_ERR_MSG_ATTR(extack, tb[NFTJ_SVC_A_HANDLE],
			    "no rule with this handle in the chain");
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
			if (nla_type(nla) != NFTJ_A_SERVICE)
				return -EINVAL;
			n++;
		}
	}
	if (n > NFTJ_MAX_SERVICES) {
		NL_SET_ERR_MSG(ctx->extack, "too many services");
		return -E2BIG;
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
	static_branch_inc(&nft_jit_active);
	hash_add_rcu(nft_jit_atts, &att->node, (unsigned long)att->chain);
	if (old)
		nft_jit_unlink(old);
	mutex_unlock(&nft_jit_mutex);
	return 0;
}

/* A program array drops its programs when its last user reference goes:
 * hold one on the program arrays of the program, so that its tail calls
 * keep their targets after the helper closes its descriptors.
 */
static int nft_jit_hold_prog_arrays(struct nft_jit_att *att)
{
	struct bpf_prog_aux *aux = att->prog->aux;
	struct bpf_map *map;
	int err = 0;
	u32 i;

	mutex_lock(&aux->used_maps_mutex);
	att->urefs = kcalloc(aux->used_map_cnt ? aux->used_map_cnt : 1,
			     sizeof(*att->urefs), GFP_KERNEL_ACCOUNT);
	if (!att->urefs) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < aux->used_map_cnt; i++) {
		map = aux->used_maps[i];
		if (map->map_type != BPF_MAP_TYPE_PROG_ARRAY)
			continue;
		bpf_map_inc_with_uref(map);
		att->urefs[att->nurefs++] = map;
	}
out:
	mutex_unlock(&aux->used_maps_mutex);
	return err;
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
	int err;

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
	err = nft_jit_hold_prog_arrays(att);
	if (err) {
		nft_jit_att_free(att);
		return err;
	}
	att->stats = alloc_percpu_gfp(struct nft_jit_stats, GFP_KERNEL_ACCOUNT);
	if (!att->stats) {
		nft_jit_att_free(att);
		return -ENOMEM;
	}
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
	int bkt;

	hash_for_each(nft_jit_atts, bkt, att, node) {
		if (net_eq(read_pnet(&att->net), net) &&
		    att->chain->table->family == nla_get_u32(tb[NFTJ_A_FAMILY]) &&
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

/* caller holds nft_jit_mutex */
static int nft_jit_fill(struct sk_buff *skb, const struct net *net,
			const struct nft_jit_att *att, u32 portid, u32 seq,
			int flags)
{
	struct nft_jit_stats sum = {};
	void *hdr;
	int cpu;

	for_each_possible_cpu(cpu) {
		const struct nft_jit_stats *s = per_cpu_ptr(att->stats, cpu);

		sum.runs += READ_ONCE(s->runs);
		sum.resumes += READ_ONCE(s->resumes);
		sum.fallbacks += READ_ONCE(s->fallbacks);
	}
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
	    nla_put_u64_64bit(skb, NFTJ_A_RUNS, sum.runs, NFTJ_A_PAD) ||
	    nla_put_u64_64bit(skb, NFTJ_A_RESUMES, sum.resumes, NFTJ_A_PAD) ||
	    nla_put_u64_64bit(skb, NFTJ_A_FALLBACKS, sum.fallbacks,
			      NFTJ_A_PAD) ||
	    nla_put_u64_64bit(skb, NFTJ_A_DETACHES,
			      nft_jit_pernet(net)->detaches, NFTJ_A_PAD)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

/* the namespace: programs attached, programs detached by commits */
static int nft_jit_nl_get_net(struct genl_info *info)
{
	struct net *net = genl_info_net(info);
	struct nft_jit_att *att;
	struct sk_buff *msg;
	u32 attached = 0;
	void *hdr;
	int bkt;

	msg = nlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &nft_jit_genl_family, 0,
				NFTJ_CMD_GET);
	if (!hdr)
		goto nla_put_failure;
	mutex_lock(&nft_jit_mutex);
	hash_for_each(nft_jit_atts, bkt, att, node) {
		if (net_eq(read_pnet(&att->net), net))
			attached++;
	}
	mutex_unlock(&nft_jit_mutex);
	if (nla_put_u32(msg, NFTJ_A_ATTACHED, attached) ||
	    nla_put_u64_64bit(msg, NFTJ_A_DETACHES,
			      READ_ONCE(nft_jit_pernet(net)->detaches),
			      NFTJ_A_PAD))
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

static int nft_jit_nl_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct net *net = sock_net(skb->sk);
	struct nft_jit_att *att;
	long idx = 0, skip = cb->args[0];
	int bkt;

	mutex_lock(&nft_jit_mutex);
	hash_for_each(nft_jit_atts, bkt, att, node) {
		if (!net_eq(read_pnet(&att->net), net))
			continue;
		if (idx++ < skip)
			continue;
		if (nft_jit_fill(skb, net, att, NETLINK_CB(cb->skb).portid,
				 cb->nlh->nlmsg_seq, NLM_F_MULTI) < 0) {
			idx--;
			break;
		}
	}
	mutex_unlock(&nft_jit_mutex);
	cb->args[0] = idx;
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
