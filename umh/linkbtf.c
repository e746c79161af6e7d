// SPDX-License-Identifier: GPL-2.0
/* The running kernel's kfunc ids and struct offsets for the link target. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <bpf/btf.h>

#include "linkbtf.h"

/*
 * Find member `name` of struct `sname`, looking into anonymous struct
 * and union members as C does.  *bits is the bit offset from the start
 * of the struct, *bsize the bitfield size (0: not a bitfield), *size
 * the byte size of the member's type.
 */
static int member_in(const struct btf *btf, const struct btf_type *t,
		     const char *name, uint32_t base, uint32_t *bits,
		     uint32_t *bsize, int64_t *size)
{
	const struct btf_member *m = btf_members(t);
	uint16_t i, n = btf_vlen(t);

	for (i = 0; i < n; i++, m++) {
		uint32_t off = base + btf_member_bit_offset(t, i);
		const char *mn = btf__name_by_offset(btf, m->name_off);
		int tid = btf__resolve_type(btf, m->type);
		const struct btf_type *mt;

		if (tid < 0)
			continue;
		mt = btf__type_by_id(btf, (uint32_t)tid);
		if (mn && *mn) {
			if (strcmp(mn, name))
				continue;
			*bits = off;
			*bsize = btf_member_bitfield_size(t, i);
			*size = btf__resolve_size(btf, m->type);
			return 0;
		}
		if (mt && btf_is_composite(mt) &&
		    !member_in(btf, mt, name, off, bits, bsize, size))
			return 0;
	}
	return -ENOENT;
}

struct field {
	const char *sname, *member;
	int64_t size;		/* expected byte size of the member */
	bool bitfield;
	int16_t *off;
	uint8_t *shift;		/* bitfields: bit position in the byte */
};

static int field(const struct btf *btf, const struct field *f, char *why,
		 size_t whylen)
{
	uint32_t bits = 0, bsize = 0;
	int64_t size = 0;
	int id;

	id = btf__find_by_name_kind(btf, f->sname, BTF_KIND_STRUCT);
	if (id < 0 || member_in(btf, btf__type_by_id(btf, (uint32_t)id),
				f->member, 0, &bits, &bsize, &size)) {
		snprintf(why, whylen, "kernel BTF: no struct %s member %s",
			 f->sname, f->member);
		return -ENOENT;
	}
	if (f->bitfield ? (!bsize || (bits % 8) + bsize > 8) :
	    (bsize || bits % 8 || size != f->size)) {
		snprintf(why, whylen,
			 "kernel BTF: struct %s member %s has an unexpected layout",
			 f->sname, f->member);
		return -ENOENT;
	}
	*f->off = (int16_t)(bits / 8);
	if (f->shift)
		*f->shift = (uint8_t)(bits % 8);
	return 0;
}

static int kfunc(const struct btf *btf, const char *name, int32_t *id,
		 char *why, size_t whylen)
{
	int v = btf__find_by_name_kind(btf, name, BTF_KIND_FUNC);

	if (v < 0) {
		snprintf(why, whylen, "kernel BTF: no kfunc %s (Linux >= 6.4 needed)",
			 name);
		return -ENOENT;
	}
	*id = v;
	return 0;
}

int linkbtf_resolve(const struct btf *btf, struct linkbtf *lb, char *why,
		    size_t whylen)
{
	const struct field fields[] = {
		{ "bpf_nf_ctx", "state", 8, false, &lb->ctx_state, NULL },
		{ "bpf_nf_ctx", "skb", 8, false, &lb->ctx_skb, NULL },
		{ "nf_hook_state", "hook", 1, false, &lb->st_hook, NULL },
		{ "nf_hook_state", "pf", 1, false, &lb->st_pf, NULL },
		{ "nf_hook_state", "in", 8, false, &lb->st_in, NULL },
		{ "nf_hook_state", "out", 8, false, &lb->st_out, NULL },
		{ "sk_buff", "len", 4, false, &lb->skb_len, NULL },
		{ "sk_buff", "mark", 4, false, &lb->skb_mark, NULL },
		{ "sk_buff", "protocol", 2, false, &lb->skb_protocol, NULL },
		{ "sk_buff", "pkt_type", 1, true, &lb->skb_pkt_type,
		  &lb->skb_pkt_type_shift },
		{ "net_device", "ifindex", 4, false, &lb->dev_ifindex, NULL },
		{ "net_device", "type", 2, false, &lb->dev_type, NULL },
	};
	size_t i;
	int err;

	memset(lb, 0, sizeof(*lb));
	err = kfunc(btf, "bpf_dynptr_from_skb", &lb->kf_from_skb, why, whylen);
	if (!err)
		err = kfunc(btf, "bpf_dynptr_slice", &lb->kf_slice, why,
			    whylen);
	for (i = 0; !err && i < sizeof(fields) / sizeof(fields[0]); i++)
		err = field(btf, &fields[i], why, whylen);
	return err;
}

int linkbtf_get(const struct linkbtf **out, char *why, size_t whylen)
{
	static struct linkbtf lb;
	static int state;	/* 0 unknown, 1 resolved, < 0 -errno */
	static char msg[160];
	struct btf *btf;

	if (!state) {
		btf = btf__load_vmlinux_btf();
		if (!btf) {
			state = -errno ? -errno : -ENOENT;
			snprintf(msg, sizeof(msg), "kernel BTF: %s",
				 strerror(-state));
		} else {
			state = linkbtf_resolve(btf, &lb, msg, sizeof(msg));
			if (!state)
				state = 1;
			btf__free(btf);
		}
	}
	if (state < 0) {
		snprintf(why, whylen, "%s", msg);
		return state;
	}
	*out = &lb;
	return 0;
}
