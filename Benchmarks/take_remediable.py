#!/usr/bin/env python3
"""Writes a plan.csv holding the first N remediable lines of another plan (header kept), skipping the first SKIP.

usage: take_remediable.py PLAN OUT N [SKIP]
"""
import csv
import sys

src, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
skip = int(sys.argv[4]) if len(sys.argv) > 4 else 0
with open(src, newline="") as f, open(out, "w", newline="") as g:
    r = csv.reader(f)
    w = csv.writer(g, lineterminator="\n")
    header = next(r)
    w.writerow(header)
    col = header.index("remediable")
    taken = seen = 0
    for row in r:
        if row[col] != "true":
            continue
        seen += 1
        if seen <= skip:
            continue
        w.writerow(row)
        taken += 1
        if taken == n:
            break
print(f"{out}: {taken} remediable lines")
