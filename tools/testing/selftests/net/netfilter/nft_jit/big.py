#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Ruleset of nft_jit_daemon_big.sh on stdout: table inet big, base chain
out with argv[1] rules (udp to 10.9.x.y port p: counter drop; none
matches the test's traffic except the last), and a set of argv[2] IPv4
addresses the chain looks up; table ip small, one rule."""
import sys

nrules, nelems = int(sys.argv[1]), int(sys.argv[2])
print("table inet big {")
print("\tset blocked {\n\t\ttype ipv4_addr\n\t\telements = {")
for i in range(nelems):
    # 10.64.0.0 upwards, and 10.0.1.2 (the peer) last
    a = 0x0a400000 + i if i < nelems - 1 else 0x0a000102
    print("\t\t\t%d.%d.%d.%d," % (a >> 24, a >> 16 & 255, a >> 8 & 255,
                                  a & 255))
print("\t\t}\n\t}")
print("\tchain out {\n\t\ttype filter hook output priority 0; policy accept;")
print("\t\tudp dport 9999 ip daddr @blocked counter drop")
for i in range(nrules - 2):
    print("\t\tip daddr 10.9.%d.%d udp dport %d counter drop"
          % (i >> 8 & 255, i & 255, 1000 + i % 50000))
print("\t\tudp dport 9998 counter drop")
print("\t}\n}")
print("table ip small {\n\tchain out {\n\t\ttype filter hook output priority 5; policy accept;")
print("\t\tudp dport 9997 counter drop\n\t}\n}")
