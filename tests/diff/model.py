"""What the packet generator aims at: a ruleset's match conditions.

The table is read back from the kernel with `nft -j -n list table`
(numeric values), and every rule is reduced to conditions the generator
can try to satisfy or narrowly miss:

  Rule       chain, handle, conditions, jumps into other chains
  Cond       one match: a list of alternatives (set elements, or one)
  Alt        a tuple of components (one per concatenation member)
  Comp       key, mask, interval [lo, hi] of the key's value

A key names what a value is read from:

  ("payload", proto, field)   header field, packets.FIELDS[proto][field]
  ("raw", base, offset, len)  raw payload expression (@nh,.. / @th,..)
  ("meta", key)               meta expression (mark, l4proto, ...)
  ("exthdr", name)            an IPv6 extension header is present

Keys the generator cannot influence (ct state, oif, ...) are dropped.
"""

import ipaddress
import json
from collections import namedtuple

import packets

Comp = namedtuple("Comp", "key mask lo hi")
Alt = tuple              # of Comp
Cond = namedtuple("Cond", "op alts")

META_WIDTH = {"mark": 32, "skuid": 32, "skgid": 32, "length": 32,
              "l4proto": 8, "nfproto": 8, "protocol": 16, "pkttype": 8}
# IPv6 extension header names of `exthdr` expressions -> next header value.
EXTHDR = {"hbh": 0, "rt": 43, "rt0": 43, "rt2": 43, "srh": 43, "frag": 44,
          "dst": 60}


class Rule:
    def __init__(self, chain, handle):
        self.chain = chain
        self.handle = handle
        self.conds = []
        self.jumps = []        # (target chain, Cond or None)
        self.counter = False


def key_width(key):
    if key[0] == "payload":
        return packets.FIELDS[key[1]][key[2]][1]
    if key[0] == "raw":
        return key[3]
    if key[0] == "meta":
        return META_WIDTH[key[1]]
    return 1                  # exthdr: present or not


def _left_keys(left):
    """[(key, mask)] for a match's left side, or None if not aimable."""
    if isinstance(left, dict) and "concat" in left:
        out = []
        for member in left["concat"]:
            sub = _left_keys(member)
            if sub is None or len(sub) != 1:
                return None
            out += sub
        return out
    if isinstance(left, dict) and "&" in left:
        inner, mask = left["&"]
        sub = _left_keys(inner)
        if sub is None or len(sub) != 1:
            return None
        m = _value(mask, key_width(sub[0][0]))
        return None if m is None else [(sub[0][0], m[0])]
    if not isinstance(left, dict):
        return None
    if "payload" in left:
        p = left["payload"]
        if "protocol" in p:
            proto, field = p["protocol"], p["field"]
            if field in packets.FIELDS.get(proto, {}):
                return [(("payload", proto, field), None)]
            return None
        if p.get("base") in ("nh", "th") and p["len"] <= 128:
            return [(("raw", p["base"], p["offset"], p["len"]), None)]
        return None
    if "meta" in left and left["meta"]["key"] in META_WIDTH:
        return [(("meta", left["meta"]["key"]), None)]
    if "exthdr" in left and left["exthdr"].get("name") in EXTHDR:
        return [(("exthdr", left["exthdr"]["name"]), None)]
    return None


def _value(v, width):
    """(lo, hi) of a right-hand value in a field of width bits, or None."""
    full = (1 << width) - 1
    if isinstance(v, bool):
        return (int(v), int(v))
    if isinstance(v, int):
        return (v & full, v & full)
    if isinstance(v, list):                       # flags: OR of values
        acc = 0
        for x in v:
            r = _value(x, width)
            if r is None:
                return None
            acc |= r[0]
        return (acc, acc)
    if isinstance(v, str):
        try:
            return (int(v, 0) & full,) * 2
        except ValueError:
            pass
        try:
            return (int(ipaddress.ip_address(v)) & full,) * 2
        except ValueError:
            return None
    if isinstance(v, dict):
        if "prefix" in v:
            base = _value(v["prefix"]["addr"], width)
            if base is None:
                return None
            host = (1 << (width - v["prefix"]["len"])) - 1
            return (base[0] & ~host & full, (base[0] | host) & full)
        if "range" in v:
            a, b = (_value(x, width) for x in v["range"])
            if a is None or b is None or a[0] > b[1]:
                # nft 1.0.6 lists `meta length < 100 meta mark > 0x10`
                # as `meta mark != 0x64-0x10`: not something to aim at
                return None
            return (a[0], b[1])
        if "elem" in v:
            return _value(v["elem"]["val"], width)
        if "|" in v:
            return _value(v["|"], width)
    return None


def _element(e, keys):
    """One Alt for a set element e matched against keys, or None."""
    if isinstance(e, dict) and "elem" in e:
        e = e["elem"]["val"]
    if isinstance(e, dict) and "concat" in e:
        vals = e["concat"]
    else:
        vals = [e]
    if len(vals) != len(keys):
        return None
    comps = []
    for (key, mask), v in zip(keys, vals):
        r = _value(v, key_width(key))
        if r is None:
            return None
        comps.append(Comp(key, mask, r[0], r[1]))
    return tuple(comps)


class Model:
    """The aimable content of one table, built from `nft -j -n` JSON."""

    def __init__(self, nft_json):
        objs = [next(iter(o.items())) for o in nft_json["nftables"]]
        # conntrack hooks come with ct expressions; with them
        # nf_defrag_ipv6 steals IPv6 fragments before any chain runs.
        self.uses_conntrack = '{"ct": ' in json.dumps(nft_json)
        self.family = None
        self.sets = {}           # name -> list of elements (keys of maps)
        self.chains = {}         # name -> chain JSON object
        self.rules = []
        for kind, o in objs:
            if kind == "table":
                self.family = o["family"]
            elif kind in ("set", "map"):
                elems = o.get("elem", [])
                self.sets[o["name"]] = [
                    e[0] if isinstance(e, list) else e for e in elems]
                if o.get("map") == "verdict":
                    self.sets[o["name"] + "#data"] = elems
            elif kind == "chain":
                self.chains[o["name"]] = o
        for kind, o in objs:
            if kind == "rule":
                self.rules.append(self._rule(o))
        self.by_chain = {}
        for r in self.rules:
            self.by_chain.setdefault(r.chain, []).append(r)
        # Rules that jump (or goto) into each chain, with the condition
        # that selects the jump (vmap element) if any.
        self.jumpers = {}
        for r in self.rules:
            for target, cond in r.jumps:
                self.jumpers.setdefault(target, []).append((r, cond))

    def _elements(self, right):
        if isinstance(right, str) and right.startswith("@"):
            return self.sets.get(right[1:], [])
        if isinstance(right, dict) and "set" in right:
            return [e[0] if isinstance(e, list) else e
                    for e in right["set"]]
        return [right]

    def _cond(self, op, left, right):
        keys = _left_keys(left)
        if keys is None:
            return None
        if op == "in" and len(keys) == 1 and keys[0][1] is None and \
                isinstance(right, (int, list)):
            # `tcp flags syn`: a bit test, value & right != 0.
            r = _value(right, key_width(keys[0][0]))
            if r is not None:
                return Cond(op, [(Comp(keys[0][0], r[0], r[0], r[0]),)])
        alts = [a for a in (_element(e, keys)
                            for e in self._elements(right)) if a]
        return Cond(op, alts) if alts else None

    def _rule(self, o):
        rule = Rule(o["chain"], o["handle"])
        for expr in o["expr"]:
            kind, body = next(iter(expr.items()))
            if kind == "match":
                c = self._cond(body["op"], body["left"], body["right"])
                if c:
                    rule.conds.append(c)
            elif kind == "vmap":
                data = body["data"]
                if isinstance(data, str):
                    elems = self.sets.get(data[1:] + "#data", [])
                else:
                    elems = data["set"]
                c = self._cond("==", body["key"],
                               {"set": [e[0] for e in elems]})
                if c:
                    rule.conds.append(c)
                keys = _left_keys(body["key"])
                for key_elem, verdict in elems:
                    for vk in ("jump", "goto"):
                        if verdict and vk in verdict:
                            alt = keys and _element(key_elem, keys)
                            rule.jumps.append(
                                (verdict[vk]["target"],
                                 Cond("==", [alt]) if alt else None))
            elif kind in ("jump", "goto"):
                rule.jumps.append((body["target"], None))
            elif kind == "counter":
                rule.counter = True
            elif kind == "mangle" and isinstance(body.get("value"), dict) \
                    and "map" in body["value"]:
                m = body["value"]["map"]
                data = m["data"]
                elems = (self.sets.get(data[1:], [])
                         if isinstance(data, str) else
                         [e[0] for e in data["set"]])
                c = self._cond("==", m["key"], {"set": elems})
                if c:
                    rule.conds.append(c)
        return rule

    def base_chain(self):
        for name, c in self.chains.items():
            if "hook" in c:
                return name
        return None

    def comps(self, keyname):
        """All components whose key is ("meta", keyname)."""
        out = []
        for r in self.rules:
            for c in r.conds:
                for alt in c.alts:
                    out += [x for x in alt if x.key == ("meta", keyname)]
        return out
