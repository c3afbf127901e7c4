# tests/bench/fwd_traffic.sh: empties canary-bpf's connection tracking (cb_ct,
# cb_rev) before each of its runs, as conntrack is flushed before each
# netfilter run: every case starts from an empty table.
# BPF_MAP_LOOKUP_AND_DELETE_BATCH over the pinned maps; prints the entries
# removed.
#
#   python3 fwd_mapclear.py PIN_PATH...
import ctypes, errno, os, sys
libc = ctypes.CDLL(None, use_errno=True)
NR_BPF = 321   # x86_64
BPF_OBJ_GET, BPF_OBJ_GET_INFO_BY_FD, BPF_LOOKUP_AND_DELETE_BATCH = 7, 15, 25

def bpf(cmd, attr):
    r = libc.syscall(NR_BPF, cmd, ctypes.byref(attr), ctypes.sizeof(attr))
    return r, ctypes.get_errno()

class ObjGet(ctypes.Structure):
    _fields_ = [("pathname", ctypes.c_uint64), ("bpf_fd", ctypes.c_uint32), ("file_flags", ctypes.c_uint32)]
class InfoAttr(ctypes.Structure):
    _fields_ = [("bpf_fd", ctypes.c_uint32), ("info_len", ctypes.c_uint32), ("info", ctypes.c_uint64)]
class MapInfo(ctypes.Structure):
    _fields_ = [("type", ctypes.c_uint32), ("id", ctypes.c_uint32), ("key_size", ctypes.c_uint32),
                ("value_size", ctypes.c_uint32), ("max_entries", ctypes.c_uint32), ("map_flags", ctypes.c_uint32)]
class Batch(ctypes.Structure):
    _fields_ = [("in_batch", ctypes.c_uint64), ("out_batch", ctypes.c_uint64), ("keys", ctypes.c_uint64),
                ("values", ctypes.c_uint64), ("count", ctypes.c_uint32), ("map_fd", ctypes.c_uint32),
                ("elem_flags", ctypes.c_uint64), ("flags", ctypes.c_uint64)]

total = 0
for path in sys.argv[1:]:
    p = ctypes.create_string_buffer(path.encode())
    fd, e = bpf(BPF_OBJ_GET, ObjGet(pathname=ctypes.addressof(p)))
    if fd < 0:
        sys.exit(f"{path}: {os.strerror(e)}")
    info = MapInfo()
    r, e = bpf(BPF_OBJ_GET_INFO_BY_FD, InfoAttr(bpf_fd=fd, info_len=ctypes.sizeof(info), info=ctypes.addressof(info)))
    if r < 0:
        sys.exit(f"{path}: info: {os.strerror(e)}")
    n = 4096
    keys = ctypes.create_string_buffer(info.key_size * n)
    vals = ctypes.create_string_buffer(info.value_size * n)
    tok_in, tok_out = ctypes.c_uint64(0), ctypes.c_uint64(0)
    first = True
    while True:
        a = Batch(in_batch=0 if first else ctypes.addressof(tok_in), out_batch=ctypes.addressof(tok_out),
                  keys=ctypes.addressof(keys), values=ctypes.addressof(vals), count=n, map_fd=fd)
        r, e = bpf(BPF_LOOKUP_AND_DELETE_BATCH, a)
        total += a.count
        if r < 0 and e == errno.ENOENT:
            break
        if r < 0:
            sys.exit(f"{path}: batch delete: {os.strerror(e)}")
        tok_in.value, first = tok_out.value, False
    os.close(fd)
print(total)
