"""Boxes of rules (nft-jit's canonical predicates) as nft rules.

nft-jit describes what packets a rule can match as its box: per field, a
union of intervals of the field's value (`nft-jit compile -j
--predicates`, one object per rule):

  {"handle": H, "exact": bool, "empty": bool,
   "terms": [{"field": {"src": "payload"|"meta", "base": "nh"|"th"|"ll",
                        "offset": N, "len": N, "fast": bool,
                        "meta": "mark", "bswap": 0|2|4, "width": N},
              "intervals": [["0x0a000000", "0x0affffff"], ...]}]}

A field's value is the number whose big-endian bytes are the register
the rule compares (memcmp order), after a byte-order change of unit
`bswap` when there is one.  offset and len are bytes.

This module turns a term into nft match text that the kernel evaluates
itself -- "the field is inside the term" and "the field is outside the
term" -- so that the kernel, not a reimplementation, says whether a
packet lies in a box (predfuzz.py).  nft reads a payload field `@nh,96,32`
as a big-endian number, a meta key in its template's byte order (host
order for mark, length, skuid, ...); where the box's value order is the
nft number's order, a term is a set of ranges; where it is not (a meta key
compared in host order, bswap 0), each interval is cut into prefix blocks
of the value, each block a masked compare of the nft number.

Written for a little-endian host (x86, the project's targets).
"""

import sys

# nft meta keys by the names nft-jit may use: (nft name, byte order of
# nft's number: "host" or "big")
META = {
    "mark": ("mark", "host"), "len": ("length", "host"),
    "length": ("length", "host"), "l4proto": ("l4proto", "host"),
    "nfproto": ("nfproto", "host"), "protocol": ("protocol", "big"),
    "skuid": ("skuid", "host"), "skgid": ("skgid", "host"),
    "iif": ("iif", "host"), "oif": ("oif", "host"),
    "iiftype": ("iiftype", "host"), "oiftype": ("oiftype", "host"),
    "pkttype": ("pkttype", "host"), "priority": ("priority", "host"),
    "cpu": ("cpu", "host"), "cgroup": ("cgroup", "host"),
}
BASES = ("ll", "nh", "th")


class Unsupported(Exception):
    """A field this module cannot write in nft syntax."""


def parse_iv(v):
    return int(v, 0) if isinstance(v, str) else int(v)


def intervals(term):
    """[(lo, hi)] of a term, as integers, sorted."""
    return sorted((parse_iv(a), parse_iv(b)) for a, b in term["intervals"])


def width(field):
    w = field.get("width") or field.get("len")
    if not w or w > 16:
        raise Unsupported("field width %r" % w)
    return w


def expr(field):
    """(nft expression text, order of nft's number: "big" or "host")."""
    if field.get("src") == "payload":
        base = field.get("base")
        if base not in BASES:
            raise Unsupported("payload base %r" % base)
        ln = field.get("len")
        if field.get("width", ln) != ln:
            raise Unsupported("payload field of width %s loaded as %s bytes"
                              % (field.get("width"), ln))
        return "@%s,%d,%d" % (base, field["offset"] * 8, ln * 8), "big"
    if field.get("src") == "meta":
        key = META.get(field.get("meta"))
        if key is None:
            raise Unsupported("meta key %r" % field.get("meta"))
        return "meta " + key[0], key[1]
    raise Unsupported("field source %r" % field.get("src"))


def value_bytes_to_number_bytes(field, b):
    """The nft number's big-endian bytes for a box value's bytes b.

    b is the register after the byte-order change (unit bswap): undo it
    (it reverses each unit on a little-endian host), then read the
    register as nft reads the expression's number.
    """
    u = field.get("bswap") or 0
    if u:
        if len(b) % u:
            raise Unsupported("bswap unit %d of a %d-byte value" % (u,
                                                                    len(b)))
        b = b"".join(b[i:i + u][::-1] for i in range(0, len(b), u))
    _, order = expr(field)
    if order == "host" and sys.byteorder == "little":
        b = b[::-1]
    return b


def permutation(field):
    """perm[i] = the byte of the box value that is byte i (big-endian) of
    nft's number; identity when nft's number orders as the box value."""
    w = width(field)
    probe = bytes(range(w))
    return list(value_bytes_to_number_bytes(field, probe))


def to_number(field, v):
    w = width(field)
    return int.from_bytes(value_bytes_to_number_bytes(
        field, v.to_bytes(w, "big")), "big")


def prefix_blocks(lo, hi, bits):
    """[(value, prefix length)] covering [lo, hi] exactly."""
    out = []
    while lo <= hi:
        size = lo & -lo if lo else 1 << bits
        while size > hi - lo + 1:
            size >>= 1
        plen = bits - (size.bit_length() - 1)
        out.append((lo, plen))
        lo += size
    return out


def complement(ivs, bits):
    """The intervals of [0, 2^bits - 1] outside ivs (sorted, disjoint)."""
    out, nxt = [], 0
    for lo, hi in sorted(ivs):
        if lo > nxt:
            out.append((nxt, lo - 1))
        nxt = max(nxt, hi + 1)
    if nxt <= (1 << bits) - 1:
        out.append((nxt, (1 << bits) - 1))
    return out


def merge(ivs):
    out = []
    for lo, hi in sorted(ivs):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def intersect(a, b):
    out = []
    for lo1, hi1 in a:
        for lo2, hi2 in b:
            lo, hi = max(lo1, lo2), min(hi1, hi2)
            if lo <= hi:
                out.append((lo, hi))
    return merge(out)


def _hex(v):
    return "0x%x" % v


def _set(ivs):
    items = [_hex(lo) if lo == hi else "%s-%s" % (_hex(lo), _hex(hi))
             for lo, hi in ivs]
    if len(items) == 1:
        return items[0]
    return "{ %s }" % ", ".join(items)


MAX_ALTS = 256          # blocks of one term, beyond: Unsupported


def _blocks(field, ivs):
    """Alternatives [[match]] saying: the value is in one of ivs, for a
    field whose nft number is not ordered as its value: one masked
    compare per prefix block of the value."""
    w = width(field)
    bits = w * 8
    text, _ = expr(field)
    out = []
    for lo, hi in ivs:
        for v, plen in prefix_blocks(lo, hi, bits):
            mask = ((1 << plen) - 1) << (bits - plen)
            nmask, nval = to_number(field, mask), to_number(field, v)
            if plen == 0:
                out.append(["%s %s-%s" % (text, _hex(0), _hex((1 << bits) -
                                                               1))])
            elif nmask == (1 << bits) - 1:
                out.append(["%s %s" % (text, _hex(nval))])
            else:
                out.append(["%s & %s == %s" % (text, _hex(nmask),
                                               _hex(nval))])
            if len(out) > MAX_ALTS:
                raise Unsupported("more than %d prefix blocks" % MAX_ALTS)
    return out


def inside(field, ivs):
    """nft matches saying: the field loads and its value is in ivs.

    Returns alternatives: a list of lists of matches, the value is in
    ivs when all matches of one alternative hold; [] when ivs is empty.
    A field whose nft number is ordered as its value needs one
    alternative; others one per prefix block.
    """
    w = width(field)
    bits = w * 8
    text, _ = expr(field)
    ivs = merge(ivs)
    if not ivs:
        return []
    if ivs == [(0, (1 << bits) - 1)]:
        return [["%s %s-%s" % (text, _hex(0), _hex((1 << bits) - 1))]]
    if permutation(field) == list(range(w)):
        return [["%s %s" % (text, _set(ivs))]]
    return _blocks(field, ivs)


def outside(field, ivs):
    """nft matches saying: the field loads and its value is not in ivs.

    Alternatives as inside(); [] when no value is outside.
    """
    w = width(field)
    bits = w * 8
    text, _ = expr(field)
    ivs = merge(ivs)
    if ivs == [(0, (1 << bits) - 1)]:
        return []
    if not ivs:
        return [["%s %s-%s" % (text, _hex(0), _hex((1 << bits) - 1))]]
    if permutation(field) == list(range(w)):
        return [["%s != %s" % (text, _set(ivs))]]
    return _blocks(field, complement(ivs, bits))


def field_name(field):
    """nh[12:4], th[2:2], meta mark, bswap32(meta mark): for messages."""
    if field.get("src") == "payload":
        s = "%s[%d:%d]" % (field.get("base"), field.get("offset"),
                           field.get("len"))
    else:
        s = "meta %s" % field.get("meta")
    if field.get("bswap"):
        s = "bswap%d(%s)" % (8 * field["bswap"], s)
    return s


def term_text(term):
    return "%s in %s" % (field_name(term["field"]), ", ".join(
        "%s-%s" % (_hex(lo), _hex(hi)) if lo != hi else _hex(lo)
        for lo, hi in intervals(term)) or "nothing")


def find_rules(doc, chain=None):
    """{(chain, handle): rule box} from nft-jit's --predicates JSON.

    Tolerant of the exact nesting: every object with "handle" and
    "terms" is a rule's box; its chain is the nearest enclosing object's
    "chain" (or "name").
    """
    out = {}

    def walk(node, chain):
        if isinstance(node, dict):
            c = node.get("chain") if isinstance(node.get("chain"), str) \
                else chain
            if "handle" in node and "terms" in node:
                out[(c, node["handle"])] = node
                return
            if c is chain and isinstance(node.get("name"), str) and \
                    "rules" in node:
                c = node["name"]
            for v in node.values():
                walk(v, c)
        elif isinstance(node, list):
            for v in node:
                walk(v, chain)
    walk(doc, chain)
    return out


def self_check(rng, rounds=300):
    """Brute-force checks of inside()/outside() on 1- and 2-byte fields
    of every byte order, evaluated in Python the way nft evaluates the
    text: [failure descriptions]."""
    fails = []
    fields = [{"src": "payload", "base": "nh", "offset": 8, "len": 1,
               "width": 1, "bswap": 0},
              {"src": "payload", "base": "th", "offset": 2, "len": 2,
               "width": 2, "bswap": 0},
              {"src": "meta", "meta": "mark", "width": 2, "bswap": 0},
              {"src": "meta", "meta": "mark", "width": 2, "bswap": 2},
              {"src": "payload", "base": "th", "offset": 0, "len": 2,
               "width": 2, "bswap": 2}]

    def holds(match, n, text):
        """Does nft number n pass match (text: the expression)?"""
        rest = match[len(text) + 1:]
        mask = None
        if rest.startswith("& "):
            m, rest = rest[2:].split(" ", 1)
            mask = int(m, 16)
        neg = rest.startswith("!= ")
        if neg:
            rest = rest[3:]
        elif rest.startswith("== "):
            rest = rest[3:]
        x = n & mask if mask is not None else n
        ok = False
        for item in rest.strip("{} ").split(", "):
            lo, _, hi = item.partition("-")
            if int(lo, 16) <= x <= int(hi or lo, 16):
                ok = True
        return ok != neg

    for _ in range(rounds):
        f = rng.choice(fields)
        bits = width(f) * 8
        ivs = []
        for _ in range(rng.randint(0, 3)):
            a, b = sorted(rng.randrange(1 << bits) for _ in range(2))
            ivs.append((a, b))
        ivs = merge(ivs)
        ins, outs = inside(f, ivs), outside(f, ivs)
        values = set(rng.randrange(1 << bits) for _ in range(64))
        for lo, hi in ivs:
            values |= {lo, hi, max(0, lo - 1), min((1 << bits) - 1, hi + 1)}
        values |= {0, (1 << bits) - 1}
        for v in sorted(values):
            n = to_number(f, v)
            want = any(lo <= v <= hi for lo, hi in ivs)
            text = expr(f)[0]
            got_in = any(all(holds(m, n, text) for m in alt)
                         for alt in ins)
            got_out = any(all(holds(m, n, text) for m in alt)
                          for alt in outs)
            if got_in != want or got_out == want:
                fails.append("%s %s: value 0x%x (nft number 0x%x): in %s, "
                             "inside() %s, outside() %s" % (
                                 field_name(f), ivs, v, n, want, ins, outs))
                break
    return fails
