"""5-tuple ACLs in the spirit of ClassBench's acl seeds, and their traffic.

A rule matches a source prefix, a destination prefix, a protocol, a
source port range and a destination port range, each possibly a
wildcard (left out of the nft rule), and ends in accept or drop.  The
mix of prefix lengths, protocols and port shapes below is fixed; the
values come from a seeded random generator, so the same seed gives the
same ACL and the same packets.

Sources are hosts and networks of 64 sites (10.S.0.0/16), destinations
hosts and subnets of 256 server networks (172.16.0.0/12): prefixes nest
and overlap as in real ACLs, so some rules shadow parts of later ones.

Traffic: packets aimed at rules spread evenly over the chain (each
checked against the first-match model: a packet an earlier rule catches
counts for that rule), plus packets that match no rule (the policy).
"""

import random
import struct

WELL_KNOWN = (20, 21, 22, 23, 25, 53, 67, 80, 110, 123, 135, 137, 139, 143,
              161, 179, 389, 443, 445, 465, 514, 587, 636, 993, 995, 1433,
              1521, 1723, 2049, 3306, 3389, 5060, 5432, 5900, 6379, 8080,
              8443, 9100, 11211, 27017)
PROTO = {"tcp": 6, "udp": 17, "icmp": 1}
ANY = None


def ip4(a):
    return "%d.%d.%d.%d" % (a >> 24, (a >> 16) & 255, (a >> 8) & 255,
                            a & 255)


def mask(plen):
    return (0xffffffff << (32 - plen)) & 0xffffffff if plen else 0


class Rule:
    """One ACL rule; ANY (None) fields are wildcards."""

    __slots__ = ("src", "slen", "dst", "dlen", "proto", "sport", "dport",
                 "action", "key")

    def __init__(self, src, slen, dst, dlen, proto, sport, dport, action):
        self.src, self.slen = src & mask(slen), slen
        self.dst, self.dlen = dst & mask(dlen), dlen
        self.proto, self.sport, self.dport = proto, sport, dport
        self.action = action
        # the first-match model's view: masks and bounds as integers
        p = PROTO[proto] if proto else -1
        sp = sport or (0, 65535)
        dp = dport or (0, 65535)
        self.key = (mask(dlen), self.dst, mask(slen), self.src, p,
                    sp[0], sp[1], dp[0], dp[1], bool(sport or dport))

    def nft(self, action=None):
        """The rule in nft syntax; action overrides the verdict."""
        parts = []
        if self.slen:
            parts.append("ip saddr %s%s" % (ip4(self.src), "" if
                         self.slen == 32 else "/%d" % self.slen))
        if self.dlen:
            parts.append("ip daddr %s%s" % (ip4(self.dst), "" if
                         self.dlen == 32 else "/%d" % self.dlen))
        if self.proto and not (self.sport or self.dport):
            parts.append("ip protocol %s" % self.proto)
        for name, rng in (("sport", self.sport), ("dport", self.dport)):
            if rng:
                parts.append("%s %s %s" % (self.proto, name, rng[0]
                             if rng[0] == rng[1] else "%d-%d" % rng))
        parts.append(action or self.action)
        return " ".join(parts)


def matches(key, pkt):
    """Does rule key match pkt = (saddr, daddr, proto, sport, dport)?"""
    dm, dn, sm, sn, p, splo, sphi, dplo, dphi, ports = key
    if pkt[1] & dm != dn or pkt[0] & sm != sn:
        return False
    if p >= 0 and pkt[2] != p:
        return False
    if ports:
        if pkt[2] not in (6, 17):
            return False
        if not (splo <= pkt[3] <= sphi and dplo <= pkt[4] <= dphi):
            return False
    return True


def first_match(keys, pkt):
    for i, k in enumerate(keys):
        if matches(k, pkt):
            return i
    return -1


def _src(rng):
    site = rng.randrange(64)
    x = rng.random()
    if x < 0.15:
        return 0, 0
    if x < 0.30:
        return (10 << 24) | (site << 16), 16
    host = (10 << 24) | (site << 16) | rng.randrange(1 << 16)
    return (host, 24) if x < 0.65 else (host, 32)


def _dst(rng):
    net = (172 << 24) | (16 << 16) | rng.randrange(1 << 12) << 8
    x = rng.random()
    if x < 0.05:
        return 0, 0
    if x < 0.25:
        return net, 24
    host = net | rng.randrange(256)
    return (host, 28) if x < 0.50 else (host, 32)


def _dport(rng):
    x = rng.random()
    if x < 0.60:
        p = rng.choice(WELL_KNOWN) if rng.random() < 0.7 else \
            rng.randrange(1024, 65536)
        return (p, p)
    if x < 0.85:
        width = 1 << rng.randrange(3, 11)
        lo = rng.randrange(1024, 65536 - width)
        return (lo, lo + width - 1)
    return ANY


def generate(n, seed):
    """n rules from seed: list of Rule."""
    rng = random.Random("acl/%d/%d" % (seed, n))
    rules = []
    while len(rules) < n:
        src, slen = _src(rng)
        dst, dlen = _dst(rng)
        x = rng.random()
        proto = "tcp" if x < 0.55 else "udp" if x < 0.90 else \
            "icmp" if x < 0.95 else ANY
        sport = dport = ANY
        if proto in ("tcp", "udp"):
            if rng.random() < 0.10:
                sport = (1024, 65535)
            dport = _dport(rng)
        if not (slen or dlen) and not (proto and dport):
            continue          # too broad: it would shadow what follows
        action = "accept" if rng.random() < 0.6 else "drop"
        rules.append(Rule(src, slen, dst, dlen, proto, sport, dport, action))
    return rules


def _pick(rng, net, plen, default):
    if not plen:
        return default
    return net | (rng.randrange(1 << (32 - plen)) if plen < 32 else 0)


def _aim(rng, r):
    """A packet tuple that matches rule r."""
    src = _pick(rng, r.src, r.slen, (10 << 24) | rng.randrange(1 << 24))
    dst = _pick(rng, r.dst, r.dlen, (172 << 24) | (16 << 16) |
                rng.randrange(1 << 20))
    proto = PROTO[r.proto] if r.proto else rng.choice((6, 17, 1))
    sport = rng.randint(*r.sport) if r.sport else rng.randrange(1024, 65536)
    dport = rng.randint(*r.dport) if r.dport else rng.choice(
        WELL_KNOWN + (rng.randrange(1024, 65536),))
    return (src, dst, proto, sport, dport)


def _miss(rng):
    """A tuple from outside the ACL's address space (checked by caller)."""
    return ((100 << 24) | (64 << 16) | rng.randrange(1 << 16),
            (198 << 24) | (18 << 16) | rng.randrange(1 << 16),
            rng.choice((6, 17)), rng.randrange(1024, 65536),
            rng.randrange(1024, 65536))


def traffic(rules, seed, count, miss_frac=0.2, tries=20):
    """count packet tuples: [(tuple, first matching rule index or -1)].

    (1 - miss_frac) of them aim at rules spread evenly over the chain;
    the rest match no rule.  Every tuple's first match is computed by the
    model, whatever it was aimed at.
    """
    rng = random.Random("traffic/%d/%d/%d" % (seed, len(rules), count))
    keys = [r.key for r in rules]
    n_miss = int(count * miss_frac) if rules else count
    out = []
    for j in range(count - n_miss):
        target = j * len(rules) // (count - n_miss)
        for _ in range(tries):
            t = _aim(rng, rules[target])
            hit = first_match(keys[:target + 1], t)
            if hit == target:
                break
        out.append((t, hit))
    for _ in range(n_miss):
        for _ in range(tries):
            t = _miss(rng)
            hit = first_match(keys, t)
            if hit < 0:
                break
        out.append((t, hit))
    rng.shuffle(out)
    return out


def _csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff


def packet(t, payload=18):
    """IPv4 bytes of tuple t: TCP SYN, UDP or ICMP echo request."""
    src, dst, proto, sport, dport = t
    body = b"\0" * payload
    if proto == 6:
        l4 = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, 0x02,
                         65535, 0, 0) + body
    elif proto == 17:
        l4 = struct.pack("!HHHH", sport, dport, 8 + len(body), 0) + body
    else:
        l4 = struct.pack("!BBHHH", 8, 0, 0, 1, 1) + body
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 1, 0, 64,
                     proto, 0, struct.pack("!I", src),
                     struct.pack("!I", dst))
    ip = ip[:10] + struct.pack("!H", _csum(ip)) + ip[12:]
    return ip + l4
