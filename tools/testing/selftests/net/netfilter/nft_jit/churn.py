#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Traffic for nft_jit_daemon_churn.sh: UDP datagrams to 10.0.1.2 ports
5000 (always accepted) and 5001 (always dropped) until the file named by
argv[1] exists or argv[2] seconds pass; creates the file argv[3] once 256
datagrams went out (the traffic is flowing).  A dropped datagram makes sendto()
fail with EPERM.  Prints "sent5000 sent5001 wrong" where wrong counts
datagrams whose verdict was not the expected one."""
import errno
import os
import socket
import sys
import time

stop, limit, ready = sys.argv[1], float(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.0.1.1", 4500))
sent = {5000: 0, 5001: 0}
wrong = 0
end = time.monotonic() + limit
i = 0
while time.monotonic() < end and not (i % 64 == 0 and os.path.exists(stop)):
    port = 5000 + (i & 1)
    i += 1
    if i == 256:
        open(ready, "w").close()
    try:
        s.sendto(b"churn", ("10.0.1.2", port))
        dropped = False
    except OSError as e:
        if e.errno != errno.EPERM:
            raise
        dropped = True
    sent[port] += 1
    if dropped != (port == 5001):
        wrong += 1
print(sent[5000], sent[5001], wrong)
