"""Ordinary words, from how they are written (build time only).

A word that texts mostly write in lower case inside a sentence ("as",
"date", "federal") is an ordinary word, even when a gazetteer has it as a
place or a name; a name is written with a capital. Counts every word of
the texts of ../shared/data/content-dev.jsonl (not prompts-dev.jsonl, on
whose benign rows the false entities are measured): how often it is
written all lower case, and how often capitalized other than as a
sentence's first word. A word written in lower case at least 5 times and
in at least half of its mid-sentence uses is kept.

    python common.py CONTENT_DEV.jsonl OUT.txt.gz
"""
import gzip
import json
import re
import sys
from collections import Counter

WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")


def main():
    src, out = sys.argv[1:3]
    low, cap = Counter(), Counter()
    for line in open(src, encoding="utf-8"):
        text = json.loads(line)["text"]
        for sent in re.split(r"(?<=[.!?:\n])\s+", text):
            for k, m in enumerate(WORD.finditer(sent)):
                w = m.group(0)
                if w.islower():
                    low[w] += 1
                elif k > 0 and w[0].isupper() and not w.isupper():
                    cap[w.lower()] += 1
    keep = sorted(w for w, n in low.items() if n >= 5 and n >= cap[w])
    with open(out, "wb") as f:
        with gzip.GzipFile(fileobj=f, mode="wb", compresslevel=9, mtime=0, filename="") as g:
            g.write("".join(w + "\n" for w in keep).encode("utf-8"))
    print("common: %d words" % len(keep), file=sys.stderr)


if __name__ == "__main__":
    main()
