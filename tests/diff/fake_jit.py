#!/usr/bin/env python3
"""A stand-in for `nft-jit eval`, backed by the kernel, for the self-test.

It accepts the eval command line, copies table t of the namespace it runs
in (stateless) into a fresh test namespace, sends the pcap's packets
there and reports the kernel's verdicts and counters in nft-jit's JSON
format.  A correct harness therefore finds no mismatch against it, and
the self-test makes it lie (FAKE_JIT_LIE) to prove mismatches are found:

  FAKE_JIT_LIE=verdict   flip the verdict of packet 0 of every run
  FAKE_JIT_LIE=counter   add one packet to the first counter
  FAKE_JIT_LIE=resume    report every packet as resumed (verdicts and
                         counters then cannot be compared: must pass)
  FAKE_JIT_LIE=resume-some          resume a tenth of the packets (the
                         counters of a second run of the others are
                         compared: must pass)
  FAKE_JIT_LIE=resume-some-counter  and a counter off by one: must fail
  FAKE_JIT_LIE=missing   report one packet too few (harness error)
  FAKE_JIT_LIE=opt-rule  with an optimizer pass off (--no-opt), name
                         another deciding rule for packet 0 (run.py --opt
                         on,off must see the difference)
  FAKE_JIT_LIE=opt-verdict  with a pass off, flip packet 0's verdict
  FAKE_JIT_LIE=kernel-compile  `compile --target kernel` reports an
                         internal error (the host-side check must fail)

`compile` (the kernel target's compile on the host) answers that every
chain compiles, or the internal error of FAKE_JIT_LIE=kernel-compile.
"""

import argparse
import json
import os
import sys
import zlib

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import kernel  # noqa: E402
import netns  # noqa: E402
import pcap  # noqa: E402


def fake_compile():
    """`-n NS compile ... -c CHAIN -j`: a report without looking."""
    chain = sys.argv[sys.argv.index("-c") + 1] if "-c" in sys.argv else "c"
    rep = {"chain": chain, "status": "jit"}
    if os.environ.get("FAKE_JIT_LIE") == "kernel-compile":
        rep = {"chain": chain, "status": "interpreter",
               "reason": "internal error: fake_jit says so"}
    print(json.dumps({"compile": [rep]}))
    return 0 if rep["status"] == "jit" else 1


def main():
    if "compile" in sys.argv[1:4]:
        return fake_compile()
    if len(sys.argv) > 1 and sys.argv[1] == "eval" and "--help" in sys.argv:
        print("usage: fake_jit.py eval -t TABLE -c CHAIN -r FILE -j")
        return 0
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd")
    ap.add_argument("-t", dest="table")
    ap.add_argument("-c", dest="chain")
    ap.add_argument("-r", dest="pcap")
    ap.add_argument("-j", action="store_true")
    ap.add_argument("--oif")
    ap.add_argument("--mark", type=int, default=0)
    ap.add_argument("--skuid", type=int, default=0)
    ap.add_argument("--skgid", type=int, default=0)
    ap.add_argument("--no-opt", default=None)
    args = ap.parse_args()
    lie = os.environ.get("FAKE_JIT_LIE", "")
    opt_off = bool(args.no_opt)

    tables = json.loads(netns.run(["nft", "-j", "list", "tables"]))
    family = [o["table"]["family"] for o in tables["nftables"]
              if "table" in o and o["table"]["name"] == args.table][0]
    text = netns.run(["nft", "-s", "list", "table", family, args.table])
    pkts = pcap.read(args.pcap)
    ctx = (args.mark, args.skuid, args.skgid)
    try:
        with netns.TestNet() as tn:
            tn.nft(["-f", "-"], input=text)
            fams = sorted({p[0] >> 4 for p in pkts})
            sender = kernel.Sender(tn, [ctx], fams)
            verdicts = [sender.send(p[0] >> 4, 0, p) for p in pkts]
            sender.close()
            counters = kernel.counters(tn, family, args.table)
    finally:
        netns.cleanup_all()

    # No "counted" lists: which rules counted a packet is not known here.
    out = [{"index": i, "verdict": v, "rule": None, "resume": None}
           for i, v in enumerate(verdicts)]
    cnt = [{"chain": k[0], "handle": k[1], "packets": p, "bytes": b}
           for k, (p, b) in sorted(counters.items())]
    if lie == "verdict" and out:
        out[0]["verdict"] = "drop" if verdicts[0] == "accept" else "accept"
    elif lie == "counter" and cnt:
        cnt[0]["packets"] += 1
    elif lie == "resume":
        for o in out:
            o["verdict"] = "resume"
            o["resume"] = {"chain": args.chain, "handle": 0}
    elif lie.startswith("resume-some"):
        # Resume a tenth of the packets, chosen by content so that a
        # second run of the others resumes none.
        for o, p in zip(out, pkts):
            if zlib.crc32(p) % 10 == 0:
                o["verdict"] = "resume"
                o["resume"] = {"chain": args.chain, "handle": 0}
        if lie == "resume-some-counter" and cnt:
            cnt[0]["packets"] += 1
    elif lie == "missing":
        out = out[:-1]
    elif lie == "opt-rule" and opt_off and out:
        out[0]["rule"] = {"chain": args.chain, "handle": 0}
    elif lie == "opt-verdict" and opt_off and out:
        out[0]["verdict"] = "drop" if verdicts[0] == "accept" else "accept"
    print(json.dumps({"eval": {"family": family, "table": args.table,
                               "chain": args.chain, "hook": "output",
                               "generation": 0, "packets": out,
                               "counters": cnt, "fallback": []}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
