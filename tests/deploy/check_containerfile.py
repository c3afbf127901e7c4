#!/usr/bin/env python3
"""Checks of deploy/Containerfile against the build and the built binary.

    check_containerfile.py CONTAINERFILE INSTALL_DEPS_SH BINARY

The runtime stage must install, by Debian package, every shared library the
binary loads: the ones it links directly by name, the others at least as a
dependency apt pulls in. And nothing else: each package it installs must
provide a library the binary loads. BINARY missing or older than the sources:
the library checks are skipped (SKIP), the others still run.
"""
import glob
import json
import os
import re
import shlex
import subprocess
import sys

DEBIAN = re.compile(r"^(docker\.io/)?(library/)?debian:(bookworm|12)(-slim)?(@sha256:[0-9a-f]{64})?$")
# In debian:bookworm-slim already (libc6 is the C library itself).
BASE = {"libc6", "libgcc-s1"}
# install-deps.sh packages the image build does not need: the tests' tools.
TEST_ONLY = {"libcmocka-dev", "iproute2", "util-linux", "ethtool", "nginx-light", "python3",
             "python3-yaml", "curl", "prometheus",
             # make bench only
             "netsniff-ng", "nftables", "iptables", "gnuplot-nox",
             # make vmtest only
             "qemu-system-x86", "busybox-static", "cpio", "kmod", "xz-utils", "zstd",
             # libFuzzer targets, make check-asan
             "libclang-rt-14-dev", "valgrind"}
results = []


def check(name, why_not, skip=False):
    results.append((name, why_not, skip))
    if skip:
        print("SKIP %s: %s" % (name, why_not))
    else:
        print(("FAIL %s: %s" % (name, why_not)) if why_not else ("PASS %s" % name))


def instructions(path):
    """[(INSTRUCTION, arguments)] with continuation lines joined, comments dropped."""
    out, cur = [], ""
    with open(path) as f:
        for line in f:
            if re.match(r"\s*#", line):
                continue                        # also inside a continued instruction
            cur += line.rstrip("\n")
            if cur.endswith("\\"):
                cur = cur[:-1] + " "
                continue
            if cur.strip():
                word, _, rest = cur.strip().partition(" ")
                out.append((word.upper(), rest.strip()))
            cur = ""
    return out


def stages(instrs):
    """[{'image', 'name', 'instrs'}]"""
    out = []
    for word, rest in instrs:
        if word == "FROM":
            parts = [p for p in rest.split() if not p.startswith("--")]
            name = parts[2] if len(parts) >= 3 and parts[1].lower() == "as" else None
            out.append({"image": parts[0], "name": name, "instrs": []})
        elif out:
            out[-1]["instrs"].append((word, rest))
    return out


def apt_installs(stage):
    """(packages, whether every install had --no-install-recommends)"""
    pkgs, norec, seen = [], True, False
    for word, rest in stage["instrs"]:
        if word != "RUN":
            continue
        for seg in re.split(r"&&|;|\|\|?", rest):
            try:
                toks = shlex.split(seg)
            except ValueError:
                toks = seg.split()
            for k in range(len(toks) - 1):
                if toks[k] in ("apt-get", "apt") and "install" in toks[k + 1:]:
                    args = toks[toks.index("install", k) + 1:]
                    seen = True
                    norec &= "--no-install-recommends" in args
                    pkgs += [a.split("=")[0] for a in args if not a.startswith("-")]
                    break
    return pkgs, norec and seen


def install_deps_pkgs(path):
    with open(path) as f:
        m = re.search(r"PKGS=\((.*?)\)", f.read(), re.S)
    return m.group(1).split() if m else []


def run(*cmd):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as e:
        return 127, str(e)
    return p.returncode, p.stdout


def owner(path):
    """The Debian package that installed path (merged /usr: either spelling)."""
    cands = [path, os.path.realpath(path)]
    for c in list(cands):
        cands.append(c[4:] if c.startswith("/usr/") else "/usr" + c)
    for c in cands:
        rc, out = run("dpkg", "-S", c)
        if rc == 0 and out:
            return out.split(":")[0].split(",")[0].strip()
    return None


def depends_closure(pkgs):
    """pkgs and everything they depend on, as recorded by the local dpkg database."""
    todo, seen = list(pkgs), set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        rc, out = run("dpkg-query", "-W", "-f=${Depends}, ${Pre-Depends}", p)
        if rc != 0:
            continue
        for alt in re.split(r"[,|]", out):
            name = re.sub(r"\(.*?\)|:\S+", "", alt).strip()
            if name and name not in seen:
                todo.append(name)
    return seen


def check_libraries(binary, runtime_pkgs, root):
    name = "runtime stage installs the binary's libraries"
    if not os.path.exists(binary):
        check(name, "%s not built (make)" % binary, skip=True)
        return
    srcs = glob.glob(os.path.join(root, "user", "*.[ch]")) + [os.path.join(root, "Makefile")]
    newer = [os.path.relpath(s, root) for s in srcs if os.path.getmtime(s) > os.path.getmtime(binary)]
    if newer:
        check(name, "%s is older than %s: run make first" % (binary, ", ".join(sorted(newer)[:3])),
              skip=True)
        return
    rc, out = run("ldd", binary)
    if rc != 0:
        check("ldd %s" % binary, "failed: %s" % out.strip())
        return
    libs = {}
    for line in out.splitlines():
        m = re.match(r"\s*(\S+)\s+=>\s+(\S+)", line) or re.match(r"\s*(/\S+)\s+\(", line)
        if m and m.lastindex == 2:
            libs[m.group(1)] = m.group(2)
        elif m:
            libs[os.path.basename(m.group(1))] = m.group(1)
    rc, dyn = run("readelf", "-d", binary)
    needed = set(re.findall(r"\(NEEDED\)\s+Shared library: \[(.*?)\]", dyn)) if rc == 0 else set(libs)
    listed = set(runtime_pkgs)
    closure = depends_closure(listed | BASE)
    used, direct, pulled, base, bad_direct, bad_pulled = set(), [], [], [], [], []
    for soname, path in sorted(libs.items()):
        pkg = owner(path) if path != "not" else None
        if not pkg:
            check("library %s comes from a Debian package" % soname,
                  "ldd: not found" if path == "not" else
                  "no package owns %s (a library built by hand?)" % path)
            continue
        pkg = pkg.split(":")[0]
        used.add(pkg)
        entry = "%s (%s)" % (soname, pkg)
        if pkg in BASE:
            base.append(entry)
        elif soname in needed:
            (direct if pkg in listed else bad_direct).append(entry)
        else:
            (pulled if pkg in closure else bad_pulled).append(entry)
    print("note: already in debian:bookworm-slim: %s" % ", ".join(base))
    check("the libraries the binary links are installed by name: %s" % ", ".join(direct),
          "add to the runtime stage's apt-get install: %s" % ", ".join(bad_direct)
          if bad_direct else None)
    check("the libraries those load come installed or as dependencies: %s" % ", ".join(pulled),
          "%s: neither installed nor a dependency of %s" % (", ".join(bad_pulled),
                                                            ", ".join(sorted(listed)))
          if bad_pulled else None)
    extra = sorted(listed - used)
    check("every runtime package provides a library the binary loads",
          "%s: no library of theirs is loaded by %s (drop them, or the binary is stale)"
          % (", ".join(extra), binary) if extra else None)


def main(containerfile, install_deps, binary):
    root = os.path.dirname(os.path.abspath(install_deps)) + "/.."
    st = stages(instructions(containerfile))
    check("Containerfile is multi-stage", None if len(st) >= 2 else "%d stage(s)" % len(st))
    if not st:
        return
    bad = [s["image"] for s in st if not DEBIAN.match(s["image"])]
    check("every stage is based on Debian bookworm",
          "not Debian bookworm: " + ", ".join(bad) if bad else None)
    rt, builds = st[-1], st[:-1]
    check("runtime stage is debian:bookworm-slim",
          None if re.search(r"debian:(bookworm|12)-slim", rt["image"]) else rt["image"])
    runs = [r for s in builds for w, r in s["instrs"] if w == "RUN"]
    check("a build stage runs make",
          None if any(re.search(r"(^|[\s;&])make(\s|$)", r) for r in runs) else "no RUN make")
    build_pkgs = {p for s in builds for p in apt_installs(s)[0]}
    want = [p for p in install_deps_pkgs(install_deps) if p not in TEST_ONLY]
    missing = [p for p in want if p not in build_pkgs]
    check("the build stage installs the build packages of scripts/install-deps.sh",
          None if want and not missing else
          "missing " + ", ".join(missing) if missing else "no package list in install-deps.sh")
    pkgs, norec = apt_installs(rt)
    check("runtime stage installs with apt-get --no-install-recommends",
          None if pkgs and norec else "packages %r, --no-install-recommends %s" % (pkgs, norec))
    copies = [r for w, r in rt["instrs"] if w == "COPY" and "--from=" in r]
    names = {s["name"] for s in builds} | {str(i) for i in range(len(builds))}
    ok = any(re.search(r"--from=(\S+)", c).group(1) in names and c.split()[-1] == "/usr/sbin/canary-bpf"
             for c in copies)
    check("runtime stage copies /usr/sbin/canary-bpf from a build stage",
          None if ok else "COPY --from lines: %r" % copies)
    ep = [r for w, r in rt["instrs"] if w == "ENTRYPOINT"]
    try:
        ep_val = json.loads(ep[-1]) if ep else None
    except ValueError:
        ep_val = ep[-1]
    check('ENTRYPOINT ["/usr/sbin/canary-bpf"]',
          None if ep_val == ["/usr/sbin/canary-bpf"] else "ENTRYPOINT is %r" % (ep_val,))
    check_libraries(binary, pkgs, root)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
    sys.exit(1 if any(w and not s for _, w, s in results) else 0)
