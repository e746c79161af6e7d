// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables_jit.h>

#include "cli.h"
#include "kctl.h"

void cli_errmsg(const char *fmt, ...)
{
	va_list ap;

	fputs("nft-jit: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int nftj_netns_enter(const char *name)
{
	char path[512];
	int fd, err = 0;

	if (strchr(name, '/'))
		snprintf(path, sizeof(path), "%s", name);
	else
		snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (setns(fd, CLONE_NEWNET) < 0)
		err = -errno;
	close(fd);
	return err;
}

int cli_netns_enter(const char *name)
{
	int err = nftj_netns_enter(name);

	if (err)
		cli_errmsg("network namespace %s: %s", name, strerror(-err));
	return err;
}

static const struct {
	const char *name;
	uint32_t family;
} families[] = {
	{ "ip", NFPROTO_IPV4 }, { "ip6", NFPROTO_IPV6 },
	{ "inet", NFPROTO_INET }, { "arp", NFPROTO_ARP },
	{ "bridge", NFPROTO_BRIDGE }, { "netdev", NFPROTO_NETDEV },
};

int cli_family_parse(const char *s, uint32_t *family)
{
	size_t i;

	for (i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		if (!strcmp(s, families[i].name)) {
			*family = families[i].family;
			return 0;
		}
	}
	return -EINVAL;
}

const char *cli_family_name(uint32_t family)
{
	size_t i;

	for (i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		if (families[i].family == family)
			return families[i].name;
	return "unknown";
}

const char *cli_hook_name(uint32_t hook)
{
	static const char *const n[] = {
		"prerouting", "input", "forward", "output", "postrouting",
		"ingress",
	};

	return hook < sizeof(n) / sizeof(n[0]) ? n[hook] : "unknown";
}

int cli_iface_lookup(const char *name, uint32_t *ifindex, uint16_t *type,
		     uint8_t *addr)
{
	struct ifreq ifr = {};
	int fd, err = 0;

	*ifindex = if_nametoindex(name);
	if (!*ifindex)
		return -ENODEV;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		err = -errno;
	else
		*type = ifr.ifr_hwaddr.sa_family;
	if (!err && addr)
		memcpy(addr, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
	return err;
}

int cli_table_family(const struct nftj_ruleset *rs, const char *table,
		     uint32_t family, uint32_t *out)
{
	struct nftnl_table_list_iter *it;
	struct nftnl_table *t;
	int found = 0;

	it = nftnl_table_list_iter_create(rs->tables);
	if (!it)
		return -ENOMEM;
	while ((t = nftnl_table_list_iter_next(it))) {
		uint32_t f = nftnl_table_get_u32(t, NFTNL_TABLE_FAMILY);

		if (strcmp(nftnl_table_get_str(t, NFTNL_TABLE_NAME), table))
			continue;
		if (family && f != family)
			continue;
		if (found++) {
			cli_errmsg("table %s exists in families %s and %s: use --family",
				   table, cli_family_name(*out),
				   cli_family_name(f));
			nftnl_table_list_iter_destroy(it);
			return -EINVAL;
		}
		*out = f;
	}
	nftnl_table_list_iter_destroy(it);
	if (!found) {
		cli_errmsg("no table %s%s%s", family ? cli_family_name(family) : "",
			   family ? " " : "", table);
		return -ENOENT;
	}
	return 0;
}

int cli_ruleset_load(struct nftj_ruleset *rs)
{
	int err = nftj_ruleset_dump(rs, NFPROTO_UNSPEC);

	if (err)
		cli_errmsg("cannot read the nf_tables ruleset: %s%s",
			   strerror(-err), err == -EPERM ?
			   " (CAP_NET_ADMIN is needed)" : "");
	return err;
}

int cli_kctl_open(struct nftj_kctl *k)
{
	int err = nftj_kctl_open(k);

	if (err == -ENOENT)
		cli_errmsg("kernel part not loaded: no generic netlink family %s (nf_tables without the JIT)",
			   NFTJ_GENL_NAME);
	else if (err)
		cli_errmsg("generic netlink family %s: %s", NFTJ_GENL_NAME,
			   strerror(-err));
	return err;
}
