#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Send probe packets and print the output hook's verdict for each.

Each line of the probe file is one probe:

    udp DST DPORT SPORT [COUNT]     UDP datagram (DST IPv4 or IPv6)
    tcp DST DPORT SPORT [COUNT]     TCP SYN (a non-blocking connect)
    icmp DST [COUNT]                ICMP/ICMPv6 echo request (raw socket)

A packet dropped on the output path makes sendto()/connect() fail with
EPERM: the verdict is "drop", otherwise "pass".  Prints one line per
probe: the probe, then the verdict of each packet.  Exit 1 on any other
error.
"""
import errno
import socket
import sys


def family(dst):
    return socket.AF_INET6 if ":" in dst else socket.AF_INET


def verdict(fn):
    try:
        fn()
    except OSError as e:
        if e.errno == errno.EPERM:
            return "drop"
        if e.errno in (errno.EINPROGRESS, errno.ECONNREFUSED):
            return "pass"
        raise
    return "pass"


def udp(dst, dport, sport):
    s = socket.socket(family(dst), socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("", sport))
        return verdict(lambda: s.sendto(b"nft-jit probe", (dst, dport)))
    finally:
        s.close()


def tcp(dst, dport, sport):
    s = socket.socket(family(dst), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
    try:
        s.bind(("", sport))
        s.setblocking(False)
        return verdict(lambda: s.connect((dst, dport)))
    finally:
        s.close()


def icmp(dst):
    if family(dst) == socket.AF_INET6:
        s = socket.socket(socket.AF_INET6, socket.SOCK_RAW,
                          socket.IPPROTO_ICMPV6)
        msg = bytes([128, 0, 0, 0, 0, 1, 0, 1]) + b"nft-jit"
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW,
                          socket.IPPROTO_ICMP)
        body = bytes([8, 0, 0, 0, 0, 1, 0, 1]) + b"nft-jit"
        csum = sum(int.from_bytes(body[i:i + 2], "big")
                   for i in range(0, len(body) - 1, 2))
        csum += body[-1] << 8 if len(body) % 2 else 0
        while csum >> 16:
            csum = (csum & 0xffff) + (csum >> 16)
        csum = ~csum & 0xffff
        msg = body[:2] + csum.to_bytes(2, "big") + body[4:]
    try:
        return verdict(lambda: s.sendto(msg, (dst, 0)))
    finally:
        s.close()


def main():
    if len(sys.argv) != 2:
        print("usage: probe.py FILE", file=sys.stderr)
        return 2
    with open(sys.argv[1]) as f:
        lines = [l.split() for l in f if l.strip() and not l.startswith("#")]
    for w in lines:
        kind = w[0]
        if kind == "icmp":
            count = int(w[2]) if len(w) > 2 else 1
            out = [icmp(w[1]) for _ in range(count)]
        else:
            count = int(w[4]) if len(w) > 4 else 1
            fn = udp if kind == "udp" else tcp
            out = [fn(w[1], int(w[2]), int(w[3])) for _ in range(count)]
        print(" ".join(w[:4]), *out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
