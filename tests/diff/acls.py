#!/usr/bin/env python3
"""Generated rulesets for the differential test (run.py --generated acl).

Two kinds, each at the sizes asked (run.py --sizes, default 10, 100,
1,000 and 10,000 rules), deterministic from the run's seed:

  acl-N     the benchmark's ACL (tools/bench/cases.py acl_case: N rules of
            tools/bench/acl.py, 5-tuple, nested and overlapping prefixes,
            port ranges, table ip, policy drop), as make bench times it.
  aclmix-N  the same generator's rules, rewritten into the shapes the
            optimizer has to get right: table inet with ip6 rules (the
            IPv4 structure mapped into fd00::/96, prefixes nested the
            same way), counters on some rules (some before their tests),
            `!=` tests, ranges written as `>= <=` and nested prefixes
            written twice (fuse), anonymous and named sets, jumps, gotos
            and a verdict map into regular chains (some rules there
            `return`), rules shadowed on purpose (a narrower copy of an
            earlier terminal rule, with and without counters), exact
            duplicates, and rules that can never match (`tcp dport 22
            tcp dport 23`).

  acls.py --write DIR [--seed N] [--sizes 10,100]   write them as files

The rules come from tools/bench/acl.py itself (loaded from there, not
copied), so the benchmark and this test exercise the same ACLs.
"""

import argparse
import importlib
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.normpath(os.path.join(HERE, "..", "..", "tools", "bench"))
KINDS = ("acl",)


def _bench():
    """tools/bench's acl and cases modules."""
    sys.path.insert(0, BENCH)
    try:
        return importlib.import_module("acl"), \
            importlib.import_module("cases")
    finally:
        sys.path.remove(BENCH)


acl, cases = _bench()


class Generated:
    """A generated ruleset with the interface of rulesets.Ruleset."""

    def __init__(self, name, family, text, options=None):
        self.name = name
        self.family = family
        self.path = None
        self.options = dict(options or {})
        self._text = text
        opts = " ".join("%s=%s" % kv for kv in sorted(self.options.items()))
        self.source = ("# diff: %s\n" % opts if opts else "") + text

    def text(self):
        return self.source

    def families(self):
        if "families" in self.options:
            return [int(x) for x in self.options["families"].split(",")]
        return {"ip": [4], "ip6": [6], "inet": [4, 6]}[self.family]

    def int_list(self, key):
        if key not in self.options:
            return None
        return [int(x, 0) for x in self.options[key].split(",")]


# -- aclmix ----------------------------------------------------------------

def _ip6(a):
    """The IPv4 address a mapped into fd00::/96 (text)."""
    return "fd00::%x:%x" % (a >> 16, a & 0xffff)


def _prefix(fam, a, plen):
    if fam == 4:
        return acl.ip4(a) + ("" if plen == 32 else "/%d" % plen)
    plen6 = 96 + plen
    return _ip6(a) + ("" if plen6 == 128 else "/%d" % plen6)


def _narrower(rng, a, plen):
    """A prefix inside a/plen, a few bits longer."""
    if plen >= 32:
        return a, plen
    n = min(32, plen + rng.randint(1, 8))
    return (a | (rng.getrandbits(32 - plen) & ~acl.mask(plen) &
                 acl.mask(n))), n


def _ports(rng, proto, name, rng_ports, style):
    """Port tests of one field: (lo, hi) written in one of a few ways."""
    lo, hi = rng_ports
    if style == "th":
        key = "th " + name
    else:
        key = "%s %s" % (proto, name)
    if lo == hi:
        if style == "set":
            extra = sorted({lo} | {rng.randrange(1, 65536)
                                   for _ in range(rng.randint(1, 4))})
            return ["%s { %s }" % (key, ", ".join(map(str, extra)))]
        if style == "ne":
            return ["%s != %d" % (key, lo + 1 if lo < 65535 else lo - 1),
                    "%s %d" % (key, lo)]
        return ["%s %d" % (key, lo)]
    if style == "cmp":
        return ["%s >= %d" % (key, lo), "%s <= %d" % (key, hi)]
    if style == "ne":
        mid = (lo + hi) // 2
        return ["%s %d-%d" % (key, lo, hi), "%s != %d" % (key, mid)]
    return ["%s %d-%d" % (key, lo, hi)]


class _Mix:
    """Builds one aclmix ruleset."""

    def __init__(self, n, seed):
        self.n = n
        self.rng = random.Random("aclmix/%d/%d" % (seed, n))
        self.rules = acl.generate(n, seed)
        self.chains = {"c": []}
        self.sets = []               # text of named sets
        self.named4, self.named6, self.portsets = [], [], []
        self.emitted = 0

    # one rule of acl.py as nft text (a list of tests and a verdict)
    def tests(self, r, fam):
        rng = self.rng
        t = []
        for field, a, plen in (("saddr", r.src, r.slen),
                               ("daddr", r.dst, r.dlen)):
            if not plen:
                continue
            kw = "ip" if fam == 4 else "ip6"
            x = rng.random()
            if x < 0.06 and plen > 8:
                # the same field twice: an outer prefix, then the rule's
                t.append("%s %s %s" % (kw, field, _prefix(
                    fam, a & acl.mask(8), 8)))
            elif x < 0.11 and field == "saddr" and \
                    (self.named4 if fam == 4 else self.named6):
                name = rng.choice(self.named4 if fam == 4 else
                                  self.named6)
                t.append("%s %s @%s" % (kw, field, name))
                continue
            elif x < 0.15 and plen < 32:
                na, nl = _narrower(rng, a, plen)
                t.append("%s %s %s" % (kw, field, _prefix(fam, a, plen)))
                t.append("%s %s != %s" % (kw, field, _prefix(fam, na, nl)))
                continue
            elif x < 0.18:
                other = _prefix(fam, a ^ (1 << rng.randrange(32 - plen, 32)
                                          if plen else 0), plen)
                t.append("%s %s { %s, %s }" % (kw, field,
                                               _prefix(fam, a, plen),
                                               other))
                continue
            t.append("%s %s %s" % (kw, field, _prefix(fam, a, plen)))
        proto = r.proto
        if proto == "icmp" and fam == 6:
            proto = "icmpv6"
        if proto and not (r.sport or r.dport):
            if fam == 4 and rng.random() < 0.7:
                t.append("ip protocol %s" % proto)
            else:
                t.append("meta l4proto %s" % ("ipv6-icmp" if proto ==
                                               "icmpv6" else proto))
        style = rng.choice(["plain"] * 6 + ["cmp", "ne", "set", "th"])
        if style == "th" and proto in ("tcp", "udp"):
            t.append("meta l4proto %s" % proto)
        for name, rp in (("sport", r.sport), ("dport", r.dport)):
            if rp:
                if name == "dport" and rng.random() < 0.04 and \
                        self.portsets and proto == "tcp":
                    t.append("tcp dport @%s" % rng.choice(self.portsets))
                else:
                    t += _ports(rng, proto, name, rp, style)
        x = rng.random()
        if x < 0.04:
            t.append("ip ttl %s" % rng.choice(["< 64", "> 1", "64",
                                               "!= 255"])
                     if fam == 4 else
                     "ip6 hoplimit %s" % rng.choice(["< 64", "> 1", "64"]))
        elif x < 0.06:
            t.append("meta mark %s" % rng.choice(["0x10", "0x10-0x1f",
                                                  "!= 0x10"]))
        elif x < 0.08:
            t.append("meta length %s" % rng.choice(["< 100", "60-120",
                                                    "> 200"]))
        elif x < 0.10 and proto == "tcp":
            t.append("tcp flags %s" % rng.choice(["syn / syn,ack",
                                                  "& (fin|rst) != 0",
                                                  "syn"]))
        return t

    def verdict(self, r, in_jump):
        if in_jump and self.rng.random() < 0.12:
            return "return"
        return r.action

    def emit(self, chain, tests, verdict, counter):
        """counter: None, "before" or "after" the tests."""
        parts = (["counter"] if counter == "before" else []) + tests + \
            (["counter"] if counter == "after" else []) + [verdict]
        self.chains[chain].append(" ".join(parts))
        self.emitted += 1

    def counter(self):
        x = self.rng.random()
        return "after" if x < 0.30 else "before" if x < 0.34 else None

    def named_sets(self):
        """A few named sets from the rules' own prefixes and ports."""
        rng = self.rng
        k = max(1, min(6, self.n // 30))
        srcs = [(r.src, r.slen) for r in self.rules if r.slen]
        ports = [r.dport[0] for r in self.rules if r.dport and
                 r.dport[0] == r.dport[1]]
        for i in range(k):
            pick = sorted(set(rng.sample(srcs, min(len(srcs), 6))))
            if not pick:
                break
            for fam, lst, typ in ((4, self.named4, "ipv4_addr"),
                                  (6, self.named6, "ipv6_addr")):
                name = "src%d_%d" % (fam, i)
                # nested and overlapping elements are merged by nft -f
                # (auto-merge), so no prefix of another is listed.
                elems = []
                for a, plen in pick:
                    if not any(a & acl.mask(p2) == b and p2 <= plen
                               for b, p2 in elems):
                        elems = [(b, p2) for b, p2 in elems
                                 if b & acl.mask(plen) != a or p2 < plen]
                        elems.append((a, plen))
                self.sets.append(
                    "  set %s {\n    type %s; flags interval;\n"
                    "    elements = { %s }\n  }\n" % (
                        name, typ, ", ".join(_prefix(fam, a, p)
                                             for a, p in elems)))
                lst.append(name)
            if ports:
                name = "ports%d" % i
                self.sets.append(
                    "  set %s {\n    type inet_service;\n"
                    "    elements = { %s }\n  }\n" % (name, ", ".join(
                        map(str, sorted(set(rng.sample(
                            ports, min(len(ports), 5))))))))
                self.portsets.append(name)

    def on_purpose(self, chain, r, fam, tests):
        """Rules after a terminal one that the optimizer may remove."""
        rng = self.rng
        x = rng.random()
        if x < 0.04:
            # a narrower copy: shadowed when r is exact and terminal
            na, nl = _narrower(rng, r.src, r.slen) if r.slen else \
                (r.src, r.slen)
            shadow = [t if not t.startswith(("ip saddr ", "ip6 saddr ")) or
                      "!=" in t or "@" in t or "{" in t
                      else "%s saddr %s" % ("ip" if fam == 4 else "ip6",
                                            _prefix(fam, na, nl))
                      for t in tests]
            self.emit(chain, shadow, rng.choice(["accept", "drop"]),
                      rng.choice(["after", "after", None, "before"]))
        elif x < 0.06:
            self.emit(chain, tests, r.action, rng.choice([None, "after"]))
        elif x < 0.09:
            dead = rng.choice([
                ["tcp dport 22", "tcp dport 23"],
                ["udp dport != 53", "udp dport 53"],
                ["ip saddr 10.1.0.0/16", "ip saddr 10.2.0.0/16"],
                ["ip ttl > 10", "ip ttl < 5"],
                ["meta l4proto tcp", "meta l4proto udp"],
                ["ip6 saddr fd00::a01:0/112", "ip6 saddr fd00::a02:0/112"],
                ["tcp dport 1000-2000", "tcp dport 3000-4000"]])
            self.emit(chain, dead, rng.choice(["accept", "drop"]),
                      rng.choice(["after", None, "before"]))

    def jump_block(self, i):
        """Rules i.. into a regular chain; returns how many it used."""
        rng = self.rng
        k = min(rng.randint(3, 12), len(self.rules) - i)
        name = "j%d" % len(self.chains)
        self.chains[name] = []
        site = rng.randrange(64)
        base = (10 << 24) | (site << 16)
        fam = 4 if rng.random() < 0.8 else 6
        for r in self.rules[i:i + k]:
            if r.slen >= 16:
                r = acl.Rule(base | (r.src & 0xffff), r.slen, r.dst, r.dlen,
                             r.proto, r.sport, r.dport, r.action)
            tests = self.tests(r, fam)
            self.emit(name, tests, self.verdict(r, True), self.counter())
        how = rng.random()
        guard = "%s saddr %s" % ("ip" if fam == 4 else "ip6",
                                 _prefix(fam, base, 16))
        if how < 0.7:
            self.emit("c", [guard], "jump " + name, self.counter())
        elif how < 0.8:
            self.emit("c", [guard], "goto " + name, None)
        else:
            other = (10 << 24) | (((site + 1) % 64) << 16)
            kw = "ip" if fam == 4 else "ip6"
            self.emit("c", ["%s saddr vmap { %s : jump %s, %s : accept }" % (
                kw, _prefix(fam, base, 16), name, _prefix(fam, other, 16))],
                "", None)
        return k

    def build(self):
        rng = self.rng
        self.named_sets()
        i = 0
        while i < len(self.rules):
            if self.n >= 10 and rng.random() < 0.03:
                i += self.jump_block(i)
                continue
            r = self.rules[i]
            fam = 6 if rng.random() < 0.25 else 4
            tests = self.tests(r, fam)
            self.emit("c", tests, self.verdict(r, False), self.counter())
            if "@" not in " ".join(tests) and "{" not in " ".join(tests):
                self.on_purpose("c", r, fam, tests)
            i += 1
        policy = "drop" if rng.random() < 0.5 else "accept"
        out = ["table inet t {\n"] + self.sets
        for name, rules in self.chains.items():
            out.append("  chain %s {\n" % name)
            if name == "c":
                out.append("    type filter hook output priority 0; "
                           "policy %s;\n" % policy)
            out += ["    %s\n" % x.rstrip() for x in rules]
            out.append("  }\n")
        out.append("}\n")
        return "".join(out)


def aclmix(n, seed):
    """A Generated aclmix-n ruleset."""
    return Generated("aclmix-%d" % n, "inet", _Mix(n, seed).build(),
                     {"families": "4,6"})


def acl_plain(n, seed):
    """The benchmark's acl-n ruleset, as written (not timed)."""
    return Generated("acl-%d" % n, "ip", cases.acl_case(n, seed, 0).text())


def generate(kind, seed, sizes, only=None):
    """[Generated] of one kind ("acl"), by size, filtered by only."""
    if kind not in KINDS:
        raise ValueError("unknown generated kind %r (known: %s)" % (
            kind, ", ".join(KINDS)))
    out = []
    for n in sizes:
        for make in (acl_plain, aclmix):
            rs = make(n, seed)
            if not only or only in rs.name:
                out.append(rs)
    return out


def parse_sizes(text):
    try:
        sizes = [int(x) for x in text.split(",") if x]
    except ValueError:
        sizes = []
    if not sizes or any(n < 1 for n in sizes):
        raise ValueError("--sizes wants a comma list of rule counts, "
                         "got %r" % text)
    return sizes


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--write", required=True, metavar="DIR")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--sizes", default="10,100,1000,10000")
    ap.add_argument("--kind", default="acl")
    ap.add_argument("--only", default=None)
    args = ap.parse_args()
    os.makedirs(args.write, exist_ok=True)
    for rs in generate(args.kind, args.seed, parse_sizes(args.sizes),
                       args.only):
        path = os.path.join(args.write, rs.name + ".nft")
        with open(path, "w") as f:
            f.write(rs.text())
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
