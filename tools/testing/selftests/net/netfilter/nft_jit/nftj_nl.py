#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Talk to the kernel part without the helper: raw netlink and bpf().

The nft_jit selftests use it to do what nft-jit never does: attach
hand-written BPF programs, send the nft_jit generic netlink family
hostile attributes, and own an nf_tables table (NFT_TABLE_F_OWNER).

    nftj_nl.py genid
        print the ruleset generation (NFT_MSG_GETGEN)
    nftj_nl.py attach FAMILY TABLE CHAIN PROG [--svc CHAIN:HANDLE:POS]...
                      [--genid N] [--then-update]
        load program PROG (see PROGS) and attach it; prints "ok" or
        "error ERRNO-NAME: EXTACK-MESSAGE" and exits 0 either way (1 on
        a failure of the tool itself).  --then-update: after a successful
        attach, try to replace entry 0 of the program's program array
        and print "update ok" or "update error ERRNO-NAME"
    nftj_nl.py userns PROG
        load program PROG, then become root of a new user and network
        namespace, make a table ip t with base chain out there, and try
        to read the kernel part's state and to attach the program: prints
        "get ok"/"get error ..." and "attach ok"/"attach error ..."
    nftj_nl.py attach-many FAMILY TABLE N
        attach one program (r0 = 1) to chains c0..c(N-1) of TABLE
    nftj_nl.py dump-race FAMILY TABLE N
        chains c0..c(N-1) of TABLE have programs: dump them, detach the
        first one dumped after the dump's first message, and check that
        the rest of the dump neither repeats nor misses an attachment
    nftj_nl.py owner FAMILY TABLE CHAIN HOOK POLICY READY
        create TABLE with NFT_TABLE_F_OWNER and base chain CHAIN (filter,
        priority 0) holding one rule, `counter`, from a socket kept open,
        touch READY, then wait for
        SIGTERM: the table goes with the socket
    nftj_nl.py hostile FAMILY TABLE CHAIN NONBASE HANDLE
        feed attach, detach and get hostile attributes (CHAIN a base
        chain, NONBASE a chain that is not, HANDLE a rule of CHAIN with
        fewer than 1000 expressions); print one line
        per case and "N cases, N unexpected"; exit 1 on an unexpected
        answer

Only the standard library: ctypes for bpf(2), sockets for netlink.
"""
import ctypes
import errno
import os
import random
import signal
import socket
import struct
import subprocess
import sys

# ------------------------------------------------------------ netlink

NETLINK_NETFILTER = 12
NETLINK_GENERIC = 16
NLM_F_REQUEST = 0x1
NLM_F_MULTI = 0x2
NLM_F_ACK = 0x4
NLM_F_DUMP = 0x300
NLM_F_CREATE = 0x400
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLM_F_ACK_TLVS = 0x200
NLMSGERR_ATTR_MSG = 1
SOL_NETLINK = 270
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11
SO_SNDBUFFORCE = 32
SO_RCVBUFFORCE = 33
NLA_F_NESTED = 0x8000


def nla(atype, payload):
    """one attribute, padded to 4 bytes"""
    n = 4 + len(payload)
    return struct.pack("=HH", n, atype) + payload + b"\0" * (-n % 4)


def nla_u32(atype, v):
    return nla(atype, struct.pack("=I", v & 0xffffffff))


def nla_be32(atype, v):
    return nla(atype, struct.pack(">I", v & 0xffffffff))


def nla_u64(atype, v):
    return nla(atype, struct.pack("=Q", v & 0xffffffffffffffff))


def nla_str(atype, s):
    return nla(atype, s.encode() + b"\0")


def nla_nest(atype, *parts):
    return nla(atype | NLA_F_NESTED, b"".join(parts))


def parse_attrs(buf):
    out = {}
    off = 0
    while off + 4 <= len(buf):
        n, t = struct.unpack_from("=HH", buf, off)
        if n < 4:
            break
        out[t & 0x3fff] = buf[off + 4:off + n]
        off += (n + 3) & ~3
    return out


class NlError(Exception):
    def __init__(self, err, msg):
        super().__init__(err, msg)
        self.err = err
        self.msg = msg

    def __str__(self):
        s = "error %s" % errno.errorcode.get(self.err, str(self.err))
        return s + (": " + self.msg if self.msg else "")


class Netlink:
    def __init__(self, proto):
        self.s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, proto)
        self.s.bind((0, 0))
        self.s.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
        self.s.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
        try:
            self.s.setsockopt(socket.SOL_SOCKET, SO_SNDBUFFORCE, 8 << 20)
            self.s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 1 << 20)
        except OSError:
            pass
        self.portid = self.s.getsockname()[0]
        self.seq = 1000

    def close(self):
        self.s.close()

    def send(self, mtype, flags, payload):
        self.seq += 1
        hdr = struct.pack("=IHHII", 16 + len(payload), mtype,
                          flags | NLM_F_REQUEST, self.seq, 0)
        self.s.send(hdr + payload)
        return self.seq

    def recv_until_ack(self, seq):
        """messages answering seq until the ack or NLMSG_DONE; raise
        NlError on an error"""
        msgs = []
        while True:
            data = self.s.recv(1 << 20)
            off = 0
            while off + 16 <= len(data):
                ln, mtype, flags, mseq, _ = struct.unpack_from("=IHHII",
                                                               data, off)
                if ln < 16:
                    raise NlError(errno.EBADMSG, "short message")
                body = data[off + 16:off + ln]
                off += (ln + 3) & ~3
                if mseq != seq:
                    continue
                if mtype == NLMSG_ERROR:
                    err = struct.unpack_from("=i", body, 0)[0]
                    if err == 0:
                        return msgs
                    msg = ""
                    if flags & NLM_F_ACK_TLVS:
                        # CAP_ACK: the echoed request is its header only
                        tlv = parse_attrs(body[4 + 16:])
                        if NLMSGERR_ATTR_MSG in tlv:
                            msg = tlv[NLMSGERR_ATTR_MSG].rstrip(
                                b"\0").decode(errors="replace")
                    raise NlError(-err, msg)
                if mtype == NLMSG_DONE:
                    err = struct.unpack_from("=i", body, 0)[0] \
                        if len(body) >= 4 else 0
                    if err < 0:
                        raise NlError(-err, "")
                    return msgs
                msgs.append((mtype, flags, body))
                if not flags & NLM_F_MULTI and not flags & NLM_F_ACK:
                    pass

    def talk(self, mtype, flags, payload):
        return self.recv_until_ack(self.send(mtype, flags | NLM_F_ACK,
                                             payload))


# generic netlink
GENL_ID_CTRL = 0x10
CTRL_CMD_GETFAMILY = 3
CTRL_ATTR_FAMILY_ID = 1
CTRL_ATTR_FAMILY_NAME = 2

# uapi nf_tables_jit.h
NFTJ_CMD_ATTACH, NFTJ_CMD_DETACH, NFTJ_CMD_GET = 1, 2, 3
(NFTJ_A_FAMILY, NFTJ_A_TABLE, NFTJ_A_CHAIN, NFTJ_A_GENID, NFTJ_A_PROG_FD,
 NFTJ_A_SERVICES) = range(1, 7)
NFTJ_A_SERVICE = 1
NFTJ_SVC_A_CHAIN, NFTJ_SVC_A_HANDLE, NFTJ_SVC_A_INDEX = 1, 2, 3
NFTJ_MAX_SERVICES = 65536


def genl_hdr(cmd, version=1):
    return struct.pack("=BBH", cmd, version, 0)


class Genl(Netlink):
    def __init__(self, name="nft_jit"):
        super().__init__(NETLINK_GENERIC)
        msgs = self.talk(GENL_ID_CTRL, 0,
                         genl_hdr(CTRL_CMD_GETFAMILY) +
                         nla_str(CTRL_ATTR_FAMILY_NAME, name))
        a = parse_attrs(msgs[0][2][4:])
        self.family = struct.unpack("=H", a[CTRL_ATTR_FAMILY_ID])[0]

    def cmd(self, cmd, attrs, flags=0, version=1):
        return self.talk(self.family, flags, genl_hdr(cmd, version) + attrs)


def chain_attrs(family, table, chain):
    return (nla_u32(NFTJ_A_FAMILY, family) + nla_str(NFTJ_A_TABLE, table) +
            nla_str(NFTJ_A_CHAIN, chain))


def svc_nest(chain, handle, pos):
    return nla_nest(NFTJ_A_SERVICE, nla_str(NFTJ_SVC_A_CHAIN, chain),
                    nla_u64(NFTJ_SVC_A_HANDLE, handle),
                    nla_u32(NFTJ_SVC_A_INDEX, pos))


# nf_tables
NFNL_SUBSYS_NFTABLES = 10
NFNL_MSG_BATCH_BEGIN = 0x10
NFNL_MSG_BATCH_END = 0x11
NFT_MSG_NEWTABLE, NFT_MSG_NEWCHAIN, NFT_MSG_NEWRULE = 0, 3, 6
NFT_MSG_GETGEN = 16
NFTA_RULE_TABLE, NFTA_RULE_CHAIN, NFTA_RULE_EXPRESSIONS = 1, 2, 4
NFTA_LIST_ELEM, NFTA_EXPR_NAME, NFTA_EXPR_DATA = 1, 1, 2
NFTA_TABLE_NAME, NFTA_TABLE_FLAGS = 1, 2
NFT_TABLE_F_OWNER = 2
NFTA_CHAIN_TABLE, NFTA_CHAIN_NAME, NFTA_CHAIN_HOOK = 1, 3, 4
NFTA_CHAIN_POLICY, NFTA_CHAIN_TYPE = 5, 7
NFTA_HOOK_HOOKNUM, NFTA_HOOK_PRIORITY = 1, 2
NFTA_GEN_ID = 1
FAMILIES = {"ip": 2, "ip6": 10, "inet": 1, "arp": 3, "bridge": 7,
            "netdev": 5}
HOOKS = {"prerouting": 0, "input": 1, "forward": 2, "output": 3,
         "postrouting": 4}


def nfgen(family, res_id=0):
    return struct.pack("=BBH", family, 0, socket.htons(res_id))


def nft_genid():
    nl = Netlink(NETLINK_NETFILTER)
    try:
        msgs = nl.talk((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETGEN, 0,
                       nfgen(0))
        a = parse_attrs(msgs[0][2][4:])
        return struct.unpack(">I", a[NFTA_GEN_ID])[0]
    finally:
        nl.close()


def nft_batch(nl, family, msgs):
    """one nf_tables transaction from nl; raises NlError"""
    seqs = []
    buf = b""
    for i, (mtype, flags, payload) in enumerate(
            [(NFNL_MSG_BATCH_BEGIN, 0, nfgen(0, NFNL_SUBSYS_NFTABLES))] +
            [((NFNL_SUBSYS_NFTABLES << 8) | t, f | NLM_F_ACK,
              nfgen(family) + p) for t, f, p in msgs] +
            [(NFNL_MSG_BATCH_END, 0, nfgen(0, NFNL_SUBSYS_NFTABLES))]):
        nl.seq += 1
        seqs.append(nl.seq)
        buf += struct.pack("=IHHII", 16 + len(payload), mtype,
                           flags | NLM_F_REQUEST, nl.seq, 0) + payload
    nl.s.send(buf)
    for seq in seqs[1:-1]:
        nl.recv_until_ack(seq)


# ---------------------------------------------------------------- bpf

libc = ctypes.CDLL(None, use_errno=True)
SYS_bpf = 321		# x86-64
BPF_MAP_CREATE, BPF_MAP_UPDATE_ELEM, BPF_PROG_LOAD = 0, 2, 5
BPF_OBJ_GET_INFO_BY_FD, BPF_BTF_GET_FD_BY_ID = 15, 19
BPF_BTF_GET_NEXT_ID, BPF_MAP_FREEZE = 23, 22
BPF_PROG_TYPE_SOCKET_FILTER, BPF_PROG_TYPE_SCHED_CLS = 1, 3
BPF_PROG_TYPE_XDP = 6
BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_PROG_ARRAY = 2, 3
BPF_PSEUDO_MAP_FD, BPF_PSEUDO_KFUNC_CALL = 1, 2
FN_tail_call, FN_clone_redirect, FN_get_prandom_u32 = 12, 13, 7
FN_skb_load_bytes = 26
SKB_DATA, SKB_DATA_END = 76, 80		# struct __sk_buff
NFTJ_REGS_SIZE = 80


def bpf(cmd, attr):
    buf = ctypes.create_string_buffer(bytes(attr), len(attr))
    r = libc.syscall(SYS_bpf, cmd, buf, len(attr))
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return r, buf.raw


def insn(code, dst=0, src=0, off=0, imm=0):
    return struct.pack("=BBhi", code, dst | src << 4, off, imm)


def mov64_imm(d, imm):
    return insn(0xb7, d, 0, 0, imm)


def mov64_reg(d, s):
    return insn(0xbf, d, s)


def add64_imm(d, imm):
    return insn(0x07, d, 0, 0, imm)


def ldx_w(d, s, off):
    return insn(0x61, d, s, off)


def st_dw(d, off, imm):
    return insn(0x7a, d, 0, off, imm)


def st_b(d, off, imm):
    return insn(0x72, d, 0, off, imm)


def jgt_reg(d, s, off):
    return insn(0x2d, d, s, off)


def call(fn):
    return insn(0x85, 0, 0, 0, fn)


def kfunc_call(btf_id, fd_idx):
    return insn(0x85, 0, BPF_PSEUDO_KFUNC_CALL, fd_idx, btf_id)


def ld_map_fd(d, fd):
    return (insn(0x18, d, BPF_PSEUDO_MAP_FD, 0, fd) + insn(0))


def exit_():
    return insn(0x95)


def prog_load(insns, ptype=BPF_PROG_TYPE_SCHED_CLS, fd_array=None):
    code = ctypes.create_string_buffer(insns, len(insns))
    lic = ctypes.create_string_buffer(b"GPL")
    log = ctypes.create_string_buffer(65536)
    fds = None
    attr = bytearray(144)
    struct.pack_into("=IIQQIIQ", attr, 0, ptype, len(insns) // 8,
                     ctypes.addressof(code), ctypes.addressof(lic), 1,
                     len(log), ctypes.addressof(log))
    struct.pack_into("16s", attr, 48, b"nftj_test")
    if fd_array:
        fds = (ctypes.c_int * len(fd_array))(*fd_array)
        struct.pack_into("=Q", attr, 120, ctypes.addressof(fds))
    try:
        return bpf(BPF_PROG_LOAD, attr)[0]
    except OSError as e:
        text = log.value.decode(errors="replace").strip().splitlines()
        raise OSError(e.errno, "prog load: %s: %s" %
                      (os.strerror(e.errno), " | ".join(text[-3:])))


def map_create(mtype, key, value, entries):
    attr = bytearray(72)
    struct.pack_into("=IIII", attr, 0, mtype, key, value, entries)
    return bpf(BPF_MAP_CREATE, attr)[0]


def map_update(fd, key, value):
    k = ctypes.create_string_buffer(struct.pack("=I", key))
    v = ctypes.create_string_buffer(struct.pack("=I", value))
    attr = bytearray(32)
    struct.pack_into("=IIQQQ", attr, 0, fd, 0, ctypes.addressof(k),
                     ctypes.addressof(v), 0)
    bpf(BPF_MAP_UPDATE_ELEM, attr)


def map_freeze(fd):
    bpf(BPF_MAP_FREEZE, struct.pack("=I", fd) + bytes(4))


# ---------------------------------------------------------------- BTF

BTF_KIND_FUNC = 12
BTF_EXTRA = {1: lambda v: 4, 3: lambda v: 12, 4: lambda v: 12 * v,
             5: lambda v: 12 * v, 6: lambda v: 8 * v,
             13: lambda v: 8 * v, 14: lambda v: 4, 15: lambda v: 12 * v,
             17: lambda v: 4, 19: lambda v: 12 * v}


def btf_read(path):
    data = open(path, "rb").read()
    magic, _, _, hlen, toff, tlen, soff, slen = struct.unpack_from(
        "=HBBIIIII", data, 0)
    if magic != 0xeb9f:
        raise OSError(errno.EINVAL, "%s: not BTF" % path)
    return data, hlen + toff, tlen, hlen + soff, slen


def btf_types(path):
    """(names' offsets, kinds) of every type, in id order"""
    data, toff, tlen, _, _ = btf_read(path)
    off, end, types = toff, toff + tlen, []
    while off < end:
        name, info = struct.unpack_from("=II", data, off)
        kind, vlen = (info >> 24) & 0x1f, info & 0xffff
        types.append((name, kind))
        off += 12 + BTF_EXTRA.get(kind, lambda v: 0)(vlen)
    return types


def kfunc_btf_id(module="nf_tables", func="nftj_svc_eval"):
    """the function's BTF id in the module's split BTF"""
    base = len(btf_types("/sys/kernel/btf/vmlinux"))
    base_slen = btf_read("/sys/kernel/btf/vmlinux")[4]
    data, _, _, soff, _ = btf_read("/sys/kernel/btf/" + module)
    for i, (name, kind) in enumerate(btf_types("/sys/kernel/btf/" +
                                               module)):
        if kind != BTF_KIND_FUNC or name < base_slen:
            continue
        o = soff + name - base_slen
        if data[o:data.index(b"\0", o)].decode() == func:
            return base + 1 + i
    raise OSError(errno.ENOENT, "%s not in %s's BTF" % (func, module))


def module_btf_fd(module="nf_tables"):
    bid = 0
    while True:
        attr = bytearray(12)
        struct.pack_into("=I", attr, 0, bid)
        bid = struct.unpack_from("=I", bpf(BPF_BTF_GET_NEXT_ID, attr)[1],
                                 4)[0]
        try:
            fd = bpf(BPF_BTF_GET_FD_BY_ID, struct.pack("=III", bid, 0,
                                                         0))[0]
        except OSError:
            continue
        name = ctypes.create_string_buffer(64)
        info = ctypes.create_string_buffer(32)
        struct.pack_into("=QIIQII", info, 0, 0, 0, 0,
                         ctypes.addressof(name), 64, 0)
        attr = struct.pack("=IIQ", fd, 32, ctypes.addressof(info))
        bpf(BPF_OBJ_GET_INFO_BY_FD, attr)
        if name.value.decode() == module:
            return fd
        os.close(fd)


# ------------------------------------------------------------ programs

def p_accept():
    return mov64_imm(0, 1) + exit_()


def p_clone_redirect():
    # the review's program: at OUTPUT skb->dev is NULL
    return (mov64_reg(6, 1) + mov64_reg(1, 6) + mov64_imm(2, 1) +
            mov64_imm(3, 0) + call(FN_clone_redirect) + mov64_imm(0, 1) +
            exit_())


def p_prandom():
    return call(FN_get_prandom_u32) + mov64_imm(0, 1) + exit_()


def p_load_bytes():
    # what the compiler emits: bpf_skb_load_bytes(skb, 0, fp - 8, 4)
    return (mov64_imm(2, 0) + mov64_reg(3, 10) + add64_imm(3, -8) +
            mov64_imm(4, 4) + call(FN_skb_load_bytes) + mov64_imm(0, 1) +
            exit_())


def p_direct_write():
    # writes packet data: the verifier adds bpf_skb_pull_data()
    return (ldx_w(2, 1, SKB_DATA) + ldx_w(3, 1, SKB_DATA_END) +
            mov64_reg(4, 2) + add64_imm(4, 1) + jgt_reg(4, 3, 1) +
            st_b(2, 0, 0x45) + mov64_imm(0, 1) + exit_())


def p_tail(array_fd):
    # bpf_tail_call(skb, array, 0); then accept
    return (ld_map_fd(2, array_fd) + mov64_imm(3, 0) + call(FN_tail_call) +
            mov64_imm(0, 1) + exit_())


def p_uses_map(map_fd):
    return ld_map_fd(1, map_fd) + mov64_imm(0, 1) + exit_()


def zero_regs():
    return b"".join(st_dw(10, -NFTJ_REGS_SIZE + 8 * i, 0)
                    for i in range(NFTJ_REGS_SIZE // 8))


def p_svc(btf_id, in_packet, ret=1, calls=1):
    """nftj_svc_eval(skb, 0, regs, 80) `calls` times: regs on the stack,
    or (in_packet) in the packet's data; then return ret"""
    if in_packet:	# too short: skip the call
        regs = (ldx_w(3, 1, SKB_DATA) + ldx_w(4, 1, SKB_DATA_END) +
                mov64_reg(5, 3) + add64_imm(5, NFTJ_REGS_SIZE) +
                jgt_reg(5, 4, 3))
    else:
        regs = zero_regs() + mov64_reg(3, 10) + add64_imm(3, -NFTJ_REGS_SIZE)
    one = (mov64_reg(1, 6) + mov64_reg(3, 10) +
           add64_imm(3, -NFTJ_REGS_SIZE) + mov64_imm(2, 0) +
           mov64_imm(4, NFTJ_REGS_SIZE) + kfunc_call(btf_id, 1))
    if calls > 1:	# the stack kind only: r6 keeps the context
        return (mov64_reg(6, 1) + zero_regs() + one * calls +
                mov64_imm(0, ret) + exit_())
    return (regs + mov64_imm(2, 0) + mov64_imm(4, NFTJ_REGS_SIZE) +
            kfunc_call(btf_id, 1) + mov64_imm(0, ret) + exit_())


class Progs:
    """program kinds by name; keeps their fds (and maps) open"""

    def __init__(self):
        self.fds = []
        self.array = -1

    def keep(self, fd):
        self.fds.append(fd)
        return fd

    def array_with(self, target_fd, freeze):
        a = self.keep(map_create(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4))
        map_update(a, 0, target_fd)
        if freeze:
            map_freeze(a)
        self.array = a
        return a

    def svc(self, in_packet, ret=1, calls=1):
        btf = self.keep(module_btf_fd())
        return self.keep(prog_load(p_svc(kfunc_btf_id(), in_packet, ret,
                                         calls), fd_array=[-1, btf]))

    def load(self, kind):
        simple = {"accept": p_accept, "clone_redirect": p_clone_redirect,
                  "prandom": p_prandom, "load_bytes": p_load_bytes,
                  "direct_write": p_direct_write}
        if kind in simple:
            return self.keep(prog_load(simple[kind]()))
        if kind == "svc_stack":
            return self.svc(False)
        if kind == "svc_packet":
            return self.svc(True)
        if kind == "svc_stack_fallback":
            # a counter service, then a return the runner cannot take
            return self.svc(False, 0x7fff0000)
        if kind == "svc_40_fallback":
            # the same, calling the service 40 times
            return self.svc(False, 0x7fff0000, 40)
        if kind.startswith("tail_"):
            # tail_{frozen,open}_{accept,clone_redirect}
            _, state, target = kind.split("_", 2)
            t = self.load(target)
            return self.keep(prog_load(p_tail(self.array_with(
                t, state == "frozen"))))
        if kind == "array_map":
            m = self.keep(map_create(BPF_MAP_TYPE_ARRAY, 4, 8, 1))
            return self.keep(prog_load(p_uses_map(m)))
        if kind == "socket_filter":
            return self.keep(prog_load(p_accept(),
                                       BPF_PROG_TYPE_SOCKET_FILTER))
        if kind == "xdp":
            return self.keep(prog_load(p_accept(), BPF_PROG_TYPE_XDP))
        raise ValueError("unknown program kind " + kind)


# ----------------------------------------------------------- commands

def family_num(name):
    return FAMILIES[name] if name in FAMILIES else int(name)


def cmd_attach(args):
    svcs, genid, update = [], None, False
    pos = []
    i = 0
    while i < len(args):
        if args[i] == "--svc":
            c, h, p = args[i + 1].rsplit(":", 2)
            svcs.append(svc_nest(c, int(h), int(p)))
            i += 2
        elif args[i] == "--genid":
            genid = int(args[i + 1])
            i += 2
        elif args[i] == "--then-update":
            update = True
            i += 1
        else:
            pos.append(args[i])
            i += 1
    fam, table, chain, kind = pos
    progs = Progs()
    fd = progs.load(kind)
    g = Genl()
    attrs = (chain_attrs(family_num(fam), table, chain) +
             nla_u32(NFTJ_A_GENID, nft_genid() if genid is None else genid) +
             nla_u32(NFTJ_A_PROG_FD, fd))
    if svcs:
        attrs += nla_nest(NFTJ_A_SERVICES, *svcs)
    try:
        g.cmd(NFTJ_CMD_ATTACH, attrs)
        print("ok")
    except NlError as e:
        print(e)
        return 0
    if update:
        try:
            map_update(progs.array, 0, progs.load("accept"))
            print("update ok")
        except OSError as e:
            print("update error %s" % errno.errorcode.get(e.errno, e.errno))
    return 0


CLONE_NEWUSER, CLONE_NEWNET = 0x10000000, 0x40000000


def cmd_userns(args):
    kind, = args
    progs = Progs()
    fd = progs.load(kind)
    if libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0:
        e = ctypes.get_errno()
        raise OSError(e, "unshare: " + os.strerror(e))
    for f, v in (("setgroups", "deny"), ("uid_map", "0 0 1"),
                 ("gid_map", "0 0 1")):
        with open("/proc/self/" + f, "w") as fh:
            fh.write(v)
    subprocess.run(["nft", "-f", "-"], check=True, input=
                   b"table ip t {\n chain out {\n type filter hook output "
                   b"priority 0; policy accept;\n }\n}\n")
    g = Genl()
    try:
        g.cmd(NFTJ_CMD_GET, b"", NLM_F_DUMP)
        print("get ok")
    except NlError as e:
        print("get", e)
    try:
        g.cmd(NFTJ_CMD_ATTACH, chain_attrs(2, "t", "out") +
              nla_u32(NFTJ_A_GENID, nft_genid()) +
              nla_u32(NFTJ_A_PROG_FD, fd))
        print("attach ok")
    except NlError as e:
        print("attach", e)
    return 0


def dump_names(msgs):
    out = []
    for _, _, body in msgs:
        a = parse_attrs(body[4:])
        out.append(a[NFTJ_A_CHAIN].rstrip(b"\0").decode())
    return out


def cmd_attach_many(args):
    fam, table, n = args
    f, n = family_num(fam), int(n)
    fd = Progs().load("accept")
    g = Genl()
    gen = nft_genid()
    for i in range(n):
        g.cmd(NFTJ_CMD_ATTACH, chain_attrs(f, table, "c%d" % i) +
              nla_u32(NFTJ_A_GENID, gen) + nla_u32(NFTJ_A_PROG_FD, fd))
    print("attached %d" % n)
    return 0


def cmd_dump_race(args):
    fam, table, n = args
    f, n = family_num(fam), int(n)
    g, ctl = Genl(), Genl()
    seq = g.send(g.family, NLM_F_DUMP, genl_hdr(NFTJ_CMD_GET))
    # the kernel fills the first message when the dump starts
    first = []
    data = g.s.recv(1 << 15)
    off = 0
    while off + 16 <= len(data):
        ln, mtype, flags, mseq, _ = struct.unpack_from("=IHHII", data, off)
        if mtype in (NLMSG_DONE, NLMSG_ERROR):
            print("the dump fit in one message: make N larger")
            return 1
        first.append((mtype, flags, data[off + 16:off + ln]))
        off += (ln + 3) & ~3
    names = dump_names(first)
    ctl.cmd(NFTJ_CMD_DETACH, chain_attrs(f, table, names[0]))
    rest = dump_names(g.recv_until_ack(seq))
    seen = names + rest
    want = set("c%d" % i for i in range(n))
    dup = sorted(c for c in set(seen) if seen.count(c) > 1)
    missing = sorted(want - set(seen))
    print("dumped %d in the first message, %d after detaching %s; "
          "repeated: %s; missing: %s" % (len(names), len(rest), names[0],
                                         dup or "none", missing or "none"))
    return 1 if dup or missing else 0


def cmd_owner(args):
    fam, table, chain, hook, policy, ready = args
    f = family_num(fam)
    nl = Netlink(NETLINK_NETFILTER)
    nft_batch(nl, f, [
        (NFT_MSG_NEWTABLE, NLM_F_CREATE,
         nla_str(NFTA_TABLE_NAME, table) +
         nla_be32(NFTA_TABLE_FLAGS, NFT_TABLE_F_OWNER)),
        (NFT_MSG_NEWCHAIN, NLM_F_CREATE,
         nla_str(NFTA_CHAIN_TABLE, table) + nla_str(NFTA_CHAIN_NAME, chain) +
         nla_nest(NFTA_CHAIN_HOOK,
                  nla_be32(NFTA_HOOK_HOOKNUM, HOOKS[hook]),
                  nla_be32(NFTA_HOOK_PRIORITY, 0)) +
         nla_str(NFTA_CHAIN_TYPE, "filter") +
         nla_be32(NFTA_CHAIN_POLICY, 1 if policy == "accept" else 0)),
        # one rule: counter
        (NFT_MSG_NEWRULE, NLM_F_CREATE | 0x800,	# NLM_F_APPEND
         nla_str(NFTA_RULE_TABLE, table) + nla_str(NFTA_RULE_CHAIN, chain) +
         nla_nest(NFTA_RULE_EXPRESSIONS, nla_nest(
             NFTA_LIST_ELEM, nla_str(NFTA_EXPR_NAME, "counter"),
             nla_nest(NFTA_EXPR_DATA)))),
    ])
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    open(ready, "w").close()
    while True:
        signal.pause()


class Hostile:
    """send one request, compare the answer with what is expected"""

    def __init__(self):
        self.g = Genl()
        self.n = 0
        self.unexpected = 0
        self.answers = {}

    def case(self, name, cmd, attrs, want, flags=0, version=1, quiet=False):
        """want: an errno name, "ok", "err" (any error) or "any";
        quiet: print only an unexpected answer, count the others
        """
        self.n += 1
        try:
            self.g.cmd(cmd, attrs, flags, version)
            got, msg = "ok", ""
        except NlError as e:
            got, msg = errno.errorcode.get(e.err, str(e.err)), e.msg
        except OSError as e:
            got, msg = "send:" + errno.errorcode.get(e.errno, ""), ""
        if got != "ok" and hasattr(errno, want):	# ENOTSUP is EOPNOTSUPP
            got = want if getattr(errno, want) == errno.__dict__.get(
                got, -1) else got
        good = (want == "any" or got == want or
                (want == "err" and got != "ok"))
        if not good:
            self.unexpected += 1
        self.answers[got] = self.answers.get(got, 0) + 1
        if quiet and good:
            return
        print("%s %s: %s%s%s" % ("ok  " if good else "BAD ", name, got,
                                 ": " + msg if msg else "",
                                 "" if good else " (want %s)" % want))
        sys.stdout.flush()


def cmd_hostile(args):
    fam, table, chain, nonbase, handle = args
    f, handle = family_num(fam), int(handle)
    h = Hostile()
    progs = Progs()
    A, D, G = NFTJ_CMD_ATTACH, NFTJ_CMD_DETACH, NFTJ_CMD_GET
    good_fd = progs.load("accept")
    gen = nft_genid()
    cid = chain_attrs(f, table, chain)

    def att(extra=b"", fd=None, genid=None):
        return (cid + nla_u32(NFTJ_A_GENID, gen if genid is None else genid)
                + nla_u32(NFTJ_A_PROG_FD, good_fd if fd is None else fd) +
                extra)

    # missing attributes
    h.case("attach without attributes", A, b"", "EINVAL")
    h.case("attach without genid", A, cid + nla_u32(NFTJ_A_PROG_FD, good_fd),
           "EINVAL")
    h.case("attach without prog fd", A, cid + nla_u32(NFTJ_A_GENID, gen),
           "EINVAL")
    h.case("attach without chain", A,
           nla_u32(NFTJ_A_FAMILY, f) + nla_str(NFTJ_A_TABLE, table) +
           nla_u32(NFTJ_A_GENID, gen) + nla_u32(NFTJ_A_PROG_FD, good_fd),
           "EINVAL")
    h.case("detach without attributes", D, b"", "EINVAL")
    h.case("detach without table", D, nla_u32(NFTJ_A_FAMILY, f) +
           nla_str(NFTJ_A_CHAIN, chain), "EINVAL")
    h.case("get with family only", G, nla_u32(NFTJ_A_FAMILY, f), "EINVAL")
    # wrong lengths and types
    for n, v in (("u8", b"\1"), ("u16", b"\1\0"), ("u64", bytes(8)),
                 ("empty", b"")):
        h.case("attach family as %s" % n, A,
               nla(NFTJ_A_FAMILY, v) + att()[len(nla_u32(1, 0)):], "err")
        h.case("attach prog fd as %s" % n, A,
               cid + nla_u32(NFTJ_A_GENID, gen) + nla(NFTJ_A_PROG_FD, v),
               "err")
        h.case("attach genid as %s" % n, A,
               cid + nla(NFTJ_A_GENID, v) + nla_u32(NFTJ_A_PROG_FD, good_fd),
               "err")
        h.case("get family as %s" % n, G, nla(NFTJ_A_FAMILY, v) +
               cid[len(nla_u32(1, 0)):], "err")
        h.case("detach family as %s" % n, D, nla(NFTJ_A_FAMILY, v) +
               cid[len(nla_u32(1, 0)):], "err")
    h.case("table name of 300 bytes", A, nla_u32(NFTJ_A_FAMILY, f) +
           nla_str(NFTJ_A_TABLE, "t" * 300) + nla_str(NFTJ_A_CHAIN, chain) +
           nla_u32(NFTJ_A_GENID, gen) + nla_u32(NFTJ_A_PROG_FD, good_fd),
           "err")
    h.case("table name without NUL", A, nla_u32(NFTJ_A_FAMILY, f) +
           nla(NFTJ_A_TABLE, table.encode()) + nla_str(NFTJ_A_CHAIN, chain) +
           nla_u32(NFTJ_A_GENID, gen) + nla_u32(NFTJ_A_PROG_FD, good_fd),
           "any")
    h.case("chain name of 300 bytes (get)", G, nla_u32(NFTJ_A_FAMILY, f) +
           nla_str(NFTJ_A_TABLE, table) + nla_str(NFTJ_A_CHAIN, "c" * 300),
           "err")
    h.case("unknown attribute 200", A, att(nla_u32(200, 1)), "err")
    h.case("attribute type 0", A, att(nla_u32(0, 1)), "err")
    h.case("truncated attribute", A, att() + struct.pack("=HH", 40, 1),
           "err")
    # bad values
    for n, v in (("0", 0), ("arp", 3), ("bridge", 7), ("netdev", 5),
                 ("255", 255), ("2^32-1", 0xffffffff)):
        h.case("attach family %s" % n, A,
               nla_u32(NFTJ_A_FAMILY, v) + att()[len(nla_u32(1, 0)):], "err")
    h.case("attach to a missing table", A, chain_attrs(f, "nosuch", chain) +
           nla_u32(NFTJ_A_GENID, gen) + nla_u32(NFTJ_A_PROG_FD, good_fd),
           "ENOENT")
    h.case("attach to a missing chain", A, chain_attrs(f, table, "nosuch") +
           nla_u32(NFTJ_A_GENID, gen) + nla_u32(NFTJ_A_PROG_FD, good_fd),
           "ENOENT")
    h.case("attach to a non-base chain", A, chain_attrs(f, table, nonbase) +
           nla_u32(NFTJ_A_GENID, gen) + nla_u32(NFTJ_A_PROG_FD, good_fd),
           "EOPNOTSUPP")
    for g in (gen - 1, gen + 1, 0, 0xffffffff):
        h.case("attach with generation %d" % g, A, att(genid=g), "ESTALE")
    # file descriptors that are not a SCHED_CLS program
    closed = os.open("/dev/null", os.O_RDONLY)
    os.close(closed)
    r, w = os.pipe()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    devnull = os.open("/dev/null", os.O_RDONLY)
    fds = {"-1": -1, "-2^31": -(1 << 31), "2^31-1": (1 << 31) - 1,
           "2^32-1": 0xffffffff, "closed": closed, "pipe": r,
           "socket": sock.fileno(), "/dev/null": devnull,
           "stdin": 0, "a BTF object": progs.keep(module_btf_fd()),
           "an array map": progs.keep(map_create(BPF_MAP_TYPE_ARRAY, 4, 4,
                                                  1)),
           "a program array": progs.keep(map_create(
               BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 1)),
           "a socket filter program": progs.load("socket_filter"),
           "an XDP program": progs.load("xdp")}
    for n, fd in fds.items():
        h.case("attach prog fd: %s" % n, A, att(fd=fd), "err")
    # SCHED_CLS programs made of more than the compiler emits
    for n, kind in (("calling bpf_clone_redirect", "clone_redirect"),
                    ("calling bpf_get_prandom_u32", "prandom"),
                    ("writing to the packet", "direct_write"),
                    ("with an array map", "array_map"),
                    ("tail-calling through an open array",
                     "tail_open_accept")):
        h.case("attach a SCHED_CLS program %s" % n, A,
               att(fd=progs.load(kind)), "EPERM")
    # services
    S = NFTJ_A_SERVICES
    h.case("services: not nested", A, att(nla_u32(S, 1)), "err")
    h.case("services: wrong inner type", A,
           att(nla_nest(S, nla_nest(2, nla_str(NFTJ_SVC_A_CHAIN, chain)))),
           "err")
    h.case("services: empty service", A, att(nla_nest(S, nla_nest(
        NFTJ_A_SERVICE))), "err")
    h.case("services: no handle", A, att(nla_nest(S, nla_nest(
        NFTJ_A_SERVICE, nla_str(NFTJ_SVC_A_CHAIN, chain),
        nla_u32(NFTJ_SVC_A_INDEX, 0)))), "err")
    h.case("services: handle as u32", A, att(nla_nest(S, nla_nest(
        NFTJ_A_SERVICE, nla_str(NFTJ_SVC_A_CHAIN, chain),
        nla_u32(NFTJ_SVC_A_HANDLE, 1), nla_u32(NFTJ_SVC_A_INDEX, 0)))),
           "err")
    h.case("services: unknown chain", A,
           att(nla_nest(S, svc_nest("nosuch", 1, 0))), "err")
    for hd in (0, 1 << 40, (1 << 64) - 1):
        h.case("services: handle %d" % hd, A,
               att(nla_nest(S, svc_nest(chain, hd, 0))), "err")
    for p in (1000, 0xffffffff):
        h.case("services: position %d" % p, A,
               att(nla_nest(S, svc_nest(chain, handle, p))), "err")
    h.case("services: empty SERVICES", A, att(nla_nest(S)), "ok")
    h.case("detach it", D, cid, "ok")
    many = nla_nest(S, *[svc_nest(chain, 1 << 40, 0)] * 1000)
    h.case("services: 1000 bad ones", A, att(many), "err")
    over = [nla_nest(S, *[svc_nest(chain, 1 << 40, 0)] * 1200)
            for _ in range(NFTJ_MAX_SERVICES // 1200 + 1)]
    h.case("services: more than NFTJ_MAX_SERVICES", A, att(b"".join(over)),
           "E2BIG")
    # commands, versions, flags
    h.case("command 0", 0, cid, "err")
    h.case("command 4", 4, cid, "err")
    h.case("command 255", 255, cid, "err")
    h.case("attach as a dump", A, att(), "err", flags=NLM_F_DUMP)
    h.case("detach as a dump", D, cid, "err", flags=NLM_F_DUMP)
    h.case("get version 0", G, b"", "any", version=0)
    h.case("dump with garbage attributes", G, nla_u32(200, 1) + b"\xff" * 3,
           "any", flags=NLM_F_DUMP)
    h.case("detach of nothing attached", D, cid, "ENOENT")
    h.case("get of nothing attached", G, cid, "ENOENT")
    # the good request still works after all that, and can be undone
    h.case("attach (good)", A, att(), "ok")
    h.case("get (good)", G, cid, "ok")
    h.case("dump (good)", G, b"", "ok", flags=NLM_F_DUMP)
    h.case("detach (good)", D, cid, "ok")
    # random attributes, bounded, reproducible
    rnd = random.Random(1)
    for i in range(600):
        attrs = b""
        for _ in range(rnd.randrange(0, 8)):
            t = rnd.choice([1, 2, 3, 4, 5, 6, 7, 16, 17, rnd.randrange(
                0, 1 << 16)])
            ln = rnd.choice([0, 1, 2, 4, 8, 16, rnd.randrange(0, 300)])
            if t in (2, 3) and rnd.random() < 0.5:
                body = rnd.choice([table, chain, nonbase]).encode() + b"\0"
            elif t == 5 and rnd.random() < 0.5:
                body = struct.pack("=I", rnd.choice(
                    list(fds.values()) + [good_fd]) & 0xffffffff)
            elif t == 6 and rnd.random() < 0.7:
                body = b"".join(svc_nest(rnd.choice([chain, nonbase, "x"]),
                                         rnd.randrange(0, 8),
                                         rnd.randrange(0, 4))
                                for _ in range(rnd.randrange(0, 4)))
            else:
                body = bytes(rnd.randrange(256) for _ in range(ln))
            attrs += nla(t, body)
        if rnd.random() < 0.1:
            attrs = attrs[:rnd.randrange(0, len(attrs) + 1)]
        h.case("random %d" % i, rnd.choice([A, D, G]), attrs, "any",
               flags=NLM_F_DUMP if rnd.random() < 0.1 else 0, quiet=True)
    # whatever random attached, undo it
    try:
        h.g.cmd(D, cid)
    except NlError:
        pass
    print("answers: " + ", ".join("%s %d" % kv for kv in
                                  sorted(h.answers.items())))
    print("%d cases, %d unexpected" % (h.n, h.unexpected))
    return 1 if h.unexpected else 0


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    cmds = {"attach": cmd_attach, "owner": cmd_owner,
            "hostile": cmd_hostile, "userns": cmd_userns,
            "dump-race": cmd_dump_race, "attach-many": cmd_attach_many}
    if argv[1] == "genid":
        print(nft_genid())
        return 0
    try:
        return cmds[argv[1]](argv[2:])
    except (OSError, NlError) as e:
        print("nftj_nl.py %s: %s" % (argv[1], e), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
