"""Packet bytes: header field layout, header builders, canonicalisation.

Packets are raw IP packets (no link-layer header): what a raw socket
with IP_HDRINCL sends, what LINKTYPE_RAW pcap records hold, and what the
output hook sees.

Field positions are in bits, relative to the start of their header, as
nftables defines them (src/proto.c); the generator sets fields through
set_bits() with these positions.
"""

import struct

# (bit offset, bit length) of the header fields nft can match.
FIELDS = {
    "ip": {
        "version": (0, 4), "hdrlength": (4, 4), "dscp": (8, 6),
        "ecn": (14, 2), "length": (16, 16), "id": (32, 16),
        "frag-off": (48, 16), "ttl": (64, 8), "protocol": (72, 8),
        "checksum": (80, 16), "saddr": (96, 32), "daddr": (128, 32),
    },
    "ip6": {
        "version": (0, 4), "dscp": (4, 6), "ecn": (10, 2),
        "flowlabel": (12, 20), "length": (32, 16), "nexthdr": (48, 8),
        "hoplimit": (56, 8), "saddr": (64, 128), "daddr": (192, 128),
    },
    "tcp": {
        "sport": (0, 16), "dport": (16, 16), "sequence": (32, 32),
        "ackseq": (64, 32), "doff": (96, 4), "reserved": (100, 4),
        "flags": (104, 8), "window": (112, 16), "checksum": (128, 16),
        "urgptr": (144, 16),
    },
    "udp": {"sport": (0, 16), "dport": (16, 16), "length": (32, 16),
            "checksum": (48, 16)},
    "udplite": {"sport": (0, 16), "dport": (16, 16), "csumcov": (32, 16),
                "checksum": (48, 16)},
    "icmp": {
        "type": (0, 8), "code": (8, 8), "checksum": (16, 16),
        "id": (32, 16), "sequence": (48, 16), "gateway": (32, 32),
        "mtu": (48, 16),
    },
    "icmpv6": {
        "type": (0, 8), "code": (8, 8), "checksum": (16, 16),
        "parameter-problem": (32, 32), "packet-too-big": (32, 32),
        "id": (32, 16), "sequence": (48, 16), "max-delay": (32, 16),
    },
    "sctp": {"sport": (0, 16), "dport": (16, 16), "vtag": (32, 32),
             "checksum": (64, 32)},
    "th": {"sport": (0, 16), "dport": (16, 16)},
    "ah": {"nexthdr": (0, 8), "hdrlength": (8, 8), "reserved": (16, 16),
           "spi": (32, 32), "sequence": (64, 32)},
    "esp": {"spi": (0, 32), "sequence": (32, 32)},
}

# Protocol numbers.
IPPROTO = {"hopopts": 0, "icmp": 1, "tcp": 6, "udp": 17, "routing": 43,
           "frag": 44, "esp": 50, "ah": 51, "icmpv6": 58, "none": 59,
           "dstopts": 60, "sctp": 132, "udplite": 136}
# IPv6 extension headers ipv6_find_hdr() walks through.
IPV6_EXT = (0, 43, 44, 51, 60)
# Minimum header length of the transport protocols we build.
L4_HDRLEN = {6: 20, 17: 8, 136: 8, 1: 8, 58: 8, 132: 12, 51: 12, 50: 8}
# Which FIELDS entry describes a transport protocol number.
L4_NAME = {6: "tcp", 17: "udp", 136: "udplite", 1: "icmp", 58: "icmpv6",
           132: "sctp", 51: "ah", 50: "esp"}

MTU = 1500


def set_bits(buf, bitoff, bitlen, value):
    """Store value (big endian) in bits [bitoff, bitoff+bitlen) of buf.

    Bits beyond the end of buf are silently dropped (truncated packets).
    """
    value &= (1 << bitlen) - 1
    for i in range(bitlen):
        pos = bitoff + i
        byte = pos >> 3
        if byte >= len(buf):
            break
        shift = 7 - (pos & 7)
        bit = (value >> (bitlen - 1 - i)) & 1
        buf[byte] = (buf[byte] & ~(1 << shift)) | (bit << shift)


def set_field(buf, bitoff, bitlen, value):
    """set_bits(), with a fast path for whole aligned bytes."""
    if bitoff % 8 == 0 and bitlen % 8 == 0:
        start, n = bitoff // 8, bitlen // 8
        data = (value & ((1 << bitlen) - 1)).to_bytes(n, "big")
        end = min(start + n, len(buf))
        if end > start:
            buf[start:end] = data[:end - start]
        return
    set_bits(buf, bitoff, bitlen, value)


def get_bits(buf, bitoff, bitlen):
    """Read bits [bitoff, bitoff+bitlen) of buf as a big endian integer."""
    nbytes = (bitoff + bitlen + 7) // 8
    word = int.from_bytes(bytes(buf[:nbytes]).ljust(nbytes, b"\0"), "big")
    return (word >> (nbytes * 8 - bitoff - bitlen)) & ((1 << bitlen) - 1)


def csum16(data):
    """Internet checksum (RFC 1071) of data."""
    if len(data) % 2:
        data = bytes(data) + b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xffff) + (total >> 16)
    return (~total) & 0xffff


def canonicalise(pkt):
    """Rewrite pkt (bytes) the way the kernel does before the output hook.

    A raw socket with IP_HDRINCL sends IPv4 packets with tot_len set to
    the packet length, saddr 0 replaced by the route's source, id 0
    replaced by a generated id and the header checksum recomputed.  We
    apply the same (with fixed replacements) so that the bytes we give to
    nft-jit are the bytes the kernel hook saw.  IPv6 packets are sent as
    they are; we only make payload_len consistent.

    Raises ValueError for packets the kernel would reject (EINVAL).
    """
    p = bytearray(pkt)
    if len(p) > MTU:
        raise ValueError("packet longer than the MTU")
    version = p[0] >> 4 if p else 0
    if version == 4:
        if len(p) < 20:
            raise ValueError("IPv4 packet shorter than 20 bytes")
        ihl = (p[0] & 0xf) * 4
        if ihl < 20 or ihl > len(p):
            raise ValueError("bad IPv4 ihl")
        struct.pack_into("!H", p, 2, len(p))
        if p[4:6] == b"\0\0":
            p[4:6] = b"\0\1"
        if p[12:16] == b"\0\0\0\0":
            p[12:16] = bytes([10, 99, 0, 1])
        p[10:12] = b"\0\0"
        struct.pack_into("!H", p, 10, csum16(p[:ihl]))
    elif version == 6:
        if len(p) < 40:
            raise ValueError("IPv6 packet shorter than 40 bytes")
        struct.pack_into("!H", p, 4, len(p) - 40)
    else:
        raise ValueError("not an IP packet")
    return bytes(p)


def ipv6_ext(nexthdr, kind, body_len=0, frag_off=0, more=0, ident=0,
             fill=b""):
    """One IPv6 extension header (kind: 0, 43, 44, 51 or 60).

    body_len is the number of 8-octet units after the first 8 (for AH:
    4-octet units of ICV); fill provides the bytes after the fixed part
    (padded with zeros, or PadN options for hop-by-hop/destination).
    """
    if kind == 44:
        return struct.pack("!BBHI", nexthdr, 0,
                           ((frag_off & 0x1fff) << 3) | (more & 1), ident)
    if kind == 51:
        icv = 4 * max(1, body_len)
        total = 12 + icv
        hdr = struct.pack("!BBH", nexthdr, total // 4 - 2, 0)
        rest = (fill + bytes(total))[:total - 4]
        return hdr + rest
    total = 8 * (body_len + 1)
    if kind in (0, 60):
        # PadN covering the rest of the header: type 1, len total-4.
        rest = bytes([1, total - 4]) + bytes(total - 4)
        return bytes([nexthdr, body_len]) + rest
    # Routing header: type, segments left, then zeros / fill.
    rest = (fill + bytes(total))[:total - 2]
    return bytes([nexthdr, body_len]) + rest
