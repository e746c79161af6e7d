/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Canonical predicates: what packets a rule can match, as intervals per
 * field.
 *
 * A field is a value a rule tests: packet bytes at a header base, offset
 * and length (with or without the kernel's payload fast path), or a meta
 * key, possibly byte-swapped.  Its value is an unsigned number of up to
 * 16 bytes in memcmp order (what cmp and range compare).  Loading a field
 * can fail (no transport header, a non-first fragment, a short packet):
 * then the rule does not match, so every field carries its failure
 * domain.
 *
 * The box of a rule is the set of packets for which every field the rule
 * tests loads and lies in the rule's intervals for it.  It always holds
 * every packet the rule matches (an over-approximation: set lookups,
 * non-prefix masks and the like are not intervals and are left out); the
 * rule is exact when the box is its match set.
 *
 * Nothing here changes the IMR: the optimizer's passes (opt.c) read it.
 */
#ifndef NFTJ_PRED_H
#define NFTJ_PRED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imr.h"

#define PRED_WIDTH_MAX	16	/* bytes of a field value */

typedef unsigned __int128 pred_val;

/* where a field comes from */
enum pred_src {
	PRED_SRC_PAYLOAD,
	PRED_SRC_META,
};

/* when loading a field fails (the rule then does not match) */
enum pred_dom_kind {
	PRED_DOM_NEVER,		/* never: within the IP header, hook metadata */
	PRED_DOM_L4,		/* no transport header (meta l4proto) */
	PRED_DOM_TH,		/* transport payload: no transport header,
				 * beyond the packet, a non-first fragment
				 * (nofrag; the fast path reads linear data
				 * of fragments) */
	PRED_DOM_NH,		/* network payload beyond 20 bytes: a short
				 * packet */
	PRED_DOM_LL,		/* link-layer payload */
	PRED_DOM_SELF,		/* its own (socket, device type, ...) */
};

struct pred_dom {
	enum pred_dom_kind kind;
	bool nofrag;		/* PRED_DOM_TH: the slow path's fragment test */
	uint16_t end;		/* payload: offset + length */
};

struct pred_field {
	enum pred_src src;
	enum imr_base base;	/* payload */
	uint8_t offset;
	uint8_t len;
	bool fast;
	enum imr_meta meta;	/* meta */
	uint8_t bswap;		/* 0, or the unit of a byte-order change */
	uint8_t width;		/* bytes of the value */
	struct pred_dom dom;
};

/* [lo, hi] of a field's values */
struct pred_iv {
	pred_val lo;
	pred_val hi;
};

/* one field's constraint in a rule: a union of disjoint intervals, in
 * order; nivs == 0: no value matches
 */
struct pred_term {
	uint32_t field;		/* index into pred_chain.fields */
	uint32_t nivs;
	struct pred_iv *ivs;
};

/* one statement of a rule: the field it tests and the values passing */
struct pred_stmt {
	uint32_t field;		/* UINT32_MAX: tests no field (a lookup, a
				 * concatenation, ...) or is no test */
	struct pred_iv *ivs;
	uint32_t nivs;
	bool exact;		/* exactly the values that pass */
};

struct pred_rule {
	struct pred_term *terms;	/* by field */
	uint32_t nterms;
	struct pred_stmt *st;		/* per statement of the IMR rule, as
					 * analysed (a pass that rewrites
					 * statements makes it stale) */
	uint32_t nst;
	int32_t last_test;	/* statement index, -1 if none */
	bool exact;		/* the box is the match set */
	bool empty;		/* no packet can match */
	bool guarded;		/* no side effect before its last test */
	bool terminal;		/* a match ends the chain: accept, drop,
				 * goto, return (and nothing after its tests
				 * can stop the verdict) */
	bool effects;		/* counters, side-effect services */
	int32_t first_effect;	/* statement index, -1 if none */
	int32_t empty_at;	/* first statement of the test that makes
				 * the box empty, -1 */
};

#define PRED_NH_ALWAYS	20	/* network-header bytes every packet at an
				 * ip, ip6 or inet hook has */

struct pred_chain {
	const struct imr_prog *prog;
	size_t chain;
	struct pred_field *fields;
	uint32_t nfields;
	uint32_t fields_cap;
	struct pred_rule *rules;	/* one per IMR rule of the chain */
	size_t nrules;
	/* the widest load of never-failing network-header bytes at each
	 * offset: narrower loads there are prefixes of that field
	 */
	uint8_t nh_span[PRED_NH_ALWAYS];
};

/* analyse chain `chain` of p; 0 or -ENOMEM */
int pred_chain_analyze(const struct imr_prog *p, size_t chain,
		       struct pred_chain *pc);
void pred_chain_free(struct pred_chain *pc);
void pred_rule_release(struct pred_rule *r);

/*
 * One cmp or range statement of the analysed chain as a term: its field
 * and the field values that pass it (*ivs, *nivs; the caller frees *ivs),
 * *exact cleared when that set is larger than the values that pass.
 * Returns 1, 0 when the statement tests no field (another statement
 * type, a concatenation, a service's value, ...), or -ENOMEM.
 */
int pred_stmt_term(struct pred_chain *pc, const struct imr_stmt *s,
		   uint32_t *field, struct pred_iv **ivs, uint32_t *nivs,
		   bool *exact);

/* a rule's term on field f, or NULL when it does not test f */
const struct pred_term *pred_rule_term(const struct pred_rule *r,
				       uint32_t f);

/* every packet in rule b's box is in rule a's box (loads included) */
bool pred_box_subset(const struct pred_chain *pc, const struct pred_rule *b,
		     const struct pred_rule *a);
/* no packet is in both boxes */
bool pred_box_disjoint(const struct pred_chain *pc, const struct pred_rule *a,
		       const struct pred_rule *b);
/* whenever a load of field a succeeds, one of field b does */
bool pred_dom_implies(const struct pred_dom *a, const struct pred_dom *b);

/* *a = *a and b (interval lists, in order); 0 or -ENOMEM */
int pred_ivs_and(struct pred_iv **a, uint32_t *na, const struct pred_iv *b,
		 uint32_t nb);
bool pred_ivs_full(const struct pred_iv *a, uint32_t n, pred_val max);

/*
 * An expression that loads field f (n = f->width), or its first n bytes
 * (payload), as a rule of the builder would; NULL without memory
 */
struct imr_expr *pred_field_expr(const struct pred_field *f, unsigned int n);

/* a field's largest value */
pred_val pred_field_max(const struct pred_field *f);

/* "nh[12:4]", "th[2:2]", "meta mark", "bswap16(meta len)" */
int pred_field_print(const struct pred_field *f, char *buf, size_t size);
/* "0x0a000001": width bytes of v in hex */
int pred_val_print(pred_val v, unsigned int width, char *buf, size_t size);
/* "nh[12:4] in 0x0a000000-0x0affffff, th[2:2] == 0x0016" */
int pred_rule_print(const struct pred_chain *pc, const struct pred_rule *r,
		    char *buf, size_t size);

#endif /* NFTJ_PRED_H */
