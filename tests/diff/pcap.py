"""Classic pcap files with LINKTYPE_RAW records (packets start at the IP
header), the input format of `nft-jit eval -r`."""

import struct

MAGIC = 0xa1b2c3d4
LINKTYPE_RAW = 101
SNAPLEN = 65535


def write(path, packets):
    """Write packets (a list of bytes) to path; timestamps are the index."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", MAGIC, 2, 4, 0, 0, SNAPLEN,
                            LINKTYPE_RAW))
        for i, pkt in enumerate(packets):
            f.write(struct.pack("<IIII", i, 0, len(pkt), len(pkt)))
            f.write(pkt)


def read(path):
    """Read back a file written by write() (used by the self-test)."""
    with open(path, "rb") as f:
        data = f.read()
    magic, _, _, _, _, _, linktype = struct.unpack_from("<IHHiIII", data)
    if magic != MAGIC or linktype != LINKTYPE_RAW:
        raise ValueError("not a LINKTYPE_RAW pcap file")
    off, out = 24, []
    while off < len(data):
        _, _, incl, _ = struct.unpack_from("<IIII", data, off)
        off += 16
        out.append(data[off:off + incl])
        off += incl
    return out
