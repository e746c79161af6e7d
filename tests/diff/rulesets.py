"""Ruleset files: options line and templates.

A ruleset file tests/rulesets/NAME.nft defines table `t` (family ip, ip6
or inet) with base chain `c` at hook output.  Its first line may carry
driver options:

  # diff: marks=0,7 uids=0,1000 gids=0,100 families=4 scale=0.5 repeat=3000

  marks, uids, gids   socket contexts to send from (SO_MARK, fsuid,
                      fsgid); all combinations are used.  Default: derived
                      from the ruleset's meta mark/skuid/skgid constants.
  families            for inet tables: IP versions to generate (4, 6).
  scale               multiply the per-ruleset packet count.
  repeat              expand the template block (see below) this often.
  nofrag6             never generate IPv6 fragments (implied when the
                      ruleset uses conntrack: nf_defrag_ipv6 would steal
                      them before the chain runs).

Template block: lines between `#@repeat` and `#@end` are emitted `repeat`
times, with <i> (0-based index), <next> (i + 1), <port> (1000 + i),
<hi> (i >> 8 & 255) and <lo> (i & 255) substituted.  This keeps big
generated chains and sets out of the repository.
"""

import os
import re

OPTION_RE = re.compile(r"^#\s*diff:\s*(.*)$")


class Ruleset:
    def __init__(self, path):
        self.path = path
        self.name = os.path.basename(path)[:-len(".nft")]
        with open(path) as f:
            self.source = f.read()
        self.options = parse_options(self.source)
        m = re.search(r"^\s*table\s+(ip|ip6|inet)\s+t\s*\{", self.source,
                      re.M)
        if not m:
            raise ValueError("%s: no `table ip|ip6|inet t {`" % path)
        self.family = m.group(1)

    def text(self):
        """The ruleset as given to nft -f (templates expanded)."""
        return expand(self.source, int(self.options.get("repeat", "1")))

    def families(self):
        default = {"ip": [4], "ip6": [6], "inet": [4, 6]}[self.family]
        if "families" in self.options:
            return [int(x) for x in self.options["families"].split(",")]
        return default

    def int_list(self, key):
        if key not in self.options:
            return None
        return [int(x, 0) for x in self.options[key].split(",")]


def parse_options(source):
    opts = {}
    for line in source.splitlines()[:3]:
        m = OPTION_RE.match(line.strip())
        if not m:
            continue
        for tok in m.group(1).split():
            key, _, val = tok.partition("=")
            opts[key] = val if val else "1"
    return opts


def expand(source, count):
    out, block, inside = [], [], False
    for line in source.splitlines():
        if line.strip() == "#@repeat":
            inside, block = True, []
        elif line.strip() == "#@end":
            inside = False
            for i in range(count):
                subst = {"<i>": i, "<next>": i + 1, "<port>": 1000 + i,
                         "<hi>": (i >> 8) & 255, "<lo>": i & 255}
                for b in block:
                    for k, v in subst.items():
                        b = b.replace(k, str(v))
                    out.append(b)
        elif inside:
            block.append(line)
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def discover(directory, only=None):
    names = sorted(n for n in os.listdir(directory) if n.endswith(".nft"))
    if only:
        names = [n for n in names if only in n]
    return [Ruleset(os.path.join(directory, n)) for n in names]


def contexts(ruleset, model, limit=8):
    """Socket contexts [(mark, uid, gid)] for a ruleset.

    Explicit options win; otherwise the candidate values are 0 plus the
    ruleset's own meta mark/skuid/skgid constants (and their neighbours),
    a few of each.
    """
    cand = []
    for opt, meta in (("marks", "mark"), ("uids", "skuid"),
                      ("gids", "skgid")):
        vals = ruleset.int_list(opt)
        if vals is None:
            vals = [0]
            for comp in model.comps(meta):
                for v in (comp.lo, comp.hi, comp.hi + 1):
                    if v not in vals and len(vals) < 4 and v < 1 << 31:
                        vals.append(v)
        cand.append(vals)
    out = [(m, u, g) for m in cand[0] for u in cand[1] for g in cand[2]]
    if len(out) > limit:
        # Keep every value at least once, combined with defaults.
        keep = [(0, 0, 0)] + [(m, 0, 0) for m in cand[0][1:]] + \
            [(0, u, u if u in cand[2] else 0) for u in cand[1][1:]] + \
            [(0, 0, g) for g in cand[2][1:]]
        out = list(dict.fromkeys(keep))
    return out
