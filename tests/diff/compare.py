"""The comparison between the kernel and nft-jit, free of any I/O so the
self-test can feed it deliberately wrong answers.

Per packet that nft-jit did not resume: the verdicts must be equal.

Counters: if no packet resumed, every counter nft-jit reports must equal
the kernel's (packets and bytes).  With resumed packets the interpreter
also ran rules after the resume point, so the totals legitimately
differ; then, if the caller ran the packets nft-jit did not resume a
second time through both a fresh kernel table and nft-jit (subset), the
counters of that second run are compared instead.  Without it only
verdicts are compared.

nft-jit's own answer should be consistent: its per-packet "counted"
lists should add up to its "counters" (checked when every packet has
one).  Where they do not, that is a warning, not a failure: the contract
compares verdicts and counters.
"""

import json
from collections import namedtuple

Mismatch = namedtuple("Mismatch", "kind index kernel jit rule")


class Result:
    def __init__(self):
        self.packets = 0
        self.resumed = 0
        self.compared = 0            # packets whose verdicts were compared
        self.counters_compared = None   # None, "all" or "subset"
        self.counters = 0            # counters compared
        self.mismatches = []
        self.warnings = []           # nft-jit inconsistent with itself

    @property
    def ok(self):
        return not self.mismatches


def sum_counters(evals):
    """Add up the "counters" lists of several eval outputs."""
    total = {}
    for ev in evals:
        for c in ev["counters"]:
            key = (c["chain"], c["handle"])
            p, b = total.get(key, (0, 0))
            total[key] = (p + c["packets"], b + c["bytes"])
    return total


def counted_totals(jit_packets, lengths):
    """{(chain, handle): (packets, bytes)} from the "counted" lists."""
    total = {}
    for jp, n in zip(jit_packets, lengths):
        for c in jp.get("counted") or []:
            key = (c.get("chain"), c.get("handle"))
            p, b = total.get(key, (0, 0))
            total[key] = (p + 1, b + n)
    return total


def not_resumed(jit_packets):
    """Indexes of the packets nft-jit decided itself."""
    return [i for i, jp in enumerate(jit_packets)
            if jp["verdict"] != "resume"]


def _compare_counters(res, keys, kernel, jit, kind):
    for key in sorted(keys):
        res.counters += 1
        want = kernel.get(key)
        got = jit.get(key, (0, 0))
        if want != got:
            res.mismatches.append(Mismatch(kind, None, want, got,
                                           {"chain": key[0],
                                            "handle": key[1]}))


def compare(kernel_verdicts, jit_packets, kernel_counters, jit_counters,
            lengths=None, subset=None):
    """Compare one ruleset's results; returns a Result.

    kernel_verdicts  ["accept"|"drop", ...] by packet index
    jit_packets      eval "packets" entries by the same index
    kernel_counters  {(chain, handle): (packets, bytes)}
    jit_counters     {(chain, handle): (packets, bytes)}
    lengths          packet lengths by index: enables the consistency
                     check of nft-jit's "counted" lists
    subset           (kernel counters, nft-jit counters) of a second run
                     of only the packets nft-jit did not resume, both
                     sides starting from zero
    """
    res = Result()
    if len(kernel_verdicts) != len(jit_packets):
        raise ValueError("%d kernel verdicts, %d nft-jit results" % (
            len(kernel_verdicts), len(jit_packets)))
    res.packets = len(kernel_verdicts)
    for i, (kv, jp) in enumerate(zip(kernel_verdicts, jit_packets)):
        jv = jp["verdict"]
        if jv == "resume":
            res.resumed += 1
            continue
        res.compared += 1
        if kv != jv:
            res.mismatches.append(Mismatch("verdict", i, kv, jv,
                                           jp.get("rule")))
    if lengths is not None and not all("counted" in jp
                                       for jp in jit_packets):
        lengths = None               # no per-packet counts to check
    if lengths is not None:
        counted = counted_totals(jit_packets, lengths)
        for key in sorted(set(counted) | set(jit_counters)):
            if counted.get(key, (0, 0)) != jit_counters.get(key, (0, 0)):
                res.warnings.append(Mismatch(
                    "consistency", None, counted.get(key),
                    jit_counters.get(key),
                    {"chain": key[0], "handle": key[1]}))

    if not res.resumed:
        res.counters_compared = "all"
        _compare_counters(res, jit_counters, kernel_counters, jit_counters,
                          "counter")
    elif subset is not None:
        res.counters_compared = "subset"
        _compare_counters(res, subset[1], subset[0], subset[1], "subset")
    return res


# What nft-jit says about one packet that must not depend on which
# optimizer passes ran (opt.py): the verdict, the rule that decided (or
# null: the policy), where the interpreter resumes, the rules counted.
DECISION_KEYS = ("verdict", "rule", "resume", "counted")


def _norm(v):
    if isinstance(v, dict):
        return tuple(sorted((k, _norm(x)) for k, x in v.items()))
    if isinstance(v, list):
        return tuple(_norm(x) for x in v)
    return v


def _key(rule):
    return (rule.get("chain"), rule.get("handle")) if rule else None


def _counted(r):
    return [_key(c) for c in r.get("counted") or []]


def _stopped_first(a, b, position):
    """Of two answers for one packet, at least one resumed at different
    points: (the one that stopped first, the other), or None when the
    order is unknown (rules of different chains)."""
    ra, rb = _key(a.get("resume")), _key(b.get("resume"))
    if ra and not rb:
        return a, b
    if rb and not ra:
        return b, a
    if ra[0] == rb[0] and ra in position and rb in position:
        return (a, b) if position[ra] < position[rb] else (b, a)
    return None


def _side(k, r, position, spans):
    """Where rule k ran relative to resume point r: "before", "after" or
    None (unknown: a chain entered both before and after r, or no
    place)."""
    if k[0] == r[0]:
        if k in position and r in position:
            return "before" if position[k] < position[r] else "after"
        return None
    span = spans.get(k[0])
    if span is None or r not in position:
        return None
    if span[1] < position[r]:
        return "before"
    if span[0] >= position[r]:
        return "after"
    return None


def _consistent_resume(first, other, position, spans):
    """Why the answers of a packet nft-jit resumed at different points in
    two configurations contradict each other, or None.

    A program stops at its first rule left to the interpreter; how far it
    gets may depend on the passes (code size against the segment limit).
    The packet passed every rule before the first stop without a decision
    (the other configuration must not have decided it by such a rule),
    and counted the same rules up to there.  "counted" lists are in rule
    id order, not in the order the rules ran: a rule of another chain is
    placed by the base chain positions its chain is entered from (spans),
    and left out where that does not tell.
    """
    r = _key(first.get("resume"))
    d = _key(other.get("rule"))
    if d and d[0] == r[0] and d in position and r in position and \
            position[d] < position[r]:
        return "decided by %s/%s before the resume point %s/%s of the " \
            "other configuration" % (d + r)
    c1 = sorted(k for k in _counted(first)
                if _side(k, r, position, spans) is not None)
    c2 = sorted(k for k in _counted(other)
                if _side(k, r, position, spans) == "before")
    if c1 != c2:
        return "counted %s up to the resume point, the other " \
            "configuration %s" % (c1, c2)
    return None


def decisions_differ(base, other, position=None, spans=None):
    """Where two nft-jit answers for the same packets disagree.

    Returns (differences [(packet index, key, base's value, other's
    value)] on DECISION_KEYS, indexes of packets resumed at different
    points without contradiction).  position: {(chain, handle): index of
    the rule in its chain}, to order resume points and deciding rules;
    spans: {chain: (first, last)} the base chain positions from which
    each other chain is entered, directly or through other chains.
    """
    if len(base) != len(other):
        raise ValueError("%d and %d nft-jit results" % (len(base),
                                                        len(other)))
    position, spans = position or {}, spans or {}
    out, moved = [], []
    for i, (a, b) in enumerate(zip(base, other)):
        if _norm(a.get("resume")) != _norm(b.get("resume")):
            order = _stopped_first(a, b, position)
            why = _consistent_resume(order[0], order[1], position,
                                     spans) \
                if order else None
            if why:
                out.append((i, "resume", a.get("resume"),
                            "%s (%s)" % (json.dumps(b.get("resume")), why)))
            else:
                moved.append(i)
            continue
        for key in DECISION_KEYS:
            if _norm(a.get(key)) != _norm(b.get(key)):
                out.append((i, key, a.get(key), b.get(key)))
    return out, moved


def spread(results, chain, order):
    """Where the rules that decided results lie in one chain.

    order: the chain's rule handles in order.  Returns (distinct rules of
    the chain that decided a packet, the deepest one's position (1-based,
    0: none), packets decided by a rule in each quarter of the chain,
    packets decided elsewhere: the policy, another chain or resumed).
    """
    pos = {h: i for i, h in enumerate(order)}
    quarters = [0, 0, 0, 0]
    seen, deepest, other = set(), 0, 0
    for r in results:
        rule = r.get("rule")
        if not rule or rule.get("chain") != chain or \
                rule.get("handle") not in pos:
            other += 1
            continue
        i = pos[rule["handle"]]
        seen.add(i)
        deepest = max(deepest, i + 1)
        quarters[min(3, i * 4 // max(1, len(order)))] += 1
    return len(seen), deepest, quarters, other
