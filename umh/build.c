// SPDX-License-Identifier: GPL-2.0
/*
 * IMR builder: nf_tables expressions -> IMR statements.
 *
 * The kernel evaluates a rule's expressions in order over a register file
 * (struct nft_regs: 20 32-bit words, word 0..3 the verdict).  The builder
 * runs the same program symbolically: every register word holds the IMR
 * value written into it (or nothing), and relational expressions read
 * those values back.  Whatever has no faithful IMR form marks the rule
 * unsupported with a reason, so the interpreter handles it.
 *
 * With IMR_CAP_SERVICES (kernel target) some expressions stay the
 * kernel's: the program writes their key into a register file laid out
 * as struct nft_regs and asks the kernel to evaluate the expression
 * itself.  The builder then also tracks that real register file: a
 * service's output is a value only while nothing overwrote its words.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/expr.h>

#include "build.h"
#include "setmap.h"

#define NREGW		20	/* NFT_REG32_COUNT + 4 verdict words */

struct regfile {
	struct imr_expr *val[NREGW];	/* value held, or NULL */
	uint8_t word[NREGW];		/* which 32-bit word of that value */
};

/*
 * The builder's state for one program: what it needs while it builds and
 * the IMR does not keep.
 */
struct builder {
	struct imr_prog *p;
	const struct nftj_ruleset *rs;
	bool *visiting;			/* per chain: being built; a jump to
					 * it now is a loop */
	bool *clobbered;		/* per service: its output in the
					 * register file was overwritten */
};

/* ... and for one rule */
struct bctx {
	struct builder *bd;
	struct imr_prog *p;		/* bd->p, bd->rs */
	const struct nftj_ruleset *rs;
	struct imr_rule *rule;
	int chain;			/* index of the rule's chain */
	uint32_t pos;			/* position of the expression */
	struct regfile rf;
	size_t stmt_cap;
	bool terminated;		/* a verdict ended the rule */
	bool imm_data;			/* immediate data: unsupported */
	bool side_effect;		/* a counter (or a lookup updating
					 * element counters) ran earlier */
	int real[NREGW];		/* services: the service whose output
					 * the program's register file holds
					 * at this word, -1 if none */
};

/* netlink register number -> 32-bit word index, -1 if invalid */
static int reg_word(uint32_t reg)
{
	if (reg >= NFT_REG_1 && reg <= NFT_REG_4)
		return (int)reg * 4;
	if (reg >= NFT_REG32_00 && reg <= NFT_REG32_15)
		return (int)(reg - NFT_REG32_00) + 4;
	return -1;
}

static void rf_clear(struct regfile *rf)
{
	int i;

	for (i = 0; i < NREGW; i++) {
		imr_expr_put(rf->val[i]);
		rf->val[i] = NULL;
	}
}

/*
 * store value e (consumes the reference) into register reg; a register
 * out of range leaves the rule to the interpreter, like any malformed
 * expression, not the whole chain without a reason
 */
static int rf_store(struct bctx *c, uint32_t reg, struct imr_expr *e)
{
	int w = reg_word(reg), n = e->len / 4, i;

	if (w < 0 || w + n > NREGW) {
		imr_expr_put(e);
		imr_unsupported(c->rule, "bad destination register %u", reg);
		return 0;
	}
	for (i = 0; i < n; i++) {
		imr_expr_put(c->rf.val[w + i]);
		c->rf.val[w + i] = imr_expr_get(e);
		c->rf.word[w + i] = (uint8_t)i;
	}
	imr_expr_put(e);
	return 0;
}

/*
 * Read len bytes from register reg: one value if a single value covers
 * them, else a concatenation of whole values.  NULL (rule marked
 * unsupported) if any word read was not written by this rule.
 */
static struct imr_expr *rf_load(struct bctx *c, uint32_t reg, uint32_t len)
{
	int w = reg_word(reg), n = (int)(len + 3) / 4, i;
	struct imr_expr *e, *cat;

	if (w < 0 || len == 0 || w + n > NREGW) {
		imr_unsupported(c->rule, "bad source register %u", reg);
		return NULL;
	}
	for (i = 0; i < n; ) {
		e = c->rf.val[w + i];
		if (!e || c->rf.word[w + i] != 0) {
			imr_unsupported(c->rule,
					"reads register %u not set by the rule",
					reg);
			return NULL;
		}
		i += e->len / 4;
	}
	e = c->rf.val[w];
	if (e->len / 4 >= n)
		return imr_expr_get(e);
	if (i != n) {
		imr_unsupported(c->rule, "partial read of a concatenation");
		return NULL;
	}
	cat = imr_expr_new(IMR_E_CONCAT, (uint8_t)(n * 4));
	if (!cat)
		return NULL;
	cat->comp = calloc(n, sizeof(*cat->comp));
	if (!cat->comp) {
		imr_expr_put(cat);
		return NULL;
	}
	for (i = 0; i < n; i += c->rf.val[w + i]->len / 4)
		cat->comp[cat->ncomp++] = imr_expr_get(c->rf.val[w + i]);
	return cat;
}

static struct imr_stmt *stmt_add(struct bctx *c, enum imr_stmt_type type)
{
	struct imr_rule *r = c->rule;
	struct imr_stmt *s;

	if (r->nstmts == c->stmt_cap) {
		size_t ncap = c->stmt_cap ? c->stmt_cap * 2 : 8;

		s = realloc(r->stmts, ncap * sizeof(*s));
		if (!s)
			return NULL;
		r->stmts = s;
		c->stmt_cap = ncap;
	}
	s = &r->stmts[r->nstmts++];
	memset(s, 0, sizeof(*s));
	s->type = type;
	s->set = -1;
	s->chain = -1;
	return s;
}

static uint32_t roundup4(uint32_t n)
{
	return (n + 3) & ~3U;
}

/* ---- services (IMR_CAP_SERVICES) -------------------------------------- */

static bool has_services(const struct bctx *c)
{
	return c->p->caps & IMR_CAP_SERVICES;
}

/* a new service for expression x, the current one of the rule */
static int svc_add(struct bctx *c, struct nftnl_expr *x,
		   enum imr_svc_kind kind)
{
	struct imr_prog *p = c->p;
	struct imr_svc *n, *v;
	bool *cl;
	size_t len;

	cl = realloc(c->bd->clobbered, (p->nsvcs + 1) * sizeof(*cl));
	if (!cl)
		return -ENOMEM;
	c->bd->clobbered = cl;
	cl[p->nsvcs] = false;
	n = realloc(p->svcs, (p->nsvcs + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	p->svcs = n;
	v = &n[p->nsvcs];
	memset(v, 0, sizeof(*v));
	v->chain = c->chain;
	v->rule_id = c->rule->id;
	v->handle = c->rule->handle;
	v->pos = c->pos;
	v->kind = kind;
	v->key_word = -1;
	v->out_word = -1;
	snprintf(v->text, sizeof(v->text), "%s ",
		 nftnl_expr_get_str(x, NFTNL_EXPR_NAME));
	len = strlen(v->text);
	/* a counter's dumped values are stale the moment they are read */
	if (kind != IMR_SVC_COUNTER)
		nftnl_expr_snprintf(v->text + len, sizeof(v->text) - len, x,
				    NFTNL_OUTPUT_DEFAULT, 0);
	len = strlen(v->text);
	while (len && v->text[len - 1] == ' ')
		v->text[--len] = '\0';
	return (int)p->nsvcs++;
}

/* the program writes words [w, w + n) of its register file */
static void real_write(struct bctx *c, int w, int n, int owner)
{
	int i;

	for (i = w; i < w + n && i < NREGW; i++) {
		if (c->real[i] >= 0 && c->real[i] != owner)
			c->bd->clobbered[c->real[i]] = true;
		c->real[i] = owner;
	}
}

/*
 * A value read by a statement: every service output in it must still be
 * in the register file.  Marks the rule unsupported if one is not.
 */
static bool svc_valid(struct bctx *c, const struct imr_expr *e)
{
	unsigned int i;

	if (!e)
		return true;
	if (e->type == IMR_E_SVC && c->bd->clobbered[e->svc.index]) {
		imr_unsupported(c->rule, "%s: its register is overwritten before the rule reads it",
				e->svc.name);
		return false;
	}
	for (i = 0; i < e->ncomp; i++)
		if (!svc_valid(c, e->comp[i]))
			return false;
	return svc_valid(c, e->child);
}

/* a component already where the key needs it is not written again */
static bool key_in_place(const struct imr_expr *comp, int w)
{
	return comp->type == IMR_E_SVC && comp->svc.word == w;
}

/*
 * Before a lookup service the program writes its key, component by
 * component in order, at register word w (codegen's store_key()).
 */
static bool svc_key_store(struct bctx *c, struct imr_expr *key, int w)
{
	struct imr_expr *one[1] = { key };
	struct imr_expr **comp = key->type == IMR_E_CONCAT ? key->comp : one;
	unsigned int n = key->type == IMR_E_CONCAT ? key->ncomp : 1, i;

	for (i = 0; i < n; i++) {
		if (!svc_valid(c, comp[i]))
			return false;
		if (!key_in_place(comp[i], w))
			real_write(c, w, comp[i]->len / 4, -1);
		w += comp[i]->len / 4;
	}
	return true;
}

/* service svc leaves natlen bytes in register dreg: a value */
static int svc_value(struct bctx *c, int svc, uint32_t dreg,
		     uint32_t natlen, const char *name)
{
	int w = reg_word(dreg), n = (int)roundup4(natlen) / 4;
	struct imr_expr *e;

	if (w < 4 || w + n > NREGW) {
		imr_unsupported(c->rule, "bad destination register %u", dreg);
		return 0;
	}
	e = imr_expr_new(IMR_E_SVC, (uint8_t)(n * 4));
	if (!e)
		return -ENOMEM;
	e->svc.index = (uint32_t)svc;
	e->svc.word = (uint8_t)w;
	e->svc.natlen = (uint8_t)natlen;
	snprintf(e->svc.name, sizeof(e->svc.name), "%s", name);
	c->p->svcs[svc].out_word = (int8_t)w;
	c->p->svcs[svc].out_len = (uint8_t)(n * 4);
	real_write(c, w, n, svc);
	return rf_store(c, dreg, e);
}

/* a service statement for expression x; returns the service or -errno */
static int svc_stmt(struct bctx *c, struct nftnl_expr *x,
		    enum imr_svc_kind kind, struct imr_stmt **out)
{
	struct imr_stmt *s;
	int svc = svc_add(c, x, kind);

	if (svc < 0)
		return svc;
	s = stmt_add(c, IMR_S_SERVICE);
	if (!s)
		return -ENOMEM;
	s->svc = (uint32_t)svc;
	if (out)
		*out = s;
	return svc;
}

static int do_payload(struct bctx *c, struct nftnl_expr *x)
{
	uint32_t base, off, len;
	struct imr_expr *e;

	if (nftnl_expr_is_set(x, NFTNL_EXPR_PAYLOAD_SREG)) {
		imr_unsupported(c->rule, "payload set (packet mangling)");
		return 0;
	}
	base = nftnl_expr_get_u32(x, NFTNL_EXPR_PAYLOAD_BASE);
	off = nftnl_expr_get_u32(x, NFTNL_EXPR_PAYLOAD_OFFSET);
	len = nftnl_expr_get_u32(x, NFTNL_EXPR_PAYLOAD_LEN);
	if (base == NFT_PAYLOAD_LL_HEADER && !(c->p->caps & IMR_CAP_LL)) {
		imr_unsupported(c->rule, "link-layer payload on this target");
		return 0;
	}
	if (base > NFT_PAYLOAD_TRANSPORT_HEADER) {
		imr_unsupported(c->rule, "payload base %u (inner header)",
				base);
		return 0;
	}
	if (len == 0 || len > 16 || off > 255) {
		imr_unsupported(c->rule, "payload load of %u bytes", len);
		return 0;
	}
	e = imr_expr_new(IMR_E_PAYLOAD, (uint8_t)roundup4(len));
	if (!e)
		return -ENOMEM;
	e->payload.base = base == NFT_PAYLOAD_LL_HEADER ? IMR_BASE_LL :
			  base == NFT_PAYLOAD_NETWORK_HEADER ? IMR_BASE_NH :
			  IMR_BASE_TH;
	e->payload.offset = (uint8_t)off;
	e->payload.len = (uint8_t)len;
	/* nft_payload_select_ops(): the fast path skips the fragment check */
	e->payload.fast = base != NFT_PAYLOAD_LL_HEADER &&
			  (len == 1 || len == 2 || len == 4) && off % len == 0;
	return rf_store(c, nftnl_expr_get_u32(x, NFTNL_EXPR_PAYLOAD_DREG), e);
}

static const struct {
	uint32_t key;
	enum imr_meta meta;
} meta_map[] = {
	{ NFT_META_LEN, IMR_META_LEN },
	{ NFT_META_PROTOCOL, IMR_META_PROTOCOL },
	{ NFT_META_NFPROTO, IMR_META_NFPROTO },
	{ NFT_META_L4PROTO, IMR_META_L4PROTO },
	{ NFT_META_MARK, IMR_META_MARK },
	{ NFT_META_IIF, IMR_META_IIF },
	{ NFT_META_OIF, IMR_META_OIF },
	{ NFT_META_IIFTYPE, IMR_META_IIFTYPE },
	{ NFT_META_OIFTYPE, IMR_META_OIFTYPE },
	{ NFT_META_PKTTYPE, IMR_META_PKTTYPE },
	{ NFT_META_SKUID, IMR_META_SKUID },
	{ NFT_META_SKGID, IMR_META_SKGID },
};

static const char *const meta_key_names[] = {
	[NFT_META_PRIORITY] = "priority", [NFT_META_IIFNAME] = "iifname",
	[NFT_META_OIFNAME] = "oifname", [NFT_META_NFTRACE] = "nftrace",
	[NFT_META_RTCLASSID] = "rtclassid", [NFT_META_SECMARK] = "secmark",
	[NFT_META_BRI_IIFNAME] = "ibrname", [NFT_META_BRI_OIFNAME] = "obrname",
	[NFT_META_CPU] = "cpu", [NFT_META_IIFGROUP] = "iifgroup",
	[NFT_META_OIFGROUP] = "oifgroup", [NFT_META_CGROUP] = "cgroup",
	[NFT_META_PRANDOM] = "random", [NFT_META_SECPATH] = "ipsec",
	[NFT_META_IIFKIND] = "iifkind", [NFT_META_OIFKIND] = "oifkind",
	[NFT_META_TIME_NS] = "time", [NFT_META_TIME_DAY] = "day",
	[NFT_META_TIME_HOUR] = "hour", [NFT_META_SDIF] = "sdif",
	[NFT_META_SDIFNAME] = "sdifname",
};

/* nft's name of a meta key, NULL if neither table knows it */
static const char *meta_key_name(uint32_t key)
{
	size_t i;

	if (key < sizeof(meta_key_names) / sizeof(meta_key_names[0]) &&
	    meta_key_names[key])
		return meta_key_names[key];
	for (i = 0; i < sizeof(meta_map) / sizeof(meta_map[0]); i++)
		if (meta_map[i].key == key)
			return imr_meta_name(meta_map[i].meta);
	return NULL;
}

/* bytes nft_meta_get_init() (Linux 6.1) stores for a key, 0 if unknown */
static uint32_t meta_len(uint32_t key)
{
	switch (key) {
	case NFT_META_PROTOCOL:
	case NFT_META_IIFTYPE:
	case NFT_META_OIFTYPE:
		return 2;
	case NFT_META_NFPROTO: case NFT_META_L4PROTO: case NFT_META_LEN:
	case NFT_META_PRIORITY: case NFT_META_MARK: case NFT_META_IIF:
	case NFT_META_OIF: case NFT_META_SDIF: case NFT_META_SKUID:
	case NFT_META_SKGID: case NFT_META_RTCLASSID: case NFT_META_SECMARK:
	case NFT_META_PKTTYPE: case NFT_META_CPU: case NFT_META_IIFGROUP:
	case NFT_META_OIFGROUP: case NFT_META_CGROUP: case NFT_META_PRANDOM:
	case NFT_META_TIME_HOUR:
		return 4;
	case NFT_META_IIFNAME: case NFT_META_OIFNAME: case NFT_META_IIFKIND:
	case NFT_META_OIFKIND: case NFT_META_SDIFNAME:
		return 16;	/* IFNAMSIZ */
	case NFT_META_SECPATH:
	case NFT_META_TIME_DAY:
		return 1;
	case NFT_META_TIME_NS:
		return 8;
	}
	return 0;
}

static int do_meta(struct bctx *c, struct nftnl_expr *x)
{
	uint32_t key = nftnl_expr_get_u32(x, NFTNL_EXPR_META_KEY);
	const size_t n = sizeof(meta_map) / sizeof(meta_map[0]);
	struct imr_expr *e;
	const char *kname = meta_key_name(key);
	char name[24];
	size_t i;
	int svc;

	if (nftnl_expr_is_set(x, NFTNL_EXPR_META_SREG)) {
		if (kname)
			imr_unsupported(c->rule, "meta set %s", kname);
		else
			imr_unsupported(c->rule, "meta set key %u", key);
		return 0;
	}
	for (i = 0; i < n; i++)
		if (meta_map[i].key == key)
			break;
	if (i < n && (meta_map[i].meta == IMR_META_SKUID ||
		      meta_map[i].meta == IMR_META_SKGID) &&
	    !(c->p->caps & IMR_CAP_SOCKET) && !has_services(c)) {
		imr_unsupported(c->rule, "meta skuid/skgid on this target");
		return 0;
	}
	if (i < n && (c->p->caps & IMR_CAP_SOCKET ||
		      (meta_map[i].meta != IMR_META_SKUID &&
		       meta_map[i].meta != IMR_META_SKGID))) {
		/* every meta key the IMR knows writes one 32-bit word */
		e = imr_expr_new(IMR_E_META, 4);
		if (!e)
			return -ENOMEM;
		e->meta = meta_map[i].meta;
		return rf_store(c, nftnl_expr_get_u32(x, NFTNL_EXPR_META_DREG),
				e);
	}
	if (kname)
		snprintf(name, sizeof(name), "meta.%s", kname);
	else
		snprintf(name, sizeof(name), "meta.key%u", key);
	if (!has_services(c) || !meta_len(key)) {
		if (kname)
			imr_unsupported(c->rule, "meta %s", kname);
		else
			imr_unsupported(c->rule, "meta key %u", key);
		return 0;
	}
	/* the kernel reads it for the program */
	svc = svc_stmt(c, x, IMR_SVC_META, NULL);
	if (svc < 0)
		return svc;
	return svc_value(c, svc, nftnl_expr_get_u32(x, NFTNL_EXPR_META_DREG),
			 meta_len(key), name);
}

static const char *const ct_key_names[] = {
	[NFT_CT_STATE] = "state", [NFT_CT_DIRECTION] = "direction",
	[NFT_CT_STATUS] = "status", [NFT_CT_MARK] = "mark",
	[NFT_CT_SECMARK] = "secmark", [NFT_CT_EXPIRATION] = "expiration",
	[NFT_CT_HELPER] = "helper", [NFT_CT_L3PROTOCOL] = "l3proto",
	[NFT_CT_SRC] = "saddr", [NFT_CT_DST] = "daddr",
	[NFT_CT_PROTOCOL] = "protocol", [NFT_CT_PROTO_SRC] = "proto-src",
	[NFT_CT_PROTO_DST] = "proto-dst", [NFT_CT_LABELS] = "label",
	[NFT_CT_PKTS] = "packets", [NFT_CT_BYTES] = "bytes",
	[NFT_CT_AVGPKT] = "avgpkt", [NFT_CT_ZONE] = "zone",
	[NFT_CT_SRC_IP] = "ip saddr", [NFT_CT_DST_IP] = "ip daddr",
	[NFT_CT_SRC_IP6] = "ip6 saddr", [NFT_CT_DST_IP6] = "ip6 daddr",
	[NFT_CT_ID] = "id",
};

/* bytes nft_ct_get_init() (Linux 6.1) stores for a key, 0 if unknown */
static uint32_t ct_len(uint32_t key, uint32_t family)
{
	switch (key) {
	case NFT_CT_DIRECTION:
	case NFT_CT_L3PROTOCOL:
	case NFT_CT_PROTOCOL:
		return 1;
	case NFT_CT_PROTO_SRC:
	case NFT_CT_PROTO_DST:
	case NFT_CT_ZONE:
		return 2;
	case NFT_CT_STATE: case NFT_CT_STATUS: case NFT_CT_MARK:
	case NFT_CT_SECMARK: case NFT_CT_EXPIRATION: case NFT_CT_SRC_IP:
	case NFT_CT_DST_IP: case NFT_CT_ID:
		return 4;
	case NFT_CT_PKTS: case NFT_CT_BYTES: case NFT_CT_AVGPKT:
		return 8;
	case NFT_CT_SRC:
	case NFT_CT_DST:
		return family == NFPROTO_IPV4 ? 4 : 16;
	case NFT_CT_HELPER: case NFT_CT_LABELS: case NFT_CT_SRC_IP6:
	case NFT_CT_DST_IP6:
		return 16;
	}
	return 0;
}

static int do_ct(struct bctx *c, struct nftnl_expr *x)
{
	uint32_t key = nftnl_expr_get_u32(x, NFTNL_EXPR_CT_KEY);
	char name[24];
	int svc;

	if (nftnl_expr_is_set(x, NFTNL_EXPR_CT_SREG)) {
		imr_unsupported(c->rule, "ct set");
		return 0;
	}
	if (!has_services(c)) {
		imr_unsupported(c->rule, "ct");
		return 0;
	}
	if (!ct_len(key, c->p->family) ||
	    key >= sizeof(ct_key_names) / sizeof(ct_key_names[0]) ||
	    !ct_key_names[key]) {
		imr_unsupported(c->rule, "ct key %u", key);
		return 0;
	}
	snprintf(name, sizeof(name), "ct.%s", ct_key_names[key]);
	svc = svc_stmt(c, x, IMR_SVC_CT, NULL);
	if (svc < 0)
		return svc;
	return svc_value(c, svc, nftnl_expr_get_u32(x, NFTNL_EXPR_CT_DREG),
			 ct_len(key, c->p->family), name);
}

static int get_data(struct nftnl_expr *x, uint16_t attr, uint8_t *out,
		    uint32_t *len)
{
	const void *d;
	uint32_t l = 0;

	d = nftnl_expr_get(x, attr, &l);
	if (!d || l == 0 || l > IMR_VAL_MAX)
		return -EINVAL;
	memset(out, 0, IMR_VAL_MAX);
	memcpy(out, d, l);
	*len = l;
	return 0;
}

static int do_cmp(struct bctx *c, struct nftnl_expr *x)
{
	static const enum imr_cmp_op ops[] = {
		[NFT_CMP_EQ] = IMR_EQ, [NFT_CMP_NEQ] = IMR_NE,
		[NFT_CMP_LT] = IMR_LT, [NFT_CMP_LTE] = IMR_LE,
		[NFT_CMP_GT] = IMR_GT, [NFT_CMP_GTE] = IMR_GE,
	};
	uint32_t op = nftnl_expr_get_u32(x, NFTNL_EXPR_CMP_OP), len;
	uint8_t val[IMR_VAL_MAX];
	struct imr_stmt *s;
	struct imr_expr *e;
	int err = 0;

	if (op > NFT_CMP_GTE ||
	    get_data(x, NFTNL_EXPR_CMP_DATA, val, &len) < 0) {
		imr_unsupported(c->rule, "malformed cmp");
		return 0;
	}
	e = rf_load(c, nftnl_expr_get_u32(x, NFTNL_EXPR_CMP_SREG), len);
	if (!e)
		return c->rule->unsupported ? 0 : -ENOMEM;
	if (len > 16 || e->type == IMR_E_CONCAT) {
		imr_unsupported(c->rule, "cmp of %u bytes", len);
		goto put;
	}
	if (!svc_valid(c, e))
		goto put;
	s = stmt_add(c, IMR_S_CMP);
	if (!s) {
		err = -ENOMEM;
		goto put;
	}
	s->expr = e;
	s->op = ops[op];
	s->len = (uint8_t)len;
	memcpy(s->val, val, sizeof(val));
	return 0;
put:
	imr_expr_put(e);
	return err;
}

static int do_range(struct bctx *c, struct nftnl_expr *x)
{
	uint32_t op = nftnl_expr_get_u32(x, NFTNL_EXPR_RANGE_OP), len, len2;
	uint8_t lo[IMR_VAL_MAX], hi[IMR_VAL_MAX];
	struct imr_stmt *s;
	struct imr_expr *e;
	int err = 0;

	if (op > NFT_RANGE_NEQ ||
	    get_data(x, NFTNL_EXPR_RANGE_FROM_DATA, lo, &len) < 0 ||
	    get_data(x, NFTNL_EXPR_RANGE_TO_DATA, hi, &len2) < 0 ||
	    len != len2) {
		imr_unsupported(c->rule, "malformed range");
		return 0;
	}
	e = rf_load(c, nftnl_expr_get_u32(x, NFTNL_EXPR_RANGE_SREG), len);
	if (!e)
		return c->rule->unsupported ? 0 : -ENOMEM;
	if (len > 16 || e->type == IMR_E_CONCAT) {
		imr_unsupported(c->rule, "range of %u bytes", len);
		goto put;
	}
	if (!svc_valid(c, e))
		goto put;
	s = stmt_add(c, IMR_S_RANGE);
	if (!s) {
		err = -ENOMEM;
		goto put;
	}
	s->expr = e;
	s->op = op == NFT_RANGE_EQ ? IMR_EQ : IMR_NE;
	s->len = (uint8_t)len;
	memcpy(s->val, lo, sizeof(lo));
	memcpy(s->hi, hi, sizeof(hi));
	return 0;
put:
	imr_expr_put(e);
	return err;
}

static int do_bitwise(struct bctx *c, struct nftnl_expr *x)
{
	uint32_t op = NFT_BITWISE_MASK_XOR, len, l;
	struct imr_expr *src, *e = NULL;
	uint8_t data[IMR_VAL_MAX];
	int err = 0;

	if (nftnl_expr_is_set(x, NFTNL_EXPR_BITWISE_OP))
		op = nftnl_expr_get_u32(x, NFTNL_EXPR_BITWISE_OP);
	len = nftnl_expr_get_u32(x, NFTNL_EXPR_BITWISE_LEN);
	if (len == 0 || len > 16) {
		imr_unsupported(c->rule, "bitwise on %u bytes", len);
		return 0;
	}
	src = rf_load(c, nftnl_expr_get_u32(x, NFTNL_EXPR_BITWISE_SREG), len);
	if (!src)
		return c->rule->unsupported ? 0 : -ENOMEM;
	if (src->type == IMR_E_CONCAT) {
		imr_unsupported(c->rule, "bitwise on a concatenation");
		goto out;
	}
	e = imr_expr_new(op == NFT_BITWISE_MASK_XOR ? IMR_E_MASKXOR :
			 IMR_E_SHIFT, (uint8_t)roundup4(len));
	if (!e) {
		err = -ENOMEM;
		goto out;
	}
	e->child = src;
	src = NULL;		/* e owns it */
	if (op == NFT_BITWISE_MASK_XOR) {
		/* the kernel works on whole words, zero padded mask and xor */
		if (get_data(x, NFTNL_EXPR_BITWISE_MASK, e->maskxor.mask,
			     &l) < 0 || l != len ||
		    get_data(x, NFTNL_EXPR_BITWISE_XOR, e->maskxor.xor,
			     &l) < 0 || l != len)
			goto malformed;
	} else if (op == NFT_BITWISE_LSHIFT || op == NFT_BITWISE_RSHIFT) {
		uint32_t bits;

		if (len > 4) {
			imr_unsupported(c->rule, "shift of %u bytes", len);
			goto out;
		}
		if (get_data(x, NFTNL_EXPR_BITWISE_DATA, data, &l) < 0 ||
		    l != 4)
			goto malformed;
		memcpy(&bits, data, 4);
		if (bits >= 32)
			goto malformed;
		e->shift.left = op == NFT_BITWISE_LSHIFT;
		e->shift.bits = (uint8_t)bits;
	} else {
		goto malformed;
	}
	return rf_store(c, nftnl_expr_get_u32(x, NFTNL_EXPR_BITWISE_DREG), e);
malformed:
	imr_unsupported(c->rule, "bitwise operation %u", op);
out:
	imr_expr_put(e);
	imr_expr_put(src);
	return err;
}

/* bytes of the value beyond its natural size are known to be zero */
static uint32_t natural_len(const struct imr_expr *e)
{
	if (e->type == IMR_E_PAYLOAD)
		return e->payload.len;
	if (e->type == IMR_E_SVC)
		return e->svc.natlen;
	if (e->type == IMR_E_META)
		return imr_meta_len(e->meta);
	return e->len;
}

static int do_byteorder(struct bctx *c, struct nftnl_expr *x)
{
	uint32_t len = nftnl_expr_get_u32(x, NFTNL_EXPR_BYTEORDER_LEN);
	uint32_t size = nftnl_expr_get_u32(x, NFTNL_EXPR_BYTEORDER_SIZE);
	uint32_t sreg = nftnl_expr_get_u32(x, NFTNL_EXPR_BYTEORDER_SREG);
	uint32_t dreg = nftnl_expr_get_u32(x, NFTNL_EXPR_BYTEORDER_DREG);
	struct imr_expr *src, *e;
	int err = 0;

	/*
	 * Only a single unit: the kernel writes len bytes of dreg and keeps
	 * the rest of its last word, so that rest must be known zero.
	 */
	if ((size != 2 && size != 4 && size != 8) || len != size) {
		imr_unsupported(c->rule, "byteorder of %u bytes in units of %u",
				len, size);
		return 0;
	}
	src = rf_load(c, sreg, len);
	if (!src)
		return c->rule->unsupported ? 0 : -ENOMEM;
	if (src->type == IMR_E_CONCAT ||
	    (len % 4 && (sreg != dreg || natural_len(src) > len))) {
		imr_unsupported(c->rule, "byteorder on this operand");
		goto put;
	}
	e = imr_expr_new(IMR_E_BSWAP, (uint8_t)roundup4(len));
	if (!e) {
		err = -ENOMEM;
		goto put;
	}
	e->child = src;
	e->bswap.size = (uint8_t)size;
	return rf_store(c, dreg, e);
put:
	imr_expr_put(src);
	return err;
}

static const struct nftnl_chain *find_chain(const struct nftj_ruleset *rs,
					    uint32_t family, const char *table,
					    const char *name)
{
	struct nftnl_chain_list_iter *it;
	struct nftnl_chain *ch, *found = NULL;

	it = nftnl_chain_list_iter_create(rs->chains);
	if (!it)
		return NULL;
	while ((ch = nftnl_chain_list_iter_next(it))) {
		if (nftnl_chain_get_u32(ch, NFTNL_CHAIN_FAMILY) == family &&
		    !strcmp(nftnl_chain_get_str(ch, NFTNL_CHAIN_TABLE), table) &&
		    !strcmp(nftnl_chain_get_str(ch, NFTNL_CHAIN_NAME), name)) {
			found = ch;
			break;
		}
	}
	nftnl_chain_list_iter_destroy(it);
	return found;
}

static int build_chain(struct builder *bd, const char *name, int *out);

/* resolve a jump/goto target and check it can be compiled */
static int target_chain(struct bctx *c, const char *name, int *idx)
{
	const struct imr_chain *t;
	int err;

	err = build_chain(c->bd, name, idx);
	if (err == -ENOENT) {
		imr_unsupported(c->rule, "jump to unknown chain %s", name);
		return 0;
	}
	if (err == -ELOOP) {
		imr_unsupported(c->rule, "chain loop through %s", name);
		return 0;
	}
	if (err)
		return err;
	t = &c->p->chains[*idx];
	if (t->first_unsupported >= 0) {
		imr_unsupported(c->rule, "%s %s: %s", "jump to", name,
				t->rules[t->first_unsupported].reason);
		return 0;
	}
	if (t->depth + 1 > IMR_MAX_CALL_DEPTH) {
		imr_unsupported(c->rule, "jump depth below %s exceeds %d", name,
				IMR_MAX_CALL_DEPTH);
		return 0;
	}
	return 0;
}

static int verdict_of(struct bctx *c, int32_t code, const char *chain,
		      enum imr_verdict *v, int *target)
{
	*target = -1;
	switch (code) {
	case NF_ACCEPT:
		*v = IMR_V_ACCEPT;
		return 0;
	case NF_DROP:
		*v = IMR_V_DROP;
		return 0;
	case NFT_CONTINUE:
		*v = IMR_V_CONTINUE;
		return 0;
	case NFT_RETURN:
		*v = IMR_V_RETURN;
		return 0;
	case NFT_JUMP:
	case NFT_GOTO:
		*v = code == NFT_JUMP ? IMR_V_JUMP : IMR_V_GOTO;
		if (!chain) {
			imr_unsupported(c->rule, "jump without chain name");
			return 0;
		}
		return target_chain(c, chain, target);
	}
	if ((code & NF_VERDICT_MASK) == NF_QUEUE)
		imr_unsupported(c->rule, "verdict queue");
	else
		imr_unsupported(c->rule, "verdict %d", code);
	return 0;
}

static int do_immediate(struct bctx *c, struct nftnl_expr *x)
{
	struct imr_stmt *s;
	enum imr_verdict v;
	int target, err;

	if (nftnl_expr_get_u32(x, NFTNL_EXPR_IMM_DREG) != NFT_REG_VERDICT) {
		imr_unsupported(c->rule, "immediate data");
		c->imm_data = true;	/* build_rule() names its reader */
		return 0;
	}
	err = verdict_of(c, (int32_t)nftnl_expr_get_u32(x,
							 NFTNL_EXPR_IMM_VERDICT),
			 nftnl_expr_is_set(x, NFTNL_EXPR_IMM_CHAIN) ?
			 nftnl_expr_get_str(x, NFTNL_EXPR_IMM_CHAIN) : NULL,
			 &v, &target);
	if (err || c->rule->unsupported)
		return err;
	if (v == IMR_V_CONTINUE)	/* the kernel just goes on */
		return 0;
	s = stmt_add(c, IMR_S_VERDICT);
	if (!s)
		return -ENOMEM;
	s->verdict = v;
	s->chain = target;
	c->terminated = true;
	return 0;
}

/*
 * The test and link targets keep the sets in BPF maps, one per layout
 * (setmap_same_layout(): hash or LPM trie, key length), each set's keys
 * prefixed there by its tag.  With the statistics, meta and tail-call
 * maps a program may use at most 64 (the verifier's MAX_USED_MAPS).  A
 * rule that would need one set map more is left to the interpreter
 * instead of a program the verifier refuses.
 */
#define SET_MAPS_MAX	61

/* the map a set of this layout shares, or -1 for a new one */
static int set_map_of(const struct imr_prog *p, const struct nftj_set *set)
{
	size_t i;

	for (i = 0; i < p->nsets; i++)
		if (setmap_same_layout(p->sets[i].nset, set))
			return (int)p->sets[i].map;
	return -1;
}

static bool set_map_room(const struct imr_prog *p, const struct nftj_set *set)
{
	return set_map_of(p, set) >= 0 || p->nset_maps < SET_MAPS_MAX;
}

static int set_index(struct bctx *c, const struct nftj_set *set)
{
	struct imr_prog *p = c->p;
	struct imr_set *n;
	int map;
	size_t i;

	for (i = 0; i < p->nsets; i++)
		if (p->sets[i].nset == set)
			return (int)i;
	n = realloc(p->sets, (p->nsets + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	p->sets = n;
	memset(&n[p->nsets], 0, sizeof(*n));
	n[p->nsets].nset = set;
	map = set_map_of(p, set);
	n[p->nsets].map = map >= 0 ? (unsigned int)map :
				     (unsigned int)p->nset_maps++;
	n[p->nsets].tag = (uint32_t)p->nsets;
	return (int)p->nsets++;
}

/*
 * Verdict maps: resolve each element's verdict to a distinct action.
 * Resolving a jump builds the target chain, which may add sets and so
 * move p->sets: always go through the index.
 */
static int vmap_actions(struct bctx *c, int idx)
{
	const struct nftj_set *set = c->p->sets[idx].nset;
	struct imr_set *is = &c->p->sets[idx];
	size_t n = set->nelems ? set->nelems : 1, i, j;
	enum imr_verdict v;
	int target, err;

	if (is->elem_action)
		return 0;
	is->elem_action = calloc(n, sizeof(int));
	is->actions = calloc(n, sizeof(*is->actions));
	if (!is->elem_action || !is->actions)
		return -ENOMEM;
	for (i = 0; i < set->nelems; i++)
		is->elem_action[i] = -1;
	for (i = 0; i < set->nelems; i++) {
		const struct nftj_set_elem *el = &set->elems[i];

		if (el->flags & NFT_SET_ELEM_INTERVAL_END)
			continue;
		err = verdict_of(c, el->verdict, el->chain, &v, &target);
		is = &c->p->sets[idx];
		if (err || c->rule->unsupported) {
			/* not cached: every rule using the map fails alike */
			free(is->elem_action);
			free(is->actions);
			is->elem_action = NULL;
			is->actions = NULL;
			is->nactions = 0;
			return err;
		}
		for (j = 0; j < is->nactions; j++)
			if (is->actions[j].verdict == v &&
			    is->actions[j].chain == target)
				break;
		if (j == is->nactions) {
			is->actions[j].verdict = v;
			is->actions[j].chain = target;
			is->nactions++;
		}
		is->elem_action[i] = (int)j;
	}
	return 0;
}

/*
 * Kernel target: the kernel looks the key up in the live set, whatever
 * its shape (intervals, concatenated ranges, timeouts, element
 * expressions, catch-all), and handles inversion itself.
 */
static int lookup_service(struct bctx *c, struct nftnl_expr *x,
			  const struct nftj_set *set)
{
	uint32_t sreg = nftnl_expr_get_u32(x, NFTNL_EXPR_LOOKUP_SREG);
	uint32_t dreg = NFT_REG_VERDICT, flags = 0;
	enum imr_svc_kind kind = IMR_SVC_LOOKUP;
	struct imr_stmt *s = NULL;
	struct imr_expr *key;
	char name[24];
	int idx, svc;

	if (nftnl_expr_is_set(x, NFTNL_EXPR_LOOKUP_DREG)) {
		dreg = nftnl_expr_get_u32(x, NFTNL_EXPR_LOOKUP_DREG);
		kind = dreg == NFT_REG_VERDICT ? IMR_SVC_VMAP : IMR_SVC_MAP;
	}
	if (nftnl_expr_is_set(x, NFTNL_EXPR_LOOKUP_FLAGS))
		flags = nftnl_expr_get_u32(x, NFTNL_EXPR_LOOKUP_FLAGS);
	if (kind == IMR_SVC_VMAP && set->data_type != NFT_DATA_VERDICT) {
		imr_unsupported(c->rule, "set %s is not a verdict map",
				set->name);
		return 0;
	}
	/*
	 * A verdict map's jump, goto and return are left to the
	 * interpreter by resuming at this rule: only possible in the base
	 * chain, and only before the rule had a side effect.
	 */
	if (kind == IMR_SVC_VMAP && c->chain != 0) {
		imr_unsupported(c->rule, "verdict map @%s in regular chain %s: its jump, goto and return need the interpreter",
				set->name, c->p->chains[c->chain].name);
		return 0;
	}
	if (kind == IMR_SVC_VMAP && c->side_effect) {
		imr_unsupported(c->rule, "verdict map @%s after a counter: its jump, goto and return need the interpreter",
				set->name);
		return 0;
	}
	if (kind == IMR_SVC_VMAP && set->has_exprs) {
		imr_unsupported(c->rule, "verdict map @%s has element expressions: its jump, goto and return need the interpreter",
				set->name);
		return 0;
	}
	if (set->key_len == 0 || set->key_len > IMR_VAL_MAX) {
		imr_unsupported(c->rule, "set %s: key of %u bytes", set->name,
				set->key_len);
		return 0;
	}
	if (kind == IMR_SVC_MAP &&
	    (set->data_len == 0 || set->data_len > IMR_VAL_MAX)) {
		imr_unsupported(c->rule, "map %s: data of %u bytes", set->name,
				set->data_len);
		return 0;
	}
	key = rf_load(c, sreg, set->key_len);
	if (!key)
		return c->rule->unsupported ? 0 : -ENOMEM;
	if (!svc_key_store(c, key, reg_word(sreg))) {
		svc = 0;
		goto put;
	}
	idx = set_index(c, set);
	svc = idx < 0 ? idx : svc_stmt(c, x, kind, &s);
	if (svc < 0)
		goto put;
	s->expr = key;
	s->set = idx;
	s->invert = flags & NFT_LOOKUP_F_INV;
	s->len = (uint8_t)set->key_len;
	c->p->svcs[svc].key_word = (int8_t)reg_word(sreg);
	/* a match updates the element's expressions (counters) */
	if (set->has_exprs) {
		c->p->svcs[svc].side_effect = true;
		c->side_effect = true;
	}
	if (kind != IMR_SVC_MAP)
		return 0;
	snprintf(name, sizeof(name), "map.%.19s", set->name);
	return svc_value(c, svc, dreg, set->data_len, name);
put:
	imr_expr_put(key);
	return svc;
}

static int do_lookup(struct bctx *c, struct nftnl_expr *x)
{
	const struct nftj_set *set;
	uint32_t dreg = NFT_REG_VERDICT, flags = 0;
	bool vmap = false;
	struct imr_expr *key;
	struct imr_stmt *s;
	int idx, err;

	if (!(c->p->caps & (IMR_CAP_SETS | IMR_CAP_SERVICES))) {
		imr_unsupported(c->rule, "set lookup on this target");
		return 0;
	}
	set = nftj_set_find(c->rs, c->p->family, c->p->table,
			    nftnl_expr_get_str(x, NFTNL_EXPR_LOOKUP_SET));
	if (!set) {
		imr_unsupported(c->rule, "lookup in unknown set %s",
				nftnl_expr_get_str(x, NFTNL_EXPR_LOOKUP_SET));
		return 0;
	}
	if (has_services(c))
		return lookup_service(c, x, set);
	if (nftnl_expr_is_set(x, NFTNL_EXPR_LOOKUP_DREG)) {
		dreg = nftnl_expr_get_u32(x, NFTNL_EXPR_LOOKUP_DREG);
		if (dreg != NFT_REG_VERDICT) {
			imr_unsupported(c->rule, "map lookup into a register");
			return 0;
		}
		vmap = true;
	}
	if (nftnl_expr_is_set(x, NFTNL_EXPR_LOOKUP_FLAGS))
		flags = nftnl_expr_get_u32(x, NFTNL_EXPR_LOOKUP_FLAGS);
	if (set->has_exprs) {
		imr_unsupported(c->rule, "set %s has element expressions",
				set->name);
		return 0;
	}
	if ((set->flags & NFT_SET_INTERVAL) && set->field_count > 1) {
		imr_unsupported(c->rule, "set %s: concatenated ranges",
				set->name);
		return 0;
	}
	if (set->key_len == 0 || set->key_len > IMR_VAL_MAX) {
		imr_unsupported(c->rule, "set %s: key of %u bytes", set->name,
				set->key_len);
		return 0;
	}
	if (vmap && set->data_type != NFT_DATA_VERDICT) {
		imr_unsupported(c->rule, "set %s is not a verdict map",
				set->name);
		return 0;
	}
	if (!set_map_room(c->p, set)) {
		imr_unsupported(c->rule, "sets of more than %d key layouts "
				"in one program (a BPF map each)",
				SET_MAPS_MAX);
		return 0;
	}
	key = rf_load(c, nftnl_expr_get_u32(x, NFTNL_EXPR_LOOKUP_SREG),
		      set->key_len);
	if (!key)
		return c->rule->unsupported ? 0 : -ENOMEM;
	idx = set_index(c, set);
	if (idx < 0) {
		err = idx;
		goto put;
	}
	if (vmap) {
		err = vmap_actions(c, idx);
		if (err || c->rule->unsupported)
			goto put;
	}
	s = stmt_add(c, vmap ? IMR_S_VMAP : IMR_S_LOOKUP);
	if (!s) {
		err = -ENOMEM;
		goto put;
	}
	s->expr = key;
	s->set = idx;
	s->invert = flags & NFT_LOOKUP_F_INV;
	s->len = (uint8_t)set->key_len;
	return 0;
put:
	imr_expr_put(key);
	return err;
}

static int do_counter(struct bctx *c, struct nftnl_expr *x)
{
	struct imr_stmt *s;
	int svc;

	if (has_services(c)) {
		/* the rule's own counter: exact in `nft list ruleset` */
		svc = svc_stmt(c, x, IMR_SVC_COUNTER, NULL);
		if (svc < 0)
			return svc;
		c->p->svcs[svc].side_effect = true;
		c->rule->has_counter = true;
		c->side_effect = true;
		return 0;
	}
	if (!(c->p->caps & IMR_CAP_COUNTERS)) {
		imr_unsupported(c->rule, "counter on this target");
		return 0;
	}
	s = stmt_add(c, IMR_S_COUNTER);
	if (!s)
		return -ENOMEM;
	s->counter_id = c->rule->id;
	c->rule->has_counter = true;
	return 0;
}

/*
 * The expressions the IMR expresses, by name (nftables' netlink_parsers[]
 * in netlink_delinearize.c).  Any other leaves the rule to the
 * interpreter, its name the reason.
 */
static const struct expr_handler {
	const char *name;
	int (*build)(struct bctx *c, struct nftnl_expr *x);
} expr_handlers[] = {
	{ "payload",	do_payload },
	{ "meta",	do_meta },
	{ "cmp",	do_cmp },
	{ "range",	do_range },
	{ "bitwise",	do_bitwise },
	{ "byteorder",	do_byteorder },
	{ "immediate",	do_immediate },
	{ "lookup",	do_lookup },
	{ "ct",		do_ct },
	{ "counter",	do_counter },
};

static int do_expr(struct bctx *c, struct nftnl_expr *x)
{
	const char *name = nftnl_expr_get_str(x, NFTNL_EXPR_NAME);
	size_t i;

	for (i = 0; i < sizeof(expr_handlers) / sizeof(expr_handlers[0]); i++)
		if (!strcmp(name, expr_handlers[i].name))
			return expr_handlers[i].build(c, x);
	imr_unsupported(c->rule, "%s", name);
	return 0;
}

/*
 * Immediate data only feeds an expression that writes something (meta
 * set, nat, ...): name that one, the expression after it, as the reason.
 */
static void imm_reader(struct imr_rule *r, struct nftnl_expr *x)
{
	const char *name = nftnl_expr_get_str(x, NFTNL_EXPR_NAME);
	const char *kname;

	if (!strcmp(name, "meta") &&
	    nftnl_expr_is_set(x, NFTNL_EXPR_META_SREG)) {
		kname = meta_key_name(nftnl_expr_get_u32(x,
							 NFTNL_EXPR_META_KEY));
		snprintf(r->reason, sizeof(r->reason),
			 "immediate data for meta set%s%s",
			 kname ? " " : "", kname ? kname : "");
		return;
	}
	if ((!strcmp(name, "ct") && nftnl_expr_is_set(x, NFTNL_EXPR_CT_SREG)) ||
	    (!strcmp(name, "payload") &&
	     nftnl_expr_is_set(x, NFTNL_EXPR_PAYLOAD_SREG))) {
		snprintf(r->reason, sizeof(r->reason),
			 "immediate data for %s set", name);
		return;
	}
	snprintf(r->reason, sizeof(r->reason), "immediate data for %s", name);
}

static int build_rule(struct builder *bd, int chain, struct nftnl_rule *nr,
		      struct imr_rule *r)
{
	struct bctx c = { .bd = bd, .p = bd->p, .rs = bd->rs, .rule = r,
			  .chain = chain };
	struct nftnl_expr_iter *it;
	struct nftnl_expr *x;
	int i, err = 0;

	for (i = 0; i < NREGW; i++)
		c.real[i] = -1;
	r->handle = nftnl_rule_get_u64(nr, NFTNL_RULE_HANDLE);
	it = nftnl_expr_iter_create(nr);
	if (!it)
		return -ENOMEM;
	/* expressions in netlink order: the kernel's order, service `pos` */
	for (; (x = nftnl_expr_iter_next(it)); c.pos++) {
		if (c.terminated || r->unsupported) {
			if (c.imm_data)
				imm_reader(r, x);
			break;
		}
		err = do_expr(&c, x);
		if (err)
			break;
	}
	nftnl_expr_iter_destroy(it);
	rf_clear(&c.rf);
	return err;
}

static struct imr_chain *chain_add(struct builder *bd, const char *name)
{
	struct imr_prog *p = bd->p;
	struct imr_chain *n;
	bool *v;

	v = realloc(bd->visiting, (p->nchains + 1) * sizeof(*v));
	if (!v)
		return NULL;
	bd->visiting = v;
	v[p->nchains] = true;
	n = realloc(p->chains, (p->nchains + 1) * sizeof(*n));
	if (!n)
		return NULL;
	p->chains = n;
	n = &p->chains[p->nchains++];
	memset(n, 0, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "%s", name);
	n->first_unsupported = -1;
	return n;
}

static int rule_id_add(struct imr_prog *p, int chain)
{
	int *n = realloc(p->chain_of_id, (p->nrule_ids + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	p->chain_of_id = n;
	n[p->nrule_ids] = chain;
	return (int)p->nrule_ids++;
}

static unsigned int stmt_depth(const struct imr_prog *p,
			       const struct imr_stmt *s)
{
	const struct imr_set *is;
	unsigned int d = 0;
	size_t i;

	if (s->type == IMR_S_VERDICT && s->chain >= 0)
		return p->chains[s->chain].depth + 1;
	if (s->type != IMR_S_VMAP)
		return 0;
	is = &p->sets[s->set];
	for (i = 0; i < is->nactions; i++)
		if (is->actions[i].chain >= 0 &&
		    p->chains[is->actions[i].chain].depth + 1 > d)
			d = p->chains[is->actions[i].chain].depth + 1;
	return d;
}

/*
 * Build chain `name` of the program's table, once; *out is its index.
 * -ELOOP on a cycle (nf_tables rejects those, but the dump is input).
 */
static int build_chain(struct builder *bd, const char *name, int *out)
{
	struct imr_prog *p = bd->p;
	const struct nftj_ruleset *rs = bd->rs;
	struct nftnl_rule_list_iter *it;
	struct nftnl_rule *nr;
	struct imr_chain *ch;
	size_t i, n = 0;
	int idx, err = 0;

	for (i = 0; i < p->nchains; i++) {
		if (strcmp(p->chains[i].name, name))
			continue;
		*out = (int)i;
		return bd->visiting[i] ? -ELOOP : 0;
	}
	if (!find_chain(rs, p->family, p->table, name))
		return -ENOENT;
	ch = chain_add(bd, name);
	if (!ch)
		return -ENOMEM;
	idx = (int)(p->nchains - 1);
	*out = idx;

	it = nftnl_rule_list_iter_create(rs->rules);
	if (!it)
		return -ENOMEM;
	while ((nr = nftnl_rule_list_iter_next(it))) {
		struct imr_rule *rules, *r;
		int id;

		if (nftnl_rule_get_u32(nr, NFTNL_RULE_FAMILY) != p->family ||
		    strcmp(nftnl_rule_get_str(nr, NFTNL_RULE_TABLE),
			   p->table) ||
		    strcmp(nftnl_rule_get_str(nr, NFTNL_RULE_CHAIN), name))
			continue;
		ch = &p->chains[idx];
		rules = realloc(ch->rules, (n + 1) * sizeof(*rules));
		if (!rules) {
			err = -ENOMEM;
			break;
		}
		ch->rules = rules;
		r = &rules[n];
		memset(r, 0, sizeof(*r));
		r->pos = (uint32_t)n;
		ch->nrules = ++n;
		ch->npos = (uint32_t)n;
		id = rule_id_add(p, idx);
		if (id < 0) {
			err = id;
			break;
		}
		r->id = (uint32_t)id;
		/* may add chains: p->chains moves, re-fetch afterwards */
		err = build_rule(bd, idx, nr, r);
		if (err)
			break;
	}
	nftnl_rule_list_iter_destroy(it);
	if (err)
		return err;

	ch = &p->chains[idx];
	for (i = 0; i < ch->nrules; i++) {
		struct imr_rule *r = &ch->rules[i];
		size_t j;

		if (r->unsupported) {
			if (ch->first_unsupported < 0)
				ch->first_unsupported = (int)i;
			continue;
		}
		for (j = 0; j < r->nstmts; j++)
			if (stmt_depth(p, &r->stmts[j]) > ch->depth)
				ch->depth = stmt_depth(p, &r->stmts[j]);
	}
	bd->visiting[idx] = false;
	return 0;
}

static int fill_rule_index(struct imr_prog *p)
{
	size_t i, j;

	p->rule_by_id = calloc(p->nrule_ids ? p->nrule_ids : 1,
			       sizeof(*p->rule_by_id));
	if (!p->rule_by_id)
		return -ENOMEM;
	for (i = 0; i < p->nchains; i++)
		for (j = 0; j < p->chains[i].nrules; j++)
			p->rule_by_id[p->chains[i].rules[j].id] =
				&p->chains[i].rules[j];
	return 0;
}

int imr_build(struct imr_prog *p, const struct nftj_ruleset *rs,
	      uint32_t family, const char *table, const char *chain,
	      unsigned int caps, char *why, size_t whylen)
{
	struct builder bd = { .p = p, .rs = rs };
	const struct nftnl_chain *nc;
	const char *type;
	uint32_t hook;
	int idx, err;

	memset(p, 0, sizeof(*p));
	p->family = family;
	p->genid = rs->genid;
	p->caps = caps;
	snprintf(p->table, sizeof(p->table), "%s", table);
	why[0] = '\0';

	nc = find_chain(rs, family, table, chain);
	if (!nc)
		return -ENOENT;
	if (!nftnl_chain_is_set(nc, NFTNL_CHAIN_HOOKNUM)) {
		snprintf(why, whylen, "not a base chain");
		return -EOPNOTSUPP;
	}
	if (family != NFPROTO_IPV4 && family != NFPROTO_IPV6 &&
	    family != NFPROTO_INET) {
		snprintf(why, whylen, "family %u", family);
		return -EOPNOTSUPP;
	}
	hook = nftnl_chain_get_u32(nc, NFTNL_CHAIN_HOOKNUM);
	if (hook > NF_INET_POST_ROUTING) {
		snprintf(why, whylen, "hook %u", hook);
		return -EOPNOTSUPP;
	}
	type = nftnl_chain_is_set(nc, NFTNL_CHAIN_TYPE) ?
	       nftnl_chain_get_str(nc, NFTNL_CHAIN_TYPE) : "filter";
	if (strcmp(type, "filter")) {
		snprintf(why, whylen, "chain type %s", type);
		return -EOPNOTSUPP;
	}

	err = build_chain(&bd, chain, &idx);
	free(bd.visiting);
	free(bd.clobbered);
	if (err) {
		imr_prog_free(p);
		return err;
	}
	p->chains[0].base = true;
	p->chains[0].hook = hook;
	p->chains[0].prio = (int32_t)nftnl_chain_get_u32(nc,
							  NFTNL_CHAIN_PRIO);
	p->chains[0].policy = nftnl_chain_is_set(nc, NFTNL_CHAIN_POLICY) ?
			      nftnl_chain_get_u32(nc, NFTNL_CHAIN_POLICY) :
			      NF_ACCEPT;
	err = fill_rule_index(p);
	if (err)
		imr_prog_free(p);
	return err;
}
