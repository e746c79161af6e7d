// SPDX-License-Identifier: GPL-2.0
/*
 * The services kfunc in the kernel's BTF: walk the loaded BTF objects
 * (bpf_btf_get_next_id), find the module's by name, load it split on
 * vmlinux's and look the function up; check its prototype.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>

#include "kfunc.h"

#define NFTJ_KFUNC_NARGS	4	/* skb, svc, regs, regs__sz */

/* the fd of the kernel BTF object called `module`; -ENOENT if none */
static int module_btf(const char *module, uint32_t *id_out, char *why,
		      size_t whylen)
{
	uint32_t id = 0;
	int fd, err;

	for (;;) {
		struct bpf_btf_info info = {};
		uint32_t len = sizeof(info);
		char name[64] = "";

		if (bpf_btf_get_next_id(id, &id)) {
			if (errno == ENOENT)
				return -ENOENT;
			err = -errno;
			snprintf(why, whylen, "listing the kernel's BTF: %s",
				 strerror(errno));
			return err;
		}
		fd = bpf_btf_get_fd_by_id(id);
		if (fd < 0) {
			if (errno == ENOENT)	/* unloaded meanwhile */
				continue;
			err = -errno;
			snprintf(why, whylen, "opening BTF object %u: %s", id,
				 strerror(errno));
			return err;
		}
		info.name = (uint64_t)(unsigned long)name;
		info.name_len = sizeof(name);
		if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
			err = -errno;
			snprintf(why, whylen, "BTF object %u: %s", id,
				 strerror(errno));
			close(fd);
			return err;
		}
		if (info.kernel_btf && !strcmp(name, module)) {
			*id_out = id;
			return fd;
		}
		close(fd);
	}
}

/* the function's id in btf, checking it takes NFTJ_KFUNC_NARGS args */
static int func_id(const struct btf *btf, const char *name,
		   const char *where, char *why, size_t whylen)
{
	const struct btf_type *t;
	int id = btf__find_by_name_kind(btf, name, BTF_KIND_FUNC);

	if (id < 0)
		return -ENOPKG;
	t = btf__type_by_id(btf, btf__type_by_id(btf, id)->type);
	if (!t || !btf_is_func_proto(t) || btf_vlen(t) != NFTJ_KFUNC_NARGS) {
		snprintf(why, whylen,
			 "%s: %s has %d arguments, not %d: kernel part of another version",
			 where, name, t && btf_is_func_proto(t) ? btf_vlen(t) : -1,
			 NFTJ_KFUNC_NARGS);
		return -EPROTO;
	}
	return id;
}

int nftj_kfunc_find(struct nftj_kfunc *kf, const char *module,
		    const char *name, char *why, size_t whylen)
{
	struct btf *vmlinux, *mod = NULL;
	uint32_t mod_id = 0;
	int fd, id, err;

	memset(kf, 0, sizeof(*kf));
	kf->btf_fd = -1;
	kf->fd_array[0] = -1;
	kf->fd_array[1] = -1;
	why[0] = '\0';

	vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux) {
		err = -errno;
		snprintf(why, whylen, "reading the kernel's BTF: %s",
			 strerror(errno));
		return err;
	}
	fd = module_btf(module, &mod_id, why, whylen);
	if (fd >= 0) {
		mod = btf__load_from_kernel_by_id_split(mod_id, vmlinux);
		if (!mod) {
			err = -errno;
			snprintf(why, whylen, "reading the BTF of %s: %s",
				 module, strerror(errno));
			goto fail;
		}
		id = func_id(mod, name, module, why, whylen);
		if (id >= 0) {
			kf->btf_id = (uint32_t)id;
			kf->off = NFTJ_KFUNC_FD_IDX;
			kf->btf_fd = fd;
			kf->fd_array[NFTJ_KFUNC_FD_IDX] = fd;
			btf__free(mod);
			btf__free(vmlinux);
			return 0;
		}
		btf__free(mod);
		close(fd);
		fd = -1;
		if (id != -ENOPKG) {
			btf__free(vmlinux);
			return id;
		}
	} else if (fd != -ENOENT) {
		btf__free(vmlinux);
		return fd;
	}
	/* nf_tables built into the kernel */
	id = func_id(vmlinux, name, "vmlinux", why, whylen);
	btf__free(vmlinux);
	if (id >= 0) {
		kf->btf_id = (uint32_t)id;
		return 0;
	}
	if (id == -ENOPKG)
		snprintf(why, whylen,
			 "kernel part not loaded: %s has no %s kfunc", module,
			 name);
	return id;
fail:
	if (fd >= 0)
		close(fd);
	btf__free(vmlinux);
	return err;
}

void nftj_kfunc_release(struct nftj_kfunc *kf)
{
	if (kf->btf_fd >= 0)
		close(kf->btf_fd);
	kf->btf_fd = -1;
	kf->fd_array[NFTJ_KFUNC_FD_IDX] = -1;
}

size_t nftj_kfunc_patch(struct bbuf *b, const struct nftj_kfunc *kf)
{
	size_t i, n = 0;

	for (i = 0; i < b->len; i++) {
		if (!nftj_insn_is_kfunc_call(&b->insn[i]))
			continue;
		b->insn[i].imm = (int32_t)kf->btf_id;
		b->insn[i].off = kf->off;
		n++;
	}
	return n;
}
