"""The link target under the same oracle: `run.py --target link`.

For every ruleset whose base chain the link target compiles (all rules or
nothing: a link program cannot hand packets to the interpreter), the
packets go through the real output hook twice:

  1. the table as loaded: the kernel's nf_tables interpreter decides;
  2. the table dormant and `nft-jit attach --link --set-dormant` running:
     the BPF_PROG_TYPE_NETFILTER program decides, alone, at the same
     hook and priority.

Both runs use the same raw sockets and contexts (kernel.Sender): EPERM
from sendto() is a drop.  Verdicts must be equal for every packet; when
the program reports no unhandled packet, every counter it kept must
equal the kernel's too.  Unhandled packets (the shapes the test target
resumes in the interpreter; the link program drops them) are identified
with `nft-jit eval` of the test target, must be exactly the packets it
resumes, must have been dropped, and are left out of the comparison;
the counters are then compared on a second run of the other packets
through a fresh namespace.
"""

import json
import os
import select
import signal
import subprocess
import time

import compare
import gen
import kernel
import model
import netns
import opt
import rulesets

ATTACH_WAIT = 120        # seconds for compile + verifier of big chains
DETACH_WAIT = 30


class LinkError(Exception):
    pass


def compile_status(nft_jit, ns, cfg=None, target="link"):
    """The compile report of chain t/c (a dict) for a target (the link
    target unless told), under optimizer configuration cfg (opt.py)."""
    proc = subprocess.run([nft_jit, "-n", ns, "compile"] + opt.flags(cfg) +
                          ["--target", target, "-t", "t", "-c", "c", "-j"],
                          capture_output=True, text=True,
                          timeout=ATTACH_WAIT)
    try:
        return json.loads(proc.stdout)["compile"][0]
    except (ValueError, KeyError, IndexError):
        raise LinkError("compile --target link exited %d: %s" % (
            proc.returncode, (proc.stderr or proc.stdout).strip()[:300]))


def _read_line(proc, deadline):
    """One line of proc's stdout before the deadline, else None."""
    buf = b""
    fd = proc.stdout.fileno()
    while time.time() < deadline:
        r, _, _ = select.select([fd], [], [], max(0.0,
                                                  deadline - time.time()))
        if not r:
            break
        chunk = os.read(fd, 1)
        if not chunk:
            break
        if chunk == b"\n":
            return buf.decode()
        buf += chunk
    return None


class Attached:
    """`nft-jit attach --link --set-dormant -j` for the with-block.

    On exit it is stopped with SIGTERM; `detached` is then its final
    report: {"unhandled": N, "counters": [...], "reason": ...}.
    """

    def __init__(self, nft_jit, ns, cfg=None):
        self.cmd = [nft_jit, "-n", ns, "attach"] + opt.flags(cfg) + [
            "--link", "-t", "t", "-c", "c", "--set-dormant", "-j",
            "--timeout", "3600"]
        self.proc = None
        self.attached = None
        self.detached = None

    def __enter__(self):
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        line = _read_line(self.proc, time.time() + ATTACH_WAIT)
        if line is None:
            self._kill()
            raise LinkError("attach did not report: %s: %s" % (
                " ".join(self.cmd), self.proc.stderr.read().decode()[:500]))
        self.attached = json.loads(line)["attached"]
        return self

    def _kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        line = _read_line(self.proc, time.time() + DETACH_WAIT)
        try:
            rc = self.proc.wait(timeout=DETACH_WAIT)
        except subprocess.TimeoutExpired:
            self._kill()
            rc = None
        if exc[0] is not None:
            return False
        if line is None or rc != 0:
            raise LinkError("attach ended with %s: %s" % (
                rc, self.proc.stderr.read().decode()[:500]))
        self.detached = json.loads(line)["detached"]
        return False


def second_run(args, h, path, rs, pkts, keep, verdicts, contexts, families,
               cfg=None):
    """Counters of pkts[keep] alone: ((kernel, link), "") or (None, why)."""
    sub = [pkts[i] for i in keep]
    with netns.TestNet() as tn:
        kernel.load(tn, path)
        again = h.send_all(tn, families, contexts, sub)
        kc = kernel.counters(tn, rs.family)
        with Attached(args.nft_jit, tn.name, cfg) as att:
            link_again = h.send_all(tn, families, contexts, sub)
    if again != [verdicts[i] for i in keep] or link_again != again:
        return None, "verdicts changed in the second run"
    if att.detached["unhandled"]:
        return None, "unhandled packets in the second run"
    return (kc, compare.sum_counters([att.detached])), ""


def run_ruleset(args, rs, workdir, h):
    """One ruleset in link mode; h is run.py (Outcome, send_all, ...).

    The kernel's pass runs once; the link program is attached and the
    packets sent again once per optimizer configuration (args.configs).
    """
    out = h.Outcome(rs.name)
    seed = h.ruleset_seed(args.seed, rs.name)
    path = os.path.join(workdir, rs.name + ".nft")
    with open(path, "w") as f:
        f.write(rs.text())
    multi = len(args.configs) > 1
    with netns.TestNet() as tn:
        kernel.load(tn, path)
        m = model.Model(kernel.table_json(tn, rs.family, numeric=True))
        st = compile_status(args.nft_jit, tn.name, args.configs[0])
        if st.get("verifier") == "rejected":
            # not a refusal: nft-jit emitted code the kernel refuses
            out.status = "FAIL"
            log = (st.get("verifier_log") or "").strip().splitlines()
            out.summary = "the verifier rejected the link program " \
                "(%s insns in %s programs): %s" % (
                    st.get("insns"), st.get("programs"),
                    log[-1] if log else "no log")
            out.details += ["    " + x for x in log[-4:]]
            out.details.append("  replay: %s --target link" %
                               h.replay_cmd(args, rs.name))
            return out
        if st["status"] != "jit":
            out.status = "skip"
            out.summary = "the link target refuses the chain: %s" % (
                st.get("reason") or st["status"])
            return out
        contexts = rulesets.contexts(rs, m)
        families = rs.families()
        count = max(1, int(args.packets * float(rs.options.get("scale",
                                                               "1"))))
        nofrag6 = "nofrag6" in rs.options or m.uses_conntrack
        pkts = gen.generate(m, seed, count, families, contexts,
                            nofrag6=nofrag6)
        verdicts = h.send_all(tn, families, contexts, pkts)
        kc = kernel.counters(tn, rs.family)
        runs = []
        for cfg in args.configs:
            cst = st if cfg is args.configs[0] else \
                compile_status(args.nft_jit, tn.name, cfg)
            if cst["status"] != "jit":
                runs.append((cfg, cst, None, None, None))
                continue
            with Attached(args.nft_jit, tn.name, cfg) as att:
                link_verdicts = h.send_all(tn, families, contexts, pkts)
            resumed = set()
            if att.detached["unhandled"]:
                results, _, _ = h.run_jit(args, tn, pkts, contexts,
                                          workdir, rs.name, cfg)
                # The test target may stop at a rule the link program
                # runs (the verifier's complexity limit applies to each
                # target's own code): packets resumed there are not the
                # link program's unhandled ones, and its verdicts on
                # them are compared like any other.
                cut = compile_status(args.nft_jit, tn.name, cfg,
                                     target="test").get(
                                         "first_interpreted") or {}
                resumed = {i for i, r in enumerate(results)
                           if r["verdict"] == "resume" and
                           not (cut.get("index") and r.get("resume") and
                                r["resume"].get("chain") == "c" and
                                r["resume"].get("handle") ==
                                cut.get("handle"))}
            runs.append((cfg, cst, att.detached, link_verdicts, resumed))
    out.packets = len(pkts)
    out.verdicts.update(verdicts)
    failed = []
    for cfg, cst, detached, link_verdicts, resumed in runs:
        label = "%s[%s]" % (rs.name, cfg.name) if multi else rs.name
        if detached is None:
            failed.append(cfg.name)
            out.details.append(
                "  [%s] the link target refuses the chain in this "
                "configuration only: %s%s" % (
                    cfg.name, cst.get("reason") or cst["status"],
                    " (the verifier rejected it)"
                    if cst.get("verifier") == "rejected" else ""))
            continue
        ok, summary, details = check_config(
            args, h, rs, path, pkts, contexts, families, verdicts, kc, cfg,
            cst, detached, link_verdicts, resumed, label)
        if cfg is args.configs[0]:
            out.summary = summary
        elif not ok:
            details.insert(0, "  [%s] %s" % (cfg.name, summary))
        out.details += details
        if not ok:
            failed.append(cfg.name)
    if multi:
        out.summary += ", opt %s: %s" % (
            "/".join(c.name for c in args.configs),
            "FAIL in %s" % "/".join(failed) if failed else
            "each equal to the kernel")
    if failed:
        out.status = "FAIL"
        if args.configs[0].name not in failed:
            out.summary = "configuration %s failed; %s" % (
                "/".join(failed), out.summary)
    return out


def check_config(args, h, rs, path, pkts, contexts, families, verdicts, kc,
                 cfg, st, detached, link_verdicts, resumed, label):
    """One configuration's link run against the kernel's.

    Returns (ok, summary, detail lines).
    """
    unhandled = detached["unhandled"]
    jc = compare.sum_counters([detached])
    jit_packets = [{"verdict": "resume" if i in resumed else v}
                   for i, v in enumerate(link_verdicts)]
    subset, note = None, ""
    keep = compare.not_resumed(jit_packets)
    if 0 < len(keep) < len(pkts):
        subset, note = second_run(args, h, path, rs, pkts, keep, verdicts,
                                  contexts, families, cfg)
    res = compare.compare(verdicts, jit_packets, kc, jc, None, subset)
    problems = []
    if len(resumed) != unhandled:
        problems.append("the program counted %d unhandled packets, the "
                        "test target resumes %d" % (unhandled, len(resumed)))
    dropped = sum(1 for i in resumed if link_verdicts[i] == "drop")
    if dropped != len(resumed):
        problems.append("%d unhandled packets were not dropped" % (
            len(resumed) - dropped))
    accept = sum(1 for v in verdicts if v == "accept")
    parts = ["%d packets (accept %d, drop %d)" % (
        res.packets, accept, res.packets - accept),
        "program %d insns in %d programs" % (st["insns"], st["programs"]),
        "%d unhandled (dropped)" % unhandled]
    if res.counters_compared == "all":
        parts.append("counters compared (%d)" % res.counters)
    elif res.counters_compared == "subset":
        parts.append("counters compared on a second run of the %d packets "
                     "handled (%d)" % (len(keep), res.counters))
    else:
        parts.append("verdicts only (%s)" % (note or "all unhandled"))
    summary = ", ".join(parts)
    if res.ok and not problems:
        return True, summary, []
    nv = sum(1 for x in res.mismatches if x.kind == "verdict")
    summary = "%d verdict mismatches, %d counter mismatches%s; %s" % (
        nv, len(res.mismatches) - nv,
        "".join(", " + p for p in problems), summary)
    details = []
    for mm in res.mismatches[:None if args.verbose else h.MAX_PRINTED]:
        if mm.kind == "verdict":
            p = pkts[mm.index]
            details.append(
                "  mismatch %s seed=%d packet=%d kernel=%s link=%s ctx=%s "
                "(%s)\n    packet: %s" % (label, args.seed, mm.index,
                                         mm.kernel, mm.jit,
                                         contexts[p.ctx], p.note,
                                         p.data.hex()))
        else:
            details.append("  counter %s rule=%s kernel=%s link=%s" % (
                label, json.dumps(mm.rule), mm.kernel, mm.jit))
    details.append("  replay: %s --target link" % h.replay_cmd(
        args, rs.name, cfg))
    return False, summary, details
