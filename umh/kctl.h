/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Control client of the kernel part: the generic netlink family
 * NFTJ_GENL_NAME (uapi nf_tables_jit.h).  One socket per context, in the
 * network namespace the caller is in when it opens it.
 */
#ifndef NFTJ_KCTL_H
#define NFTJ_KCTL_H

#include <stddef.h>
#include <stdint.h>

struct mnl_socket;
struct nftj_service;

struct nftj_kctl {
	struct mnl_socket *nl;
	uint16_t family;		/* generic netlink family id */
	uint32_t seq;
	char ext_msg[256];		/* the kernel's message for the last
					 * error (extended ack), or "" */
};

/*
 * Resolve the family and open the socket.  -ENOENT: no such family, the
 * kernel part is not loaded; other -errno from the socket.
 */
int nftj_kctl_open(struct nftj_kctl *k);
void nftj_kctl_close(struct nftj_kctl *k);

/* the request; its pointers are borrowed for the call */
struct nftj_kattach {
	uint32_t family;		/* NFPROTO_IPV4, _IPV6, _INET */
	const char *table, *chain;
	uint32_t genid;			/* of the dump the program is from */
	int prog_fd;
	const struct nftj_service *svc;	/* NFTJ_A_SERVICES, in order */
	size_t nsvc;
};

/*
 * NFTJ_CMD_ATTACH.  0 or -errno: -ESTALE (the generation changed: dump
 * and compile again), -E2BIG (the service table does not fit in one
 * netlink attribute, 64 KiB), or what the kernel said (k->ext_msg).
 */
int nftj_kctl_attach(struct nftj_kctl *k, const struct nftj_kattach *a);

/* NFTJ_CMD_DETACH.  0 or -errno (-ENOENT: nothing attached). */
int nftj_kctl_detach(struct nftj_kctl *k, uint32_t family,
		     const char *table, const char *chain);

/* one attachment, from NFTJ_CMD_GET */
struct nftj_kstat {
	uint32_t family;
	char table[256], chain[256];
	uint32_t genid, prog_id, nrules, nchains, nservices;
	uint64_t runs, resumes, fallbacks;
	uint64_t recounts;		/* fallbacks after counters ran */
	uint64_t detaches;		/* the namespace's, by commits */
	uint64_t destroyed;		/* the namespace's: released with a
					 * chain freed outside a commit */
};

/* called per attachment; a non-zero return stops with that value */
typedef int (*nftj_kstat_cb)(const struct nftj_kstat *st, void *data);

/*
 * NFTJ_CMD_GET of one chain (table and chain not NULL) or a dump of the
 * namespace's attachments.  0 or -errno (-ENOENT: nothing attached to
 * that chain).
 */
int nftj_kctl_get(struct nftj_kctl *k, uint32_t family, const char *table,
		  const char *chain, nftj_kstat_cb cb, void *data);

/* all of the namespace's attachments, as one array */
struct nftj_kstats {
	struct nftj_kstat *v;
	size_t n, cap;
};

/* NFTJ_CMD_GET dump into *s (empty first); 0 or -errno */
int nftj_kctl_get_all(struct nftj_kctl *k, struct nftj_kstats *s);
/* the attachment of family/table/chain in s, or NULL */
const struct nftj_kstat *nftj_kstats_find(const struct nftj_kstats *s,
					  uint32_t family, const char *table,
					  const char *chain);
void nftj_kstats_free(struct nftj_kstats *s);

/*
 * The namespace's DETACHES and DESTROYED without an attachment to carry
 * them: NFTJ_CMD_GET without FAMILY, TABLE and CHAIN.  0 or -errno
 * (-EINVAL from a kernel part that answers only per chain).
 */
int nftj_kctl_detaches(struct nftj_kctl *k, uint64_t *detaches,
		       uint64_t *destroyed);

#endif /* NFTJ_KCTL_H */
