"""Optimizer configurations: which of nft-jit's passes run.

The optimizer's passes are on by default; the harness switches them off
per configuration and checks that every configuration gives the kernel's
verdicts and counters and, per packet, the same verdict, deciding rule,
resume point and counted rules as every other configuration (run.py
--opt).

This file is the only place that knows the pass names and how nft-jit is
told to switch passes off: `--no-opt=PASS[,PASS]` (or `all`) right after
the subcommand (compile, eval, attach).

Configuration names (run.py --opt takes a comma list of them):

  on        every pass (nft-jit's default)
  off       no pass (--no-opt=all)
  no-PASS   every pass but PASS
  only-PASS PASS alone
  matrix    on, no-PASS for every pass, off
"""

import re
from collections import namedtuple

# nft-jit's optimizer passes, in pipeline order (umh/opt.c pass_names).
PASSES = ("dead", "shadow", "fuse", "tree", "lookup")

Config = namedtuple("Config", "name off")   # off: tuple of pass names


def parse(spec):
    """[Config] of a comma list of configuration names; ValueError."""
    out = []
    for word in spec.split(","):
        word = word.strip()
        if word == "matrix":
            out += parse("on," + ",".join("no-" + p for p in PASSES) +
                         ",off")
        elif word == "on":
            out.append(Config("on", ()))
        elif word == "off":
            out.append(Config("off", ("all",)))
        elif word.startswith("no-") and word[3:] in PASSES:
            out.append(Config(word, (word[3:],)))
        elif word.startswith("only-") and word[5:] in PASSES:
            out.append(Config(word, tuple(p for p in PASSES
                                          if p != word[5:])))
        else:
            raise ValueError("unknown optimizer configuration %r (on, off, "
                             "matrix, no-PASS, only-PASS; passes: %s)" % (
                                 word, ", ".join(PASSES)))
    seen, uniq = set(), []
    for c in out:
        if c.name not in seen:
            seen.add(c.name)
            uniq.append(c)
    return uniq


def flags(cfg):
    """Options to put right after nft-jit's subcommand (compile, eval,
    attach) for configuration cfg (None: leave nft-jit alone)."""
    if cfg is None or not cfg.off:
        return []
    return ["--no-opt=" + ",".join(cfg.off)]


def known_passes(nft_jit, ns, table="t", chain="c", family=None):
    """The passes nft-jit names when told an unknown one, or None.

    nft-jit answers `unknown pass 'x' (passes: dead, shadow, fuse, tree, lookup, all)`;
    the harness's PASSES should name every pass but `all`.
    """
    import subprocess
    bogus = Config("bogus", ("no-such-pass",))
    cmd = [nft_jit, "-n", ns, "compile"] + flags(bogus) + [
        "--no-load", "-t", table, "-c", chain]
    if family:
        cmd += ["--family", family]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True,
                              timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r"\(passes: ([a-z0-9_, -]+)\)", proc.stdout + proc.stderr)
    if not m:
        return None
    return tuple(p.strip() for p in m.group(1).split(",")
                 if p.strip() and p.strip() != "all")
