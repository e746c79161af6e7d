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

import compare  # noqa: E402
import culprit  # noqa: E402
import gen  # noqa: E402
import jit  # noqa: E402
import kernel  # noqa: E402
import kpass  # noqa: E402
import link  # noqa: E402
import model  # noqa: E402
import netns  # noqa: E402
import pcap  # noqa: E402
import rulesets  # noqa: E402

RULESET_DIR = os.path.normpath(os.path.join(HERE, "..", "rulesets"))
DEFAULT_PACKETS = 2000
MAX_PRINTED = 20          # mismatches printed per ruleset without -v
MAX_BISECT = 3            # counter mismatches explained per ruleset


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


def replay_cmd(args, name):
    cmd = "tests/diff/run.py --only %s --seed %d --packets %d" % (
        name, args.seed, args.packets)
    if args.nft_jit != jit.DEFAULT_PATH:
        cmd += " --nft-jit %s" % args.nft_jit
    if args.kernel:
        cmd += " --kernel"
    return cmd


def send_all(tn, families, contexts, pkts):
    sender = kernel.Sender(tn, contexts, families)
    try:
        return [sender.send(p.family, p.ctx, p.data) for p in pkts]
    finally:
        sender.close()


def run_jit(args, tn, pkts, contexts, workdir, name):
    """Evaluate pkts with nft-jit, one run per socket context.

    Returns (per-packet results by global index, summed counters, number
    of fallback rules).
    """
    results = [None] * len(pkts)
    evals = []
    fallback = set()
    for ci, ctx in enumerate(contexts):
        idx = [i for i, p in enumerate(pkts) if p.ctx == ci]
        if not idx:
            continue
        path = os.path.join(workdir, "%s.ctx%d.pcap" % (name, ci))
        pcap.write(path, [pkts[i].data for i in idx])
        ev = jit.evaluate(args.nft_jit, tn.name, path, ctx, len(idx))
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
               workdir):
    """Counters of the packets nft-jit did not resume, on their own.

    Sends only pkts[keep] through a fresh copy of the ruleset and through
    nft-jit.  Returns ((kernel counters, nft-jit counters), "") or
    (None, why not).
    """
    sub = [pkts[i] for i in keep]
    with netns.TestNet() as tn:
        kernel.load(tn, path)
        again = send_all(tn, families, contexts, sub)
        kc = kernel.counters(tn, rs.family)
        results, jc, _ = run_jit(args, tn, sub, contexts, workdir,
                                 rs.name + ".sub")
    if again != [verdicts[i] for i in keep]:
        return None, "the kernel's verdicts changed without the resumed " \
            "packets: counters not compared"
    if any(r["verdict"] == "resume" for r in results):
        return None, "nft-jit resumed other packets in a second run: " \
            "counters not compared"
    return (kc, jc), ""


def save_artifacts(args, rs, text, pkts, verdicts, contexts, res):
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
    with open(os.path.join(d, "mismatches.json"), "w") as f:
        json.dump({"seed": args.seed, "contexts": contexts,
                   "mismatches": [m._asdict() for m in res.mismatches],
                   "kernel_verdicts": verdicts}, f, indent=1)
    return d


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
            results, jc, fallback = run_jit(args, tn, pkts, contexts,
                                            workdir, rs.name)
    if args.kernel:
        return kernel_target(args, rs, path, text, pkts, contexts, families,
                             verdicts, kc_all, out, dist, t0, t1, t2)
    lengths = [len(p.data) for p in pkts]
    keep = compare.not_resumed(results)
    subset, note = None, ""
    if 0 < len(keep) < len(pkts):
        subset, note = second_run(args, rs, path, pkts, keep, verdicts,
                                  contexts, families, workdir)
    t3 = time.time()
    res = compare.compare(verdicts, results, kc, jc, lengths, subset)
    timing = " [gen %.2fs send %.2fs total %.2fs]" % (t1 - t0, t2 - t1,
                                                     t3 - t0)
    parts = ["%d packets (%s)" % (res.packets, dist),
             "%d resumed" % res.resumed]
    if res.counters_compared == "all":
        parts.append("counters compared (%d)" % res.counters)
    elif res.counters_compared == "subset":
        parts.append("counters compared on a second run of the %d packets "
                     "not resumed (%d)" % (len(keep), res.counters))
    else:
        parts.append("verdicts only (%s)" % (note or "all packets resumed"))
    if res.warnings:
        parts.append("%d warnings" % len(res.warnings))
        for w in res.warnings[:MAX_PRINTED]:
            out.details.append(
                "  warning %s: rule=%s nft-jit's per-packet \"counted\" "
                "lists add up to %s, its counters say %s" % (
                    rs.name, json.dumps(w.rule), w.kernel, w.jit))
    if args.verbose and 0 < res.resumed < res.packets:
        shapes = collections.Counter(pkts[i].note.split("/")[1]
                                     for i, r in enumerate(results)
                                     if r["verdict"] == "resume")
        parts.append("resumed shapes: %s" % ", ".join(
            "%s %d" % kv for kv in shapes.most_common()))
    if fallback:
        parts.append("fallback rules: %s" % ", ".join(
            "%s/%s %s" % f for f in sorted(fallback, key=str)))
    out.summary = ", ".join(parts) + (timing if args.verbose else "")
    if res.ok:
        return out
    out.status = "FAIL"
    nv = sum(1 for x in res.mismatches if x.kind == "verdict")
    nc = len(res.mismatches) - nv         # counter, subset
    out.summary = "%d verdict mismatches, %d counter mismatches; %s" % (
        nv, nc, out.summary)
    limit = None if args.verbose else MAX_PRINTED
    explained = 0
    trusted = not res.warnings and all("counted" in r for r in results)
    for mm in res.mismatches[:limit]:
        if mm.kind == "verdict":
            p = pkts[mm.index]
            out.details.append(
                "  mismatch %s seed=%d packet=%d kernel=%s nft-jit=%s "
                "rule=%s ctx=%s (%s)\n    packet: %s" % (
                    rs.name, args.seed, mm.index, mm.kernel, mm.jit,
                    json.dumps(mm.rule), contexts[p.ctx], p.note,
                    p.data.hex()))
        else:
            what = {"counter": "counter",
                    "subset": "counter (packets not resumed)"}[mm.kind]
            out.details.append(
                "  %s %s seed=%d rule=%s kernel=%s nft-jit=%s" % (
                    what, rs.name, args.seed, json.dumps(mm.rule),
                    mm.kernel, mm.jit))
            if explained < MAX_BISECT:
                explained += 1
                out.details += explain_counter(args, rs, path, pkts,
                                               contexts, families, verdicts,
                                               results, mm, trusted)
    if limit and len(res.mismatches) > limit:
        out.details.append("  ... %d more (use -v)" % (
            len(res.mismatches) - limit))
    d = save_artifacts(args, rs, text, pkts, verdicts, contexts, res)
    out.details.append("  artifacts: %s" % d)
    out.details.append("  replay: %s" % replay_cmd(args, rs.name))
    return out


def kernel_target(args, rs, path, text, pkts, contexts, families, verdicts,
                  kc, out, dist, t0, t1, t2):
    """--kernel: the same packets with programs attached in the kernel.

    verdicts and kc (counters of the whole ruleset) are the interpreter
    pass's.  A chain the compiler refuses makes the ruleset a skip (with
    the reason) unless something mismatches.
    """
    def send(tn):
        return send_all(tn, families, contexts, pkts)

    try:
        r = kpass.run(args.nft_jit, path, send)
    except kpass.AttachError as e:
        out.status = "FAIL"
        out.summary = "kernel target: %s" % e
        out.details.append("  replay: %s" % replay_cmd(args, rs.name))
        return out
    t3 = time.time()
    runs, resumes, fallbacks = r.stats()
    out.runs = runs
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
            out.details.append(
                "  kstatus %s %s %s: prog %s genid %s nrules %s nchains %s "
                "nservices %s runs %s resumes %s fallbacks %s" % tuple(
                    a.get(k) for k in (
                        "family", "table", "chain", "prog_id", "genid",
                        "nrules", "nchains", "nservices", "runs", "resumes",
                        "fallbacks")))
    timing = " [gen %.2fs send %.2fs total %.2fs]" % (t1 - t0, t2 - t1,
                                                     t3 - t0)
    if mism and r.time_dependent:
        # Is the interpreter itself repeatable on this ruleset?
        v2, kc2 = kpass.interpreter(path, send)
        if v2 != verdicts or kc2 != kc:
            out.status = "skip"
            out.summary = ("time-dependent ruleset (%s): two interpreter "
                           "passes differ, %d mismatches not counted; %s" % (
                               ", ".join(r.time_dependent), len(mism),
                               ", ".join(parts)))
            return out
    if not mism and not problems:
        if r.refused:
            out.status = "skip"
            out.summary = "kernel target refused %s; %s" % (
                "; ".join("%s: %s" % x for x in r.refused), ", ".join(parts))
        elif not r.attached:
            out.status = "skip"
            out.summary = "no base chain to attach; " + ", ".join(parts)
        else:
            out.summary = ", ".join(parts)
        out.summary += timing if args.verbose else ""
        return out
    out.status = "FAIL"
    nv = sum(1 for m in mism if m[0] == "verdict")
    out.summary = "kernel target: %d verdict mismatches, %d counter " \
        "mismatches%s; %s" % (nv, len(mism) - nv,
                              "; " + "; ".join(problems) if problems else "",
                              ", ".join(parts))
    if r.refused:
        out.summary += "; refused %s" % "; ".join("%s: %s" % x
                                                 for x in r.refused)
    limit = None if args.verbose else MAX_PRINTED
    for kind, where, a, b in mism[:limit]:
        if kind == "verdict" and isinstance(where, int):
            p = pkts[where]
            out.details.append(
                "  mismatch %s seed=%d packet=%d interpreter=%s "
                "kernel-target=%s ctx=%s (%s)\n    packet: %s" % (
                    rs.name, args.seed, where, a, b, contexts[p.ctx],
                    p.note, p.data.hex()))
        else:
            out.details.append(
                "  %s %s seed=%d %s interpreter=%s kernel-target=%s" % (
                    kind, rs.name, args.seed, where, a, b))
    if limit and len(mism) > limit:
        out.details.append("  ... %d more (use -v)" % (len(mism) - limit))
    d = os.path.join(args.artifacts, rs.name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, rs.name + ".nft"), "w") as f:
        f.write(text)
    for ci, ctx in enumerate(contexts):
        idx = [i for i, p in enumerate(pkts) if p.ctx == ci]
        if idx:
            pcap.write(os.path.join(d, "ctx%d.pcap" % ci),
                       [pkts[i].data for i in idx])
    with open(os.path.join(d, "kernel-target.json"), "w") as f:
        json.dump({"seed": args.seed, "contexts": contexts,
                   "mismatches": [[k, str(w), a, b] for k, w, a, b in mism],
                   "interpreter_verdicts": verdicts,
                   "kernel_target_verdicts": r.verdicts,
                   "kstatus": r.status}, f, indent=1)
    out.details.append("  artifacts: %s" % d)
    out.details.append("  replay: %s" % replay_cmd(args, rs.name))
    return out


def isolation(args):
    """Run the isolation check with a few hundred random packets."""
    empty = model.Model({"nftables": [{"table": {"family": "inet",
                                                  "name": "t"}}]})
    pkts = gen.generate(empty, args.seed, 400, [4, 6], [(0, 0, 0)])
    by_fam = {4: [p.data for p in pkts if p.family == 4],
              6: [p.data for p in pkts if p.family == 6]}
    return kernel.isolation_check(by_fam)


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
    ap.add_argument("-v", "--verbose", action="store_true")
    return ap.parse_args(argv)


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
            n = len(rulesets.discover(args.rulesets, args.only))
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
    sets = rulesets.discover(args.rulesets, args.only)
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
