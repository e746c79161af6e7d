#!/usr/bin/env python3
"""The benchmark: nf_tables' interpreter against nft-jit's link program.

First the link target's differential suite (tests/diff/run.py --target
link): if it fails, nothing is timed.  Then for every case of cases.py,
in a fresh pair of network namespaces
(tests/diff/netns.py: veth0 to a silent peer), as root:

  1. load the ruleset as written, `nft-jit bench --check-only`: every
     packet alone through the output hook, table active, then table
     dormant with the link program attached; the verdicts must be
     equal, and equal to what the case's model expects;
  2. load the ruleset timed (every verdict accept, see
     docs/benchmarks.md), `nft-jit bench`: repetitions of floor /
     interpreter / link program, in rotating order, on the same hook
     with the same packets; BPF_PROG_TEST_RUN times of both programs.

Writes OUT/benchmarks.json, OUT/benchmarks.md and OUT/benchmarks.png.

  tools/bench/run.py [--quick] [--seed N] [--out DIR] [--nft-jit PATH]
                     [--only NAME] [--note TEXT] [--no-gate]
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.dont_write_bytecode = True
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "diff"))

import cases  # noqa: E402
import netns  # noqa: E402
import pcap  # noqa: E402
import report  # noqa: E402

FULL = {"packets": 2000, "reps": 21, "min_time": 60, "tr_repeat": 2000,
        "tr_budget": 2000, "gate_packets": 500}
QUICK = {"packets": 500, "reps": 9, "min_time": 20, "tr_repeat": 200,
         "tr_budget": 300, "gate_packets": 200}


class CaseError(Exception):
    pass


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def nft_jit(args, ns, extra):
    cmd = [args.nft_jit, "-n", ns, "bench", "-t", "t", "-c", "c", "-j",
           "--dst4", netns.SEND_DST4, "--oif", netns.VETH,
           "--target", args.target] + extra
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise CaseError("%s: %s" % (" ".join(cmd[3:]),
                                    proc.stderr.strip()[-800:]))
    return json.loads(proc.stdout)["bench"]


def spread(v):
    return {"median": statistics.median(v), "min": min(v), "max": max(v)}


def hits(case):
    """Where the packets are decided: per rule (short chains), per tenth
    of the chain, by the policy."""
    n = max(case.nrules, 1)
    tenth = [0] * 10
    rules = [0] * min(n, 10)
    policy = 0
    for _, i, _ in case.packets:
        if i < 0:
            policy += 1
            continue
        tenth[min(9, i * 10 // n)] += 1
        if i < len(rules):
            rules[i] += 1
    return {"policy": policy, "tenths": tenth, "rules": rules}


def opt_passes(args):
    """The optimizer's passes, as nft-jit names them."""
    proc = subprocess.run([args.nft_jit, "compile", "--no-opt=?"],
                          capture_output=True, text=True)
    m = re.search(r"\(passes: (.*?), all\)", proc.stderr)
    if not m:
        raise CaseError("nft-jit names no optimizer passes: %s" %
                        proc.stderr.strip())
    return [x.strip() for x in m.group(1).split(",")]


def pass_share(args, cfg, ns, pkts):
    """JIT cost with each optimizer pass off in turn, and all off: each
    configuration its own interleaved run of floor, interpreter and JIT,
    so that every ratio is one run's."""
    out = {}
    for off in opt_passes(args) + ["all"]:
        res = nft_jit(args, ns, [
            "-r", pkts, "--no-opt", off, "--reps", str(cfg["reps"]),
            "--min-time", str(cfg["min_time"]), "--testrun-repeat", "1",
            "--testrun-budget", "1"])
        raw = res["ns_per_packet"]
        if "jit" not in raw:
            continue
        jit = spread([a - b for a, b in zip(raw["jit"], raw["floor"])])
        interp = spread([a - b for a, b in zip(raw["interp"],
                                               raw["floor"])])
        out[off] = {"jit_cost": jit, "interp_cost": interp,
                    "ratio": interp["median"] / jit["median"]
                    if jit["median"] > 0 else None,
                    "insns": res.get("link", {}).get("insns")}
    return out


def run_case(case, args, cfg, work):
    written = os.path.join(work, case.name + ".nft")
    timed = os.path.join(work, case.name + ".timed.nft")
    pkts = os.path.join(work, case.name + ".pcap")
    with open(written, "w") as f:
        f.write(case.text())
    with open(timed, "w") as f:
        f.write(case.text(timing=True))
    pcap.write(pkts, [p for p, _, _ in case.packets])
    out = {"name": case.name, "kind": case.kind, "rules": case.nrules,
           "packets": len(case.packets), "note": case.note,
           "hits": hits(case), "timed_as": "accept" if case.neutral
           else "written"}
    with netns.TestNet() as tn:
        tn.nft(["-f", written])
        chk = nft_jit(args, tn.name, ["-r", pkts, "--check-only"])
        got = chk["verdicts"]
        want = [v for _, _, v in case.packets]
        bad = [i for i, v in enumerate(want) if v and v[0] != got[i]]
        if bad:
            raise CaseError("the model expects %s for packet %d, the "
                            "kernel said %s (%d packets differ)" % (
                                want[bad[0]], bad[0], got[bad[0]],
                                len(bad)))
        out["verdicts"] = {"accept": got.count("a"), "drop": got.count("d")}
        out["link"] = chk["link"]
        if case.neutral:
            tn.nft(["flush", "ruleset"])
            tn.nft(["-f", timed])
        res = nft_jit(args, tn.name, [
            "-r", pkts, "--reps", str(cfg["reps"]), "--min-time",
            str(cfg["min_time"]), "--testrun-repeat",
            str(cfg["tr_repeat"]), "--testrun-budget", str(cfg["tr_budget"])])
        if case.kind == "acl" and args.passes and case.nrules >= 100:
            out["passes_off"] = pass_share(args, cfg, tn.name, pkts)
    ns = res["ns_per_packet"]
    floor = ns["floor"]
    out["floor"] = spread(floor)
    out["interp"] = spread(ns["interp"])
    out["interp_cost"] = spread([a - b for a, b in zip(ns["interp"],
                                                        floor)])
    if "jit" in ns:
        out["jit"] = spread(ns["jit"])
        out["jit_cost"] = spread([a - b for a, b in zip(ns["jit"], floor)])
        if out["jit_cost"]["median"] > 0:
            out["ratio"] = (out["interp_cost"]["median"] /
                            out["jit_cost"]["median"])
    out["raw"] = ns
    out["raw_wall"] = res["wall_ns_per_packet"]
    out["switch_ms"] = res["switch_ms"]
    out["testrun"] = res["testrun"]
    out["test_program"] = res["test"]
    out["drops_consistent"] = res["drops_consistent"]
    return out


def gate(args, packets):
    """The link target's differential suite; its summary, or None."""
    cmd = [sys.executable, os.path.join(ROOT, "tests", "diff", "run.py"),
           "--nft-jit", args.nft_jit, "--target", "link", "--packets",
           str(packets)]
    t0 = time.time()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    seed, summary = None, None
    for line in proc.stdout:
        sys.stdout.write(line)
        if line.startswith("seed: "):
            seed = int(line.split()[1])
        if " passed, " in line and " failed" in line:
            summary = line.strip()
    rc = proc.wait()
    sys.stdout.flush()
    if rc != 0 or summary is None:
        return None
    return {"command": "tests/diff/run.py --target link --packets %d "
            "--seed %s" % (packets, seed), "summary": summary,
            "seconds": round(time.time() - t0)}


def machine():
    info = {"kernel": os.uname().release, "cpus": os.cpu_count()}
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        info["memory_gb"] = round(int(f.readline().split()[1]) / 2**20, 1)
    info["nft"] = subprocess.run(["nft", "--version"], capture_output=True,
                                 text=True).stdout.strip()
    try:
        info["debian"] = open("/etc/debian_version").read().strip()
    except OSError:
        pass
    git = subprocess.run(["git", "-C", ROOT, "describe", "--always",
                          "--dirty"], capture_output=True, text=True)
    info["commit"] = git.stdout.strip() or "unknown"
    return info


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="the reduced run (BENCH_QUICK=1): < 2 minutes")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=os.path.join(ROOT, "docs"))
    ap.add_argument("--nft-jit", default=os.path.join(ROOT, "umh",
                                                       "nft-jit"))
    ap.add_argument("--only", default=None,
                    help="cases whose name contains this")
    ap.add_argument("--note", default="",
                    help="a remark for the report, e.g. a shared machine")
    ap.add_argument("--target", choices=("link", "kernel"), default="link",
                    help="the program timed: link (default; any kernel "
                    ">= 6.4) or kernel (the kernel part: make bench-vm)")
    ap.add_argument("--name", default="benchmarks",
                    help="base name of the files written in --out")
    ap.add_argument("--no-passes", dest="passes", action="store_false",
                    help="skip the optimizer's share (each pass off in "
                    "turn on the ACLs of 100 rules and more)")
    ap.add_argument("--no-gate", action="store_true",
                    help="skip the link target's differential tests "
                    "(development only: the report says so)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("bench: needs root (network namespaces, BPF)")
        return 1
    cfg = dict(QUICK if args.quick else FULL)
    start = time.time()
    checked = {"summary": "skipped (--no-gate)"}
    if args.target == "kernel":
        checked = {"summary": "the kernel target's differential suite is "
                   "tools/vm-diff-kernel (make check); here each case's "
                   "per-packet verdict check"}
    elif not args.no_gate:
        checked = gate(args, cfg["gate_packets"])
        if checked is None:
            print("bench: the link target's differential tests failed: "
                  "nothing is timed")
            return 1
    load = [loadavg()]
    todo = cases.suite(args.quick, args.seed, cfg["packets"])
    if args.only:
        todo = [c for c in todo if args.only in c.name]
    results = []
    try:
        with tempfile.TemporaryDirectory(prefix="nftj-bench-") as work:
            for case in todo:
                t0 = time.time()
                try:
                    r = run_case(case, args, cfg, work)
                except (CaseError, RuntimeError, OSError) as e:
                    r = {"name": case.name, "kind": case.kind,
                         "rules": case.nrules, "error": str(e)}
                load.append(loadavg())
                r["seconds"] = round(time.time() - t0, 1)
                results.append(r)
                print(report.line(r))
                sys.stdout.flush()
    finally:
        netns.cleanup_all()
    doc = {"machine": machine(), "mode": "quick" if args.quick else "full",
           "config": dict(cfg, seed=args.seed),
           "command": ("make bench-vm" if args.target == "kernel" else
                       "make bench") + (" BENCH_QUICK=1" if args.quick
                                        else ""),
           "target": args.target,
           "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "seconds": round(time.time() - start),
           "loadavg": {"samples": load,
                       "max_1min": max(x[0] for x in load)},
           "note": args.note, "gate": checked, "cases": results}
    os.makedirs(args.out, exist_ok=True)
    report.write(doc, args.out, args.name)
    print("wrote %s/%s.{json,md,png} in %ds" % (args.out, args.name,
                                                doc["seconds"]))
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
