#!/usr/bin/env python3
"""Function lengths of C files written in kernel style (the opening brace of a
function on a line of its own, in column 0; its closing brace in column 0).

    scripts/fnsize.py [--max N] [--top K] FILE...

Prints the K longest functions. With --max, a function longer than N lines
fails the run unless the comment block right above it holds "long-function:"
and a reason; the closing line is "fnsize: N passed, N failed".
"""
import argparse
import re
import sys

NAME = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(")


def functions(path):
    lines = open(path, encoding="utf-8", errors="replace").read().split("\n")
    out = []
    i = 0
    while i < len(lines):
        if lines[i] == "{":
            # The head: back to the line that starts the declaration.
            j = i - 1
            while j > 0 and lines[j - 1].strip() and not lines[j - 1].rstrip().endswith((";", "}", "*/")) \
                    and not lines[j - 1].startswith(("#", "/*", " *", "//")):
                j -= 1
            head = " ".join(l.strip() for l in lines[j:i])
            m = NAME.search(head.split("(")[0] + "(") if "(" in head else None
            k = i + 1
            while k < len(lines) and lines[k] != "}" and not lines[k].startswith("};"):
                k += 1
            if m and not head.startswith(("struct", "enum", "union", "static const", "const")) \
                    or (m and "(" in head and head.startswith("static const") is False):
                # Comment block above the head, for the long-function marker.
                c = j - 1
                comment = []
                while c >= 0 and (lines[c].startswith(("/*", " *", "//")) or lines[c].endswith("*/")):
                    comment.insert(0, lines[c])
                    c -= 1
                name = NAME.findall(head.split("(")[0] + "(")
                out.append((path, j + 1, name[-1] if name else "?", k - i - 1,
                            "long-function:" in "\n".join(comment)))
            i = k
        i += 1
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--max", type=int)
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    fns = [f for p in a.files for f in functions(p)]
    fns.sort(key=lambda f: -f[3])
    for path, line, name, n, marked in fns[:a.top]:
        print(f"{n:5d}  {path}:{line}  {name}{'  (long-function: explained)' if marked else ''}")
    if a.max is None:
        return 0
    bad = [f for f in fns if f[3] > a.max and not f[4]]
    for path, line, name, n, _ in bad:
        print(f"fnsize: {path}:{line}: {name} is {n} lines (over {a.max}) with no "
              f"'long-function:' reason above it")
    print(f"fnsize: {len(fns) - len(bad)} passed, {len(bad)} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
