/* SPDX-License-Identifier: GPL-2.0 */
/* Shared by the nft-jit subcommands: names, network namespaces, errors. */
#ifndef NFTJ_CLI_H
#define NFTJ_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "model.h"

#define EXIT_USAGE	2

/* enter network namespace NAME (/run/netns/NAME) or PATH; -errno */
int nftj_netns_enter(const char *name);
/* the same for a command: prints the error; 0 or -errno */
int cli_netns_enter(const char *name);

int cli_family_parse(const char *s, uint32_t *family);
const char *cli_family_name(uint32_t family);
const char *cli_hook_name(uint32_t hook);

/* index, ARPHRD type and address (6 bytes, or NULL) of an interface */
int cli_iface_lookup(const char *name, uint32_t *ifindex, uint16_t *type,
		     uint8_t *addr);

/*
 * Find the family of table `table`: `family` if given (non-zero), else
 * the only family with such a table.  Prints the error; -errno.
 */
int cli_table_family(const struct nftj_ruleset *rs, const char *table,
		     uint32_t family, uint32_t *out);

/* dump the ruleset, printing a clear error; returns 0 or -errno */
int cli_ruleset_load(struct nftj_ruleset *rs);

struct nftj_kctl;
/* open the kernel part's control socket, printing a clear error */
int cli_kctl_open(struct nftj_kctl *k);

void cli_errmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int cmd_compile(int argc, char **argv, const char *netns);
int cmd_eval(int argc, char **argv, const char *netns);
int cmd_attach(int argc, char **argv, const char *netns);
int cmd_detach(int argc, char **argv, const char *netns);
int cmd_kstatus(int argc, char **argv, const char *netns);
int cmd_attach_link(int argc, char **argv, const char *netns);
int cmd_bench(int argc, char **argv, const char *netns);
int cmd_daemon(int argc, char **argv, const char *netns);
int cmd_status(int argc, char **argv, const char *netns);

#endif /* NFTJ_CLI_H */
