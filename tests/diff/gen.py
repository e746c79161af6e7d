"""Seeded random packet generator aimed at a ruleset's constants.

For most packets the generator picks a rule of the ruleset (and, for
rules in regular chains, a path of jumps leading to it) and gives every
field the rule matches a value at or just beyond the edge of what the rule
accepts: the exact value, range ends, prefix boundaries, value +- 1.
The other fields are random.  Orthogonally each packet gets a shape:
IPv4 options, IPv6 extension headers, first or later fragments, a
transport header cut short, no transport header, a large payload.

Every packet is canonicalised (packets.canonicalise) before it is
returned, so it is exactly what the kernel hook sees.
"""

import ipaddress
import random

import model as model_mod
import packets
from packets import FIELDS, IPV6_EXT, L4_HDRLEN, L4_NAME, MTU, \
    set_field

# Transport protocol numbers implied by a key's header name.
PROTO_OF_HDR = {name: num for num, name in L4_NAME.items()}
# Weights of transport protocols for packets not aimed at one.
L4_WEIGHTS = {4: [(6, 30), (17, 25), (1, 15), (132, 8), (136, 3), (58, 2),
                  (51, 2), (50, 2), (47, 3), (0, 2), (255, 2), (99, 4)],
              6: [(6, 30), (17, 25), (58, 15), (132, 8), (136, 3), (1, 2),
                  (50, 2), (47, 3), (59, 3), (253, 3), (99, 4)]}
SHAPES = {4: [("plain", 50), ("opts", 15), ("frag1", 7), ("fragn", 8),
              ("trunc", 10), ("empty", 3), ("big", 5), ("tiny", 2)],
          6: [("plain", 40), ("ext", 20), ("frag1", 7), ("fragn", 8),
              ("trunc", 10), ("truncext", 4), ("empty", 3), ("big", 6),
              ("tiny", 2)]}
TCP_FLAGS = [0x02, 0x12, 0x10, 0x11, 0x04, 0x14, 0x18, 0x01, 0x29, 0x3f,
             0xc2, 0x00, 0xff]
ICMP_TYPES = {1: [0, 3, 5, 8, 11, 12, 13, 14], 58: [1, 2, 3, 4, 128, 129,
                                                    130, 133, 134, 135,
                                                    136, 143]}

ADDR4 = ["10.99.0.1", "10.99.0.2", "127.0.0.1", "224.0.0.1",
         "239.1.2.3", "255.255.255.255", "192.168.1.1", "172.16.0.1",
         "8.8.8.8", "198.51.100.1", "0.0.0.0"]
ADDR6 = ["fd00:99::1", "fd00:99::2", "::1", "::", "fe80::1", "ff02::1",
         "ff02::1:ff00:1", "2001:db8::1", "2001:db8:ff::1",
         "::ffff:10.99.0.1", "2002:c000:0204::1"]


def _weighted(rng, table):
    total = sum(w for _, w in table)
    x = rng.uniform(0, total)
    for item, w in table:
        x -= w
        if x <= 0:
            return item
    return table[-1][0]


def _conflicts(values):
    """How contradictory a set of target values is (0: consistent)."""
    protos, fams = set(), set()
    for key, v in values.items():
        if key[0] == "payload":
            if key[1] in PROTO_OF_HDR:
                protos.add(PROTO_OF_HDR[key[1]])
            elif key[1] in ("ip", "ip6"):
                fams.add(key[1])
        if key in (("meta", "l4proto"), ("payload", "ip", "protocol")):
            protos.add(v & 0xff)
        elif key == ("payload", "ip6", "nexthdr") and v not in IPV6_EXT:
            protos.add(v)
        elif key == ("meta", "nfproto"):
            fams.add({2: "ip", 10: "ip6"}.get(v, v))
    return max(0, len(protos) - 1) + max(0, len(fams) - 1)


class Packet:
    """A generated packet: canonical bytes, context index, aim note."""

    __slots__ = ("data", "ctx", "family", "note")

    def __init__(self, data, ctx, family, note):
        self.data, self.ctx, self.family, self.note = data, ctx, family, note


class Generator:
    def __init__(self, model, rng, families, contexts, nofrag6=False):
        """families: [4], [6] or [4, 6]; contexts: [(mark, uid, gid)];
        nofrag6: never build IPv6 fragments."""
        self.model = model
        self.nofrag6 = nofrag6
        self.rng = rng
        self.families = families
        self.contexts = contexts
        self.aimable = [r for r in model.rules if r.conds]
        self.all_comps = [(c.op, comp) for r in model.rules
                          for c in r.conds for alt in c.alts for comp in alt]

    # -- choosing target values ------------------------------------------

    def _comp_value(self, comp, op, hit):
        """A value for comp's key that makes `key op [lo, hi]` true (hit)
        or false, preferring the edges: lo, hi, lo - 1, hi + 1."""
        rng = self.rng
        width = model_mod.key_width(comp.key)
        full = (1 << width) - 1
        lo, hi = comp.lo, comp.hi
        if op in ("<", ">="):        # true below lo / at or above lo
            below = hit == (op == "<")
            if below:
                v = lo - 1 if rng.random() < 0.6 or lo == 0 else \
                    rng.randint(0, lo - 1)
            else:
                v = lo if rng.random() < 0.6 else rng.randint(lo, full)
        elif op in ("<=", ">"):      # true at or below hi / above hi
            below = hit == (op == "<=")
            if below:
                v = hi if rng.random() < 0.6 else rng.randint(0, hi)
            else:
                v = hi + 1 if rng.random() < 0.6 or hi == full else \
                    rng.randint(hi + 1, full)
        else:
            inside = hit != (op == "!=")
            if inside:
                pick = rng.random()
                v = lo if pick < 0.35 else hi if pick < 0.6 else \
                    rng.randint(lo, hi)
            else:
                v = lo - 1 if rng.random() < 0.5 else hi + 1
        v &= full
        if comp.mask is not None:
            v = (rng.getrandbits(width) & ~comp.mask) | (v & comp.mask)
        return v

    def _aim_rule(self, rule, values):
        """Add values for rule's conditions and a path of jumps to it.

        Alternatives are picked at random; of a few tries the one with
        the fewest contradictions (two transport protocols, two IP
        versions) wins, so deep rules behind set lookups still get hit.
        """
        best = None
        for _ in range(4):
            trial = {}
            self._aim_once(rule, trial)
            score = _conflicts(trial)
            if best is None or score < best[0]:
                best = (score, trial)
            if score == 0:
                break
        values.update(best[1])

    def _aim_once(self, rule, values):
        conds = list(rule.conds)
        chain, depth = rule.chain, 0
        while depth < 8 and chain in self.model.jumpers:
            jumper, cond = self.rng.choice(self.model.jumpers[chain])
            conds += [c for c in jumper.conds if c is not None]
            if cond is not None:
                conds.append(cond)
            chain, depth = jumper.chain, depth + 1
        # A vmap rule's own condition lists all keys; the jump condition
        # added above must win, so apply conditions in reverse.
        hit_p = 0.85 if self.rng.random() < 0.7 else 0.5
        for cond in reversed(conds):
            alt = self.rng.choice(cond.alts)
            for comp in alt:
                if comp.key not in values:
                    values[comp.key] = self._comp_value(
                        comp, cond.op, self.rng.random() < hit_p)
        # A transport header field (tcp sport, ...) fixes the protocol:
        # mostly make protocol matches (meta l4proto, ip protocol,
        # ip6 nexthdr) agree with it rather than contradict it.
        hdrs = {PROTO_OF_HDR[k[1]] for k in values
                if k[0] == "payload" and k[1] in PROTO_OF_HDR}
        if len(hdrs) == 1:
            proto = hdrs.pop()
            for key in (("meta", "l4proto"), ("payload", "ip", "protocol"),
                        ("payload", "ip6", "nexthdr")):
                if key in values and values[key] != proto and \
                        self.rng.random() < 0.85:
                    values[key] = proto

    def _choose_values(self):
        rng, values = self.rng, {}
        r = rng.random()
        if r < 0.72 and self.aimable:
            self._aim_rule(rng.choice(self.aimable), values)
            return values, "aim"
        if r < 0.87 and self.all_comps:
            for _ in range(rng.randint(1, 3)):
                op, comp = rng.choice(self.all_comps)
                values[comp.key] = self._comp_value(comp, op,
                                                    rng.random() < 0.7)
            return values, "mix"
        return values, "random"

    # -- packet construction ---------------------------------------------

    def packet(self):
        rng = self.rng
        values, note = self._choose_values()
        family = self._family(values)
        l4, first_ext = self._l4proto(values, family)
        shape = _weighted(rng, SHAPES[family])
        if first_ext is not None and shape not in ("ext", "frag1", "fragn",
                                                    "truncext"):
            shape = "ext"
        if any(k[0] == "exthdr" for k in values):
            shape = "ext"
        if family == 6 and self.nofrag6:
            if first_ext == 44:
                first_ext = None
            if shape in ("frag1", "fragn"):
                shape = "ext"
        l4bytes = self._l4(l4, family, shape, values)
        if family == 4:
            pkt = self._ip4(l4, shape, values, l4bytes)
            nhlen = (pkt[0] & 0xf) * 4
        else:
            pkt, nhlen = self._ip6(l4, shape, values, l4bytes, first_ext)
        self._apply_raw(pkt, values, nhlen)
        pkt = self._fit_length(pkt, values, family, nhlen)
        data = packets.canonicalise(bytes(pkt))
        return Packet(data, self._context(values), family,
                      "%s/%s/%d" % (note, shape, l4))

    def _family(self, values):
        implied = set()
        for key, v in values.items():
            if key[0] == "payload" and key[1] in ("ip", "ip6"):
                implied.add(4 if key[1] == "ip" else 6)
            elif key == ("meta", "nfproto") and v in (2, 10):
                implied.add(4 if v == 2 else 6)
            elif key == ("meta", "protocol") and v in (0x0800, 0x86dd):
                implied.add(4 if v == 0x0800 else 6)
            elif key[0] == "exthdr":
                implied.add(6)
        choices = [f for f in self.families if f in implied] or \
            self.families
        return self.rng.choice(choices)

    def _l4proto(self, values, family):
        """(transport protocol number, first IPv6 extension header)."""
        proto, first_ext = None, None
        for key, v in values.items():
            if key[0] == "payload" and key[1] in PROTO_OF_HDR:
                proto = PROTO_OF_HDR[key[1]]
        for key in (("meta", "l4proto"), ("payload", "ip", "protocol")):
            if key in values:
                proto = values[key] & 0xff
        key = ("payload", "ip6", "nexthdr")
        if family == 6 and key in values:
            if values[key] in IPV6_EXT:
                first_ext = values[key]
            else:
                proto = values[key]
        if proto is None or (family == 6 and proto in IPV6_EXT):
            proto = _weighted(self.rng, L4_WEIGHTS[family])
        if family == 4 and proto in (0, 43, 44, 60) and \
                self.rng.random() < 0.5:
            proto = 6                # IPv6 ext numbers are plain in IPv4
        return proto, first_ext

    def _context(self, values):
        want = {}
        for i, name in enumerate(("mark", "skuid", "skgid")):
            if ("meta", name) in values:
                want[i] = values[("meta", name)]
        best = [c for c in range(len(self.contexts))
                if all(self.contexts[c][i] == v for i, v in want.items())]
        if not best:
            best = [c for c in range(len(self.contexts))
                    if any(self.contexts[c][i] == v
                           for i, v in want.items())]
        return self.rng.choice(best or range(len(self.contexts)))

    def _l4(self, proto, family, shape, values):
        """Transport header and payload bytes."""
        rng = self.rng
        hlen = L4_HDRLEN.get(proto, 0)
        hdr = bytearray(rng.getrandbits(8) for _ in range(hlen))
        if proto == 6:
            doff = 5 if rng.random() < 0.8 else rng.randint(5, 15)
            if rng.random() < 0.03:
                doff = rng.randint(0, 4)
            hdr += bytes([1] * (max(doff, 5) * 4 - 20))   # NOP options
            set_field(hdr, 96, 4, doff)
            set_field(hdr, 100, 4, 0 if rng.random() < 0.9 else
                      rng.getrandbits(4))
            set_field(hdr, 104, 8, rng.choice(TCP_FLAGS)
                      if rng.random() < 0.8 else rng.getrandbits(8))
        if proto in (1, 58) and rng.random() < 0.8:
            hdr[0] = rng.choice(ICMP_TYPES[proto])
            hdr[1] = 0 if rng.random() < 0.7 else rng.randint(0, 16)
        if proto in (6, 17, 136, 132) and rng.random() < 0.5:
            for off in (0, 16):
                set_field(hdr, off, 16, rng.choice(
                    [22, 53, 80, 443, 1024, 5000, 65535, 0, 1]))
        if proto == 132:                 # an SCTP chunk header
            hdr += bytes([rng.choice([0, 1, 2, 3, 6]), 0, 0, 4])
        if proto == 51:                  # AH in IPv4: payload len 1
            hdr[1] = 1
        # Payload.
        if shape == "big":
            n = rng.randint(200, MTU - 120)
        elif shape in ("empty", "tiny"):
            n = 0
        else:
            n = rng.choice([0, 0, rng.randint(1, 16), rng.randint(1, 100)])
        body = hdr + bytes(rng.getrandbits(8) for _ in range(n))
        if proto in (17, 136) and len(body) >= 8 and rng.random() < 0.85:
            set_field(body, 32, 16, len(body))
        # Fields the aim asks for.
        name = L4_NAME.get(proto)
        for key, v in values.items():
            if key[0] != "payload":
                continue
            if key[1] == name or key[1] == "th":
                off, ln = FIELDS[key[1]][key[2]]
                if (off + ln + 7) // 8 > len(body):
                    body += bytes((off + ln + 7) // 8 - len(body))
                set_field(body, off, ln, v)
        if shape == "trunc" and len(body) > 1:
            cut = max(1, hlen) if hlen > 1 else len(body)
            body = body[:rng.randint(1, cut - 1 if cut > 1 else 1)]
        elif shape in ("empty", "tiny"):
            body = body[:0] if shape == "empty" else body[:rng.randint(1, 3)]
        return body

    def _addr(self, family):
        rng = self.rng
        if family == 4:
            if rng.random() < 0.5:
                return int(ipaddress.IPv4Address(rng.choice(ADDR4)))
            return rng.getrandbits(32)
        if rng.random() < 0.5:
            return int(ipaddress.IPv6Address(rng.choice(ADDR6)))
        if rng.random() < 0.5:
            return (0x20010db8 << 96) | rng.getrandbits(64)
        return rng.getrandbits(128)

    def _ip4(self, proto, shape, values, l4bytes):
        rng = self.rng
        ihl = 5
        if shape == "opts":
            ihl = rng.randint(6, 15)
        want = values.get(("payload", "ip", "hdrlength"))
        if want is not None and want >= 5:
            ihl = want
        opts = bytearray()
        while len(opts) < ihl * 4 - 20:
            kind = rng.random()
            if kind < 0.4:
                opts.append(1)                        # NOP
            elif kind < 0.6:
                opts += bytes([148, 4, 0, 0])          # router alert
            elif kind < 0.75:
                opts += bytes([7, 7, 4]) + bytes(4)    # record route
            elif kind < 0.85:
                opts.append(0)                        # end of list
            else:
                opts.append(rng.getrandbits(8))
        opts = opts[:ihl * 4 - 20]
        hdr = bytearray(20) + opts
        hdr[0] = 0x40 | ihl
        hdr[1] = rng.getrandbits(8) if rng.random() < 0.5 else 0
        set_field(hdr, 32, 16, rng.randint(1, 0xffff))
        if shape == "frag1":
            frag = 0x2000
        elif shape == "fragn":
            frag = rng.randint(1, 0x1fff) | (0x2000 if rng.random() < 0.5
                                             else 0)
        else:
            frag = rng.choice([0, 0x4000, 0x4000, 0x8000])
        set_field(hdr, 48, 16, frag)
        hdr[8] = rng.choice([1, 64, 64, 128, 255, rng.randint(0, 255)])
        hdr[9] = proto
        set_field(hdr, 96, 32, self._addr(4))
        set_field(hdr, 128, 32, self._addr(4))
        for key, v in values.items():
            if key[0] == "payload" and key[1] == "ip" and key[2] not in (
                    "version", "hdrlength", "length", "checksum"):
                off, ln = FIELDS["ip"][key[2]]
                set_field(hdr, off, ln, v)
        return hdr + l4bytes

    def _ip6(self, proto, shape, values, l4bytes, first_ext):
        rng = self.rng
        exts = []
        if shape in ("ext", "truncext") or first_ext is not None:
            exts = [rng.choice([0, 43, 60, 51])
                    for _ in range(rng.randint(1, 3))]
            if first_ext is not None:
                exts[0] = first_ext
            for key in values:
                if key[0] == "exthdr" and values[key]:
                    exts.append(model_mod.EXTHDR[key[1]])
            if self.nofrag6:
                exts = [e for e in exts if e != 44] or [0]
        if shape in ("frag1", "fragn"):
            exts.insert(rng.randint(0, len(exts)), 44)
        # Build the chain back to front so each knows its next header.
        chain = bytearray()
        nxt = proto
        for kind in reversed(exts):
            if kind == 44:
                off = 0 if shape != "fragn" else rng.randint(1, 0x1fff)
                more = 1 if shape == "frag1" else rng.getrandbits(1)
                h = packets.ipv6_ext(nxt, 44, frag_off=off, more=more,
                                     ident=rng.getrandbits(32))
            elif kind == 43:
                h = packets.ipv6_ext(nxt, 43, body_len=rng.choice([0, 2]),
                                     fill=bytes([rng.choice([0, 2, 4]),
                                                 rng.randint(0, 2)]))
            else:
                h = packets.ipv6_ext(nxt, kind, body_len=rng.choice(
                    [0, 0, 1, 2]))
            chain = bytearray(h) + chain
            nxt = kind
        if shape == "truncext" and chain:
            chain = chain[:rng.randint(1, len(chain) - 1)]
            l4bytes = b""
        hdr = bytearray(40)
        hdr[0] = 0x60
        set_field(hdr, 4, 8, rng.getrandbits(8) if rng.random() < 0.5
                  else 0)
        set_field(hdr, 12, 20, rng.getrandbits(20) if rng.random() < 0.4
                  else 0)
        hdr[6] = nxt
        hdr[7] = rng.choice([1, 64, 64, 255, rng.randint(0, 255)])
        set_field(hdr, 64, 128, self._addr(6))
        set_field(hdr, 192, 128, self._addr(6))
        for key, v in values.items():
            if key[0] == "payload" and key[1] == "ip6" and key[2] not in (
                    "version", "length", "nexthdr"):
                off, ln = FIELDS["ip6"][key[2]]
                set_field(hdr, off, ln, v)
        return hdr + chain + l4bytes, 40 + len(chain)

    def _apply_raw(self, pkt, values, nhlen):
        for key, v in values.items():
            if key[0] == "raw":
                base, off, ln = key[1:]
                if base == "th":
                    off += nhlen * 8
                set_field(pkt, off, ln, v)

    def _fit_length(self, pkt, values, family, nhlen):
        """Honour length targets, keep IPv4 ihl sane, stay within MTU."""
        target = None
        for key in (("meta", "length"), ("payload", "ip", "length")):
            if key in values:
                target = values[key]
        if ("payload", "ip6", "length") in values:
            target = values[("payload", "ip6", "length")] + 40
        minlen = (pkt[0] & 0xf) * 4 if family == 4 else 40
        if target is not None and minlen <= target <= MTU:
            if target < len(pkt):
                pkt = pkt[:target]
            else:
                pkt += bytes(self.rng.getrandbits(8)
                             for _ in range(target - len(pkt)))
        pkt = pkt[:MTU]
        if family == 4 and (pkt[0] >> 4 != 4 or (pkt[0] & 0xf) < 5 or
                            (pkt[0] & 0xf) * 4 > len(pkt)):
            pkt[0] = 0x45        # a raw nh write broke the header
        if family == 6:
            pkt[0] = (pkt[0] & 0x0f) | 0x60
        return pkt


def generate(model, seed, count, families, contexts, nofrag6=False):
    """count packets for model, reproducible from seed."""
    gen = Generator(model, random.Random(seed), families, contexts,
                    nofrag6)
    return [gen.packet() for _ in range(count)]
