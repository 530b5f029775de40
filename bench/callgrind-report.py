#!/usr/bin/env python3
"""Reads a callgrind output file and prints figures per request.

    callgrind-report.py FILE REQUESTS --total           instructions per request
    callgrind-report.py FILE REQUESTS --top N           where they go: by library, then the N
                                                        functions with the most self cost
    callgrind-report.py FILE REQUESTS --callers REGEX   who calls the matching functions (calls and
                                                        inclusive instructions per request)
    callgrind-report.py FILE REQUESTS --callees REGEX   what the matching functions call
    callgrind-report.py FILE REQUESTS --inclusive REGEX inclusive instructions of the matching functions

callgrind_annotate 3.24 attributes everything to `clone` on these files, hence this reader.
"""
import collections
import re
import sys


class Profile:
    def __init__(self, path):
        self.self_cost = collections.Counter()
        self.inclusive = collections.Counter()
        self.calls = collections.Counter()  # (caller, callee) -> calls
        self.call_cost = collections.Counter()  # (caller, callee) -> inclusive Ir
        self.object_of = {}
        names, objects = {}, {}

        def name(value, table):
            m = re.match(r"\((\d+)\)(?: (.*))?", value)
            if not m:
                return value
            if m.group(2) is not None:
                table[m.group(1)] = m.group(2)
            return table.get(m.group(1), value)

        fn = callee = obj = None
        pending = None
        with open(path, errors="replace") as f:
            for line in f:
                line = line.rstrip("\n")
                if line.startswith("fn="):
                    fn = name(line[3:], names)
                    self.object_of.setdefault(fn, obj)
                elif line.startswith("ob="):
                    obj = name(line[3:], objects)
                elif line.startswith("cob="):
                    name(line[4:], objects)
                elif line.startswith("cfn="):
                    callee = name(line[4:], names)
                elif line.startswith("calls="):
                    pending = int(line[6:].split()[0])
                elif line and (line[0].isdigit() or line[0] in "+-*"):
                    parts = line.split()
                    if len(parts) < 2 or fn is None:
                        pending = None
                        continue
                    cost = int(parts[1])
                    if pending is not None:
                        self.calls[(fn, callee)] += pending
                        self.call_cost[(fn, callee)] += cost
                        if callee != fn:
                            self.inclusive[fn] += cost
                        pending = None
                    else:
                        self.self_cost[fn] += cost
                        self.inclusive[fn] += cost

    def total(self):
        return sum(self.self_cost.values())

    def library(self, fn):
        obj = self.object_of.get(fn) or ""
        if "libswiftCore" in obj or "libswift_Concurrency" in obj:
            return "Swift runtime"
        if "libc.so" in obj or "ld-linux" in obj:
            return "libc"
        if ".so" not in obj.rsplit("/", 1)[-1]:  # the executable itself
            if re.search(r"NIO|llhttp", fn):
                return "SwiftNIO"
            if "Gateway" in fn:
                return "gateway code"
            return "Swift stdlib, other packages"
        return obj.rsplit("/", 1)[-1] or "?"


def main():
    path, n, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    arg = sys.argv[4] if len(sys.argv) > 4 else None
    p = Profile(path)
    total = p.total()
    if mode == "--total":
        print(round(total / n))
    elif mode == "--top":
        top = int(arg or 25)
        by_library = collections.Counter()
        for fn, c in p.self_cost.items():
            by_library[p.library(fn)] += c
        print(f"{total / n:,.0f} instructions per request")
        for lib, c in by_library.most_common(8):
            print(f"  {c / n:9,.0f}  {100 * c / total:5.1f}%  {lib}")
        for fn, c in p.self_cost.most_common(top):
            print(f"  {c / n:9,.0f}  {100 * c / total:5.1f}%  {fn[:140]}")
    elif mode in ("--callers", "--callees"):
        pat = re.compile(arg)
        rows = collections.Counter()
        count = collections.Counter()
        for (caller, callee), c in p.call_cost.items():
            subject, other = (callee, caller) if mode == "--callers" else (caller, callee)
            if pat.search(subject or ""):
                rows[other] += c
                count[other] += p.calls[(caller, callee)]
        for fn, c in rows.most_common(30):
            print(f"  {count[fn] / n:7.1f} calls {c / n:9,.0f} Ir  {fn[:140]}")
    elif mode == "--inclusive":
        pat = re.compile(arg)
        rows = sorted(((fn, c) for fn, c in p.inclusive.items() if pat.search(fn)), key=lambda r: -r[1])
        for fn, c in rows[:40]:
            print(f"  {c / n:9,.0f} Ir  {fn[:150]}")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
