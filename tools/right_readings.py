#!/usr/bin/env python3
"""How a build of opsbot answers requests it should understand, and requests
no dialog serves, measured through any `opsbot` binary's shell (so an older
build can be compared with `opsbot evaluate`'s own reports).

    tools/right_readings.py BIN PROJECT [--encoder DIR] [--evaluate]

The project's sources are copied to a temporary folder and trained with BIN.
Each "message<TAB>intent" line of PROJECT/tests/right_readings.txt and each
line of PROJECT/tests/near_misses.txt is then said once, in a fresh state
folder, and the bot's first reply is sorted: refused for its request word
("Sorry, I cannot “…”"), not understood, refused as a question or a negation,
asked about ("Did you mean …", "Do you mean …", "… Is that what you meant?"),
or started (anything else: a
question for a value, a confirmation, an answer, an access refusal). Nothing
is confirmed, so nothing runs. With --evaluate, `BIN evaluate --folds 2` is
run on the trained copy instead, and its near-miss and right-reading reports
printed (a build that has them).
"""
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def kind(reply: str) -> str:
    if reply.startswith("Sorry, I cannot “"):
        return "refused: request word"
    if reply.startswith("Sorry, I did not understand"):
        return "refused: not understood"
    if "reads as a question" in reply or "read it as a question" in reply:
        return "refused: question"
    if reply.startswith("Your message says"):
        return "refused: negation"
    if (reply.startswith("Did you mean") or "Do you mean" in reply
            or "Is that what you meant?" in reply):
        return "asked"
    return "started"


def copy_project(project: Path, into: Path, encoder: Path) -> None:
    for folder in ["intents", "dialogs", "actions", "data"]:
        if (project / folder).is_dir():
            shutil.copytree(project / folder, into / folder,
                            ignore=shutil.ignore_patterns("state"))
    shutil.copy(project / "opsbot.yaml", into / "opsbot.yaml")
    (into / "models").mkdir()
    (into / "models" / "all-MiniLM-L6-v2").symlink_to(encoder)
    cache = REPO / "models" / "embedding-cache.bin"
    if cache.exists():
        shutil.copy(cache, into / "models" / "embedding-cache.bin")


def lines(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [l for l in path.read_text().splitlines() if l.strip() and not l.startswith("#")]


def main() -> int:
    args = sys.argv[1:]
    encoder = REPO / "models" / "all-MiniLM-L6-v2"
    if "--encoder" in args:
        at = args.index("--encoder")
        encoder = Path(args[at + 1]).resolve()
        del args[at : at + 2]
    evaluate = "--evaluate" in args
    args = [a for a in args if a != "--evaluate"]
    binary, project = str(Path(args[0]).resolve()), Path(args[1]).resolve()
    right = [l.split("\t", 1)[0] for l in lines(project / "tests" / "right_readings.txt") if "\t" in l]
    near = lines(project / "tests" / "near_misses.txt")
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        copy_project(project, work, encoder)
        trained = subprocess.run([binary, "--project", str(work), "train"],
                                 capture_output=True, text=True)
        if trained.returncode != 0:
            print(trained.stderr, file=sys.stderr)
            return 1
        if evaluate:
            tests = project / "tests"
            if tests.is_dir():
                shutil.copytree(tests, work / "tests")
            out = subprocess.run([binary, "--project", str(work), "evaluate", "--folds", "2"],
                                 capture_output=True, text=True)
            text = out.stdout
            at = text.find("\nNear misses")
            print(f"== {project.name}")
            print(text[at:] if at >= 0 else text, out.stderr[-2000:] if out.returncode else "")
            return out.returncode
        for title, messages in [("right readings", right), ("near misses", near)]:
            counts: Counter = Counter()
            shown = []
            for message in messages:
                with tempfile.TemporaryDirectory() as state:
                    out = subprocess.run(
                        [binary, "--project", str(work), "--state", state, "shell"],
                        input=message + "\n", capture_output=True, text=True, timeout=300,
                    ).stdout.strip()
                first = out.splitlines()[0] if out else ""
                counts[kind(first)] += 1
                shown.append((kind(first), message, first[:110]))
            print(f"{project.name} {title}: {len(messages)}: " +
                  ", ".join(f"{k} {n}" for k, n in sorted(counts.items())))
            for k, message, first in shown:
                if (title == "right readings") == (k != "started"):
                    print(f"    {k}: “{message}” → {first}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
