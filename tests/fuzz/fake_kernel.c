// SPDX-License-Identifier: GPL-2.0
/*
 * What the pipeline asks of the kernel, faked for the fuzzer: it must run
 * unprivileged, fast, and never load anything.
 *
 * - BPF maps (the test and link targets create them before emitting
 *   code): libbpf's bpf_map_create() and bpf_map_update_elem() are
 *   replaced (the fuzzer's definitions win over libbpf.so's for the
 *   objects linked into it).  A map is an fd of /dev/null, so that
 *   close() works; the kernel's checks on sizes are applied, every key
 *   and value is read in full (AddressSanitizer sees an overread), and a
 *   map filled beyond the max_entries it was created with, or a map
 *   still open after the program is freed, is a bug (abort()).
 * - Loading: bpf_prog_load() and bpf_obj_get_info_by_fd() must not be
 *   reached with NFTJ_F_NO_LOAD (abort()).
 * - The link target's kernel BTF (/sys/kernel/btf/vmlinux): a small BTF
 *   built here with the structs and kfuncs linkbtf.c looks up.
 * - A seccomp filter turns any bpf() or AF_NETLINK socket() syscall into
 *   SIGSYS, reported as a crash: nothing reaches the kernel.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>

#include "fuzz.h"

#define FAKE_FD_MAX	1024

struct fake_map {
	bool used;
	enum bpf_map_type type;
	uint32_t key_size, value_size, max_entries, n;
};

static struct fake_map maps[FAKE_FD_MAX];
volatile uint8_t fake_sink;	/* what keys and values were read into */

static void die(const char *what)
{
	fprintf(stderr, "fuzz: %s\n", what);
	abort();
}

/* the kernel's map_create() checks that matter for these types */
static int map_check(enum bpf_map_type type, uint32_t key, uint32_t value,
		     uint32_t max, const struct bpf_map_create_opts *opts)
{
	uint32_t flags = opts ? opts->map_flags : 0;

	if (!key || !value || !max)
		return -EINVAL;
	switch (type) {
	case BPF_MAP_TYPE_ARRAY:
	case BPF_MAP_TYPE_PROG_ARRAY:
		if (key != 4)
			return -EINVAL;
		if (type == BPF_MAP_TYPE_PROG_ARRAY && value != 4)
			return -EINVAL;
		return 0;
	case BPF_MAP_TYPE_HASH:
		return key > 512 ? -E2BIG : 0;	/* MAX_BPF_STACK */
	case BPF_MAP_TYPE_LPM_TRIE:
		/* u32 prefix length, 1..256 bytes of data; no prealloc */
		if (key < 4 + 1 || key > 4 + 256 ||
		    !(flags & BPF_F_NO_PREALLOC))
			return -EINVAL;
		return 0;
	default:
		die("bpf_map_create: a map type the pipeline does not use");
	}
	return -EINVAL;
}

int bpf_map_create(enum bpf_map_type type, const char *name, __u32 key_size,
		   __u32 value_size, __u32 max_entries,
		   const struct bpf_map_create_opts *opts)
{
	int err, fd;

	(void)name;
	err = map_check(type, key_size, value_size, max_entries, opts);
	if (err) {
		errno = -err;
		return err;
	}
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fd >= FAKE_FD_MAX)
		die("bpf_map_create: too many maps open (a leak?)");
	maps[fd] = (struct fake_map){ true, type, key_size, value_size,
				      max_entries, 0 };
	return fd;
}

int bpf_map_update_elem(int fd, const void *key, const void *value,
			__u64 flags)
{
	const uint8_t *k = key, *v = value;
	struct fake_map *m;
	uint32_t i;

	(void)flags;
	if (fd < 0 || fd >= FAKE_FD_MAX || !maps[fd].used)
		die("bpf_map_update_elem: not a map of ours");
	m = &maps[fd];
	for (i = 0; i < m->key_size; i++)	/* all of it is read */
		fake_sink ^= k[i];
	for (i = 0; i < m->value_size; i++)
		fake_sink ^= v[i];
	if (m->type == BPF_MAP_TYPE_ARRAY || m->type == BPF_MAP_TYPE_PROG_ARRAY)
		return 0;
	if (++m->n > m->max_entries)
		die("bpf_map_update_elem: more elements than the map was created for");
	return 0;
}

int bpf_prog_load(enum bpf_prog_type type, const char *name,
		  const char *license, const struct bpf_insn *insns,
		  size_t insn_cnt, const struct bpf_prog_load_opts *opts)
{
	die("bpf_prog_load: loading with NFTJ_F_NO_LOAD");
	return -EPERM;
}

int bpf_obj_get_info_by_fd(int fd, void *info, __u32 *len)
{
	die("bpf_obj_get_info_by_fd: reached with NFTJ_F_NO_LOAD");
	return -EPERM;
}

void fake_maps_check(void)
{
	int fd;

	for (fd = 0; fd < FAKE_FD_MAX; fd++) {
		if (!maps[fd].used)
			continue;
		maps[fd].used = false;
		if (fcntl(fd, F_GETFD) >= 0)
			die("a BPF map is still open after nftj_prog_free()");
	}
}

/* the kernel BTF of the link target: what linkbtf.c reads, nothing else */

struct fake_field {
	const char *name;
	int type;
	uint32_t bits, bitsize;
};

static int add_fields(struct btf *btf, const char *sname, uint32_t size,
		      const struct fake_field *f, size_t n)
{
	size_t i;
	int err;

	err = btf__add_struct(btf, sname, size);
	for (i = 0; err > 0 && i < n; i++)
		if (btf__add_field(btf, f[i].name, f[i].type, f[i].bits,
				   f[i].bitsize))
			return -1;
	return err > 0 ? 0 : -1;
}

struct btf *btf__load_vmlinux_btf(void)
{
	struct btf *btf = btf__new_empty();
	int u8, u16, u32, ptr, proto;

	if (!btf)
		return NULL;
	u8 = btf__add_int(btf, "u8", 1, 0);
	u16 = btf__add_int(btf, "u16", 2, 0);
	u32 = btf__add_int(btf, "u32", 4, 0);
	ptr = btf__add_ptr(btf, u8);
	{
		const struct fake_field ctx[] = {
			{ "state", ptr, 0, 0 }, { "skb", ptr, 64, 0 },
		};
		const struct fake_field st[] = {
			{ "hook", u8, 0, 0 }, { "pf", u8, 8, 0 },
			{ "in", ptr, 64, 0 }, { "out", ptr, 128, 0 },
		};
		const struct fake_field skb[] = {
			{ "len", u32, 112 * 8, 0 },
			{ "pkt_type", u8, 128 * 8, 3 },
			{ "mark", u32, 168 * 8, 0 },
			{ "protocol", u16, 180 * 8, 0 },
		};
		const struct fake_field dev[] = {
			{ "ifindex", u32, 256 * 8, 0 },
			{ "type", u16, 570 * 8, 0 },
		};

		if (add_fields(btf, "bpf_nf_ctx", 16, ctx, 2) ||
		    add_fields(btf, "nf_hook_state", 48, st, 4) ||
		    add_fields(btf, "sk_buff", 232, skb, 4) ||
		    add_fields(btf, "net_device", 2048, dev, 2))
			goto err;
	}
	proto = btf__add_func_proto(btf, u32);
	if (proto < 0 ||
	    btf__add_func(btf, "bpf_dynptr_from_skb", BTF_FUNC_GLOBAL,
			  proto) < 0 ||
	    btf__add_func(btf, "bpf_dynptr_slice", BTF_FUNC_GLOBAL, proto) < 0)
		goto err;
	return btf;
err:
	btf__free(btf);
	errno = ENOMEM;
	return NULL;
}

/* nothing reaches the kernel: bpf() and netlink sockets trap */

static void on_sigsys(int sig)
{
	static const char msg[] =
		"fuzz: a bpf() or netlink socket() syscall: the pipeline must not reach the kernel\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(1);
	abort();
}

int fake_kernel_guard(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_bpf, 3, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_NETLINK, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {
		.len = sizeof(f) / sizeof(f[0]), .filter = f,
	};

	signal(SIGSYS, on_sigsys);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
		perror("fuzz: seccomp");
		return -1;
	}
	return 0;
}
