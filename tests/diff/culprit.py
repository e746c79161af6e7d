"""Find the packet behind a counter mismatch.

The kernel only tells totals, nft-jit tells per packet which counters
it bumped ("counted").  Counters add up, so the smallest prefix of the
packet list on which the two disagree ends with a culprit packet.  Each
probe replays a prefix into a fresh namespace: O(log n) probes.
"""

import kernel
import netns


def jit_prefix_count(results, pkts, key, n):
    """(packets, bytes) nft-jit counted for key over pkts[:n]."""
    p = b = 0
    for res, pkt in zip(results[:n], pkts[:n]):
        for c in res.get("counted") or []:
            if (c.get("chain"), c.get("handle")) == key:
                p += 1
                b += len(pkt.data)
    return p, b


def kernel_counters(path, family, pkts, contexts, families):
    """All counters after sending pkts into a fresh copy of the ruleset."""
    with netns.TestNet() as tn:
        kernel.load(tn, path)
        sender = kernel.Sender(tn, contexts, families)
        try:
            for pkt in pkts:
                sender.send(pkt.family, pkt.ctx, pkt.data)
        finally:
            sender.close()
        return kernel.counters(tn, family)


def kernel_prefix_count(path, family, pkts, contexts, families, key, n):
    return kernel_counters(path, family, pkts[:n], contexts,
                           families).get(key, (0, 0))


def culprit(path, family, pkts, contexts, families, results, key,
            max_probes=20):
    """Index of a packet counted differently for key, or a message."""
    full = jit_prefix_count(results, pkts, key, len(pkts))
    lo, hi = 0, len(pkts)          # prefix lo agrees, prefix hi differs
    if kernel_prefix_count(path, family, pkts, contexts, families, key,
                           hi) == full:
        return "no difference when replayed (kernel not deterministic?)"
    probes = 1
    while hi - lo > 1 and probes < max_probes:
        mid = (lo + hi) // 2
        probes += 1
        if kernel_prefix_count(path, family, pkts, contexts, families, key,
                               mid) == jit_prefix_count(results, pkts, key,
                                                        mid):
            lo = mid
        else:
            hi = mid
    if hi - lo > 1:
        return "gave up after %d probes" % probes
    return hi - 1
