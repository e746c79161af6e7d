#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Commits for nft_jit_daemon_churn.sh: argv[1] commits through libnftables
(python3-nftables), one transaction each, cycling through changes of
table inet churn (churn.nft): a rule added to the base chain, the jumped-to
chain flushed, a set element added, a rule added to the jumped-to chain,
the element deleted, the base chain's added rule deleted (by the handle
its echo reported).  Prints the number of commits that went through."""
import json
import sys

import nftables

n = int(sys.argv[1])
nft = nftables.Nftables()
nft.set_echo_output(True)
nft.set_handle_output(True)
nft.set_json_output(True)
done = 0
handle = None
for i in range(n):
    k = i % 6
    port = 7000 + (i // 6) % 100
    if k == 0:
        cmd = "add rule inet churn out udp dport %d counter drop" % port
    elif k == 1:
        cmd = "flush chain inet churn sub"
    elif k == 2:
        cmd = "add element inet churn s { %d }" % port
    elif k == 3:
        cmd = "add rule inet churn sub udp dport %d drop" % port
    elif k == 4:
        cmd = "delete element inet churn s { %d }" % port
    else:
        cmd = "delete rule inet churn out handle %d" % handle
    rc, out, err = nft.cmd(cmd)
    if rc:
        sys.stderr.write("%s: %s" % (cmd, err))
        continue
    done += 1
    if k == 0:
        for o in json.loads(out)["nftables"]:
            rule = o.get("add", {}).get("rule")
            if rule:
                handle = rule["handle"]
print(done)
