/* SPDX-License-Identifier: GPL-2.0 */
/*
 * IMR: the intermediate representation of nf_tables chains.
 *
 * The IMR is independent of nf_tables' register layout and of BPF.  A
 * program is a set of chains; a chain is a list of rules; a rule is an
 * ordered list of statements, executed in order like the kernel's
 * expressions:
 *
 *   MATCH    a relation on a value; the rule ends (BREAK) if it is false
 *   LOOKUP   set membership of a key (optionally inverted)
 *   VMAP     verdict-map lookup: no element -> BREAK, else its verdict
 *   COUNTER  side effect: bump the rule's counter
 *   VERDICT  accept, drop, continue, return, jump, goto
 *   SERVICE  the kernel evaluates one of the rule's own expressions
 *            (counter, set/map lookup, ct or meta load) for the program
 *            (kernel target, IMR_CAP_SERVICES); what it leaves in the
 *            register file is a value (IMR_E_SVC) for later statements
 *
 * Values are expression trees (struct imr_expr): a source (packet
 * payload at a typed header base/offset/length, or packet metadata),
 * transformed by bitwise and byte-order operations, or a concatenation
 * of values (set keys).  A value is a byte string, exactly as nf_tables
 * holds it in its registers: payload in network byte order, meta in host
 * byte order, every component padded with zeroes to 32 bits.  Any source
 * can fail (packet too short, no transport header): that ends the rule.
 *
 * A rule the builder cannot express is kept with its reason; code
 * generation stops there and hands the packet to the interpreter.
 */
#ifndef NFTJ_IMR_H
#define NFTJ_IMR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct nftj_set;

#define IMR_VAL_MAX		64	/* bytes; NFT_DATA_VALUE_MAXLEN */
#define IMR_REASON_MAX		160
#define IMR_SVC_TEXT		128
#define IMR_REG_WORDS		20	/* struct nft_regs: 4 verdict words + 16 */

enum imr_base {
	IMR_BASE_LL,		/* link-layer header */
	IMR_BASE_NH,		/* network header */
	IMR_BASE_TH,		/* transport header */
};

enum imr_meta {
	IMR_META_LEN,
	IMR_META_PROTOCOL,
	IMR_META_NFPROTO,
	IMR_META_L4PROTO,
	IMR_META_MARK,
	IMR_META_IIF,
	IMR_META_OIF,
	IMR_META_IIFTYPE,
	IMR_META_OIFTYPE,
	IMR_META_PKTTYPE,
	IMR_META_SKUID,
	IMR_META_SKGID,
};

enum imr_expr_type {
	IMR_E_PAYLOAD,		/* packet bytes */
	IMR_E_META,		/* packet metadata */
	IMR_E_MASKXOR,		/* (child & mask) ^ xor */
	IMR_E_SHIFT,		/* per 32-bit host-order word */
	IMR_E_BSWAP,		/* byte order change in units of size */
	IMR_E_CONCAT,		/* components, each padded to 32 bits */
	IMR_E_SVC,		/* what a service left in the register file */
};

struct imr_expr {
	enum imr_expr_type type;
	uint8_t len;		/* bytes of the value, zero padded to 32 bits */
	union {
		struct {
			enum imr_base base;
			uint8_t offset;
			uint8_t len;
			bool fast;	/* kernel's payload fast path applies */
		} payload;
		enum imr_meta meta;
		struct {
			uint8_t mask[IMR_VAL_MAX];
			uint8_t xor[IMR_VAL_MAX];
		} maskxor;
		struct {
			bool left;
			uint8_t bits;
		} shift;
		struct {
			uint8_t size;	/* 2, 4 or 8 */
		} bswap;
		struct {
			uint32_t index;	/* the service (prog svcs[]) */
			uint8_t word;	/* register file word it starts at */
			uint8_t natlen;	/* bytes the kernel writes; the rest
					 * of the last word is zero */
			char name[24];	/* for printing: "ct.state" */
		} svc;
	};
	/* each child and component is a counted reference, owned */
	struct imr_expr *child;	/* operand of MASKXOR, SHIFT, BSWAP */
	struct imr_expr **comp;	/* CONCAT components */
	uint8_t ncomp;
	unsigned int refs;	/* imr_expr_get()/_put(); values are shared
				 * between register words and statements */
};

enum imr_cmp_op {
	IMR_EQ, IMR_NE, IMR_LT, IMR_LE, IMR_GT, IMR_GE,
};

enum imr_verdict {
	IMR_V_ACCEPT,
	IMR_V_DROP,
	IMR_V_CONTINUE,
	IMR_V_RETURN,
	IMR_V_JUMP,
	IMR_V_GOTO,
};

enum imr_stmt_type {
	IMR_S_CMP,		/* expr op value[len] (memcmp order) */
	IMR_S_RANGE,		/* lo <= expr <= hi, or not (op NE) */
	IMR_S_LOOKUP,		/* expr in set (or not) */
	IMR_S_VMAP,		/* verdict of set[expr] */
	IMR_S_COUNTER,
	IMR_S_VERDICT,
	IMR_S_SERVICE,		/* kernel-evaluated expression, see imr_svc */
};

/* a service statement or value of a rule the program does not run */
#define IMR_SVC_PRUNED		0x7fffffffU

/* what a service is; decides how its return value is handled */
enum imr_svc_kind {
	IMR_SVC_COUNTER,	/* side effect; NFT_CONTINUE */
	IMR_SVC_LOOKUP,		/* set membership, inverted or not:
				 * NFT_CONTINUE match, NFT_BREAK no match */
	IMR_SVC_MAP,		/* map lookup into a register: a value */
	IMR_SVC_VMAP,		/* verdict map: NFT_BREAK no element,
				 * NF_ACCEPT/NF_DROP final, NFT_CONTINUE go
				 * on, anything else: the interpreter */
	IMR_SVC_CT,		/* ct load: a value, or NFT_BREAK */
	IMR_SVC_META,		/* meta load: a value, or NFT_BREAK */
};

/*
 * A service: expression `pos` (0-based, netlink order, the order the
 * kernel keeps them in) of rule `handle` of chain `chain`.  Its index in
 * imr_prog.svcs is the number the program passes to the kernel.
 */
struct imr_svc {
	int chain;			/* index into prog chains */
	uint32_t rule_id;
	uint64_t handle;
	uint32_t pos;
	enum imr_svc_kind kind;
	int8_t key_word;		/* lookups: register word of the key */
	int8_t out_word;		/* values: where the kernel writes it */
	uint8_t out_len;		/*   and how many bytes (padded) */
	bool side_effect;		/* counts when it completes: a counter,
					 * a lookup updating element counters */
	char text[IMR_SVC_TEXT];	/* as `nft --debug=netlink` shows it */
};

struct imr_stmt {
	enum imr_stmt_type type;
	struct imr_expr *expr;		/* a reference, owned; NULL for
					 * COUNTER, VERDICT and services
					 * without a key */
	enum imr_cmp_op op;
	uint8_t len;			/* compared bytes */
	uint8_t val[IMR_VAL_MAX];	/* CMP value, RANGE low end */
	uint8_t hi[IMR_VAL_MAX];	/* RANGE high end */
	int set;			/* LOOKUP/VMAP: index into prog sets */
	bool invert;			/* LOOKUP */
	enum imr_verdict verdict;	/* VERDICT */
	int chain;			/* VERDICT jump/goto target chain */
	uint32_t counter_id;		/* COUNTER: program-wide rule id */
	uint32_t svc;			/* SERVICE: index into prog svcs
					 * (IMR_SVC_PRUNED: the program does
					 * not run the rule);
					 * expr is the key of lookups, written
					 * to the register file at key_word */
};

struct imr_rule {
	uint64_t handle;
	uint32_t id;			/* program-wide rule id */
	uint32_t pos;			/* its index in the kernel's chain:
					 * where the interpreter resumes */
	struct imr_stmt *stmts;
	size_t nstmts;
	bool unsupported;		/* left to the interpreter */
	char reason[IMR_REASON_MAX];
	bool has_counter;
	bool removed;			/* a ghost: the optimizer removed it
					 * (prog.ghosts), only its identity
					 * is left */
};

/*
 * A run of rules [from, to) the optimizer's tree pass chose to compile as
 * decision trees (opt.c, cg/forest.c): consecutive supported rules made
 * only of cmp/range tests and an accept or drop verdict.
 */
struct imr_run {
	uint32_t from, to;
};

struct imr_chain {
	char name[256];
	bool base;
	uint32_t hook;			/* base chains: NF_INET_* */
	int32_t prio;
	uint32_t policy;		/* NF_ACCEPT / NF_DROP */
	struct imr_rule *rules;
	size_t nrules;
	uint32_t npos;			/* rules of the kernel's chain (the
					 * optimizer may remove some here) */
	int first_unsupported;		/* rule index, -1 if all supported */
	unsigned int depth;		/* longest jump path below, 0 = leaf */
	struct imr_run *runs;		/* tree pass: in order, disjoint */
	size_t nruns;
	/* lookup pass: runs of rules that test the same fields for equality
	 * (opt_lookup_rule()), in order, disjoint; they may lie inside tree
	 * runs, and the planner carves them out */
	struct imr_run *lookups;
	size_t nlookups;
};

struct imr_vmap_action {
	enum imr_verdict verdict;
	int chain;
};

struct imr_set {
	const struct nftj_set *nset;	/* borrowed: the set of the dumped
					 * ruleset the IMR was built from,
					 * which must outlive the IMR */
	struct imr_vmap_action *actions;	/* verdict maps: distinct */
	size_t nactions;
	int *elem_action;		/* per element, verdict maps */
	unsigned int map;		/* the BPF map the set shares with
					 * the sets of its layout (test and
					 * link targets), < nset_maps */
	uint32_t tag;			/* its elements' key prefix there */
};

struct imr_prog {
	uint32_t family;		/* NFPROTO_* of the table */
	char table[256];
	uint32_t genid;
	unsigned int caps;		/* IMR_CAP_* of the target */
	struct imr_chain *chains;	/* chains[0] is the base chain */
	size_t nchains;
	struct imr_set *sets;
	size_t nsets;
	size_t nset_maps;		/* BPF maps of the sets: one per
					 * layout (setmap.h) */
	uint32_t nrule_ids;
	struct imr_rule **rule_by_id;	/* id -> rule: pointers into
					 * chains[].rules, set once the
					 * builder has made every chain */
	int *chain_of_id;		/* id -> chain index */
	struct imr_svc *svcs;		/* services, IMR_CAP_SERVICES */
	size_t nsvcs;
	struct imr_rule **ghosts;	/* rules the optimizer removed */
	size_t nghosts;
};

struct imr_expr *imr_expr_new(enum imr_expr_type type, uint8_t len);
struct imr_expr *imr_expr_get(struct imr_expr *e);
void imr_expr_put(struct imr_expr *e);
bool imr_expr_equal(const struct imr_expr *a, const struct imr_expr *b);

void imr_prog_free(struct imr_prog *p);

const char *imr_meta_name(enum imr_meta m);
/* bytes of a meta key's natural value (nfproto 1, protocol 2, mark 4) */
unsigned int imr_meta_len(enum imr_meta m);
const char *imr_base_name(enum imr_base b);
const char *imr_verdict_name(enum imr_verdict v);
const char *imr_op_name(enum imr_cmp_op op);
const char *imr_svc_kind_name(enum imr_svc_kind k);

/* leave a rule to the interpreter with a reason; the first reason stays */
void imr_unsupported(struct imr_rule *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* where the interpreter resumes before rule i of ch (npos: the end) */
uint32_t imr_rule_pos(const struct imr_chain *ch, size_t i);
/* the rule at kernel position pos, NULL if none (the end, or removed) */
const struct imr_rule *imr_rule_at_pos(const struct imr_chain *ch,
				       uint32_t pos);

/* one line per rule, for `nft-jit compile -d` and the docs */
void imr_rule_print(const struct imr_prog *p, const struct imr_rule *r,
		    char *buf, size_t size);
int imr_expr_print(const struct imr_expr *e, char *buf, size_t size);
/*
 * The whole program: chains and their rules (imr_rule_print()), sets,
 * services; for `nft-jit compile --dump-imr` and the golden tests.
 */
void imr_prog_print(const struct imr_prog *p, FILE *f);

/*
 * Which chains the program runs (reached[], one per chain): the base
 * chain and those its rules before first_unsupported jump to, through
 * rules it runs (imr_rule_runs(): supported, in a reached chain, in the
 * base chain before first_unsupported).
 */
void imr_reached(const struct imr_prog *p, bool *reached);
bool imr_rule_runs(const struct imr_prog *p, const bool *reached,
		   int chain, size_t i);

/*
 * A rule a tree run may hold: supported, cmp and range tests only, then
 * accept or drop as its last statement
 */
bool imr_tree_rule_ok(const struct imr_rule *r);

/* per rule id, what no pass after the builder may change */
struct imr_ids {
	size_t n;
	int *chain;			/* chain index */
	uint64_t *handle;
};

int imr_ids_save(const struct imr_prog *p, struct imr_ids *ids);
void imr_ids_free(struct imr_ids *ids);

/*
 * The invariants every pass keeps (docs/imr.md, "The pipeline"): chains
 * (the base chain first, first_unsupported, jump depth), rule ids (each
 * once, indexed by rule_by_id and chain_of_id, and the same rule as in
 * ids, if given), statements (operands, set, chain and counter indices,
 * what the target's caps allow), services (each named by one statement
 * of its own rule; indices beyond nsvcs only where the program does not
 * run, after pruning), values (lengths, operands, and every reference
 * count equal to the statements and values that hold the value).
 * Returns 0, -EINVAL with what is wrong in why, or -ENOMEM.
 */
int imr_check(const struct imr_prog *p, const struct imr_ids *ids,
	      char *why, size_t whylen);

#endif /* NFTJ_IMR_H */
