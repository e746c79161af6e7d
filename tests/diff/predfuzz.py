#!/usr/bin/env python3
"""Fuzzer of nft-jit's predicate extraction: every packet a rule matches
lies inside the rule's box.

  tests/diff/predfuzz.py [--seed N] [--rounds N] [--rules N] [--packets N]
                         [--nft-jit PATH] [--boxes nft-jit|reference]
                         [--self-test] [-v]

Each round generates random rules (ip and ip6 addresses as prefixes,
ranges, sets and `!=`; ports eq, ranges, `!=`, `<`, `>`, sets; ip
protocol, meta l4proto, th dport, meta mark and length, tcp flags, ip ttl
and hoplimit, ip dscp, icmp types, ip length), each with a counter and no
verdict, in table inet t chain c, and reads every rule's box from
`nft-jit compile -j --predicates`.  Then the kernel is the judge: a second
table holds, for every rule r and every term (field f, intervals) of its
box, the rule `r's matches, f outside the term, counter`.  Seeded packets
aimed at the rules' constants (gen.py) go through the output hook; every
such counter must stay 0.  A rule whose box is empty must not count; a
rule nft-jit calls exact must count exactly the packets its box (all
terms inside) counts.  See boxes.py for how a term becomes nft syntax.

The boxes come from two compiles: every pass on (nft-jit's default: the
rules the program runs) and --no-opt=all.  A rule the dead pass removed
(compile -j's optimizer lint) has no box in the first; it is judged
with its box of the second, and the kernel must never count it.  A rule
in both must have the same box in both, up to terms that hold for every
value of their field (a pass may drop such a test).

--boxes reference uses the boxes the generator wrote itself (what each
match means as intervals) instead of nft-jit's: it tests this harness, and
runs where nft-jit has no --predicates.  --self-test checks boxes.py's
translation by brute force, that the reference boxes raise no alarm, and
that perturbed boxes (an interval shrunk by one at an end, a point
removed) are caught.

Without `nft-jit compile --predicates` the default mode is a SKIP (exit
4).  Output: one line per round, the failures with the rule, the term,
the nft rule that counted and the first packet that made it count, and
last `N passed, N failed[, N skipped]`.  Exit 0, 1 on failure, 4 skipped.
"""

import argparse
import ipaddress
import json
import os
import random
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, HERE)

import acls  # noqa: E402
import boxes  # noqa: E402
import gen  # noqa: E402
import jit  # noqa: E402
import kernel  # noqa: E402
import model  # noqa: E402
import netns  # noqa: E402
import rulesets  # noqa: E402

# How to ask nft-jit for the boxes (one place, like opt.py's switch).
PRED_ARGS = ["compile", "-j", "--predicates", "--no-load", "-t", "t",
             "-c", "c"]


# -- reference fields, in the JSON shape of nft-jit's boxes ---------------

def _pl(base, off, ln):
    return {"src": "payload", "base": base, "offset": off, "len": ln,
            "width": ln, "bswap": 0}


def _meta(key, w, bswap=0):
    return {"src": "meta", "meta": key, "width": w, "bswap": bswap}


F = {
    "saddr4": _pl("nh", 12, 4), "daddr4": _pl("nh", 16, 4),
    "saddr6": _pl("nh", 8, 16), "daddr6": _pl("nh", 24, 16),
    "protocol": _pl("nh", 9, 1), "ttl": _pl("nh", 8, 1),
    "hoplimit": _pl("nh", 7, 1), "tos": _pl("nh", 1, 1),
    "iplen": _pl("nh", 2, 2),
    "sport": _pl("th", 0, 2), "dport": _pl("th", 2, 2),
    "flags": _pl("th", 13, 1), "icmptype": _pl("th", 0, 1),
    "l4proto": _meta("l4proto", 1), "nfproto": _meta("nfproto", 1),
    "mark": _meta("mark", 4, 4), "mark_raw": _meta("mark", 4, 0),
    "length": _meta("len", 4, 4),
}
PROTO = {"tcp": 6, "udp": 17, "icmp": 1, "ipv6-icmp": 58, "sctp": 132}
MARKS = (0, 1, 7, 0x10, 0x20, 0xffff)
ADDR4 = ("10.0.0.0", "10.1.2.3", "192.168.1.1", "172.16.0.1", "8.8.8.8",
         "255.255.255.255", "0.0.0.1", "127.0.0.1")
ADDR6 = ("fd00::1", "2001:db8::1", "fe80::1", "ff02::1", "::1",
         "fd00:99::2", "2001:db8:ff::1")


def _swap32(v):
    return int.from_bytes(v.to_bytes(4, "little"), "big")


class Rule:
    """A random rule: nft matches and its reference box."""

    def __init__(self):
        self.matches = []
        self.terms = {}          # field json -> (field, intervals)
        self.exact = True        # every match is in the reference box

    def term(self, field, ivs):
        key = json.dumps(field, sort_keys=True)
        ivs = boxes.merge(ivs)
        if key in self.terms:
            ivs = boxes.intersect(self.terms[key][1], ivs)
        self.terms[key] = (field, ivs)

    def box(self, handle):
        terms = [{"field": f, "intervals": [["0x%x" % lo, "0x%x" % hi]
                                            for lo, hi in ivs]}
                 for f, ivs in self.terms.values()]
        return {"handle": handle, "exact": self.exact,
                "empty": any(not t["intervals"] for t in terms),
                "terms": terms}


class RuleGen:
    def __init__(self, rng):
        self.rng = rng

    # -- value shapes -----------------------------------------------------

    def _ints(self, bits, edge_pool=()):
        rng = self.rng
        full = (1 << bits) - 1
        if edge_pool and rng.random() < 0.5:
            return rng.choice(edge_pool) & full
        return rng.choice([0, 1, full, rng.randrange(full + 1),
                           rng.randrange(1 << min(bits, 16))])

    def _numeric(self, r, text, field, bits, pool=(), allow_set=True,
                 fmt=str):
        """eq, range, !=, <, >, <=, >=, set, != set on a numeric field."""
        rng = self.rng
        full = (1 << bits) - 1
        a = self._ints(bits, pool)
        b = self._ints(bits, pool)
        lo, hi = min(a, b), max(a, b)
        forms = ["eq", "range", "ne", "lt", "gt", "le", "ge"] + \
            (["set", "neset"] if allow_set else [])
        form = rng.choice(forms)
        if form == "eq":
            r.matches.append("%s %s" % (text, fmt(a)))
            r.term(field, [(a, a)])
        elif form == "range" and lo < hi:
            r.matches.append("%s %s-%s" % (text, fmt(lo), fmt(hi)))
            r.term(field, [(lo, hi)])
        elif form == "ne":
            r.matches.append("%s != %s" % (text, fmt(a)))
            r.term(field, boxes.complement([(a, a)], bits))
        elif form == "lt" and a > 0:
            r.matches.append("%s < %s" % (text, fmt(a)))
            r.term(field, [(0, a - 1)])
        elif form == "gt" and a < full:
            r.matches.append("%s > %s" % (text, fmt(a)))
            r.term(field, [(a + 1, full)])
        elif form == "le":
            r.matches.append("%s <= %s" % (text, fmt(a)))
            r.term(field, [(0, a)])
        elif form == "ge":
            r.matches.append("%s >= %s" % (text, fmt(a)))
            r.term(field, [(a, full)])
        elif form in ("set", "neset"):
            ivs = []
            for _ in range(rng.randint(2, 4)):
                x = self._ints(bits, pool)
                y = x if rng.random() < 0.6 else min(full, x + rng.randint(
                    1, 1000))
                if not any(x <= h and y >= l for l, h in ivs):
                    ivs.append((x, y))
            ivs.sort()
            elems = ", ".join(fmt(x) if x == y else "%s-%s" % (fmt(x),
                                                                fmt(y))
                              for x, y in ivs)
            if form == "set":
                r.matches.append("%s { %s }" % (text, elems))
                r.term(field, ivs)
            else:
                r.matches.append("%s != { %s }" % (text, elems))
                r.term(field, boxes.complement(ivs, bits))
        else:
            r.matches.append("%s %s" % (text, fmt(a)))
            r.term(field, [(a, a)])

    # -- fields -----------------------------------------------------------

    def addr(self, r, fam, which):
        rng = self.rng
        bits = 32 if fam == 4 else 128
        kw = "ip" if fam == 4 else "ip6"
        field = F["%s%d" % (which, fam)]
        mk = ipaddress.IPv4Address if fam == 4 else ipaddress.IPv6Address
        pool = ADDR4 if fam == 4 else ADDR6

        def pick():
            if rng.random() < 0.6:
                return int(mk(rng.choice(pool)))
            return rng.getrandbits(bits)

        def prefix():
            plen = rng.choice([1, 8, 16, 24, 31, 32] if fam == 4 else
                              [1, 16, 48, 64, 96, 120, 127, 128])
            host = (1 << (bits - plen)) - 1
            net = pick() & ~host
            return "%s/%d" % (mk(net), plen), (net, net | host)

        form = rng.choice(["prefix", "prefix", "exact", "range", "neprefix",
                           "set", "neset"])
        if form in ("prefix", "neprefix"):
            text, iv = prefix()
            if form == "prefix":
                r.matches.append("%s %s %s" % (kw, which, text))
                r.term(field, [iv])
            else:
                r.matches.append("%s %s != %s" % (kw, which, text))
                r.term(field, boxes.complement([iv], bits))
        elif form == "exact":
            a = pick()
            r.matches.append("%s %s %s" % (kw, which, mk(a)))
            r.term(field, [(a, a)])
        elif form == "range":
            a, b = sorted((pick(), pick()))
            if a == b:
                b = min((1 << bits) - 1, a + 1)
            r.matches.append("%s %s %s-%s" % (kw, which, mk(a), mk(b)))
            r.term(field, [(a, b)])
        else:
            ivs, texts = [], []
            for _ in range(rng.randint(2, 4)):
                text, iv = prefix()
                if not any(iv[0] <= h and iv[1] >= lo for lo, h in ivs):
                    ivs.append(iv)
                    texts.append(text)
            if form == "set":
                r.matches.append("%s %s { %s }" % (kw, which,
                                                   ", ".join(texts)))
                r.term(field, ivs)
            else:
                r.matches.append("%s %s != { %s }" % (kw, which,
                                                      ", ".join(texts)))
                r.term(field, boxes.complement(boxes.merge(ivs), bits))
        r.term(F["nfproto"], [(2, 2)] if fam == 4 else [(10, 10)])

    def ports(self, r, fam):
        rng = self.rng
        proto = rng.choice(["tcp", "udp", "th"])
        name = rng.choice(["sport", "dport"])
        if proto == "th":
            if rng.random() < 0.5:
                r.matches.append("meta l4proto { tcp, udp }")
                r.term(F["l4proto"], [(6, 6), (17, 17)])
            else:
                r.matches.append("meta l4proto udp")
                r.term(F["l4proto"], [(17, 17)])
        else:
            r.term(F["l4proto"], [(PROTO[proto], PROTO[proto])])
        self._numeric(r, "%s %s" % (proto, name), F[name], 16,
                      (22, 53, 80, 443, 1023, 1024, 65535))

    def proto(self, r, fam):
        rng = self.rng
        names = ["tcp", "udp", "icmp" if fam == 4 else "ipv6-icmp",
                 "sctp"]
        if fam == 4 and rng.random() < 0.5:
            text, field = "ip protocol", F["protocol"]
            r.term(F["nfproto"], [(2, 2)])
        else:
            text, field = "meta l4proto", F["l4proto"]
        form = rng.choice(["eq", "ne", "set"])
        pick = rng.sample(names, 2)
        nums = sorted(PROTO[p] for p in pick)
        if form == "eq":
            r.matches.append("%s %s" % (text, pick[0]))
            r.term(field, [(PROTO[pick[0]],) * 2])
        elif form == "ne":
            r.matches.append("%s != %s" % (text, pick[0]))
            r.term(field, boxes.complement([(PROTO[pick[0]],) * 2], 8))
        else:
            r.matches.append("%s { %s }" % (text, ", ".join(pick)))
            r.term(field, [(n, n) for n in nums])

    def hops(self, r, fam):
        if fam == 4:
            self._numeric(r, "ip ttl", F["ttl"], 8, (1, 64, 128, 255),
                          allow_set=False)
        else:
            self._numeric(r, "ip6 hoplimit", F["hoplimit"], 8,
                          (1, 64, 255), allow_set=False)
        r.term(F["nfproto"], [(2, 2)] if fam == 4 else [(10, 10)])

    def mark(self, r, fam):
        rng = self.rng
        if rng.random() < 0.4:
            # a cmp on the host-order register: the box in that order
            v = rng.choice(MARKS)
            if rng.random() < 0.5:
                r.matches.append("meta mark 0x%x" % v)
                r.term(F["mark_raw"], [(_swap32(v),) * 2])
            else:
                r.matches.append("meta mark != 0x%x" % v)
                r.term(F["mark_raw"], boxes.complement([(_swap32(v),) * 2],
                                                       32))
            return
        self._numeric(r, "meta mark", F["mark"], 32, MARKS, fmt=hex)

    def length(self, r, fam):
        self._numeric(r, "meta length", F["length"], 32,
                      (20, 40, 60, 100, 200, 1000, 1500), allow_set=False)

    def flags(self, r, fam):
        rng = self.rng
        r.term(F["l4proto"], [(6, 6)])
        x = rng.random()
        if x < 0.4:
            v = rng.choice([0x02, 0x12, 0x10, 0x11])
            r.matches.append("tcp flags == 0x%x" % v)
            r.term(F["flags"], [(v, v)])
        elif x < 0.7:
            r.matches.append("tcp flags syn / syn,ack")
            r.exact = False
        else:
            r.matches.append("tcp flags & (fin|rst) != 0")
            r.exact = False

    def dscp(self, r, fam):
        if fam != 4:
            return self.hops(r, fam)
        rng = self.rng
        v = rng.choice([0, 8, 10, 46])
        r.term(F["nfproto"], [(2, 2)])
        if rng.random() < 0.7:
            r.matches.append("ip dscp %d" % v)
            r.term(F["tos"], [(v << 2, (v << 2) | 3)])
        else:
            r.matches.append("ip dscp != %d" % v)
            r.term(F["tos"], boxes.complement([(v << 2, (v << 2) | 3)], 8))

    def icmp(self, r, fam):
        rng = self.rng
        if fam == 4:
            v = rng.choice([0, 3, 8, 11])
            r.matches.append("icmp type %d" % v)
            r.term(F["l4proto"], [(1, 1)])
            r.term(F["nfproto"], [(2, 2)])
        else:
            v = rng.choice([1, 128, 129, 135])
            r.matches.append("icmpv6 type %d" % v)
            r.term(F["l4proto"], [(58, 58)])
            r.term(F["nfproto"], [(10, 10)])
        r.term(F["icmptype"], [(v, v)])

    def iplen(self, r, fam):
        if fam != 4:
            return self.length(r, fam)
        self._numeric(r, "ip length", F["iplen"], 16, (20, 40, 60, 576,
                                                       1500),
                      allow_set=False)
        r.term(F["nfproto"], [(2, 2)])

    def twice(self, r, fam):
        """Two tests of one field: their intersection, often empty."""
        rng = self.rng
        pick = rng.choice([self.hops, self.mark, self.length])
        pick(r, fam)
        pick(r, fam)

    def rule(self):
        """A random rule of 1 to 4 kinds of tests, at most one of them on
        the transport protocol (nft refuses `icmp type 8 tcp dport 22`)
        and at most one `!=` of a header field: nft 1.0.6 merges `ip ttl
        != 1 ip protocol != 6` into one two-byte `!=`, which is not what
        the reference box (nor the text) says."""
        while True:
            r = self._rule()
            neq = sum(1 for m in r.matches if " != " in m and
                      not m.startswith("meta "))
            if neq < 2:
                return r

    def _rule(self):
        rng = self.rng
        r = Rule()
        fam = rng.choice([4, 6])
        makers = [(lambda r, f: self.addr(r, f, "saddr")),
                  (lambda r, f: self.addr(r, f, "daddr")),
                  self.hops, self.mark, self.length, self.dscp, self.iplen,
                  self.twice]
        l4 = [self.ports, self.ports, self.proto, self.flags, self.icmp,
              None, None]
        picked = rng.sample(makers, rng.randint(0, 3))
        x = rng.choice(l4)
        if x is not None:
            picked.insert(rng.randint(0, len(picked)), x)
        if not picked:
            picked = [rng.choice(makers)]
        for make in picked:
            make(r, fam)
        return r


# -- nft-jit's boxes -------------------------------------------------------

def predicates_supported(nft_jit):
    """None if `nft-jit compile --predicates` exists, else why not."""
    why = jit.probe(nft_jit)
    if why:
        return why
    proc = subprocess.run([nft_jit, "compile", "--help"],
                          capture_output=True, text=True, timeout=30)
    if "--predicates" not in proc.stdout + proc.stderr:
        return "nft-jit compile has no --predicates (yet)"
    return None


def _compile(nft_jit, ns, extra=()):
    """nft-jit's compile report of chain c with its predicates."""
    cmd = [nft_jit, "-n", ns] + PRED_ARGS[:1] + list(extra) + PRED_ARGS[1:]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError("%s exited %d: %s" % (
            " ".join(cmd), proc.returncode, proc.stderr.strip()[:300]))
    return json.loads(proc.stdout)


class JitBoxes:
    """What nft-jit says about chain c's rules.

    boxes: {handle: box} of the rules the program runs, with every pass
    on (nft-jit's default); removed: {handle: lint text} of the rules the
    optimizer's dead pass removed (their box, from a second compile with
    --no-opt=all, is in boxes too: the kernel must never count the rule);
    differ: {handle: box with every pass off} of the rules whose box is
    not the same in both compiles (the extraction must not depend on the
    passes).
    """

    def __init__(self, nft_jit, ns):
        on = _compile(nft_jit, ns)
        off = _compile(nft_jit, ns, ["--no-opt=all"])
        b_on = self._boxes(on)
        b_off = self._boxes(off)
        self.removed = {}
        for rep in on.get("compile", []):
            for lint in rep.get("optimizer", {}).get("lint", []):
                if lint.get("pass") == "dead" and lint.get("chain") == "c":
                    self.removed[lint["handle"]] = lint.get("text", "")
        self.differ = {h: b_off[h] for h in b_on if h in b_off and
                       _canon(b_on[h]) != _canon(b_off[h])}
        self.boxes = dict(b_on)
        for h in self.removed:
            if h in b_off:
                self.boxes[h] = b_off[h]

    @staticmethod
    def _boxes(doc):
        found = boxes.find_rules(doc)
        return {h: b for (c, h), b in found.items() if c in ("c", None)}


def _narrow(field, ivs):
    """The same test on the fewest bytes.  A payload field in network
    order whose intervals cut only between whole values of its leading
    bytes tests those bytes alone: `ip ttl != 64` is nh[8:2] in 0x0000-
    0x3fff, 0x4100-0xffff in one compile and nh[8:6] in another, since
    the widest load at an offset in the chain sets the field's width and
    a pass that removes a rule may change it."""
    field = dict(field)
    while (field.get("src") == "payload" and not field.get("bswap") and
           field["width"] > 1 and
           all(lo & 0xff == 0 and hi & 0xff == 0xff for lo, hi in ivs)):
        ivs = boxes.merge([(lo >> 8, hi >> 8) for lo, hi in ivs])
        field["width"] -= 1
        if "len" in field:
            field["len"] -= 1
    return field, ivs


def _canon(box):
    """A box for comparison: its terms sorted, each on its fewest bytes
    (_narrow), without the terms that hold for every value of their field
    (a pass may drop such a test)."""
    terms = []
    for t in box["terms"]:
        field, ivs = _narrow(t["field"], boxes.merge(boxes.intervals(t)))
        full = (1 << (8 * field["width"])) - 1
        if ivs == [(0, full)]:
            continue
        terms.append(json.dumps({"field": field, "intervals": ivs},
                                sort_keys=True))
    return json.dumps({"exact": box.get("exact"), "empty": box.get("empty"),
                       "terms": sorted(terms)})


# -- the judge: the kernel -------------------------------------------------

HEAD = "table inet t {\n"
BASE = "  chain c {\n    type filter hook output priority 0; policy " \
    "accept;\n"


def table(rules, chains=None):
    """Table inet t: base chain c with rules, regular chains {name:
    rules}."""
    out = [HEAD]
    for name, body in (chains or {}).items():
        out.append("  chain %s {\n" % name)
        out += ["    %s\n" % r for r in body]
        out.append("  }\n")
    out.append(BASE)
    out += ["    %s\n" % r for r in rules]
    out.append("  }\n}\n")
    return "".join(out)


class Check:
    """One rule of the judging table and what its counter must do."""

    def __init__(self, kind, index, text, term=None):
        self.kind = kind          # hit, out, exact, perturbed
        self.index = index        # the fuzzed rule
        self.text = text          # the judging rule's own matches
        self.term = term
        self.what = None          # perturbed: lo, hi, point, point-only


def checks_for(i, r, box, perturbed=False):
    """The judging rules of fuzzed rule i with box box.

    For every term, one rule per alternative of "outside the term"
    (boxes.outside); all must stay at 0.  For an exact box one rule "all
    terms inside", when every term is one alternative.  Returns ([Check],
    [terms not expressible], exact check left out: bool).
    """
    out = [Check("hit", i, " ".join(r.matches))]
    skipped = []
    ins = []
    for t in box["terms"]:
        try:
            alts = boxes.outside(t["field"], boxes.intervals(t))
            inside = boxes.inside(t["field"], boxes.intervals(t))
        except boxes.Unsupported as e:
            skipped.append("%s: %s" % (boxes.field_name(t["field"]), e))
            inside = None
            alts = []
        for alt in alts:
            out.append(Check("perturbed" if perturbed else "out", i,
                             " ".join(alt), t))
        ins = None if ins is None or inside is None or len(inside) != 1 \
            else ins + inside[0]
    no_exact = False
    if box.get("exact") and not box.get("empty") and not perturbed:
        if ins is None:
            no_exact = True
        else:
            out.append(Check("exact", i, " ".join(ins)))
    return out, skipped, no_exact


def judging_table(checks):
    """The judging table of checks and [(chain, check)] in rule order.

    Rule r's own matches count (hit) and jump to chain k<r>, whose rules
    (no verdict) are the tests outside r's box, each with a counter: a
    jump keeps nft from merging r's payload tests with a test of the
    box (nft 1.0.6 merges `ip ttl != 1 ip protocol != 6` into one `!=`
    of two bytes).  Exact checks are rules of chain c.
    """
    base, chains, order = [], {}, []
    for c in checks:
        if c.kind == "hit":
            base.append("%s counter jump k%d" % (c.text, c.index))
            chains.setdefault("k%d" % c.index, [])
            order.append(("c", c))
        elif c.kind in ("exact", "widened"):
            base.append("%s counter" % c.text)
            order.append(("c", c))
        else:
            chains.setdefault("k%d" % c.index, []).append(
                "%s counter" % c.text)
    # listed chain by chain, in rule order
    listed = [x for x in order]
    for name, body in chains.items():
        listed += [(name, c) for c in checks
                   if c.kind in ("out", "perturbed") and
                   "k%d" % c.index == name]
    return table(base, chains), listed


def load_checked(tn, text, checks):
    """Load the judging table; on failure name the rule nft refuses."""
    try:
        tn.nft(["-f", "-"], input=text)
        return
    except RuntimeError as e:
        first = str(e)
    for c in checks:
        tn.nft(["flush", "ruleset"])
        try:
            tn.nft(["-f", "-"], input=table(["%s counter" % c.text]))
        except RuntimeError as e:
            raise kernel.HarnessError("nft refuses %r: %s" % (
                c.text, str(e).strip()[-300:]))
    raise kernel.HarnessError("nft -f failed: %s" % first[-300:])


def counted(tn, listed):
    """[(packets, bytes)] of the judging rules, by listed's order."""
    doc = kernel.table_json(tn, "inet")
    per_chain = {}
    for obj in doc["nftables"]:
        rule = obj.get("rule")
        if not rule:
            continue
        c = [e["counter"] for e in rule["expr"] if "counter" in e]
        per_chain.setdefault(rule["chain"], []).append(
            (c[0]["packets"], c[0]["bytes"]) if c else (0, 0))
    pos, out = {}, []
    for chain, _ in listed:
        i = pos.get(chain, 0)
        pos[chain] = i + 1
        try:
            out.append(per_chain[chain][i])
        except (KeyError, IndexError):
            raise kernel.HarnessError("rule %d of chain %s missing" % (
                i, chain))
    return out


def send(tn, families, contexts, pkts):
    sender = kernel.Sender(tn, contexts, families)
    try:
        for p in pkts:
            sender.send(p.family, p.ctx, p.data)
    finally:
        sender.close()


def first_counting(check, rule_text, pkts, families, contexts):
    """The first packet that makes a judging rule count (bisection)."""
    if check.kind in ("out", "perturbed"):
        text = table(["%s jump k" % rule_text], {"k": ["%s counter" %
                                                      check.text]})
        chain = "k"
    else:
        text, chain = table(["%s counter" % check.text]), "c"
    lo, hi = 1, len(pkts)
    while lo < hi:
        mid = (lo + hi) // 2
        with netns.TestNet() as tn:
            tn.nft(["-f", "-"], input=text)
            send(tn, families, contexts, pkts[:mid])
            n = counted(tn, [(chain, check)])[0][0]
        if n:
            hi = mid
        else:
            lo = mid + 1
    return lo - 1


# -- a round -----------------------------------------------------------------

class Round:
    def __init__(self):
        self.status = "ok"
        self.summary = ""
        self.details = []


def perturb(rng, box):
    """A copy of box with one interval shrunk by one or a point removed;
    (box, what) or None when it has nothing to shrink."""
    cands = [(ti, ii) for ti, t in enumerate(box["terms"])
             for ii, _ in enumerate(t["intervals"])]
    if not cands:
        return None
    ti, ii = rng.choice(cands)
    new = json.loads(json.dumps(box))
    t = new["terms"][ti]
    lo, hi = (boxes.parse_iv(x) for x in t["intervals"][ii])
    if lo == hi:
        del t["intervals"][ii]
        what = "point"
        if not t["intervals"]:
            what = "point-only"
    elif rng.random() < 0.5:
        t["intervals"][ii] = ["0x%x" % (lo + 1), "0x%x" % hi]
        what = "lo"
    else:
        t["intervals"][ii] = ["0x%x" % lo, "0x%x" % (hi - 1)]
        what = "hi"
    return new, what, ti


def widen(rng, box):
    """A copy of an exact box of two terms or more without one of them,
    still called exact: its exact check should see more packets."""
    if not box.get("exact") or box.get("empty") or len(box["terms"]) < 2:
        return None
    new = json.loads(json.dumps(box))
    del new["terms"][rng.randrange(len(new["terms"]))]
    return new


def run_round(args, k, seed):
    """One round: (Round, stats dict)."""
    out = Round()
    rng = random.Random(seed)
    rg = RuleGen(rng)
    rules = [rg.rule() for _ in range(args.rules)]
    text_a = table([" ".join(r.matches) + " counter" for r in rules])
    stats = {"rules": len(rules), "hit": 0, "terms": 0, "exact": 0,
             "empty": 0, "nobox": 0, "dead": 0, "skipped": 0, "perturbed": 0,
             "caught": 0, "point_only": 0, "point_only_caught": 0,
             "exact_unchecked": 0, "widened": 0, "widened_caught": 0}
    with netns.TestNet() as tn:
        try:
            tn.nft(["-f", "-"], input=text_a)
        except RuntimeError as e:
            raise kernel.HarnessError("the fuzzed table does not load: %s"
                                      % str(e)[-300:])
        doc = kernel.table_json(tn, "inet", numeric=True)
        m = model.Model(doc)
        handles = [r.handle for r in m.by_chain.get("c", [])]
        if len(handles) != len(rules):
            raise kernel.HarnessError("%d rules loaded of %d" % (
                len(handles), len(rules)))
        removed, differ = {}, {}
        if args.boxes == "nft-jit":
            jb = JitBoxes(args.nft_jit, tn.name)
            got, removed, differ = jb.boxes, jb.removed, jb.differ
        else:
            got = {h: r.box(h) for h, r in zip(handles, rules)}
        rs = acls.Generated("predfuzz", "inet", text_a,
                            {"families": "4,6"})
        contexts = rulesets.contexts(rs, m)
        pkts = gen.generate(m, seed, args.packets, [4, 6], contexts)
        checks = []
        for i, (h, r) in enumerate(zip(handles, rules)):
            box = got.get(h)
            if h in removed:
                stats["dead"] += 1
            if box is None:
                stats["nobox"] += 1
                if h in removed:
                    checks.append(Check("hit", i, " ".join(r.matches)))
                continue
            cs, skipped, no_exact = checks_for(i, r, box)
            stats["skipped"] += len(skipped)
            stats["exact_unchecked"] += no_exact
            checks += cs
            if args.self_test:
                p = perturb(rng, box)
                if p:
                    pcs, _, _ = checks_for(i, r, p[0], perturbed=True)
                    for c in pcs:
                        if c.kind == "perturbed" and c.term is \
                                p[0]["terms"][p[2]]:
                            c.what = p[1]
                            checks.append(c)
                w = widen(rng, box)
                if w:
                    wcs, _, _ = checks_for(i, r, w)
                    for c in wcs:
                        if c.kind == "exact":
                            c.kind = "widened"
                            checks.append(c)
        text_b, listed = judging_table(checks)
        tn.nft(["flush", "ruleset"])
        load_checked(tn, text_b, checks)
        send(tn, [4, 6], contexts, pkts)
        counts = counted(tn, listed)
        checks = [c for _, c in listed]
    hits = {c.index: n for c, n in zip(checks, counts) if c.kind == "hit"}
    stats["hit"] = sum(1 for n in hits.values() if n[0])
    bad = []
    for h, other in sorted(differ.items()):
        bad.append((Check("differ", handles.index(h), ""), (0, 0),
                    "has another box with every pass off: %s%s" % (
                        "; ".join(boxes.term_text(t) for t in
                                  other["terms"]) or "(no terms)",
                        " exact" if other.get("exact") else "")))
    for c, n in zip(checks, counts):
        box = got.get(handles[c.index], {"terms": []})
        if c.kind == "hit" and handles[c.index] in removed and n[0]:
            bad.append((c, n, "counted, but the dead pass removed it (%s)"
                        % removed[handles[c.index]]))
        if c.kind == "out":
            stats["terms"] += 1
            if n[0]:
                bad.append((c, n, "matched outside its box on %s" %
                            boxes.term_text(c.term)))
        elif c.kind == "hit" and box.get("empty"):
            stats["empty"] += 1
            if n[0]:
                bad.append((c, n, "counted, its box is empty"))
        elif c.kind == "exact":
            stats["exact"] += 1
            if n != hits[c.index]:
                bad.append((c, n, "exact, but its box counted %s and the "
                            "rule %s" % (n, hits[c.index])))
        elif c.kind == "widened":
            stats["widened"] += 1
            stats["widened_caught"] += n != hits[c.index]
        elif c.kind == "perturbed":
            stats["perturbed"] += 1
            caught = bool(n[0])
            stats["caught"] += caught
            if c.what == "point-only" and hits[c.index][0]:
                stats["point_only"] += 1
                stats["point_only_caught"] += caught
    if bad:
        out.status = "FAIL"
        for c, n, why in bad[:None if args.verbose else 5]:
            r = rules[c.index]
            box = got.get(handles[c.index], {"terms": []})
            out.details.append(
                "  rule handle %d `%s` %s (%d packets)\n    box: %s%s" % (
                    handles[c.index], " ".join(r.matches), why, n[0],
                    "; ".join(boxes.term_text(t) for t in box["terms"]) or
                    "(no terms)", " exact" if box.get("exact") else ""))
            if c.kind == "differ":
                continue
            out.details.append("    judging rule: %s" % (
                c.text if c.kind != "out" else "%s jump k; chain k: %s" % (
                    " ".join(r.matches), c.text)))
            if not args.no_bisect:
                i = first_counting(c, " ".join(r.matches), pkts, [4, 6],
                                   contexts)
                p = pkts[i]
                out.details.append("    first packet %d ctx=%s (%s): %s" % (
                    i, contexts[p.ctx], p.note, p.data.hex()))
        out.details.append("  replay: tests/diff/predfuzz.py --seed %d "
                           "--rounds %d --rules %d --packets %d%s%s" % (
                               args.seed, k + 1, args.rules, args.packets,
                               " --boxes reference" if args.boxes ==
                               "reference" else "",
                               " --self-test" if args.self_test else ""))
    out.summary = ("%d rules (%d hit), %d packets, %d judging rules "
                   "outside boxes, %d exact, %d empty%s%s%s%s" % (
                       stats["rules"], stats["hit"], len(pkts),
                       stats["terms"], stats["exact"], stats["empty"],
                       ", %d exact boxes not checkable in one rule" %
                       stats["exact_unchecked"]
                       if stats["exact_unchecked"] else "",
                       ", %d rules without a box" % stats["nobox"]
                       if stats["nobox"] else "",
                       ", %d removed by the dead pass (never counted)" %
                       stats["dead"] if stats["dead"] else "",
                       ", %d terms not expressible" % stats["skipped"]
                       if stats["skipped"] else ""))
    if bad:
        out.summary = "%d violations; %s" % (len(bad), out.summary)
    return out, stats


def round_seed(seed, k):
    return (seed * 1000003 + k) & ((1 << 64) - 1)


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--rules", type=int, default=40,
                    help="rules per round (default %(default)s)")
    ap.add_argument("--packets", type=int, default=1500,
                    help="packets per round (default %(default)s)")
    ap.add_argument("--nft-jit", default=jit.DEFAULT_PATH)
    ap.add_argument("--boxes", choices=("nft-jit", "reference"),
                    default="nft-jit")
    ap.add_argument("--self-test", action="store_true",
                    help="check the judge: reference boxes must pass, "
                    "perturbed ones must be caught")
    ap.add_argument("--no-bisect", action="store_true")
    ap.add_argument("-v", "--verbose", action="store_true")
    return ap.parse_args(argv)


def self_test_translation(args):
    fails = boxes.self_check(random.Random(args.seed))
    for f in fails[:10]:
        print("FAIL boxes.py translation: %s" % f)
    print("%s boxes.py translation: inside()/outside() of random "
          "intervals on 1- and 2-byte fields in every byte order" % (
              "FAIL" if fails else "ok"))
    return not fails


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    args.nft_jit = os.path.abspath(args.nft_jit)
    if os.geteuid() != 0:
        print("SKIP: not root")
        print("0 passed, 0 failed, 1 skipped")
        return 4
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1 << 32)
    print("seed: %d" % args.seed)
    passed = failed = 0
    if args.self_test:
        args.boxes = "reference"
        if self_test_translation(args):
            passed += 1
        else:
            failed += 1
    elif args.boxes == "nft-jit":
        why = predicates_supported(args.nft_jit)
        if why:
            print("SKIP: predicate fuzzer: %s" % why)
            print("0 passed, 0 failed, %d skipped" % args.rounds)
            return 4
    import atexit
    atexit.register(netns.cleanup_all)
    total = {}
    for k in range(args.rounds):
        try:
            out, stats = run_round(args, k, round_seed(args.seed, k))
        except (kernel.HarnessError, RuntimeError, ValueError,
                OSError) as e:
            out, stats = Round(), {}
            out.status = "FAIL"
            out.summary = "harness error: %s" % e
        for key, v in stats.items():
            total[key] = total.get(key, 0) + v
        print("%s round %d: %s" % (out.status, k, out.summary))
        for line in out.details:
            print(line)
        sys.stdout.flush()
        if out.status == "ok":
            passed += 1
        else:
            failed += 1
    if args.self_test:
        po, poc = total.get("point_only", 0), total.get("point_only_caught",
                                                          0)
        per, caught = total.get("perturbed", 0), total.get("caught", 0)
        wid, widc = total.get("widened", 0), total.get("widened_caught", 0)
        ok = po == poc and caught > 0 and po > 0 and widc > 0
        print("%s self-test perturbed boxes: %d of %d caught; a removed "
              "point (the term's only value) of a rule that counted: %d "
              "of %d caught (all must be); exact boxes without one term: "
              "%d of %d caught" % (
                  "ok" if ok else "FAIL", caught, per, poc, po, widc, wid))
        if ok:
            passed += 1
        else:
            failed += 1
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
