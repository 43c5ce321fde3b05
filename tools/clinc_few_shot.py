#!/usr/bin/env python3
"""Writes an opsbot project of CLINC150 few-shot data, for `opsbot train` and
`opsbot evaluate --test` (the figures of the "did you mean to …?" question in
the stop notes of issue 26).

    python3 tools/clinc_few_shot.py ../shared/data/clinc150 /tmp/clinc10 \
        --per-intent 10 --out-of-scope 50 --seed 1
    target/debug/opsbot --project /tmp/clinc10 train
    target/debug/opsbot --project /tmp/clinc10 evaluate --test /tmp/clinc10/test.tsv

The project: `per-intent` queries of each intent drawn from `train`, and
`out-of-scope` sentences from `oos_train` as out_of_scope examples; the test
file: `test` and `oos_test` (labelled out_of_scope). The encoder is linked
from this repository's models/.
"""

import argparse
import json
import os
import random

parser = argparse.ArgumentParser()
parser.add_argument("data", help="the clinc150 folder (data_full.json)")
parser.add_argument("out", help="the project folder to write")
parser.add_argument("--per-intent", type=int, default=10)
parser.add_argument("--out-of-scope", type=int, default=50)
parser.add_argument("--seed", type=int, default=1)
args = parser.parse_args()

data = json.load(open(os.path.join(args.data, "data_full.json")))
random.seed(args.seed)
by_intent = {}
for text, label in data["train"]:
    by_intent.setdefault(label, []).append(text)
os.makedirs(os.path.join(args.out, "intents"), exist_ok=True)
os.makedirs(os.path.join(args.out, "models"), exist_ok=True)
with open(os.path.join(args.out, "intents", "data.yaml"), "w") as f:
    f.write("intents:\n")
    for label in sorted(by_intent):
        f.write(f"  {label}:\n    examples:\n")
        for text in random.sample(by_intent[label], args.per_intent):
            f.write("      - " + json.dumps(text) + "\n")
    out_of_scope = random.sample([t for t, _ in data["oos_train"]], args.out_of_scope)
    f.write("out_of_scope:\n")
    for text in out_of_scope:
        f.write("  - " + json.dumps(text) + "\n")
with open(os.path.join(args.out, "test.tsv"), "w") as f:
    f.write("text\tintent\n")
    for text, label in data["test"]:
        f.write(f"{text}\t{label}\n")
    for text, _ in data["oos_test"]:
        f.write(f"{text}\tout_of_scope\n")
with open(os.path.join(args.out, "opsbot.yaml"), "w") as f:
    f.write("name: clinc\nnlu_only: true\n")
encoder = os.path.join(args.out, "models", "all-MiniLM-L6-v2")
if not os.path.lexists(encoder):
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    os.symlink(os.path.join(repo, "models", "all-MiniLM-L6-v2"), encoder)
print(f"wrote {args.out}: {len(by_intent)} intents x {args.per_intent}, "
      f"{args.out_of_scope} out of scope; test.tsv {len(data['test']) + len(data['oos_test'])} lines")
