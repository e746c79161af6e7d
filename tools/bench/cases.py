"""The benchmark's rulesets and their traffic.

Every case is one table `ip t` with base chain `c` at hook output and a
list of packets, each with the rule the model says decides it (index in
the chain, -1: the policy) and the verdict it should get, when the model
can tell (not for conntrack).

  acl-N        (a) N rules of acl.py, policy drop
  server-ct    (b) a server's input ruleset, established/related first
  server       (b) the same without the two conntrack rules
  chain-N/set-N (c) the same N (address, port) pairs with their verdicts:
               one rule per pair, or one verdict-map rule
  prefix-chain-N/prefix-set-N (c) N disjoint source prefixes to drop:
               one rule per prefix, or one interval set
  verdicts-*   the cost of a drop itself (see docs/benchmarks.md)

text(timing=True) is the ruleset timed: every verdict accept (see
docs/benchmarks.md for why); text() the ruleset as written, whose
verdicts are checked first.
"""

import random

import acl

HEAD = "table ip t {\n"
CHAIN = "  chain c {\n    type filter hook output priority 0; policy %s;\n"


class Case:
    def __init__(self, name, kind, nrules, rules_text, policy, sets="",
                 neutral=True):
        self.name, self.kind, self.nrules = name, kind, nrules
        self._rules, self.policy, self._sets = rules_text, policy, sets
        self.neutral = neutral      # timed with every verdict accept
        self.packets = []           # (bytes, rule index or -1, verdict)
        self.note = ""

    def text(self, timing=False):
        swap = timing and self.neutral
        rules = [r.replace(" drop", " accept") if swap else r
                 for r in self._rules]
        sets = self._sets.replace(": drop", ": accept") if swap else \
            self._sets
        return (HEAD + sets + CHAIN % ("accept" if swap else self.policy) +
                "".join("    %s\n" % r for r in rules) + "  }\n}\n")


def acl_case(n, seed, count):
    rules = acl.generate(n, seed)
    c = Case("acl-%d" % n, "acl", n, [r.nft() for r in rules], "drop")
    for t, hit in acl.traffic(rules, seed, count):
        c.packets.append((acl.packet(t), hit,
                          rules[hit].action if hit >= 0 else "drop"))
    return c


SERVER_CT = [
    "ct state established,related accept",
    "ct state invalid drop",
]
SERVER = [
    "ip saddr @blocklist drop",
    "ip protocol icmp icmp type { echo-request, destination-unreachable, "
    "time-exceeded } accept",
    "tcp dport { 22, 80, 443 } accept",
    "udp dport { 53, 123 } accept",
    "ip saddr 10.0.0.0/8 tcp dport { 5432, 6379, 9100 } accept",
    "ip saddr 192.168.0.0/16 udp dport 161 accept",
]


def _blocklist(rng, n=256):
    nets = set()
    while len(nets) < n:
        nets.add((203 << 24 | rng.randrange(1 << 16) << 8, 24) if
                 rng.random() < 0.5 else
                 (198 << 24 | 51 << 16 | rng.randrange(1 << 16), 32))
    return sorted(nets)


def _in_block(rng, block):
    net, plen = rng.choice(block)
    return net | (rng.randrange(256) if plen == 24 else 0)


def server_case(with_ct, seed, count):
    rng = random.Random("server/%d" % seed)
    block = _blocklist(rng)
    sets = ("  set blocklist {\n    type ipv4_addr; flags interval;\n"
            "    elements = { %s }\n  }\n" % ", ".join(
                acl.ip4(a) + ("" if p == 32 else "/%d" % p)
                for a, p in block))
    rules = (SERVER_CT if with_ct else []) + SERVER
    c = Case("server-ct" if with_ct else "server", "server", len(rules),
             rules, "drop", sets)
    off = len(rules) - len(SERVER)
    # packets aimed at: blocklist, icmp, web, dns, internal, snmp, policy
    shapes = [
        (0, lambda: (_in_block(rng, block), 6, 443), "drop"),
        (1, lambda: (0, 1, 0), "accept"),
        (2, lambda: (0, 6, rng.choice((22, 80, 443))), "accept"),
        (3, lambda: (0, 17, rng.choice((53, 123))), "accept"),
        (4, lambda: ((10 << 24) | rng.randrange(1 << 24), 6,
                     rng.choice((5432, 6379, 9100))), "accept"),
        (5, lambda: ((192 << 24) | (168 << 16) | rng.randrange(1 << 16),
                     17, 161), "accept"),
        (-1, lambda: (0, 6, rng.randrange(1024, 65536)), "drop"),
    ]
    weights = [10, 5, 40, 20, 10, 5, 10]
    for i in range(count):
        k = rng.choices(range(len(shapes)), weights)[0]
        idx, make, verdict = shapes[k]
        src, proto, dport = make()
        if not src:
            src = (100 << 24) | (64 << 16) | rng.randrange(1 << 16)
        t = (src, (172 << 24) | (16 << 16) | 10, proto,
             rng.randrange(1024, 65536), dport)
        c.packets.append((acl.packet(t), idx + off if idx >= 0 else -1,
                          None if with_ct else verdict))
    if with_ct:
        c.note = "ct state needs conntrack: the link target refuses it"
    return c


def pairs_cases(n, seed, count):
    """(c): the same (daddr, udp dport) -> verdict pairs, chain and map."""
    rng = random.Random("pairs/%d/%d" % (seed, n))
    pairs = {}
    while len(pairs) < n:
        key = ((172 << 24) | (16 << 16) | rng.randrange(1 << 20),
               rng.randrange(1, 65536))
        pairs[key] = "accept" if rng.random() < 0.6 else "drop"
    keys = list(pairs)
    chain = ["ip daddr %s udp dport %d %s" % (acl.ip4(a), p, pairs[(a, p)])
             for a, p in keys]
    sets = ("  map acl {\n    type ipv4_addr . inet_service : verdict;\n"
            "    elements = { %s }\n  }\n" % ", ".join(
                "%s . %d : %s" % (acl.ip4(a), p, pairs[(a, p)])
                for a, p in keys))
    lin = Case("chain-%d" % n, "chain", n, chain, "drop")
    st = Case("set-%d" % n, "set", 1,
              ["meta l4proto udp ip daddr . udp dport vmap @acl"], "drop",
              sets)
    hits = n and int(count * 0.8)
    for j in range(count):
        if j < hits:
            i = j * n // hits
            a, p = keys[i]
            v = pairs[(a, p)]
        else:
            a = (198 << 24) | (18 << 16) | rng.randrange(1 << 16)
            p, i, v = rng.randrange(1, 65536), -1, "drop"
        t = ((10 << 24) | rng.randrange(1 << 24), a, 17,
             rng.randrange(1024, 65536), p)
        pkt = acl.packet(t)
        lin.packets.append((pkt, i, v))
    rng.shuffle(lin.packets)
    st.packets = [(p, 0 if i >= 0 else -1, v) for p, i, v in lin.packets]
    st.note = "%d elements" % n
    return [lin, st]


def prefix_cases(n, seed, count):
    """(c): N disjoint source prefixes (/24 or /32) dropped, chain or set."""
    rng = random.Random("prefixes/%d/%d" % (seed, n))
    blocks = rng.sample(range(1 << 16), n)
    nets = []
    for b in blocks:
        a = (100 << 24) | (b << 8)
        nets.append((a, 24) if rng.random() < 0.5 else
                    (a | (1 + rng.randrange(255)), 32))
    text = [acl.ip4(a) + ("/24" if p == 24 else "") for a, p in nets]
    lin = Case("prefix-chain-%d" % n, "prefix-chain", n,
               ["ip saddr %s drop" % t for t in text], "accept")
    sets = ("  set bl {\n    type ipv4_addr; flags interval;\n"
            "    elements = { %s }\n  }\n" % ", ".join(text))
    st = Case("prefix-set-%d" % n, "prefix-set", 1, ["ip saddr @bl drop"],
              "accept", sets)
    hits = int(count * 0.8)
    for j in range(count):
        if j < hits:
            i = j * n // hits
            a, p = nets[i]
            src = a | (rng.randrange(256) if p == 24 else 0)
            v = "drop"
        else:
            src = (100 << 24) | (rng.randrange(1 << 16) << 8) | 0
            i, v = -1, "accept"
            for k, (a, p) in enumerate(nets):
                if src & (0xffffff00 if p == 24 else 0xffffffff) == a:
                    i, v = k, "drop"
                    break
        t = (src, (172 << 24) | (16 << 16) | rng.randrange(1 << 20), 17,
             rng.randrange(1024, 65536), 53)
        lin.packets.append((acl.packet(t), i, v))
    rng.shuffle(lin.packets)
    st.packets = [(p, 0 if i >= 0 else -1, v) for p, i, v in lin.packets]
    st.note = "%d prefixes" % n
    return [lin, st]


def verdict_cases(count):
    """0 rules, policy accept or drop, timed as written."""
    out = []
    for pol in ("accept", "drop"):
        c = Case("verdicts-%s" % pol, "verdicts", 0, [], pol, neutral=False)
        rng = random.Random("verdicts")
        for _ in range(count):
            t = ((10 << 24) | rng.randrange(1 << 24),
                 (172 << 24) | (16 << 16) | rng.randrange(1 << 20), 17,
                 rng.randrange(1024, 65536), 53)
            c.packets.append((acl.packet(t), -1, pol))
        c.note = "timed as written: every packet %s" % (
            "accepted" if pol == "accept" else "dropped (EPERM)")
        out.append(c)
    return out


def suite(quick, seed, count):
    sizes = (1, 10, 100, 1000) if quick else (1, 10, 100, 1000, 10000)
    cases = [acl_case(n, seed, count) for n in sizes]
    cases.append(server_case(True, seed, count))
    cases.append(server_case(False, seed, count))
    for n in ((1000,) if quick else (1000, 10000)):
        cases += pairs_cases(n, seed, count)
        cases += prefix_cases(n, seed, count)
    cases += verdict_cases(count)
    return cases
