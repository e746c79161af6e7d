#!/usr/bin/env python3
"""Replay single packets against a ruleset: kernel and nft-jit side by side.

  tests/diff/replay.py RULESET.nft HEX [HEX...] [--mark N] [--skuid N]
                       [--skgid N] [--nft-jit PATH]

Loads the ruleset (templates expanded) into a fresh test namespace,
sends each packet (canonicalised first) and prints the kernel verdict
and the counters that moved, then runs nft-jit eval on the same packets
and prints its answer.
"""

import argparse
import json
import os
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import jit  # noqa: E402
import kernel  # noqa: E402
import netns  # noqa: E402
import packets  # noqa: E402
import pcap  # noqa: E402
import rulesets  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("ruleset")
    ap.add_argument("hex", nargs="+")
    ap.add_argument("--mark", type=int, default=0)
    ap.add_argument("--skuid", type=int, default=0)
    ap.add_argument("--skgid", type=int, default=0)
    ap.add_argument("--nft-jit", default=jit.DEFAULT_PATH)
    args = ap.parse_args()
    rs = rulesets.Ruleset(args.ruleset)
    ctx = (args.mark, args.skuid, args.skgid)
    pkts = [packets.canonicalise(bytes.fromhex(h)) for h in args.hex]
    with tempfile.TemporaryDirectory() as d, netns.TestNet() as tn:
        path = os.path.join(d, "r.nft")
        with open(path, "w") as f:
            f.write(rs.text())
        kernel.load(tn, path)
        sender = kernel.Sender(tn, [ctx], sorted({p[0] >> 4 for p in pkts}))
        before = kernel.counters(tn, rs.family)
        for i, p in enumerate(pkts):
            v = sender.send(p[0] >> 4, 0, p)
            after = kernel.counters(tn, rs.family)
            moved = ["%s/%d%s" % (k + ("" if after[k][0] - before[k][0] == 1
                                       else " x%d" % (after[k][0] -
                                                      before[k][0]),))
                     for k in sorted(after) if after[k] != before[k]]
            before = after
            print("packet %d kernel: %s, counted %s" % (
                i, v, " ".join(moved) or "-"))
        sender.close()
        why = jit.probe(args.nft_jit)
        if why:
            print("nft-jit: %s" % why)
            return 0
        pc = os.path.join(d, "p.pcap")
        pcap.write(pc, pkts)
        try:
            ev = jit.evaluate(args.nft_jit, tn.name, pc, ctx, len(pkts))
        except jit.EvalError as e:
            print("nft-jit: %s" % e)
            return 1
        for p in ev["packets"]:
            print("packet %d nft-jit: %s" % (p["index"], json.dumps(p)))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        netns.cleanup_all()
