#!/usr/bin/env python3
"""Writes an "hourly" Profiles Sync export that touches about 1% of the profiles of a base export.

For 1% of the base export's profiles (deterministic): one or two new anonymous_ids, sometimes a new email, and for
a tenth of them a merge into another touched profile. The first 5,000 mapping rows of the base export are repeated,
as overlapping hourly unloads do, so the ingest also has duplicates to skip.

usage: make_hourly_export.py BASE_EXPORT_DIR OUT_DIR [PERCENT]
"""
import csv
import os
import random
import sys
import uuid

base, out = sys.argv[1], sys.argv[2]
percent = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
rng = random.Random(20261125)
os.makedirs(out, exist_ok=True)

created, merged = [], set()
with open(os.path.join(base, "id_graph_updates.csv"), newline="") as f:
    reader = csv.DictReader(f)
    for row in reader:
        if row["SEGMENT_ID"] == row["CANONICAL_SEGMENT_ID"]:
            created.append(row["SEGMENT_ID"])
        else:
            merged.add(row["SEGMENT_ID"])
# Profiles that are their own canonical id (merging one into another then can never make a cycle).
roots = sorted(set(created) - merged)
touched = rng.sample(roots, max(1, int(len(roots) * percent / 100)))

seq = 1_800_000_000_000_000_0  # after every SEQ of the sample
def stamp(i):
    return f"2026-11-02 {i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}.000000"

with open(os.path.join(out, "id_graph_updates.csv"), "w", newline="") as g:
    gw = csv.writer(g, lineterminator="\n")
    gw.writerow(["SEGMENT_ID", "CANONICAL_SEGMENT_ID", "TIMESTAMP", "SEQ"])
    with open(os.path.join(out, "external_id_mapping_updates.csv"), "w", newline="") as m:
        mw = csv.writer(m, lineterminator="\n")
        mw.writerow(["ID", "SEGMENT_ID", "EXTERNAL_ID_TYPE", "EXTERNAL_ID_VALUE", "TIMESTAMP", "RECEIVED_AT", "SEQ",
                     "__OPERATION"])
        with open(os.path.join(base, "external_id_mapping_updates.csv"), newline="") as f:
            reader = csv.DictReader(f)
            for i, row in enumerate(reader):
                if i == 5000:
                    break
                mw.writerow([row["ID"], row["SEGMENT_ID"], row["EXTERNAL_ID_TYPE"], row["EXTERNAL_ID_VALUE"],
                             row["TIMESTAMP"], row["RECEIVED_AT"], row["SEQ"], row["__OPERATION"]])
        for i, segment in enumerate(touched):
            for _ in range(rng.choice([1, 1, 2])):
                seq += 1
                mw.writerow([str(uuid.UUID(int=rng.getrandbits(128))), segment, "anonymous_id",
                             str(uuid.UUID(int=rng.getrandbits(128))), stamp(i), stamp(i), seq, "CREATED"])
            if rng.random() < 0.3:
                seq += 1
                mw.writerow([str(uuid.UUID(int=rng.getrandbits(128))), segment, "email",
                             f"hourly{i}@example.com", stamp(i), stamp(i), seq, "CREATED"])
            if i % 10 == 1:
                seq += 1
                gw.writerow([segment, touched[i - 1], stamp(i), seq])
print(f"touched {len(touched)} profiles of {len(roots)}")
