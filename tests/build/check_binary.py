#!/usr/bin/env python3
"""The BPF objects embedded in a binary: ELF images whose machine is BPF (247).

    check_binary.py BINARY [EXPECTED]

Prints the count and the offset of each; exits 1 unless it is EXPECTED (1).
The binary itself is an x86-64 ELF at offset 0, which is not counted.
"""
import sys

EM_BPF = 247


def bpf_objects(data):
    found, at = [], data.find(b"\x7fELF", 1)
    while at >= 0:
        # e_ident: class 2 (64-bit), data 1 (little endian); e_machine at 18.
        if data[at + 4] == 2 and data[at + 5] == 1 and \
                int.from_bytes(data[at + 18:at + 20], "little") == EM_BPF:
            found.append(at)
        at = data.find(b"\x7fELF", at + 1)
    return found


def main():
    path = sys.argv[1]
    want = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    data = open(path, "rb").read()
    objs = bpf_objects(data)
    print(f"{path}: {len(data)} bytes, {len(objs)} embedded BPF object(s) at "
          f"{', '.join(hex(o) for o in objs) or '-'}")
    return 0 if len(objs) == want else 1


if __name__ == "__main__":
    sys.exit(main())
