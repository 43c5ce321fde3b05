#!/usr/bin/env python3
"""How many confirmations name a message's extra part, measured through any
`opsbot` binary's shell (so an older build can be compared with `opsbot
evaluate`'s own extra-parts report).

    tools/accounted_for.py BIN PROJECT [EXTRA_PARTS_FILE] [--encoder DIR]

Each "message<TAB>extra part" line (default: PROJECT/tests/extra_parts.txt) is
said once, in a fresh state folder, by each member of the project's groups in
turn until one gets a confirmation ("Shall I go ahead"); it counts as
accounted for when that confirmation names the extra part. Nothing is
confirmed, so nothing runs.
"""
import subprocess
import sys
import tempfile
from pathlib import Path


def people(project: Path) -> list[str]:
    import re

    text = (project / "opsbot.yaml").read_text()
    groups = re.search(r"^groups:\n((?:[ \t]+.*\n)+)", text, re.M)
    found: list[str] = []
    if groups:
        for line in groups.group(1).splitlines():
            if ":" in line and "[" in line:
                members = line.split("[", 1)[1].split("]", 1)[0]
                for m in members.split(","):
                    m = m.strip().strip("'\"")
                    if m and m not in found:
                        found.append(m)
    return sorted(found) + ["evaluator"]


def main() -> int:
    args = sys.argv[1:]
    encoder = []
    if "--encoder" in args:
        at = args.index("--encoder")
        encoder = ["--encoder", args[at + 1]]
        del args[at : at + 2]
    binary, project = args[0], Path(args[1])
    parts_file = Path(args[2]) if len(args) > 2 else project / "tests" / "extra_parts.txt"
    lines = [
        l.split("\t", 1)
        for l in parts_file.read_text().splitlines()
        if l.strip() and not l.startswith("#") and "\t" in l
    ]
    users = people(project)
    confirmed = accounted = 0
    missed = []
    for message, part in lines:
        for user in users:
            with tempfile.TemporaryDirectory() as state:
                out = subprocess.run(
                    [binary, "--project", str(project), "--state", state, *encoder,
                     "shell", "--user", user],
                    input=message + "\n",
                    capture_output=True,
                    text=True,
                    timeout=300,
                ).stdout
            if "Shall I go ahead" in out:
                confirmed += 1
                if part.strip() in out:
                    accounted += 1
                else:
                    missed.append((message, out.strip().splitlines()[-1] if out.strip() else ""))
                break
    print(
        f"{parts_file}: {accounted} of {confirmed} confirmations named the extra part "
        f"({confirmed} of {len(lines)} messages reached a confirmation)"
    )
    for message, said in missed:
        print(f"  not named: {message!r} -> {said}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
