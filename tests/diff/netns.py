"""Network namespaces for the differential tests.

Every ruleset runs in a fresh pair of namespaces:

  test ns  (nftj-<pid>-<n>)   veth0, the table under test, the raw sockets
  peer ns  (nftj-<pid>-<n>p)  veth1, swallows everything at netdev ingress

The test namespace is built so that nothing but the packets we send
passes its output hook:

  * veth0 is NOARP: no ARP, no neighbour discovery, no solicited-node
    multicast groups (hence no MLD reports), no DAD;
  * IPv6 address generation is off (no link-local address, hence no
    router solicitations), DAD/RS/RA sysctls are off as well;
  * packets leave through gateway routes (198.51.100.0/24 via 10.99.0.2,
    2001:db8:ff::/64 via fd00:99::2) with static permanent neighbour
    entries, so the next hop never depends on the daddr written in the
    packet's own header;
  * the peer namespace has no addresses, IPv6 disabled and a netdev
    ingress chain that drops everything, so it never answers.

isolation_check() in kernel.py verifies the claim at run time.

All namespaces created here are registered and removed by cleanup_all(),
which the runner calls from atexit and its signal handlers.
"""

import ctypes
import os
import subprocess

CLONE_NEWNET = 0x40000000

# Addresses used inside the namespaces only.
VETH = "veth0"
PEER_VETH = "veth1"
ADDR4 = "10.99.0.1/24"
GW4 = "10.99.0.2"
ADDR6 = "fd00:99::1/64"
GW6 = "fd00:99::2"
# sendto() destinations: routed via the gateways above.  The IP header we
# send carries its own addresses; these only select the route.
SEND_NET4 = "198.51.100.0/24"
SEND_DST4 = "198.51.100.1"
SEND_NET6 = "2001:db8:ff::/64"
SEND_DST6 = "2001:db8:ff::1"

_libc = ctypes.CDLL(None, use_errno=True)
_created = []          # names of namespaces we created and not yet deleted
_counter = [0]


def _setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, "setns: " + os.strerror(err))


def run(cmd, ns=None, input=None, check=True):
    """Run cmd (a list), inside namespace ns if given; return stdout."""
    if ns is not None:
        cmd = ["ip", "netns", "exec", ns] + list(cmd)
    proc = subprocess.run(cmd, input=input, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise RuntimeError("command failed (%d): %s\n%s" %
                           (proc.returncode, " ".join(cmd),
                            proc.stderr.strip()))
    return proc.stdout


class InNetns:
    """Context manager: the calling thread runs inside namespace `name`.

    Sockets created inside keep belonging to that namespace after exit.
    """

    def __init__(self, name):
        self.name = name
        self._home = None

    def __enter__(self):
        self._home = os.open("/proc/self/ns/net", os.O_RDONLY)
        fd = os.open("/run/netns/" + self.name, os.O_RDONLY)
        try:
            _setns(fd)
        finally:
            os.close(fd)
        return self

    def __exit__(self, *exc):
        try:
            _setns(self._home)
        finally:
            os.close(self._home)


def _sysctl(name, value):
    """Write a sysctl of the current thread's network namespace."""
    path = "/proc/sys/" + name.replace(".", "/")
    with open(path, "w") as f:
        f.write(str(value))


def _new_name():
    _counter[0] += 1
    return "nftj-%d-%d" % (os.getpid(), _counter[0])


def _netns_add(name):
    run(["ip", "netns", "add", name])
    _created.append(name)


def _netns_del(name):
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    if name in _created:
        _created.remove(name)


def cleanup_all():
    """Delete every namespace this process created (idempotent)."""
    for name in list(_created):
        _netns_del(name)


class TestNet:
    """A test namespace with veth0 wired to a silent peer namespace."""

    def __init__(self):
        self.name = _new_name()
        self.peer = self.name + "p"
        self.ifindex = None

    def __enter__(self):
        try:
            self._setup()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        _netns_del(self.name)
        _netns_del(self.peer)

    def _setup(self):
        _netns_add(self.name)
        _netns_add(self.peer)
        # Defaults first, so veth0 is born with them.
        with InNetns(self.name):
            for scope in ("all", "default"):
                for key, val in (("accept_dad", 0), ("dad_transmits", 0),
                                 ("router_solicitations", 0),
                                 ("accept_ra", 0), ("autoconf", 0)):
                    _sysctl("net.ipv6.conf.%s.%s" % (scope, key), val)
        with InNetns(self.peer):
            for scope in ("all", "default"):
                _sysctl("net.ipv6.conf.%s.disable_ipv6" % scope, 1)
        run(["ip", "link", "add", VETH, "netns", self.name, "type", "veth",
             "peer", "name", PEER_VETH, "netns", self.peer])
        # The peer: link up, no addresses, drop everything at ingress.
        run(["nft", "-f", "-"], ns=self.peer, input=(
            "table netdev sink {\n"
            "  chain in { type filter hook ingress device %s priority 0;"
            " policy drop; }\n}\n" % PEER_VETH))
        run(["ip", "-n", self.peer, "link", "set", PEER_VETH, "up"])
        peer_mac = run(["ip", "-n", self.peer, "-br", "link", "show",
                        PEER_VETH]).split()[2]
        batch = "\n".join([
            "link set %s addrgenmode none" % VETH,
            "link set %s arp off" % VETH,
            "link set %s up" % VETH,
            "address add %s dev %s" % (ADDR4, VETH),
            "address add %s dev %s nodad" % (ADDR6, VETH),
            "neigh replace %s lladdr %s dev %s nud permanent" %
            (GW4, peer_mac, VETH),
            "neigh replace %s lladdr %s dev %s nud permanent" %
            (GW6, peer_mac, VETH),
            "route add %s via %s dev %s" % (SEND_NET4, GW4, VETH),
            "route add %s via %s dev %s" % (SEND_NET6, GW6, VETH),
        ]) + "\n"
        run(["ip", "-n", self.name, "-batch", "-"], input=batch)
        self.ifindex = int(run(["ip", "-n", self.name, "-o", "link", "show",
                                VETH]).split(":")[0])

    def nft(self, args, input=None, check=True):
        """Run nft with args (a list) inside the test namespace."""
        return run(["nft"] + list(args), ns=self.name, input=input,
                   check=check)
