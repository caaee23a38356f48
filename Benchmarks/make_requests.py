#!/usr/bin/env python3
"""Writes a deletion request file for the request-plan benchmark: N lines taken from a sample export's mapping rows
(every k-th row, so some identifiers are removed or repeated), a few pinned to their segment id, and 2% values
that exist nowhere (not_found).

usage: make_requests.py EXPORT_DIR OUT_CSV N
"""
import csv
import random
import sys

export, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = random.Random(7)
with open(export + "/external_id_mapping_updates.csv", newline="") as f:
    total = sum(1 for _ in f) - 1
step = max(1, total // n)
written = 0
with open(export + "/external_id_mapping_updates.csv", newline="") as f, open(out, "w", newline="") as o:
    w = csv.writer(o, lineterminator="\n")
    w.writerow(["type", "value", "segment_id", "note"])
    for i, row in enumerate(csv.DictReader(f)):
        if written >= n:
            break
        if i % step:
            continue
        r = rng.random()
        if r < 0.02:
            w.writerow(["email", f"nobody{i}@example.com", "", "typo"])
        elif r < 0.05:
            w.writerow([row["EXTERNAL_ID_TYPE"], row["EXTERNAL_ID_VALUE"], row["SEGMENT_ID"], "pinned"])
        else:
            w.writerow([row["EXTERNAL_ID_TYPE"], row["EXTERNAL_ID_VALUE"], "", ""])
        written += 1
print(f"wrote {written} request lines")
