/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Finding the services kfunc (NFTJ_SVC_KFUNC) in the running kernel's BTF
 * and encoding calls to it.
 *
 * A call to a kernel function is BPF_JMP | BPF_CALL with src_reg
 * BPF_PSEUDO_KFUNC_CALL, imm the function's BTF type id (BTF_KIND_FUNC)
 * and off the index in the program load's fd_array of the BTF that id
 * belongs to: 0 for vmlinux, a module BTF's fd otherwise (index 0 of
 * fd_array is never used for a module, so it is 1 here).
 */
#ifndef NFTJ_KFUNC_H
#define NFTJ_KFUNC_H

#include <stddef.h>
#include <stdint.h>

#include "bpfbuf.h"

#define NFTJ_KFUNC_MODULE	"nf_tables"
#define NFTJ_KFUNC_FD_IDX	1	/* fd_array slot of the module BTF */

struct nftj_kfunc {
	uint32_t btf_id;	/* of the BTF_KIND_FUNC */
	int16_t off;		/* fd_array index: NFTJ_KFUNC_FD_IDX or 0 */
	int btf_fd;		/* module BTF, -1 if the function is in vmlinux */
	int fd_array[2];	/* for bpf_prog_load_opts.fd_array */
};

/*
 * Find function `name` in the BTF of kernel module `module`, else in
 * vmlinux.  Returns 0, -ENOPKG (not there: `why` says "kernel part not
 * loaded: ..."), or another -errno with `why` naming what failed.
 */
int nftj_kfunc_find(struct nftj_kfunc *kf, const char *module,
		    const char *name, char *why, size_t whylen);
void nftj_kfunc_release(struct nftj_kfunc *kf);

/* point every kfunc call of the buffer at kf; returns how many */
size_t nftj_kfunc_patch(struct bbuf *b, const struct nftj_kfunc *kf);

static inline int nftj_insn_is_kfunc_call(const struct bpf_insn *in)
{
	return in->code == (BPF_JMP | BPF_CALL) &&
	       in->src_reg == BPF_PSEUDO_KFUNC_CALL;
}

#endif /* NFTJ_KFUNC_H */
