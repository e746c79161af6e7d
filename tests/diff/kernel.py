"""The oracle: the kernel's nf_tables interpreter in a test namespace.

Packets are sent with raw IP_HDRINCL sockets created inside the test
namespace; the output hook runs synchronously inside sendto(), so
sendto() failing with EPERM means the hook dropped the packet and
success means it accepted it.
"""

import ctypes
import errno
import json
import socket
import time

import netns

SO_MARK = 36
IP_MULTICAST_LOOP = 34
IP_NODEFRAG = 22
IPV6_MULTICAST_LOOP = 19

_libc = ctypes.CDLL(None, use_errno=True)


class HarnessError(Exception):
    """Something other than a verdict went wrong: the test is broken."""


def _raw_socket(family, mark, uid, gid):
    """A raw IP_HDRINCL socket whose file has fsuid uid and fsgid gid."""
    _libc.setfsgid(gid)
    _libc.setfsuid(uid)
    try:
        if family == 4:
            s = socket.socket(socket.AF_INET, socket.SOCK_RAW,
                              socket.IPPROTO_RAW)
            # No loopback of multicast; no conntrack defragmentation
            # stealing our fragments before the chain sees them.
            s.setsockopt(socket.IPPROTO_IP, IP_MULTICAST_LOOP, 0)
            s.setsockopt(socket.IPPROTO_IP, IP_NODEFRAG, 1)
        else:
            s = socket.socket(socket.AF_INET6, socket.SOCK_RAW,
                              socket.IPPROTO_RAW)
            s.setsockopt(socket.IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0)
    finally:
        _libc.setfsuid(0)
        _libc.setfsgid(0)
    if mark:
        s.setsockopt(socket.SOL_SOCKET, SO_MARK, mark)
    return s


class Sender:
    """Raw sockets in a test namespace, one per (family, context)."""

    def __init__(self, tn, contexts, families):
        self.socks = {}
        with netns.InNetns(tn.name):
            for ci, (mark, uid, gid) in enumerate(contexts):
                for fam in families:
                    self.socks[(fam, ci)] = _raw_socket(fam, mark, uid, gid)

    def send(self, family, ctx, data):
        """Send one packet; return "accept" or "drop"."""
        sock = self.socks[(family, ctx)]
        dst = netns.SEND_DST4 if family == 4 else netns.SEND_DST6
        try:
            sock.sendto(data, (dst, 0))
        except OSError as e:
            if e.errno == errno.EPERM:
                return "drop"
            raise HarnessError("sendto: %s" % e) from None
        return "accept"

    def close(self):
        for s in self.socks.values():
            s.close()


def load(tn, path):
    """Load a ruleset file into the test namespace with nft -f."""
    try:
        tn.nft(["-f", path])
    except RuntimeError as e:
        raise HarnessError("nft -f failed: %s" % e) from None


def table_json(tn, family, numeric=False):
    args = ["-j"] + (["-n"] if numeric else []) + \
        ["list", "table", family, "t"]
    return json.loads(tn.nft(args))


def counters(tn, family, table="t"):
    """{(chain, handle): (packets, bytes)} of the rules with a counter."""
    out = {}
    for obj in json.loads(tn.nft(["-j", "list", "table", family,
                                  table]))["nftables"]:
        rule = obj.get("rule")
        if not rule:
            continue
        for expr in rule["expr"]:
            c = expr.get("counter")
            if isinstance(c, dict) and "packets" in c:
                key = (rule["chain"], rule["handle"])
                p, b = out.get(key, (0, 0))
                out[key] = (p + c["packets"], b + c["bytes"])
    return out


ISOLATION_RULESET = "".join(
    "table %s %s {\n  chain c {\n    type filter hook output priority 0;\n"
    "    counter\n  }\n}\n" % ft
    for ft in (("ip", "t4"), ("ip6", "t6"), ("inet", "t46")))


def isolation_check(packets_by_family):
    """Prove that only our packets pass the output hook of a test ns.

    Loads counter-only chains, idles for a second (counters must stay
    0), then sends the given packets and checks the counters equal
    exactly what was sent.  Returns a description; raises HarnessError.
    """
    with netns.TestNet() as tn:
        tn.nft(["-f", "-"], input=ISOLATION_RULESET)
        time.sleep(1.0)
        idle = {t: counters(tn, f, t) for f, t in
                (("ip", "t4"), ("ip6", "t6"), ("inet", "t46"))}
        for t, cs in idle.items():
            for key, (p, _) in cs.items():
                if p:
                    raise HarnessError("isolation: table %s counted %d "
                                       "packets while idle" % (t, p))
        sender = Sender(tn, [(0, 0, 0)], [4, 6])
        sent = {4: [0, 0], 6: [0, 0]}
        try:
            for fam, pkts in packets_by_family.items():
                for data in pkts:
                    sender.send(fam, 0, data)
                    sent[fam][0] += 1
                    sent[fam][1] += len(data)
        finally:
            sender.close()
        time.sleep(0.5)
        got = {t: sum((p for p, _ in counters(tn, f, t).values()), 0)
               for f, t in (("ip", "t4"), ("ip6", "t6"), ("inet", "t46"))}
        gotb = {t: sum((b for _, b in counters(tn, f, t).values()), 0)
                for f, t in (("ip", "t4"), ("ip6", "t6"), ("inet", "t46"))}
        want = {"t4": sent[4][0], "t6": sent[6][0],
                "t46": sent[4][0] + sent[6][0]}
        wantb = {"t4": sent[4][1], "t6": sent[6][1],
                 "t46": sent[4][1] + sent[6][1]}
        if got != want or gotb != wantb:
            raise HarnessError("isolation: counted %s packets / %s bytes, "
                               "sent %s / %s" % (got, gotb, want, wantb))
        return ("isolation ok: 0 packets while idle, %d/%d sent and "
                "counted" % (want["t46"], got["t46"]))
