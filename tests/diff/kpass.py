"""Kernel-target pass (run.py --kernel): programs attached in the kernel.

The interpreter pass is the oracle.  The same ruleset is loaded into a
fresh namespace, every base chain gets a program (`nft-jit attach`), the
very same packets go through the output hook again, and verdicts and
rule counters (`nft -j list ruleset`) must be equal.  `nft-jit kstatus`
says whether the programs ran, how many packets they handed to the
interpreter (resumes) and how many the interpreter ran whole (fallbacks).
"""

import json
import subprocess

import kernel
import netns
import opt

TIMEOUT = 300
# stateful expressions whose result depends on time, not on the packets
TIME_DEPENDENT = ('"limit": ', '"numgen": ', '"quota": ')


class AttachError(Exception):
    pass


def _nftjit(path, ns, argv, cfg=None):
    """Run nft-jit [-n ns] SUBCOMMAND ARGS under optimizer configuration
    cfg (opt.py; None: nft-jit's default)."""
    argv = list(argv)
    cmd = [path] + (["-n", ns] if ns else []) + argv[:1] + opt.flags(cfg) + \
        argv[1:]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True,
                              timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return 124, "", "%s timed out" % " ".join(cmd)
    return proc.returncode, proc.stdout, proc.stderr.strip()


def probe(path):
    """None if the kernel part answers, else why the mode cannot run."""
    try:
        rc, out, err = _nftjit(path, None, ["kstatus", "-j"])
    except OSError as e:
        return "%s: %s" % (path, e)
    if rc != 0:
        return "no kernel part: nft-jit kstatus exited %d: %s" % (
            rc, (err or out)[:300])
    try:
        json.loads(out)["attachments"]
    except (ValueError, KeyError, TypeError):
        return "nft-jit kstatus -j printed no attachments: %r" % out[:200]
    return None


def ruleset_json(tn):
    return json.loads(tn.nft(["-j", "list", "ruleset"]))["nftables"]


def base_chains(objs):
    """[(family, table, chain)] of the base chains ip/ip6/inet."""
    return [(c["family"], c["table"], c["name"])
            for c in (o.get("chain") for o in objs)
            if c and "hook" in c and c["family"] in ("ip", "ip6", "inet")]


def counters(objs):
    """{(family, table, chain, handle): (packets, bytes)} of all rules."""
    out = {}
    for obj in objs:
        rule = obj.get("rule")
        if not rule:
            continue
        for expr in rule["expr"]:
            c = expr.get("counter")
            if isinstance(c, dict) and "packets" in c:
                key = (rule["family"], rule["table"], rule["chain"],
                       rule["handle"])
                p, b = out.get(key, (0, 0))
                out[key] = (p + c["packets"], b + c["bytes"])
    return out


def time_dependent(objs):
    text = json.dumps(objs)
    return [t.split('"')[1] for t in TIME_DEPENDENT if t in text]


def attach(path, tn, chains, cfg=None):
    """Attach every chain (optimizer configuration cfg).

    Returns (attached [(chain, attach json)], refused [(chain, reason)]).
    A chain the compiler refuses ("cannot be compiled") is a refusal;
    any other failure raises AttachError.
    """
    attached, refused = [], []
    for fam, table, chain in chains:
        rc, out, err = _nftjit(path, tn.name,
                               ["attach", "-j", fam, table, chain], cfg)
        name = "%s %s %s" % (fam, table, chain)
        if rc == 0:
            attached.append((name, json.loads(out)["attach"]))
        elif "cannot be compiled" in err:
            refused.append((name, err.split("cannot be compiled: ", 1)[-1]))
        else:
            raise AttachError("attach %s exited %d: %s" % (name, rc, err))
    return attached, refused


def kstatus(path, tn):
    rc, out, err = _nftjit(path, tn.name, ["kstatus", "-j"])
    if rc != 0:
        raise AttachError("kstatus exited %d: %s" % (rc, err))
    return json.loads(out)


class Result:
    def __init__(self):
        self.attached = []          # [(chain name, attach json)]
        self.refused = []           # [(chain name, reason)]
        self.status = None          # kstatus json after the packets
        self.verdicts = None
        self.counters = None
        self.time_dependent = []

    def stats(self):
        a = self.status["attachments"] if self.status else []
        return (sum(x["runs"] for x in a), sum(x["resumes"] for x in a),
                sum(x["fallbacks"] for x in a))


def run(path, rs_path, send, cfg=None):
    """Load rs_path fresh, attach (optimizer configuration cfg),
    send(tn); return a Result."""
    r = Result()
    with netns.TestNet() as tn:
        kernel.load(tn, rs_path)
        objs = ruleset_json(tn)
        r.time_dependent = time_dependent(objs)
        r.attached, r.refused = attach(path, tn, base_chains(objs), cfg)
        r.verdicts = send(tn)
        r.status = kstatus(path, tn)
        r.counters = counters(ruleset_json(tn))
    return r


def interpreter(rs_path, send):
    """Interpreter only: (verdicts, ruleset counters) of a fresh load."""
    with netns.TestNet() as tn:
        kernel.load(tn, rs_path)
        v = send(tn)
        return v, counters(ruleset_json(tn))


def compare(verdicts, kc, r):
    """Mismatch lines: [(kind, index or key, interpreter, kernel target)]."""
    out = [("verdict", i, a, b)
           for i, (a, b) in enumerate(zip(verdicts, r.verdicts)) if a != b]
    if len(verdicts) != len(r.verdicts):
        out.append(("verdict", "count", len(verdicts), len(r.verdicts)))
    for key in sorted(set(kc) | set(r.counters), key=str):
        a, b = kc.get(key), r.counters.get(key)
        if a != b:
            out.append(("counter", key, a, b))
    return out
