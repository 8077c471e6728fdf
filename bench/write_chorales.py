"""Write Bach chorales of music21's corpus as MIDI: the style from outside both data sets
that ``bench/personalise.py --chorales DIR`` fits (four-part, 4/4, in corpus order).

    pip install --target /tmp/m21 music21
    PYTHONPATH=/tmp/m21 python bench/write_chorales.py /tmp/chorales 48   # the measured set

music21 is not a dependency of pianoplay: it is imported here only.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(argv=None) -> int:
    from music21 import corpus

    args = argv or sys.argv[1:]
    out, n = Path(args[0]), int(args[1]) if len(args) > 1 else 48
    out.mkdir(parents=True, exist_ok=True)
    done = 0
    for path in sorted(corpus.getComposer("bach"), key=str):
        if done >= n:
            break
        try:
            score = corpus.parse(path)
            signatures = score.recurse().getElementsByClass("TimeSignature")
            if len(score.parts) != 4 or (signatures and signatures[0].ratioString != "4/4"):
                continue
            target = out / (Path(str(path)).stem.replace(".", "_") + ".mid")
            if target.exists():  # one chorale in two formats of the corpus
                continue
            score.write("midi", fp=str(target))
            done += 1
        except Exception as err:  # a corpus file music21 cannot write: skip it
            print(f"skipped {path}: {err}", file=sys.stderr)
    print(f"{done} chorales in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
