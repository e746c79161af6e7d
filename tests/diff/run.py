#!/usr/bin/env python3
"""Differential oracle test: nft-jit against the kernel's nf_tables.

For every tests/rulesets/*.nft: load it into a fresh network namespace,
send seeded random packets aimed at its constants through the output
hook with raw sockets (the kernel's verdicts and counters are the
oracle), run `nft-jit eval` on the same packets and compare verdicts and
counters.  See README.md beside this file.

  tests/diff/run.py [--seed N] [--packets N] [--only SUBSTRING]
                    [--nft-jit PATH] [--artifacts DIR] [-v] [--self-test]
                    [--target link] [--kernel]

--target link checks the link target instead (link.py): the chain's
BPF_PROG_TYPE_NETFILTER program attached at the same hook, the table
dormant, the same packets.  --kernel: see kpass.py.

Exit status: 0 all passed (or skipped), 1 failures, 4 cannot run here.
"""

import argparse
import atexit
import collections
import hashlib
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, HERE)

import acls  # noqa: E402
import compare  # noqa: E402
import culprit  # noqa: E402
import gen  # noqa: E402
import jit  # noqa: E402
import kernel  # noqa: E402
import kpass  # noqa: E402
import link  # noqa: E402
import model  # noqa: E402
import netns  # noqa: E402
import opt  # noqa: E402
import pcap  # noqa: E402
import rulesets  # noqa: E402

RULESET_DIR = os.path.normpath(os.path.join(HERE, "..", "rulesets"))
DEFAULT_PACKETS = 2000
MAX_PRINTED = 20          # mismatches printed per ruleset without -v
MAX_BISECT = 3            # counter mismatches explained per ruleset
SPREAD_RULES = 100        # report where deciding rules lie from this size
DEFAULT_SIZES = "10,100,1000,10000"


def ruleset_seed(seed, name):
    """The seed of one ruleset's packets: stable under --only."""
    h = hashlib.sha256(("%d/%s" % (seed, name)).encode()).digest()
    return int.from_bytes(h[:8], "big")


class Outcome:
    def __init__(self, name):
        self.name = name
        self.status = "ok"          # ok, FAIL, skip
        self.summary = ""
        self.details = []
        self.packets = 0
        self.verdicts = collections.Counter()


def replay_cmd(args, name, cfg=None):
    cmd = "tests/diff/run.py --only %s --seed %d --packets %d" % (
        name, args.seed, args.packets)
    if getattr(args, "generated", None):
        cmd += " --generated %s" % args.generated
        if args.sizes != DEFAULT_SIZES:
            cmd += " --sizes %s" % args.sizes
    if args.nft_jit != jit.DEFAULT_PATH:
        cmd += " --nft-jit %s" % args.nft_jit
    if args.kernel:
        cmd += " --kernel"
    if cfg is not None and cfg.name != "on":
        cmd += " --opt %s" % cfg.name
    elif cfg is None and [c.name for c in args.configs] != ["on"]:
        cmd += " --opt %s" % ",".join(c.name for c in args.configs)
    return cmd


def send_all(tn, families, contexts, pkts):
    sender = kernel.Sender(tn, contexts, families)
    try:
        return [sender.send(p.family, p.ctx, p.data) for p in pkts]
    finally:
        sender.close()


def run_jit(args, tn, pkts, contexts, workdir, name, cfg=None):
    """Evaluate pkts with nft-jit, one run per socket context, under
    optimizer configuration cfg (opt.py; None: nft-jit's default).

    Returns (per-packet results by global index, summed counters, number
    of fallback rules).
    """
    results = [None] * len(pkts)
    evals = []
    fallback = set()
    tag = "" if cfg is None else "." + cfg.name
    for ci, ctx in enumerate(contexts):
        idx = [i for i, p in enumerate(pkts) if p.ctx == ci]
        if not idx:
            continue
        path = os.path.join(workdir, "%s%s.ctx%d.pcap" % (name, tag, ci))
        pcap.write(path, [pkts[i].data for i in idx])
        ev = jit.evaluate(args.nft_jit, tn.name, path, ctx, len(idx), cfg)
        for j, i in enumerate(idx):
            results[i] = ev["packets"][j]
        evals.append(ev)
        for fb in ev["fallback"]:
            fallback.add((fb.get("chain"), fb.get("handle"),
                          fb.get("reason")))
    return results, compare.sum_counters(evals), fallback


def explain_counter(args, rs, path, pkts, contexts, families, verdicts,
                    results, mm, trusted=True):
    """Lines naming the packet behind a counter mismatch (bisection).

    For "subset" mismatches only the packets nft-jit did not resume take
    part, as in the replay that found the mismatch.
    """
    if args.no_bisect:
        return []
    if not trusted:
        return ["    (no bisection: nft-jit's per-packet counted lists "
                "are missing or disagree with its counters)"]
    idx = list(range(len(pkts)))
    if mm.kind == "subset":
        idx = compare.not_resumed(results)
    sub_pkts = [pkts[i] for i in idx]
    sub_res = [results[i] for i in idx]
    key = (mm.rule["chain"], mm.rule["handle"])
    found = culprit.culprit(path, rs.family, sub_pkts, contexts, families,
                            sub_res, key)
    if isinstance(found, str):
        return ["    culprit: %s" % found]
    i = idx[found]
    p = pkts[i]
    return ["    culprit packet=%d kernel=%s nft-jit=%s counted=%s ctx=%s "
            "(%s)\n    packet: %s" % (
                i, verdicts[i], results[i]["verdict"],
                json.dumps(results[i].get("counted")), contexts[p.ctx],
                p.note, p.data.hex())]


def second_run(args, rs, path, pkts, keep, verdicts, contexts, families,
               workdir, cfgs=(None,)):
    """Counters of the packets nft-jit did not resume, on their own.

    Sends only pkts[keep] through a fresh copy of the ruleset (once) and
    through nft-jit under every configuration of cfgs.  Returns {cfg:
    ((kernel counters, nft-jit counters), "") or (None, why not)}.
    """
    sub = [pkts[i] for i in keep]
    with netns.TestNet() as tn:
        kernel.load(tn, path)
        again = send_all(tn, families, contexts, sub)
        kc = kernel.counters(tn, rs.family)
        runs = [(cfg, run_jit(args, tn, sub, contexts, workdir,
                              rs.name + ".sub", cfg)) for cfg in cfgs]
    out = {}
    for cfg, (results, jc, _) in runs:
        if again != [verdicts[i] for i in keep]:
            out[cfg] = (None, "the kernel's verdicts changed without the "
                        "resumed packets: counters not compared")
        elif any(r["verdict"] == "resume" for r in results):
            out[cfg] = (None, "nft-jit resumed other packets in a second "
                        "run: counters not compared")
        else:
            out[cfg] = ((kc, jc), "")
    return out


def save_artifacts(args, rs, text, pkts, verdicts, contexts, res,
                   cfg=None, extra=None):
    """Keep what a failure needs for replay outside the harness."""
    d = os.path.join(args.artifacts, rs.name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, rs.name + ".nft"), "w") as f:
        f.write(text)
    for ci, ctx in enumerate(contexts):
        idx = [i for i, p in enumerate(pkts) if p.ctx == ci]
        if idx:
            pcap.write(os.path.join(d, "ctx%d.pcap" % ci),
                       [pkts[i].data for i in idx])
    name = "mismatches.json" if cfg is None else \
        "mismatches.%s.json" % cfg.name
    doc = {"seed": args.seed, "contexts": contexts,
           "mismatches": [m._asdict() for m in res.mismatches]
           if res else [], "kernel_verdicts": verdicts}
    if cfg is not None:
        doc["opt"] = {"name": cfg.name, "off": list(cfg.off)}
    if extra:
        doc.update(extra)
    with open(os.path.join(d, name), "w") as f:
        json.dump(doc, f, indent=1)
    return d


def spread_text(results, m):
    """Where the packets' deciding rules lie in base chain c."""
    order = [r.handle for r in m.by_chain.get("c", [])]
    n, deepest, q, other = compare.spread(results, "c", order)
    return ("deciding rules: %d of the %d of chain c, deepest #%d, by "
            "quarter %s, %d elsewhere (policy, other chains, resumed)" % (
                n, len(order), deepest, "/".join(map(str, q)), other))


def check_config(args, rs, path, pkts, contexts, families, verdicts, kc,
                 lengths, cfg, results, jc, fallback, subset, note, label):
    """Compare one configuration's nft-jit answers with the kernel.

    Returns (Result, summary parts, detail lines).
    """
    res = compare.compare(verdicts, results, kc, jc, lengths, subset)
    parts = ["%d resumed" % res.resumed]
    if res.counters_compared == "all":
        parts.append("counters compared (%d)" % res.counters)
    elif res.counters_compared == "subset":
        parts.append("counters compared on a second run of the %d packets "
                     "not resumed (%d)" % (res.packets - res.resumed,
                                           res.counters))
    else:
        parts.append("verdicts only (%s)" % (note or "all packets resumed"))
    details = []
    if res.warnings:
        parts.append("%d warnings" % len(res.warnings))
        for w in res.warnings[:MAX_PRINTED]:
            details.append(
                "  warning %s: rule=%s nft-jit's per-packet \"counted\" "
                "lists add up to %s, its counters say %s" % (
                    label, json.dumps(w.rule), w.kernel, w.jit))
    if args.verbose and 0 < res.resumed < res.packets:
        shapes = collections.Counter(pkts[i].note.split("/")[1]
                                     for i, r in enumerate(results)
                                     if r["verdict"] == "resume")
        parts.append("resumed shapes: %s" % ", ".join(
            "%s %d" % kv for kv in shapes.most_common()))
    if fallback:
        parts.append("fallback rules: %s" % ", ".join(
            "%s/%s %s" % f for f in sorted(fallback, key=str)))
    if res.ok:
        return res, parts, details
    limit = None if args.verbose else MAX_PRINTED
    explained = 0
    trusted = not res.warnings and all("counted" in r for r in results)
    for mm in res.mismatches[:limit]:
        if mm.kind == "verdict":
            p = pkts[mm.index]
            details.append(
                "  mismatch %s seed=%d packet=%d kernel=%s nft-jit=%s "
                "rule=%s ctx=%s (%s)\n    packet: %s" % (
                    label, args.seed, mm.index, mm.kernel, mm.jit,
                    json.dumps(mm.rule), contexts[p.ctx], p.note,
                    p.data.hex()))
        else:
            what = {"counter": "counter",
                    "subset": "counter (packets not resumed)"}[mm.kind]
            details.append(
                "  %s %s seed=%d rule=%s kernel=%s nft-jit=%s" % (
                    what, label, args.seed, json.dumps(mm.rule),
                    mm.kernel, mm.jit))
            if explained < MAX_BISECT:
                explained += 1
                details += explain_counter(args, rs, path, pkts, contexts,
                                           families, verdicts, results, mm,
                                           trusted)
    if limit and len(res.mismatches) > limit:
        details.append("  ... %d more (use -v)" % (
            len(res.mismatches) - limit))
    return res, parts, details


def decision_lines(args, rs, pkts, contexts, base, cfg, diffs):
    """Detail lines of the packets two configurations decide apart, one
    per packet."""
    by_packet = collections.OrderedDict()
    for i, key, a, b in diffs:
        by_packet.setdefault(i, []).append("%s %s=%s %s=%s" % (
            key, base.name, json.dumps(a), cfg.name,
            b if isinstance(b, str) else json.dumps(b)))
    limit = None if args.verbose else MAX_PRINTED
    out = []
    items = list(by_packet.items())
    for i, what in items[:limit]:
        p = pkts[i]
        out.append("  decision %s seed=%d packet=%d: %s ctx=%s (%s)\n"
                   "    packet: %s" % (rs.name, args.seed, i,
                                       "; ".join(what), contexts[p.ctx],
                                       p.note, p.data.hex()))
    if limit and len(items) > limit:
        out.append("  ... %d more packets (use -v)" % (len(items) - limit))
    return out


def rule_positions(m):
    """{(chain, handle): index of the rule in its chain} of a model."""
    return {(r.chain, r.handle): i for rules in m.by_chain.values()
            for i, r in enumerate(rules)}


def chain_spans(m, base="c"):
    """{chain: (first, last)}: the positions of the base chain's rules from
    which each other chain is entered, directly or through other chains
    (nf_tables refuses loops; a chain no rule enters has no span)."""
    pos = {(r.chain, r.handle): i for i, r in
           enumerate(m.by_chain.get(base, []))}
    spans, busy = {}, set()

    def span(chain):
        if chain in spans or chain in busy:
            return spans.get(chain)
        busy.add(chain)
        lo = hi = None
        for r, _ in m.jumpers.get(chain, []):
            s = (pos[(r.chain, r.handle)],) * 2 if r.chain == base else \
                span(r.chain)
            if s:
                lo = s[0] if lo is None else min(lo, s[0])
                hi = s[1] if hi is None else max(hi, s[1])
        busy.discard(chain)
        if lo is not None:
            spans[chain] = (lo, hi)
        return spans.get(chain)

    for chain in m.by_chain:
        if chain != base:
            span(chain)
    return spans


def run_ruleset(args, rs, workdir):
    out = Outcome(rs.name)
    seed = ruleset_seed(args.seed, rs.name)
    text = rs.text()
    path = os.path.join(workdir, rs.name + ".nft")
    with open(path, "w") as f:
        f.write(text)
    t0 = time.time()
    with netns.TestNet() as tn:
        kernel.load(tn, path)
        m = model.Model(kernel.table_json(tn, rs.family, numeric=True))
        if m.base_chain() != "c":
            raise kernel.HarnessError("base chain is not named c")
        contexts = rulesets.contexts(rs, m)
        families = rs.families()
        count = max(1, int(args.packets * float(rs.options.get("scale",
                                                               "1"))))
        nofrag6 = "nofrag6" in rs.options or m.uses_conntrack
        pkts = gen.generate(m, seed, count, families, contexts,
                            nofrag6=nofrag6)
        t1 = time.time()
        verdicts = send_all(tn, families, contexts, pkts)
        t2 = time.time()
        kc = kernel.counters(tn, rs.family)
        out.packets = len(pkts)
        out.verdicts.update(verdicts)
        dist = "accept %d, drop %d" % (out.verdicts["accept"],
                                      out.verdicts["drop"])
        if not out.verdicts["accept"] or not out.verdicts["drop"]:
            dist += ", only one verdict"
        hit = sum(1 for p, _ in kc.values() if p)
        dist += ", counters hit %d/%d" % (hit, len(kc))
        if args.verbose and hit < len(kc):
            never = ["%s/%d" % k for k in sorted(kc) if not kc[k][0]]
            dist += " (never: %s%s)" % (" ".join(never[:10]),
                                        " ..." if len(never) > 10 else "")
        if args.kernel_only:
            out.status = "skip"
            out.summary = "%d packets (%s), kernel only" % (len(pkts), dist)
            if args.verbose:
                out.summary += " [gen %.2fs send %.2fs]" % (t1 - t0, t2 - t1)
            return out
        if args.kernel:
            kc_all = kpass.counters(kpass.ruleset_json(tn))
        else:
            runs = [(cfg,) + run_jit(args, tn, pkts, contexts, workdir,
                                     rs.name, cfg)
                    for cfg in args.configs]
            kcomp = [(cfg, why) for cfg in args.configs
                     for why in jit.kernel_compile(args.nft_jit, tn.name,
                                                   cfg)]
    if args.kernel:
        return kernel_target(args, rs, path, text, pkts, contexts, families,
                             verdicts, kc_all, out, dist, t0, t1, t2)
    lengths = [len(p.data) for p in pkts]
    # The second run of the packets not resumed: the kernel once for
    # every configuration that resumed the same packets.
    by_keep = collections.OrderedDict()
    for cfg, results, _, _ in runs:
        keep = tuple(compare.not_resumed(results))
        if 0 < len(keep) < len(pkts):
            by_keep.setdefault(keep, []).append(cfg)
    subsets = {}
    for keep, cfgs in by_keep.items():
        subsets.update(second_run(args, rs, path, pkts, list(keep),
                                  verdicts, contexts, families, workdir,
                                  cfgs))
    t3 = time.time()
    multi = len(runs) > 1
    base_cfg, base_results = runs[0][0], runs[0][1]
    position, spans = rule_positions(m), chain_spans(m)
    resume_moved = []
    nv = nc = nd = 0
    for cfg, results, jc, fallback in runs:
        subset, note = subsets.get(cfg, (None, ""))
        label = "%s[%s]" % (rs.name, cfg.name) if multi else rs.name
        res, parts, details = check_config(
            args, rs, path, pkts, contexts, families, verdicts, kc, lengths,
            cfg, results, jc, fallback, subset, note, label)
        if cfg is base_cfg:
            out.summary = ", ".join(["%d packets (%s)" % (res.packets,
                                                          dist)] + parts)
        elif not res.ok:
            details.insert(0, "  [%s] %s" % (cfg.name, ", ".join(parts)))
        out.details += details
        diffs, moved = ([], []) if cfg is base_cfg else \
            compare.decisions_differ(base_results, results, position,
                                     spans)
        if moved:
            resume_moved.append("%s %d" % (cfg.name, len(moved)))
        if diffs:
            out.details += decision_lines(args, rs, pkts, contexts, base_cfg,
                                          cfg, diffs)
        if res.ok and not diffs:
            continue
        n = sum(1 for x in res.mismatches if x.kind == "verdict")
        nv += n
        nc += len(res.mismatches) - n
        nd += len(diffs)
        d = save_artifacts(
            args, rs, text, pkts, verdicts, contexts, res,
            cfg if multi else None,
            {"decisions": [list(x) for x in diffs],
             "base": base_cfg.name} if diffs else None)
        out.details.append("  artifacts: %s" % d)
        out.details.append("  replay: %s" % replay_cmd(
            args, rs.name, cfg if multi else None))
    if multi:
        out.summary += ", opt %s: %s" % (
            "/".join(c.name for c, _, _, _ in runs),
            "each equal to the kernel and the same decisions per packet"
            if not (nv or nc or nd) else "DIFFERENT")
        if resume_moved:
            out.summary += " (packets resumed at another rule than in %s, " \
                "consistently: %s)" % (base_cfg.name,
                                       ", ".join(resume_moved))
    if len(m.by_chain.get("c", [])) >= SPREAD_RULES or args.verbose:
        out.summary += ", " + spread_text(base_results, m)
    timing = " [gen %.2fs send %.2fs total %.2fs]" % (t1 - t0, t2 - t1,
                                                     t3 - t0)
    out.summary += timing if args.verbose else ""
    if nv or nc or nd:
        out.status = "FAIL"
        out.summary = "%d verdict mismatches, %d counter mismatches%s; %s" % (
            nv, nc, ", %d decision differences" % nd if multi else "",
            out.summary)
    if kcomp:
        out.status = "FAIL"
        out.summary = "kernel-target compile failed in %s; %s" % (
            "/".join(sorted({c.name for c, _ in kcomp})), out.summary)
        out.details += ["  kernel-target compile [%s]: %s" % (c.name, why)
                        for c, why in kcomp]
        out.details.append("  replay: %s" % replay_cmd(args, rs.name))
    return out


def kernel_target(args, rs, path, text, pkts, contexts, families, verdicts,
                  kc, out, dist, t0, t1, t2):
    """--kernel: the same packets with programs attached in the kernel,
    once per optimizer configuration (args.configs).

    verdicts and kc (counters of the whole ruleset) are the interpreter
    pass's.  A chain the compiler refuses makes the ruleset a skip (with
    the reason) unless something mismatches.  With several
    configurations, kstatus runs, resumes and fallbacks must be the same
    in all of them.
    """
    multi = len(args.configs) > 1
    stats = []
    statuses = []
    for cfg in args.configs:
        label = "%s[%s]" % (rs.name, cfg.name) if multi else rs.name
        status, summary, details, r = kernel_config(
            args, rs, path, text, pkts, contexts, families, verdicts, kc,
            dist, cfg, label)
        if r is not None:
            stats.append((cfg, r.stats()))
            out.runs = getattr(out, "runs", 0) + r.stats()[0]
        statuses.append(status)
        if cfg is args.configs[0]:
            out.summary = summary
        elif status == "FAIL":
            details.insert(0, "  [%s] %s" % (cfg.name, summary))
        out.details += details
    t3 = time.time()
    if "FAIL" in statuses:
        out.status = "FAIL"
    elif statuses[0] == "skip":
        out.status = "skip"
    if multi:
        differ = [(c.name, s) for c, s in stats if s != stats[0][1]]
        if differ:
            out.status = "FAIL"
            out.details.append(
                "  kstatus (runs, resumes, fallbacks) differ between "
                "optimizer configurations: %s=%s, %s" % (
                    stats[0][0].name, stats[0][1], ", ".join(
                        "%s=%s" % d for d in differ)))
        out.summary += ", opt %s: %s" % (
            "/".join(c.name for c in args.configs),
            "FAIL in %s" % "/".join(c.name for c, s in
                                    zip(args.configs, statuses)
                                    if s == "FAIL")
            if "FAIL" in statuses else "kstatus differs" if differ else
            "each equal to the interpreter, the same kstatus counts")
    if out.status == "FAIL" and not out.summary.startswith("kernel target"):
        out.summary = "kernel target: " + out.summary
    if args.verbose:
        out.summary += " [gen %.2fs send %.2fs total %.2fs]" % (
            t1 - t0, t2 - t1, t3 - t0)
    return out


def kernel_config(args, rs, path, text, pkts, contexts, families, verdicts,
                  kc, dist, cfg, label):
    """One configuration of the kernel target.

    Returns (status, summary, detail lines, kpass.Result or None).
    """
    def send(tn):
        return send_all(tn, families, contexts, pkts)

    details = []
    try:
        r = kpass.run(args.nft_jit, path, send, cfg)
    except kpass.AttachError as e:
        return "FAIL", "kernel target: %s" % e, [
            "  replay: %s" % replay_cmd(args, rs.name, cfg)], None
    runs, resumes, fallbacks = r.stats()
    mism = kpass.compare(verdicts, kc, r)
    parts = ["%d packets (%s)" % (len(pkts), dist)]
    if r.attached:
        parts.append("%d chain%s attached (%s)" % (
            len(r.attached), "" if len(r.attached) == 1 else "s",
            "; ".join("%s: %d/%d rules compiled" % (
                n, a.get("compiled", 0), a.get("rules", 0))
                for n, a in r.attached)))
    parts.append("runs %d, resumes %d, fallbacks %d" % (
        runs, resumes, fallbacks))
    parts.append("counters compared (%d)" % len(kc))
    problems = []
    present = {"%s %s %s" % (a["family"], a["table"], a["chain"])
               for a in r.status["attachments"]}
    gone = [n for n, _ in r.attached if n not in present]
    if gone:
        problems.append("detached while the packets ran: %s (detaches %s)"
                        % (", ".join(gone), r.status.get("detaches")))
    if r.attached and runs == 0 and pkts:
        problems.append("programs attached but they never ran")
    if fallbacks:
        parts.append("FALLBACKS %d (the interpreter ran whole packets)"
                     % fallbacks)
    if args.verbose:
        for a in r.status["attachments"]:
            details.append(
                "  kstatus %s%s %s %s: prog %s genid %s nrules %s nchains %s "
                "nservices %s runs %s resumes %s fallbacks %s" % ((
                    "[%s] " % cfg.name if len(args.configs) > 1 else "",) +
                    tuple(a.get(k) for k in (
                        "family", "table", "chain", "prog_id", "genid",
                        "nrules", "nchains", "nservices", "runs", "resumes",
                        "fallbacks"))))
    if mism and r.time_dependent:
        # Is the interpreter itself repeatable on this ruleset?
        v2, kc2 = kpass.interpreter(path, send)
        if v2 != verdicts or kc2 != kc:
            return "skip", ("time-dependent ruleset (%s): two interpreter "
                            "passes differ, %d mismatches not counted; %s" % (
                                ", ".join(r.time_dependent), len(mism),
                                ", ".join(parts))), details, r
    if not mism and not problems:
        if r.refused:
            return "skip", "kernel target refused %s; %s" % (
                "; ".join("%s: %s" % x for x in r.refused),
                ", ".join(parts)), details, r
        if not r.attached:
            return "skip", "no base chain to attach; " + ", ".join(parts), \
                details, r
        return "ok", ", ".join(parts), details, r
    nv = sum(1 for m in mism if m[0] == "verdict")
    summary = "kernel target: %d verdict mismatches, %d counter " \
        "mismatches%s; %s" % (nv, len(mism) - nv,
                              "; " + "; ".join(problems) if problems else "",
                              ", ".join(parts))
    if r.refused:
        summary += "; refused %s" % "; ".join("%s: %s" % x
                                             for x in r.refused)
    limit = None if args.verbose else MAX_PRINTED
    for kind, where, a, b in mism[:limit]:
        if kind == "verdict" and isinstance(where, int):
            p = pkts[where]
            details.append(
                "  mismatch %s seed=%d packet=%d interpreter=%s "
                "kernel-target=%s ctx=%s (%s)\n    packet: %s" % (
                    label, args.seed, where, a, b, contexts[p.ctx],
                    p.note, p.data.hex()))
        else:
            details.append(
                "  %s %s seed=%d %s interpreter=%s kernel-target=%s" % (
                    kind, label, args.seed, where, a, b))
    if limit and len(mism) > limit:
        details.append("  ... %d more (use -v)" % (len(mism) - limit))
    d = os.path.join(args.artifacts, rs.name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, rs.name + ".nft"), "w") as f:
        f.write(text)
    for ci, ctx in enumerate(contexts):
        idx = [i for i, p in enumerate(pkts) if p.ctx == ci]
        if idx:
            pcap.write(os.path.join(d, "ctx%d.pcap" % ci),
                       [pkts[i].data for i in idx])
    name = "kernel-target.json" if len(args.configs) == 1 else \
        "kernel-target.%s.json" % cfg.name
    with open(os.path.join(d, name), "w") as f:
        json.dump({"seed": args.seed, "contexts": contexts,
                   "opt": {"name": cfg.name, "off": list(cfg.off)},
                   "mismatches": [[k, str(w), a, b] for k, w, a, b in mism],
                   "interpreter_verdicts": verdicts,
                   "kernel_target_verdicts": r.verdicts,
                   "kstatus": r.status}, f, indent=1)
    details.append("  artifacts: %s" % d)
    details.append("  replay: %s" % replay_cmd(args, rs.name, cfg))
    return "FAIL", summary, details, r


def isolation(args):
    """Run the isolation check with a few hundred random packets."""
    empty = model.Model({"nftables": [{"table": {"family": "inet",
                                                  "name": "t"}}]})
    pkts = gen.generate(empty, args.seed, 400, [4, 6], [(0, 0, 0)])
    by_fam = {4: [p.data for p in pkts if p.family == 4],
              6: [p.data for p in pkts if p.family == 6]}
    return kernel.isolation_check(by_fam)


def discover(args):
    """The rulesets of this run: files, or generated (--generated)."""
    if args.generated:
        return acls.generate(args.generated, args.seed, args.size_list,
                             args.only)
    return rulesets.discover(args.rulesets, args.only)


PROBE_RULESET = """table inet t {
  chain c {
    type filter hook output priority 0; policy accept;
    tcp dport 22 tcp dport 23 counter drop
    tcp dport >= 1000 tcp dport <= 2000 drop
    ip saddr 10.0.0.0/8 drop
    ip saddr 10.1.0.0/16 drop
  }
}
"""


def opt_probe(args):
    """None if nft-jit obeys every optimizer configuration, else why not.

    Every configuration must compile a small chain that each pass
    changes; `off` must emit other code than `on` (the switch works),
    and the passes nft-jit names must be those of opt.PASSES.
    """
    import subprocess
    insns = {}
    with netns.TestNet() as tn:
        tn.nft(["-f", "-"], input=PROBE_RULESET)
        for cfg in opt.parse("on,off") + args.configs:
            cmd = [args.nft_jit, "-n", tn.name, "compile"] + \
                opt.flags(cfg) + ["--no-load", "-t", "t", "-c", "c", "-j"]
            proc = subprocess.run(cmd, capture_output=True, text=True,
                                  timeout=120)
            try:
                insns[cfg.name] = json.loads(proc.stdout)["compile"][0][
                    "insns"]
            except (ValueError, KeyError, IndexError, TypeError):
                return "%s exited %d: %s" % (
                    " ".join(cmd), proc.returncode,
                    (proc.stderr or proc.stdout).strip()[:300])
        known = opt.known_passes(args.nft_jit, tn.name)
    if insns["on"] == insns["off"]:
        return "nft-jit emits the same code with every pass on and off " \
            "(%d insns): is --no-opt still read?" % insns["on"]
    if known is not None and set(known) != set(opt.PASSES):
        return "nft-jit's passes are %s, tests/diff/opt.py PASSES says %s" \
            % (", ".join(known), ", ".join(opt.PASSES))
    print("optimizer configurations: %s (insns of the probe chain: %s)" % (
        ", ".join(c.name for c in args.configs),
        ", ".join("%s %d" % kv for kv in insns.items())))
    return None


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=None,
                    help="random seed (default: a new one, printed)")
    ap.add_argument("--packets", type=int, default=DEFAULT_PACKETS,
                    help="packets per ruleset (default %(default)s)")
    ap.add_argument("--only", default=None,
                    help="run only rulesets whose name contains this")
    ap.add_argument("--nft-jit", default=jit.DEFAULT_PATH,
                    help="nft-jit binary (default %(default)s)")
    ap.add_argument("--kernel-only", action="store_true",
                    help="do not run nft-jit (also when it is missing)")
    ap.add_argument("--kernel", action="store_true",
                    help="kernel target: instead of nft-jit eval, send the "
                    "packets again with programs attached to every base "
                    "chain (nft-jit attach; needs the kernel part)")
    ap.add_argument("--artifacts", default=None,
                    help="where failing rulesets' files go "
                         "(default /tmp/nft-jit-diff-SEED)")
    ap.add_argument("--rulesets", default=RULESET_DIR,
                    help="ruleset directory (default %(default)s)")
    ap.add_argument("--self-test", action="store_true",
                    help="check that the comparison catches wrong answers")
    ap.add_argument("--no-bisect", action="store_true",
                    help="do not search the packet behind a counter "
                         "mismatch")
    ap.add_argument("--eval-arg", action="append", default=[],
                    help="extra option for nft-jit eval (repeatable), e.g. "
                    "--eval-arg=--slow-loads")
    ap.add_argument("--target", choices=("test", "link"), default="test",
                    help="test: `nft-jit eval` (BPF_PROG_TEST_RUN); link: "
                    "the program attached at the hook (link.py)")
    ap.add_argument("--opt", default="on", metavar="CONFIGS",
                    help="optimizer configurations, a comma list of on, "
                    "off, no-PASS, only-PASS or matrix (on, every pass off "
                    "in turn, all off; passes: %s): the kernel runs once, "
                    "nft-jit once per configuration; each must equal the "
                    "kernel, and every packet's verdict, deciding rule, "
                    "resume point and counted rules must be the same in "
                    "all (default %%(default)s)" % ", ".join(opt.PASSES))
    ap.add_argument("--generated", default=None, metavar="KIND",
                    help="run generated rulesets instead of the files: "
                    "acl (acl-N and aclmix-N, acls.py)")
    ap.add_argument("--sizes", default=DEFAULT_SIZES,
                    help="rule counts of --generated (default "
                    "%(default)s)")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    try:
        args.configs = opt.parse(args.opt)
        args.size_list = acls.parse_sizes(args.sizes)
    except ValueError as e:
        ap.error(str(e))
    if args.generated and args.generated not in acls.KINDS:
        ap.error("--generated: unknown kind %r (known: %s)" % (
            args.generated, ", ".join(acls.KINDS)))
    return args


def _on_signal(signum, frame):
    raise KeyboardInterrupt


def preflight():
    """None if this machine can run the test, else why not."""
    if os.geteuid() != 0:
        return "not root"
    for tool in ("nft", "ip"):
        if shutil.which(tool) is None:
            return "`%s` not found" % tool
    return None


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    jit.EXTRA_ARGS[:] = args.eval_arg
    args.nft_jit = os.path.abspath(args.nft_jit)
    why = preflight()
    if why:
        print("SKIP: %s" % why)
        return 4
    atexit.register(netns.cleanup_all)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1 << 32)
    if args.artifacts is None:
        args.artifacts = "/tmp/nft-jit-diff-%d" % args.seed
    print("seed: %d (replay with --seed %d --packets %d)" % (
        args.seed, args.seed, args.packets))
    sys.stdout.flush()
    if args.self_test:
        import selftest
        return selftest.main(args)

    if args.kernel:
        why = "--kernel and --kernel-only exclude each other" \
            if args.kernel_only else \
            jit.probe(args.nft_jit) or kpass.probe(args.nft_jit)
        if why:
            n = len(discover(args))
            print("SKIP: kernel target: %s" % why)
            print("0 passed, 0 failed, %d skipped" % n)
            return 4
    if not args.kernel_only:
        why = jit.probe(args.nft_jit)
        if why:
            print("note: nft-jit unusable (%s): running the kernel side "
                  "only, rulesets are skipped" % why)
            args.kernel_only = True

    try:
        print(isolation(args))
    except kernel.HarnessError as e:
        print("FAIL isolation: %s" % e)
        print("0 passed, 1 failed")
        return 1
    if len(args.configs) > 1 and not args.kernel_only:
        why = opt_probe(args)
        if why:
            print("FAIL optimizer configurations: %s" % why)
            print("0 passed, 1 failed")
            return 1
    sets = discover(args)
    if not sets:
        print("no rulesets match")
    counts = collections.Counter()
    total_packets, total_verdicts = 0, collections.Counter()
    total_runs = 0
    start = time.time()
    with tempfile.TemporaryDirectory(prefix="nftj-diff-") as workdir:
        try:
            for rs in sets:
                try:
                    if args.target == "link" and not args.kernel_only:
                        out = link.run_ruleset(args, rs, workdir,
                                               sys.modules[__name__])
                    else:
                        out = run_ruleset(args, rs, workdir)
                except (kernel.HarnessError, jit.EvalError, link.LinkError,
                        RuntimeError, ValueError, OSError) as e:
                    out = Outcome(rs.name)
                    out.status = "FAIL"
                    out.summary = "harness error: %s" % e
                    out.details.append("  replay: %s" % replay_cmd(
                        args, rs.name))
                counts[out.status] += 1
                total_runs += getattr(out, "runs", 0)
                total_packets += out.packets
                total_verdicts.update(out.verdicts)
                print("%s %s: %s" % (out.status, out.name, out.summary))
                for line in out.details:
                    print(line)
                sys.stdout.flush()
        except KeyboardInterrupt:
            print("interrupted")
            netns.cleanup_all()
            return 130
    print("total: %d rulesets, %d packets (accept %d, drop %d) in %.1fs" % (
        len(sets), total_packets, total_verdicts["accept"],
        total_verdicts["drop"], time.time() - start))
    if args.kernel and counts["ok"] and not total_runs:
        print("FAIL kernel target: no program ran on any ruleset "
              "(kstatus runs 0 everywhere)")
        counts["FAIL"] += 1
    elif args.kernel:
        print("kernel target: programs ran for %d packets" % total_runs)
    line = "%d passed, %d failed" % (counts["ok"], counts["FAIL"])
    if counts["skip"]:
        line += ", %d skipped" % counts["skip"]
    print(line)
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
