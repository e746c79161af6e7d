"""The system under test: `nft-jit eval` run on a pcap of our packets.

  ip netns exec NS nft-jit eval -t t -c c --oif veth0 [--mark N]
      --skuid U --skgid G -r FILE.pcap -j

prints {"eval": {..., "packets": [...], "counters": [...],
"fallback": [...]}} on stdout.
"""

import json
import os
import subprocess

import opt

DEFAULT_PATH = os.path.normpath(os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "umh",
    "nft-jit"))
TIMEOUT = 300


def probe(path):
    """None if `path eval --help` works, else the reason it does not."""
    if not os.path.exists(path):
        return "%s does not exist" % path
    if not os.access(path, os.X_OK):
        return "%s is not executable" % path
    try:
        proc = subprocess.run([path, "eval", "--help"], capture_output=True,
                              text=True, timeout=30)
    except OSError as e:
        return "%s: %s" % (path, e)
    except subprocess.TimeoutExpired:
        return "%s eval --help timed out" % path
    if proc.returncode != 0:
        return "%s eval --help exited %d: %s" % (
            path, proc.returncode, (proc.stderr or proc.stdout).strip()[:200])
    return None


# extra `nft-jit eval` options for every run (run.py --eval-arg)
EXTRA_ARGS = []


def command(path, netns_name, pcap_path, ctx, table="t", chain="c",
            oif="veth0", cfg=None):
    mark, uid, gid = ctx
    cmd = ["ip", "netns", "exec", netns_name, path, "eval"] + \
        opt.flags(cfg) + ["-t", table, "-c", chain, "--oif", oif] + \
        EXTRA_ARGS
    if mark:
        cmd += ["--mark", str(mark)]
    cmd += ["--skuid", str(uid), "--skgid", str(gid), "-r", pcap_path, "-j"]
    return cmd


class EvalError(Exception):
    pass


def evaluate(path, netns_name, pcap_path, ctx, npackets, cfg=None):
    """Run eval (under optimizer configuration cfg, opt.py); return the
    "eval" object, checked for shape."""
    cmd = command(path, netns_name, pcap_path, ctx, cfg=cfg)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True,
                              timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        raise EvalError("timed out after %ds: %s" % (TIMEOUT, " ".join(cmd)))
    if proc.returncode != 0:
        err = proc.stderr.strip().splitlines()
        raise EvalError("exit %d: %s\n    %s" % (
            proc.returncode, " ".join(cmd), "\n    ".join(
                ([".."] if len(err) > 6 else []) + err[-6:])))
    try:
        ev = json.loads(proc.stdout)["eval"]
    except (ValueError, KeyError, TypeError) as e:
        raise EvalError("bad JSON (%s): %s\n%s" % (e, " ".join(cmd),
                                                   proc.stdout[:500]))
    pk = ev.get("packets")
    if not isinstance(pk, list) or len(pk) != npackets:
        raise EvalError("expected %d packets in the output, got %s: %s" % (
            npackets, len(pk) if isinstance(pk, list) else pk,
            " ".join(cmd)))
    for i, p in enumerate(pk):
        if p.get("index", i) != i or p.get("verdict") not in (
                "accept", "drop", "resume"):
            raise EvalError("bad packet entry %d: %s" % (i, p))
    ev.setdefault("counters", [])
    ev.setdefault("fallback", [])
    return ev


def kernel_compile(path, netns_name, cfg=None, table="t", chain="c"):
    """Problems of `nft-jit compile --target kernel --no-load` of the
    chain under optimizer configuration cfg: [] when it compiles or is
    refused with a reason, else what went wrong (an internal error, a
    crash, no JSON).  Runs on any kernel: nothing is loaded."""
    cmd = [path, "-n", netns_name, "compile"] + opt.flags(cfg) + [
        "--target", "kernel", "--no-load", "-t", table, "-c", chain, "-j"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True,
                              timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return ["timed out after %ds: %s" % (TIMEOUT, " ".join(cmd))]
    try:
        reports = json.loads(proc.stdout)["compile"]
    except (ValueError, KeyError, TypeError):
        return ["exit %d, no JSON: %s: %s" % (
            proc.returncode, " ".join(cmd),
            (proc.stderr or proc.stdout).strip()[:300])]
    out = []
    for r in reports:
        why = r.get("reason") or ""
        if "internal error" in why:
            out.append("%s: %s (%s)" % (r.get("chain"), why, " ".join(cmd)))
    if proc.returncode not in (0, 1):
        out.append("exit %d: %s" % (proc.returncode, " ".join(cmd)))
    return out
