// SPDX-License-Identifier: GPL-2.0
/*
 * nft-jit status, the data: per base chain of the dump, what runs it.
 *
 * Three sources, in this order of authority:
 *  - the kernel part (NFTJ_CMD_GET dump): which chain has a program, of
 *    which generation, and its counters; the programs themselves through
 *    libbpf (instructions, JIT size, tail-called segments);
 *  - the daemon's state file ($NFTJ_STATE_DIR/netns-<inode>.json, see
 *    /work/notes/issue4-spec.md and docs/status.md): why a chain stays
 *    with the interpreter, the first interpreted rule, build times; used
 *    for an attached chain only when it describes that very program;
 *  - an emit-only compile of the current ruleset (NFTJ_F_NO_LOAD) when
 *    the state file does not explain an attached program (attached by
 *    `nft-jit attach`, or no daemon), and for -v.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables_jit.h>

#include "annotate.h"
#include "cli.h"
#include "jit.h"
#include "report.h"
#include "kctl.h"
#include "ruletext.h"
#include "status.h"

#define MAX_MAP_IDS	64

struct ctx {
	const struct status_opts *o;
	struct nftj_ruleset rs;
	bool kernel_part;
	bool kernel_missing;		/* no nft_jit family at all */
	char kwhy[300];			/* why the kernel part is not there */
	struct nftj_kstats att;		/* the kernel's attachments */
	json_t *state;			/* state file, NULL if none/unusable */
	bool daemon_running;
	bool state_gen_known;
	uint32_t state_gen;		/* generation of the last sync */
};

/* ---- the daemon's state file ---------------------------------------- */

static json_t *jcopy(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return v ? json_incref(v) : json_null();
}

static int netns_inode(uint64_t *ino)
{
	struct stat st;

	if (stat("/proc/self/ns/net", &st) < 0)
		return -errno;
	*ino = st.st_ino;
	return 0;
}

static bool pid_alive(json_int_t pid)
{
	if (pid <= 0 || pid > INT32_MAX)
		return false;
	return !kill((pid_t)pid, 0) || errno == EPERM;
}

/*
 * The "daemon" object of the report, or null when there is no state
 * file.  Keeps the state file's root in c->state when it is usable.
 */
static json_t *daemon_load(struct ctx *c, const char *path, uint64_t ino)
{
	static const char *const copied[] = {
		"pid", "netns", "started", "updated", "generation", "syncs",
		"resyncs", "stale_retries",
	};
	json_error_t jerr;
	json_t *root, *d, *v;
	char msg[512] = "";
	size_t i;

	if (access(path, F_OK) < 0 && errno == ENOENT)
		return json_null();
	d = json_object();
	root = json_load_file(path, 0, &jerr);
	if (!root) {
		snprintf(msg, sizeof(msg), "cannot read the state file: %s",
			 jerr.text);
	} else if (!json_is_object(root) ||
		   json_integer_value(json_object_get(root, "version")) != 1) {
		snprintf(msg, sizeof(msg),
			 "state file of an unknown version (expected 1)");
	} else if (!json_is_integer(json_object_get(root, "netns_inode")) ||
		   (uint64_t)json_integer_value(
			   json_object_get(root, "netns_inode")) != ino) {
		snprintf(msg, sizeof(msg),
			 "state file of another network namespace (inode %lld)",
			 json_integer_value(json_object_get(root,
							    "netns_inode")));
	}
	for (i = 0; i < sizeof(copied) / sizeof(copied[0]); i++)
		json_object_set_new(d, copied[i], root && !msg[0] ?
				    jcopy(root, copied[i]) : json_null());
	if (msg[0]) {
		json_decref(root);
		json_object_set_new(d, "running", json_false());
		json_object_set_new(d, "error", json_string(msg));
		return d;
	}
	c->daemon_running = pid_alive(json_integer_value(
			json_object_get(root, "pid")));
	v = json_object_get(root, "generation");
	if (json_is_integer(v)) {
		c->state_gen_known = true;
		c->state_gen = (uint32_t)json_integer_value(v);
	}
	json_object_set_new(d, "running", json_boolean(c->daemon_running));
	json_object_set_new(d, "error", json_null());
	c->state = root;
	return d;
}

static json_t *state_chain(const struct ctx *c, const char *family,
			   const char *table, const char *chain)
{
	json_t *e;
	size_t i;

	if (!c->state)
		return NULL;
	json_array_foreach(json_object_get(c->state, "chains"), i, e) {
		const char *f = json_string_value(json_object_get(e, "family"));
		const char *t = json_string_value(json_object_get(e, "table"));
		const char *n = json_string_value(json_object_get(e, "chain"));

		if (f && t && n && !strcmp(f, family) && !strcmp(t, table) &&
		    !strcmp(n, chain))
			return e;
	}
	return NULL;
}

/* ---- the kernel part -------------------------------------------------- */

/* the kernel part's attachments; false and why when it is not there */
static bool kernel_load(struct ctx *c)
{
	size_t size = sizeof(c->kwhy);
	char *why = c->kwhy;
	struct nftj_kctl k;
	int err;

	err = nftj_kctl_open(&k);
	if (err == -ENOENT) {
		c->kernel_missing = true;
		snprintf(why, size,
			 "no generic netlink family %s: nf_tables without the JIT",
			 NFTJ_GENL_NAME);
		return false;
	}
	if (err) {
		snprintf(why, size, "generic netlink family %s: %s",
			 NFTJ_GENL_NAME, strerror(-err));
		return false;
	}
	err = nftj_kctl_get_all(&k, &c->att);
	if (err)
		snprintf(why, size, "reading its attachments: %s%s%s",
			 strerror(-err), k.ext_msg[0] ? ": " : "", k.ext_msg);
	nftj_kctl_close(&k);
	return !err;
}

struct kprog {
	char name[BPF_OBJ_NAME_LEN];
	uint64_t insns, jited_len;
	uint32_t nprogs;
};

static int prog_info(uint32_t id, struct bpf_prog_info *info,
		     uint32_t *map_ids)
{
	uint32_t len = sizeof(*info);
	int fd, err = 0;

	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return -errno;
	memset(info, 0, sizeof(*info));
	info->nr_map_ids = MAX_MAP_IDS;
	info->map_ids = (uint64_t)(unsigned long)map_ids;
	if (bpf_obj_get_info_by_fd(fd, info, &len))
		err = -errno;
	close(fd);
	if (!err && info->nr_map_ids > MAX_MAP_IDS)
		info->nr_map_ids = MAX_MAP_IDS;
	return err;
}

/* add the programs of prog array map `map_id` to ids[] */
static void prog_array_walk(uint32_t map_id, uint32_t *ids, uint32_t *n,
			    uint32_t max)
{
	struct bpf_map_info mi = {};
	uint32_t len = sizeof(mi), k, v, j;
	int fd;

	fd = bpf_map_get_fd_by_id(map_id);
	if (fd < 0)
		return;
	if (bpf_obj_get_info_by_fd(fd, &mi, &len) ||
	    mi.type != BPF_MAP_TYPE_PROG_ARRAY) {
		close(fd);
		return;
	}
	for (k = 0; k < mi.max_entries; k++) {
		/* from user space, a prog array's value is the program id */
		if (bpf_map_lookup_elem(fd, &k, &v))
			continue;
		for (j = 0; j < *n && ids[j] != v; j++)
			;
		if (j == *n && *n < max)
			ids[(*n)++] = v;
	}
	close(fd);
}

/*
 * The program and the segments it tail-calls: instructions as the kernel
 * runs them (xlated, after the verifier's rewrites) and JIT size, summed.
 */
static int kprog_get(uint32_t id, struct kprog *kp)
{
	uint32_t ids[CG_MAX_SEGS + 1], map_ids[MAX_MAP_IDS], n = 1, i, m, j;
	uint32_t seen[MAX_MAP_IDS], nseen = 0;
	struct bpf_prog_info info;
	int err;

	memset(kp, 0, sizeof(*kp));
	ids[0] = id;
	for (i = 0; i < n; i++) {
		err = prog_info(ids[i], &info, map_ids);
		if (err) {
			if (!i)
				return err;
			continue;	/* a segment went away meanwhile */
		}
		if (!i)
			snprintf(kp->name, sizeof(kp->name), "%s", info.name);
		kp->insns += info.xlated_prog_len / sizeof(struct bpf_insn);
		kp->jited_len += info.jited_prog_len;
		kp->nprogs++;
		for (m = 0; m < info.nr_map_ids; m++) {
			/* the segments share one prog array: read it once */
			for (j = 0; j < nseen && seen[j] != map_ids[m]; j++)
				;
			if (j < nseen)
				continue;
			if (nseen < MAX_MAP_IDS)
				seen[nseen++] = map_ids[m];
			prog_array_walk(map_ids[m], ids, &n,
					sizeof(ids) / sizeof(ids[0]));
		}
	}
	return 0;
}

/* ---- one base chain --------------------------------------------------- */

static const char *chain_hook_name(uint32_t family, uint32_t hook)
{
	static const char *const arp[] = { "input", "output", "forward" };

	switch (family) {
	case NFPROTO_NETDEV:
		return hook == 0 ? "ingress" : hook == 1 ? "egress" : "unknown";
	case NFPROTO_ARP:
		return hook < 3 ? arp[hook] : "unknown";
	default:
		return cli_hook_name(hook);
	}
}

static size_t chain_rules(const struct nftj_ruleset *rs, uint32_t family,
			  const char *table, const char *chain)
{
	struct nftnl_rule_list_iter *it;
	struct nftnl_rule *r;
	size_t n = 0;

	it = nftnl_rule_list_iter_create(rs->rules);
	while (it && (r = nftnl_rule_list_iter_next(it)))
		if (nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY) == family &&
		    !strcmp(nftnl_rule_get_str(r, NFTNL_RULE_TABLE), table) &&
		    !strcmp(nftnl_rule_get_str(r, NFTNL_RULE_CHAIN), chain))
			n++;
	if (it)
		nftnl_rule_list_iter_destroy(it);
	return n;
}

static void set(json_t *r, const char *key, json_t *v)
{
	json_object_set_new(r, key, v ? v : json_null());
}

/* state, compiled, first_interpreted and reason from an emit-only compile */
static void from_compile(json_t *r, const struct nftj_prog *jp, int err)
{
	const struct imr_chain *ch;
	size_t rules, compiled;

	if (err) {
		char why[400];

		snprintf(why, sizeof(why),
			 "cannot tell which rules the program runs: compiling the current ruleset: %s",
			 jp->why[0] ? jp->why : strerror(-err));
		set(r, "state", json_string("partial"));
		set(r, "reason", json_string(why));
		return;
	}
	ch = &jp->imr.chains[0];
	rules = nftj_prog_rules(jp);
	compiled = nftj_prog_compiled(jp);
	set(r, "compiled", json_integer((json_int_t)compiled));
	if (ch->first_unsupported >= 0) {
		const struct imr_rule *u = &ch->rules[ch->first_unsupported];

		set(r, "first_interpreted", json_pack("{s:I, s:i, s:s}",
			"handle", (json_int_t)u->handle,
			"index", ch->first_unsupported, "reason", u->reason));
		set(r, "reason", json_string(u->reason));
	}
	set(r, "state", json_string(compiled == rules ? "jit" :
				    compiled ? "partial" : "interpreter"));
}

/* what the state file says about the chain's build */
static void from_state(json_t *r, json_t *se)
{
	static const char *const copied[] = {
		"state", "reason", "first_interpreted", "compiled",
		"compile_ms", "attach_ms", "attached_at", "verifier_log",
	};
	size_t i;

	for (i = 0; i < sizeof(copied) / sizeof(copied[0]); i++)
		set(r, copied[i], jcopy(se, copied[i]));
}

static bool state_is(json_t *se, const char *state)
{
	const char *s = json_string_value(json_object_get(se, "state"));

	return s && !strcmp(s, state);
}

static json_t *program_json(const struct nftj_kstat *a, json_t *se)
{
	json_t *sp = json_object_get(se, "program");
	struct kprog kp;
	json_t *p;

	p = json_pack("{s:I}", "id", (json_int_t)a->prog_id);
	if (!kprog_get(a->prog_id, &kp)) {
		set(p, "name", json_string(kp.name));
		set(p, "insns", json_integer((json_int_t)kp.insns));
		set(p, "jited_len", json_integer((json_int_t)kp.jited_len));
		set(p, "programs", json_integer(kp.nprogs));
	} else {
		/* not readable (no CAP_SYS_ADMIN?): the daemon's figures */
		set(p, "name", jcopy(sp, "name"));
		set(p, "insns", jcopy(sp, "insns"));
		set(p, "jited_len", jcopy(sp, "jited_len"));
		set(p, "programs", jcopy(sp, "programs"));
	}
	set(p, "services", json_integer(a->nservices));
	set(p, "chains", json_integer(a->nchains));
	return p;
}

static json_t *chain_status(struct ctx *c, const struct nftnl_chain *nc)
{
	uint32_t family = nftnl_chain_get_u32(nc, NFTNL_CHAIN_FAMILY);
	const char *table = nftnl_chain_get_str(nc, NFTNL_CHAIN_TABLE);
	const char *chain = nftnl_chain_get_str(nc, NFTNL_CHAIN_NAME);
	const char *fam = cli_family_name(family);
	uint32_t policy = nftnl_chain_is_set(nc, NFTNL_CHAIN_POLICY) ?
			  nftnl_chain_get_u32(nc, NFTNL_CHAIN_POLICY) :
			  NF_ACCEPT;
	NFTJ_BUILD_OPTS(bo, .target = NFTJ_TARGET_KERNEL,
			.flags = NFTJ_F_NO_LOAD);
	const struct nftj_kstat *a = NULL;
	struct nftj_prog jp;
	bool built = false;
	int err = 0;
	json_t *r, *se;
	char why[400];

	nftj_prog_init(&jp);
	r = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:I}",
		      "family", fam, "table", table, "chain", chain,
		      "type", nftnl_chain_is_set(nc, NFTNL_CHAIN_TYPE) ?
			      nftnl_chain_get_str(nc, NFTNL_CHAIN_TYPE) :
			      "filter",
		      "hook", chain_hook_name(family, nftnl_chain_get_u32(nc,
						NFTNL_CHAIN_HOOKNUM)),
		      "priority", (int)nftnl_chain_get_u32(nc,
						NFTNL_CHAIN_PRIO),
		      "policy", policy == NF_DROP ? "drop" : "accept",
		      "rules", (json_int_t)chain_rules(&c->rs, family, table,
						       chain));
	set(r, "state", NULL);
	set(r, "reason", NULL);
	set(r, "first_interpreted", NULL);
	set(r, "compiled", NULL);
	set(r, "generation", NULL);
	set(r, "program", NULL);
	set(r, "runs", NULL);
	set(r, "resumes", NULL);
	set(r, "fallbacks", NULL);
	set(r, "compile_ms", NULL);
	set(r, "attach_ms", NULL);
	set(r, "attached_at", NULL);
	set(r, "verifier_log", NULL);
	set(r, "source", NULL);

	se = state_chain(c, fam, table, chain);
	if (family != NFPROTO_IPV4 && family != NFPROTO_IPV6 &&
	    family != NFPROTO_INET) {
		snprintf(why, sizeof(why),
			 "family %s: the kernel part runs chains of ip, ip6 and inet tables only",
			 fam);
		set(r, "state", json_string("interpreter"));
		set(r, "reason", json_string(why));
		set(r, "source", json_string("ruleset"));
	} else if (!c->kernel_part) {
		snprintf(why, sizeof(why), "kernel part not available: %s",
			 c->kwhy);
		set(r, "state", json_string("interpreter"));
		set(r, "reason", json_string(c->kernel_missing ?
					     "kernel part not loaded" : why));
		set(r, "source", json_string("kernel"));
	} else if ((a = nftj_kstats_find(&c->att, family, table, chain))) {
		json_t *prog = program_json(a, se);
		json_int_t sid = json_integer_value(json_object_get(
				json_object_get(se, "program"), "id"));

		set(r, "generation", json_integer(a->genid));
		set(r, "runs", json_integer((json_int_t)a->runs));
		set(r, "resumes", json_integer((json_int_t)a->resumes));
		set(r, "fallbacks", json_integer((json_int_t)a->fallbacks));
		if (se && sid == (json_int_t)a->prog_id) {
			from_state(r, se);
			set(r, "verifier_log", NULL);
			set(r, "source", json_string("daemon"));
		} else {
			/* attached by someone else, or no daemon: the rules
			 * it covers did not change since (the kernel
			 * detaches it then), so compiling again tells */
			err = nftj_prog_build(&jp, &c->rs, family, table,
					      chain, &bo);
			built = true;
			from_compile(r, &jp, err);
			set(r, "source", json_string("kernel"));
		}
		set(r, "program", prog);
	} else if (!c->daemon_running) {
		set(r, "state", json_string("interpreter"));
		set(r, "reason", json_string(
			"no program attached (daemon not running)"));
		set(r, "source", json_string("kernel"));
	} else if (se && state_is(se, "interpreter") &&
		   (json_integer_value(json_object_get(se, "generation")) ==
		    (json_int_t)c->rs.genid ||
		    (c->state_gen_known && c->state_gen == c->rs.genid))) {
		from_state(r, se);
		set(r, "source", json_string("daemon"));
	} else if (se && c->state_gen_known && c->state_gen == c->rs.genid &&
		   json_is_object(json_object_get(se, "program"))) {
		snprintf(why, sizeof(why),
			 "no program attached: the daemon's program %lld was detached (it compiles the chain again on the next change of its table)",
			 json_integer_value(json_object_get(json_object_get(
				 se, "program"), "id")));
		set(r, "state", json_string("interpreter"));
		set(r, "reason", json_string(why));
		set(r, "source", json_string("daemon"));
	} else {
		if (c->state_gen_known && c->state_gen == c->rs.genid)
			snprintf(why, sizeof(why),
				 "not in the daemon's state of this generation (%u)",
				 c->rs.genid);
		else if (c->state_gen_known)
			snprintf(why, sizeof(why),
				 "the daemon has not compiled it yet (ruleset generation %u, daemon's last sync %u)",
				 c->rs.genid, c->state_gen);
		else
			snprintf(why, sizeof(why),
				 "the daemon has not compiled it yet");
		set(r, "state", json_string("pending"));
		set(r, "reason", json_string(why));
		set(r, "source", json_string("daemon"));
	}

	if (c->o->verbose && a) {
		struct ruletext *rt;

		if (!built)
			err = nftj_prog_build(&jp, &c->rs, family, table,
					      chain, &bo);
		set(r, "disassembly_generation", json_integer(c->rs.genid));
		if (jp.imr.nchains)
			set(r, "optimizer", report_opt(&jp));
		if (!err && jp.insns) {
			rt = ruletext_load(family, table);
			set(r, "disassembly", nftj_annotate_json(&jp, rt));
			ruletext_free(rt);
		} else {
			set(r, "disassembly", NULL);
			set(r, "disassembly_error", json_string(
				jp.why[0] ? jp.why : strerror(-err)));
		}
	}
	nftj_prog_free(&jp);
	return r;
}

/* ---- the whole report ------------------------------------------------- */

static bool chain_selected(const struct status_opts *o,
			   const struct nftnl_chain *nc)
{
	return (!o->family ||
		nftnl_chain_get_u32(nc, NFTNL_CHAIN_FAMILY) == o->family) &&
	       (!o->table ||
		!strcmp(o->table, nftnl_chain_get_str(nc, NFTNL_CHAIN_TABLE))) &&
	       (!o->chain ||
		!strcmp(o->chain, nftnl_chain_get_str(nc, NFTNL_CHAIN_NAME)));
}

/* the table or chain named exists and is a base chain; prints why not */
static int check_named(const struct ctx *c)
{
	const struct status_opts *o = c->o;
	struct nftnl_chain_list_iter *it;
	struct nftnl_table_list_iter *ti;
	struct nftnl_table *t;
	struct nftnl_chain *nc;
	bool table = false, chain = false, base = false;

	if (!o->table)
		return 0;
	ti = nftnl_table_list_iter_create(c->rs.tables);
	while (ti && (t = nftnl_table_list_iter_next(ti)))
		if (nftnl_table_get_u32(t, NFTNL_TABLE_FAMILY) == o->family &&
		    !strcmp(nftnl_table_get_str(t, NFTNL_TABLE_NAME),
			    o->table))
			table = true;
	if (ti)
		nftnl_table_list_iter_destroy(ti);
	if (!table) {
		cli_errmsg("no table %s %s", cli_family_name(o->family), o->table);
		return 1;
	}
	if (!o->chain)
		return 0;
	it = nftnl_chain_list_iter_create(c->rs.chains);
	while (it && (nc = nftnl_chain_list_iter_next(it))) {
		if (!chain_selected(o, nc))
			continue;
		chain = true;
		base = nftnl_chain_is_set(nc, NFTNL_CHAIN_HOOKNUM);
	}
	if (it)
		nftnl_chain_list_iter_destroy(it);
	if (!chain) {
		cli_errmsg("no chain %s in table %s %s", o->chain,
			   cli_family_name(o->family), o->table);
		return 1;
	}
	if (!base) {
		cli_errmsg("chain %s %s %s is not a base chain: it runs within the programs of the base chains that jump to it",
			   cli_family_name(o->family), o->table, o->chain);
		return 1;
	}
	return 0;
}

int status_collect(const struct status_opts *o, json_t **out)
{
	struct nftnl_chain_list_iter *it;
	struct nftnl_chain *nc;
	struct ctx c = { .o = o };
	char path[600];
	json_t *chains, *daemon;
	uint64_t ino = 0;
	int err;

	if (cli_ruleset_load(&c.rs))
		return 1;
	if (check_named(&c)) {
		nftj_ruleset_free(&c.rs);
		return 1;
	}
	err = netns_inode(&ino);
	if (err)
		cli_errmsg("status: /proc/self/ns/net: %s (the daemon's state file cannot be found)",
			   strerror(-err));
	snprintf(path, sizeof(path), "%s/netns-%llu.json", o->state_dir,
		 (unsigned long long)ino);
	daemon = err ? json_null() : daemon_load(&c, path, ino);
	c.kernel_part = kernel_load(&c);

	chains = json_array();
	it = nftnl_chain_list_iter_create(c.rs.chains);
	while (it && (nc = nftnl_chain_list_iter_next(it))) {
		if (!nftnl_chain_is_set(nc, NFTNL_CHAIN_HOOKNUM) ||
		    !chain_selected(o, nc))
			continue;
		json_array_append_new(chains, chain_status(&c, nc));
	}
	if (it)
		nftnl_chain_list_iter_destroy(it);

	*out = json_pack("{s:b, s:o, s:o, s:I, s:I, s:s, s:o}",
			 "kernel_part", c.kernel_part,
			 "kernel_part_reason", c.kernel_part ? json_null() :
						json_string(c.kwhy),
			 "daemon", daemon,
			 "generation", (json_int_t)c.rs.genid,
			 "netns_inode", (json_int_t)ino,
			 "state_file", path,
			 "chains", chains);
	json_decref(c.state);
	nftj_kstats_free(&c.att);
	nftj_ruleset_free(&c.rs);
	return *out ? 0 : 1;
}
