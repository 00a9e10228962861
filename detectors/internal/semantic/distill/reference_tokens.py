"""Reference token IDs for the Go tokenizer's test, from Hugging Face's
`tokenizers` with the encoder's own tokenizer.json (build/test-data time only).

    python reference_tokens.py TOKENIZER_JSON < texts.txt > reference.jsonl
"""
import json
import sys

from tokenizers import Tokenizer

tok = Tokenizer.from_file(sys.argv[1])
tok.no_padding()
tok.no_truncation()
for line in sys.stdin:
    text = json.loads(line)
    ids = tok.encode(text, add_special_tokens=False).ids
    print(json.dumps({"text": text, "ids": ids}, ensure_ascii=False))
