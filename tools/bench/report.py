"""benchmarks.json, benchmarks.md and benchmarks.png from one run.

Everything in the Markdown that depends on a number is computed from the
run's results here; the rest is the method, which does not change.
"""

import json
import os
import re
import shutil
import subprocess


def _ns(x):
    if x is None:
        return "n/a"
    return "%.0f" % x if abs(x) >= 10 else "%.1f" % x


def _cell(s):
    """median [min, max] of a spread."""
    if not s:
        return "n/a"
    return "%s [%s, %s]" % (_ns(s["median"]), _ns(s["min"]), _ns(s["max"]))


def line(r):
    """One console line per case."""
    if "error" in r:
        return "FAIL %s: %s" % (r["name"], r["error"])
    jit = _cell(r.get("jit_cost")) if "jit_cost" in r else \
        "n/a (%s)" % refusal(r)
    return ("ok %s: %d rules, cost interp %s, jit %s, floor %s ns/pkt%s" %
            (r["name"], r["rules"], _cell(r["interp_cost"]), jit,
             _ns(r["floor"]["median"]),
             ", ratio %.2f" % r["ratio"] if "ratio" in r else ""))


def refusal(r):
    """Why the link target refused the chain, in a few words."""
    why = r.get("link", {}).get("reason", "refused")
    m = re.search(r"is not supported \((.*?)\); a link", why)
    return m.group(1) if m else why


def _jit_cell(r):
    if "jit_cost" in r:
        return _cell(r["jit_cost"])
    return "n/a: the link target refuses the chain (%s)" % refusal(r)


def _program(r):
    lk = r.get("link", {})
    if lk.get("status") != "jit":
        return "-"
    return "%d insns, %d prog%s" % (lk["insns"], lk["programs"],
                                    "s" if lk["programs"] > 1 else "")


def _testrun(r):
    tr = r["testrun"]
    t = _ns(tr["test_ns"]) if r["test_program"]["status"] != "refused" \
        else "n/a"
    if tr.get("test_resumed"):
        t += " (%d%% resumed)" % round(100.0 * tr["test_resumed"] /
                                       r["packets"])
    link = _ns(tr["link_ns"]) if "jit_cost" in r and tr.get("link_ns") \
        else "n/a"
    return "%s / %s" % (t, link)


TABLE_HEAD = (
    "| ruleset | rules | interpreter ns/pkt | JIT ns/pkt | ratio | "
    "floor ns/pkt | BPF_PROG_TEST_RUN ns/pkt (test / link) | link program |\n"
    "|---|---:|---:|---:|---:|---:|---:|---|\n")


def _table(results):
    rows = []
    for r in results:
        if "error" in r:
            rows.append("| %s | %d | failed: %s | | | | | |" % (
                r["name"], r["rules"], r["error"].replace("|", "/")[:200]))
            continue
        rows.append("| %s | %d | %s | %s | %s | %s | %s | %s |" % (
            r["name"] + (" (as written)" if r["timed_as"] == "written"
                         else ""), r["rules"], _cell(r["interp_cost"]),
            _jit_cell(r), "%.2f" % r["ratio"] if "ratio" in r and
            r["kind"] != "verdicts" else "n/a",
            _ns(r["floor"]["median"]), _testrun(r), _program(r)))
    return TABLE_HEAD + "\n".join(rows) + "\n"


def _hits(results):
    out = ["| ruleset | packets | accepted / dropped (as written) | "
           "decided by the policy | decided by each rule (up to 10 rules) "
           "or each tenth of the chain, first to last |",
           "|---|---:|---|---:|---|"]
    for r in results:
        if "error" in r or r["kind"] == "verdicts":
            continue
        h = r["hits"]
        n = r["packets"]
        per = h["rules"] if r["rules"] <= 10 else h["tenths"]
        out.append("| %s | %d | %d / %d | %.0f%% | %s |" % (
            r["name"], n, r["verdicts"]["accept"], r["verdicts"]["drop"],
            100.0 * h["policy"] / n, " ".join(
                "%.0f%%" % (100.0 * x / n) for x in per)))
    return "\n".join(out) + "\n"


def _passes(results):
    """Each optimizer pass's share: the JIT with it off, ACLs only."""
    rows = [r for r in results if r.get("passes_off")]
    if not rows:
        return ""
    offs = []
    for r in rows:
        for k in r["passes_off"]:
            if k not in offs:
                offs.append(k)
    out = ["### Each optimizer pass's share", "",
           "The JIT with one pass off (`nft-jit bench --no-opt PASS`), "
           "each configuration its own run of floor, interpreter and JIT: "
           "JIT ns/pkt above the floor, the ratio to the interpreter in "
           "that run, and the link program's static instructions.", "",
           "| ruleset | all passes on | " + " | ".join(
               "%s off" % k if k != "all" else "all off" for k in offs) +
           " |", "|---|" + "---:|" * (len(offs) + 1)]

    def cell(c):
        if not c:
            return "n/a"
        return "%s (%s, %s insns)" % (
            _ns(c["jit_cost"]["median"]),
            "%.2f" % c["ratio"] if c.get("ratio") else "n/a",
            c.get("insns") if c.get("insns") is not None else "?")
    for r in rows:
        on = {"jit_cost": r["jit_cost"], "ratio": r.get("ratio"),
              "insns": r.get("link", {}).get("insns")} \
            if "jit_cost" in r else None
        out.append("| %s | %s | %s |" % (r["name"], cell(on), " | ".join(
            cell(r["passes_off"].get(k)) for k in offs)))
    return "\n".join(out) + "\n\n"


def _summary(results):
    acl = [r for r in results if r["kind"] == "acl" and "ratio" in r]
    lines = []
    for r in acl:
        lines.append("%d rule%s: interpreter %s ns, JIT %s ns per packet "
                     "above the floor (ratio %.2f)" % (
                         r["rules"], "s" if r["rules"] > 1 else "", _ns(r["interp_cost"]["median"]),
                         _ns(r["jit_cost"]["median"]), r["ratio"]))
    faster = [r for r in acl if r["ratio"] > 1]
    if acl:
        lines.append("the JIT's median cost is below the interpreter's at "
                     "%d of %d ACL sizes" % (len(faster), len(acl)))
    by = {r["name"]: r for r in results if "jit_cost" in r}
    for name, r in sorted(by.items()):
        if "set-" not in name or name.replace("set-", "chain-") not in by:
            continue
        c = by[name.replace("set-", "chain-")]
        what = "prefixes" if name.startswith("prefix") else "pairs"
        n = name.rsplit("-", 1)[1]
        lines.append("%s %s: as a chain, interpreter %s / JIT %s ns; as a "
                     "set, interpreter %s / JIT %s ns" % (
                         n, what, _ns(c["interp_cost"]["median"]),
                         _ns(c["jit_cost"]["median"]),
                         _ns(r["interp_cost"]["median"]),
                         _ns(r["jit_cost"]["median"])))
    return "".join("- %s\n" % x for x in lines)


METHOD = """\
## What is measured

Every ruleset is one table `ip t` whose base chain `c` sits at the
**output** hook, priority 0, in a network namespace made for the run
(`tests/diff/netns.py`: `veth0` to a peer namespace that drops everything
at ingress; nothing else passes the hook).  `nft-jit bench` sends the
case's packets, built in advance, with `sendmmsg()` on raw `IP_HDRINCL`
sockets: each packet crosses the output hook inside the system call, then
leaves through `veth0`.  Three modes, **same packets, same hook, same
kernel, one run**:

| mode | what runs at the hook |
|---|---|
| interpreter | the table as loaded: nf_tables' `nft_do_chain()` |
| JIT | the table dormant (`flags dormant`: its hooks unregistered), the chain's link-target program attached with `BPF_LINK_CREATE` at the same hook and priority |
| floor | the table dormant, nothing attached |

One measurement sends the packet list once untimed, then again and again
until the sending thread has used the minimum CPU time; its result is
that CPU time (`CLOCK_THREAD_CPUTIME_ID`) divided by the packets sent.
CPU time rather than elapsed time: the hook runs inside the sender's
system calls (and so do the device transmit and, in softirq context
charged to the sender, the peer's receive), while the time the sender
waits for a CPU on a busy machine is left out.  The elapsed times are in
`benchmarks.json` too.  A repetition measures the three modes in turn,
starting with a different one each time; **cost = (time - floor) /
packet** within a repetition.  The tables give the median over the
repetitions and, in brackets, the lowest and highest.  The ratio is the
interpreter's median cost over the JIT's (above 1: the JIT costs less).

**Verdicts are checked before anything is timed.**  `make bench` first
runs the link target's differential suite (`tests/diff/run.py --target
link`: every ruleset of `tests/rulesets/` the link target accepts, its
verdicts and counters against the kernel's interpreter at the hook).
Then, for each case, the ruleset as written is loaded and every packet
is sent alone through the interpreter and through the link program: any
difference, or a difference from the verdict the case's model expects,
and the case is not timed.

**Timing uses the same rules with every verdict `accept`** (drops and
the policy included).  A packet dropped at the output hook makes
`sendmmsg()` fail with `EPERM` and stop: the sender must issue another
system call, and a dropped packet never reaches the device.  Both effects
are the same for the interpreter and the JIT, but they are larger than
what is being compared: the two `verdicts-*` rows, timed as written,
measure them on this machine (an empty chain that accepts every packet,
and one that drops every packet).  Turning `drop` into `accept` changes
no comparison the chain makes and no rule that decides a packet, for
either side; it only makes every packet take the same path after the
hook.

`BPF_PROG_TEST_RUN` columns: the test-target program (the one `nft-jit
eval` runs, `BPF_PROG_TYPE_SCHED_CLS`) and the link-target program run
alone on each packet, repeated in the kernel, no hook around them: the
programs' own cost.  The test target leaves rules beyond its program size
limit to the interpreter ("resumed": the time then covers its part only).

## The rulesets

- **acl-N** (a): N rules of 5-tuple ACL shape generated from a seed
  (`tools/bench/acl.py`, in the spirit of ClassBench's acl seeds): source
  and destination prefixes of hosts and networks that nest and overlap,
  TCP/UDP/ICMP or any protocol, source and destination port ranges or
  single ports, 60 % accept / 40 % drop, policy drop.  Traffic: 80 % of
  the packets aimed at rules spread evenly over the chain (a packet an
  earlier rule catches counts for that rule), 20 % matching no rule.
- **server-ct**, **server** (b): a server's input ruleset (conntrack
  first, then a 256-prefix blocklist set, ICMP, services in anonymous
  sets, internal services by source network, policy drop), with and
  without the two `ct state` rules.  The link target has no conntrack
  (`ct` is not in the IMR yet, and a link program has no interpreter to
  fall back to), so it refuses `server-ct`: only the interpreter is
  timed there.
- **chain-N / set-N** (c): the same N (destination address, UDP port) →
  verdict pairs, as N rules or as one rule with a verdict map
  (`ip daddr . udp dport vmap @acl`, a BPF hash map in the link program).
- **prefix-chain-N / prefix-set-N** (c): N disjoint source prefixes (/24
  or /32) to drop, as N rules or as one rule with an interval set (an LPM
  trie in the link program).  The acl-N rulesets themselves cannot be
  written as one set: prefixes and ranges in several fields need a set
  with concatenated ranges, which the IMR does not support yet.
- **verdicts-accept / verdicts-drop**: an empty chain, timed as written.

Hit distribution: which rule decides the packets, from each case's model;
the kernel's verdicts on the ruleset as written must equal the model's.
"""


def _machine(doc):
    m = doc["machine"]
    la = doc["loadavg"]
    ones = [x[0] for x in la["samples"]]
    out = ["## Machine and run", "",
           "| | |", "|---|---|",
           "| date | %s |" % doc["date"],
           "| kernel | Linux %s |" % m["kernel"],
           "| CPU | %s, %d CPUs, %.1f GB |" % (m.get("cpu", "?"), m["cpus"],
                                             m["memory_gb"]),
           "| system | Debian %s, %s |" % (m.get("debian", "?"), m["nft"]),
           "| nft-jit | %s |" % m["commit"],
           "| run | %s: %d packets per case, %d repetitions, %d ms of CPU "
           "time at least per measurement, BPF_PROG_TEST_RUN %d runs per "
           "packet (fewer where a program would take more than %d ms in "
           "all), seed %d, %d s |" % (
               doc["mode"], doc["config"]["packets"], doc["config"]["reps"],
               doc["config"]["min_time"], doc["config"]["tr_repeat"],
               doc["config"]["tr_budget"], doc["config"]["seed"],
               doc["seconds"]),
           "| load average (1 min) during the run | %.2f to %.2f (sampled "
           "before the first case and after each) |" % (min(ones), max(ones)),
           "| verdicts checked first | %s |" % (
               "`%s`: %s, %d s" % (doc["gate"]["command"],
                                   doc["gate"]["summary"],
                                   doc["gate"]["seconds"])
               if "command" in doc.get("gate", {}) else
               doc.get("gate", {}).get("summary", "?"))]
    if doc.get("note"):
        out.append("| note | %s |" % doc["note"])
    return "\n".join(out) + "\n"


KERNEL_NOTE = """\
**Kernel target, in the VM.**  The jit mode keeps the table active and
runs the kernel-target program from nft_do_chain() through the kernel
part (nf_tables_jit); `link program` below names that program.  QEMU
emulates the CPU (no KVM here): only the ratios mean anything, not the
nanoseconds.

"""


def markdown(doc, name="benchmarks"):
    res = doc["cases"]
    quick = doc["mode"] == "quick"
    kernel = doc.get("target") == "kernel"
    return "".join([
        "# Benchmarks: nf_tables' interpreter and nft-jit's %s\n\n" % (
            "kernel-target program (VM)" if kernel else "link program"),
        KERNEL_NOTE if kernel else "",
        "Generated by `%s` (tools/bench/run.py) on %s; do not edit by "
        "hand.%s\n\n" % (doc["command"], doc["date"],
                         "  **Quick run**: fewer cases, packets and "
                         "repetitions." if quick else ""),
        "ns/pkt above the floor: median [lowest, highest] of %d "
        "repetitions.\n\n" % doc["config"]["reps"],
        _table(res), "\n", _summary(res), "\n",
        "![ns per packet against rules](%s.png)\n\n" % name,
        "*acl-N: time per packet in each mode (not above the floor), median "
        "and range; both axes logarithmic.*\n\n",
        _passes(res),
        "### Hit distribution\n\n", _hits(res), "\n",
        _machine(doc), "\n",
        "## Reproduce\n\n",
        "As root on Debian 12 with Linux >= 6.4, from the top of the "
        "tree:\n\n",
        "```\nmake bench                 # this file, benchmarks.json and "
        "benchmarks.png in docs/\nmake bench BENCH_QUICK=1   # the reduced "
        "run, under two minutes, into build/bench/\n"
        "tools/bench/run.py --only acl-1000 --out /tmp/b   # one case\n```\n"
        "\n", METHOD])


GNUPLOT = """\
set terminal png size 960,640
set output '%(png)s'
set logscale xy
set xlabel 'rules in the chain (acl-N)'
set ylabel 'ns per packet (median, range over repetitions)'
set key top left
set grid
set title 'output hook, same packets: interpreter, JIT (link program), floor'
plot '%(dat)s' using 1:2:3:4 with yerrorlines title 'floor (nothing at the hook)', \\
     '%(dat)s' using 1:5:6:7 with yerrorlines title 'interpreter', \\
     '%(dat)s' using 1:8:9:10 with yerrorlines title 'JIT (link program)'
"""


def plot(doc, out, name="benchmarks"):
    rows = [r for r in doc["cases"] if r["kind"] == "acl" and
            "jit" in r]
    gp = shutil.which("gnuplot")
    if not rows or not gp:
        return "no plot: %s" % ("gnuplot missing" if not gp else "no data")
    dat = os.path.join(out, "." + name + ".dat")
    with open(dat, "w") as f:
        for r in sorted(rows, key=lambda r: r["rules"]):
            f.write("%d %s\n" % (r["rules"], " ".join(
                "%.1f" % r[m][k] for m in ("floor", "interp", "jit")
                for k in ("median", "min", "max"))))
    script = GNUPLOT % {"png": os.path.join(out, name + ".png"),
                        "dat": dat}
    proc = subprocess.run([gp], input=script, text=True,
                          capture_output=True)
    os.unlink(dat)
    return proc.stderr.strip() or None


def write(doc, out, name="benchmarks"):
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")
    err = plot(doc, out, name)
    if err:
        print("plot: %s" % err)
    with open(os.path.join(out, name + ".md"), "w") as f:
        f.write(markdown(doc, name))
