#!/usr/bin/env python3
"""Locked instructions per request, from a callgrind dump made with --dump-instr=yes.

A locked read-modify-write (`lock add`, `lock cmpxchg`, `xchg` with memory) costs about
6 ns on these machines even without contention, and it drains the store buffer; callgrind
counts it as one instruction like any other. This script finds, for every object file in
the dump, the addresses objdump shows with a `lock` prefix (or an `xchg` with a memory
operand), adds up how often callgrind saw each executed, and prints the total per request
and the functions they sit in.

In a build that inlines much (the profile-guided release build), most of them land in a few
large functions; with `LOCKED_LINES=1` it also prints the busiest locked instructions one by one,
each with its source line and the chain of inlined calls it came from (addr2line over the
binary's line tables), innermost first.

    python3 bench/locked-ops.py DUMP REQUESTS [TOP]

`bench/instructions.sh` runs it with `LOCKED=1` (and passes `LOCKED_LINES`).
"""

import collections
import os
import re
import subprocess
import sys

POSITION = re.compile(r"^(0x[0-9a-f]+|[+-]\d+|[+-]0x[0-9a-f]+|\*)\s")
NAMED = re.compile(r"\((\d+)\)(?: (.*))?")


def named(table, text):
    """A compressed name: `(id) name` defines it, `(id)` refers to it."""
    m = NAMED.match(text.strip())
    if not m:
        return text.strip()
    if m.group(2):
        table[m.group(1)] = m.group(2)
    return table.get(m.group(1), "?")


def executions(path):
    """{(object, address): executions} and {(object, address): function} of a dump."""
    objects, functions = {}, {}
    obj = fn = None
    addr = 0
    skip_next = False
    counts = collections.Counter()
    where = {}
    with open(path) as f:
        for line in f:
            if line.startswith("ob="):
                obj = named(objects, line[3:])
            elif line.startswith("fn="):
                fn = named(functions, line[3:])
            elif line.startswith("cob="):
                named(objects, line[4:])
            elif line.startswith("cfn="):
                named(functions, line[4:])
            elif line.startswith("calls="):
                # The next cost line is the call's inclusive cost, not its own.
                skip_next = True
            elif POSITION.match(line):
                parts = line.split()
                p = parts[0]
                if p.startswith("0x"):
                    addr = int(p, 16)
                elif p[0] in "+-":
                    step = int(p[1:], 16) if p[1:].startswith("0x") else int(p[1:])
                    addr += step if p[0] == "+" else -step
                if skip_next:
                    skip_next = False
                    continue
                if len(parts) >= 3:
                    counts[(obj, addr)] += int(parts[2])
                    where[(obj, addr)] = fn
    return counts, where


def locked_addresses(obj):
    """Addresses of the locked instructions of an object file."""
    out = subprocess.run(
        ["objdump", "-d", "--no-show-raw-insn", obj], capture_output=True, text=True
    ).stdout
    found = set()
    for line in out.splitlines():
        m = re.match(r"\s*([0-9a-f]+):\s+(\S+)(.*)", line)
        if not m:
            continue
        op, rest = m.group(2), m.group(3)
        if op == "lock" or (op.startswith("xchg") and "(" in rest):
            found.add(int(m.group(1), 16))
    return found


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    dump, requests = sys.argv[1], int(sys.argv[2])
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 15
    counts, where = executions(dump)
    total = 0
    by_function = collections.Counter()
    by_address = collections.Counter()
    for obj in sorted({o for o, _ in counts if o and o.startswith("/")}):
        locked = locked_addresses(obj)
        for (o, a), n in counts.items():
            if o == obj and a in locked:
                total += n
                by_function[where[(o, a)]] += n
                by_address[(o, a)] += n
    print(f"locked:        {total / requests:.1f} per request")
    for fn, n in by_function.most_common(top):
        print(f"  {n / requests:6.2f}  {fn[:140]}")
    if os.environ.get("LOCKED_LINES") == "1":
        print("busiest locked instructions, innermost source line first:")
        for (obj, addr), n in by_address.most_common(top * 2):
            chain = inline_chain(obj, addr)
            print(f"  {n / requests:6.2f}  {os.path.basename(obj)}+{addr:#x}")
            for fn, line in chain[:6]:
                print(f"            {line}  {fn[:100]}")


def inline_chain(obj, addr):
    """[(function, file:line)] from the instruction's line outwards through its inliners."""
    out = subprocess.run(
        ["addr2line", "-i", "-f", "-C", "-e", obj, hex(addr)], capture_output=True, text=True
    ).stdout.splitlines()
    pairs = []
    for fn, line in zip(out[0::2], out[1::2]):
        for prefix in ("/rustc/", os.path.expanduser("~/.cargo/registry/src/")):
            if prefix in line:
                line = line.split(prefix, 1)[1].split("/", 1)[-1]
        pairs.append((fn, line.split(" (discriminator")[0]))
    return pairs


if __name__ == "__main__":
    main()
