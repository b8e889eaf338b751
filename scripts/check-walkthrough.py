#!/usr/bin/env python3
"""Checks that the README's multi-master walkthrough is what the demo prints.

    python3 scripts/check-walkthrough.py DEMO_OUTPUT

The README shows one real run of scripts/demo-multi-master.sh with the JSON bodies of steps 1-4
left out. The two are compared line by line once the values that differ on every run (ids,
fingerprints, the work directory, the database name, the binary's path) are replaced by
placeholders; any other difference fails, with a diff.
"""

import difflib
import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"

VARYING = [
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<id>"),
    (re.compile(r"fingerprint [0-9a-f]{16}"), "fingerprint <fingerprint>"),
    (re.compile(r"/\S*/tacker-vim-demo\.[A-Za-z0-9]+"), "<work dir>"),
    (re.compile(r"tacker_demo_[0-9a-f]+"), "<database>"),
    (re.compile(r"\S*/target/debug/tacker-vim\b"), "<binary>"),
]

# The steps whose request and response bodies the README leaves out.
STEPS_WITHOUT_BODIES = range(1, 5)


def normalize(line: str) -> str:
    for pattern, placeholder in VARYING:
        line = pattern.sub(placeholder, line)
    return line.rstrip()


def walkthrough() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("### Walkthrough without Docker", 1)[1]
    block = section.split("```console\n", 1)[1].split("```", 1)[0]
    lines = block.splitlines()
    if not lines or not lines[0].startswith("$ bash scripts/demo-multi-master.sh"):
        sys.exit("check-walkthrough: the README's walkthrough no longer starts with the demo command")
    return [normalize(line) for line in lines[1:]]


def demo(path: str) -> list[str]:
    kept, step, in_body = [], 0, False
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        heading = re.match(r"### (\d+)\. ", line)
        if heading:
            step = int(heading.group(1))
        # Bodies are printed indented, so only their outer braces start a line.
        if in_body:
            in_body = line != "}"
            continue
        if line == "{" and step in STEPS_WITHOUT_BODIES:
            in_body = True
            continue
        kept.append(normalize(line))
    return kept


def main() -> int:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    expected, actual = walkthrough(), demo(sys.argv[1])
    if expected == actual:
        print(f"walkthrough matches the demo ({len(actual)} lines)")
        return 0
    sys.stdout.writelines(
        difflib.unified_diff(
            [line + "\n" for line in expected],
            [line + "\n" for line in actual],
            "README.md walkthrough",
            "demo output",
        )
    )
    print("check-walkthrough: the README's walkthrough differs from what the demo prints")
    return 1


if __name__ == "__main__":
    sys.exit(main())
