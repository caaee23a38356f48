"""A synthetic plan.csv of N lines for the apply benchmark: 4 anonymous_id lines per profile, unique values, one
stamp (generated now, so that approve and apply accept it). usage: big_plan.py OUT N"""
import random
import sys
import uuid
from datetime import datetime, timezone

out, n = sys.argv[1], int(sys.argv[2])
random.seed(1)
stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ") + "," + "0" * 64
with open(out, "w") as f:
    f.write("segment_id,type,value,reason,rank,lookup_user_id,remediable,first_seen,seq,limit,frequency,matched,"
            "generated_at,rules_sha256\n")
    for i in range(n):
        p = i // 4
        f.write(f"use_{p:027d},anonymous_id,{uuid.UUID(int=random.getrandbits(128))},limit,{i % 4 + 1},lookup-{p},"
                f"true,2023-12-27T06:16:30.184177Z,{17036577901841770 + i},5,weekly,,{stamp}\n")
