/*
 * The liblcm side of framebus's tests of LCM types loaded from .lcm files. Built by the tests
 * with lcm-gen's C output for test/lcm/types, and linked against liblcm.
 *
 *   types_interop hashes
 *       prints "<type> <fingerprint as 16 hex digits>" for every type
 *   types_interop publish <url> <channel> <count> <seed> <interval_ms>
 *       publishes <count> rounds of randomized messages of every type on <channel>; prints
 *       "sent <type> <hex encoding>" for each, and for features_t also
 *       "fields <i64> <i32> <rows> <cols> <n64> <hex of text>"
 *   types_interop subscribe <url> <channel> <count> <timeout_ms>
 *       prints "ready", then for each message received "got <type> <hex>" where <hex> is the
 *       message decoded by lcm-gen's code and encoded again ("got unknown <size>" or
 *       "undecodable <type>" otherwise); exits after <count> messages or <timeout_ms>
 */
#include <errno.h>
#include <inttypes.h>
#include <lcm/lcm.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fbgeom_vec3_t.h"
#include "fbtypes_features_t.h"
#include "fbtypes_tree_t.h"
#include "fbtypes_with_literal_t.h"

#define EACH_TYPE(X)           \
    X(fbgeom, vec3_t)          \
    X(fbtypes, features_t)     \
    X(fbtypes, tree_t)         \
    X(fbtypes, with_literal_t)

/* xorshift64*: the same sequence for the same seed on every machine. */
static uint64_t rng_state = 1;
static uint64_t next_u64(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * UINT64_C(2685821657736338717);
}
static int below(int n) { return (int)(next_u64() % (uint64_t)n); }

/* Any finite double or float, from random bits (so signs, zeros, subnormals and extremes occur). */
static double random_double(void)
{
    for (;;) {
        uint64_t bits = next_u64();
        double d;
        memcpy(&d, &bits, sizeof d);
        if (isfinite(d)) return d;
    }
}
static float random_float(void)
{
    for (;;) {
        uint32_t bits = (uint32_t)next_u64();
        float f;
        memcpy(&f, &bits, sizeof f);
        if (isfinite(f)) return f;
    }
}

/* A string of 0-11 characters, ASCII and two-byte UTF-8 mixed. The process is short-lived: no frees. */
static char *random_string(void)
{
    int n = below(12);
    char *s = malloc(2 * n + 1);
    int at = 0;
    for (int i = 0; i < n; i++) {
        if (below(4) == 0) {
            s[at++] = (char)0xc3;
            s[at++] = (char)(0xa0 + below(16));
        } else {
            s[at++] = (char)(' ' + below(95));
        }
    }
    s[at] = 0;
    return s;
}

static void *alloc(int count, size_t size) { return calloc(count > 0 ? count : 1, size); }

static void fill_vec3(fbgeom_vec3_t *v)
{
    for (int i = 0; i < 3; i++) v->xyz[i] = random_double();
}

static void fill_tree(fbtypes_tree_t *t, int depth)
{
    t->label = random_string();
    t->num_children = depth > 0 ? below(3) : 0;
    t->children = alloc(t->num_children, sizeof *t->children);
    for (int i = 0; i < t->num_children; i++) fill_tree(&t->children[i], depth - 1);
}

static void fill_features(fbtypes_features_t *m)
{
    m->i8 = (int8_t)next_u64();
    m->i16 = (int16_t)next_u64();
    m->i32 = (int32_t)next_u64();
    m->i64 = (int64_t)next_u64();
    m->f32 = random_float();
    m->f64 = random_double();
    m->text = random_string();
    m->flag = (int8_t)below(2);
    m->octet = (uint8_t)next_u64();
    m->rows = below(4);
    m->cols = (int16_t)below(4);
    m->n8 = (int8_t)below(4);
    m->n64 = below(6);
    m->matrix = alloc(m->rows, sizeof *m->matrix);
    m->tiles = alloc(m->rows, sizeof *m->tiles);
    m->points = alloc(m->rows, sizeof *m->points);
    for (int r = 0; r < m->rows; r++) {
        m->matrix[r] = alloc(m->cols, sizeof **m->matrix);
        for (int c = 0; c < m->cols; c++) m->matrix[r][c] = random_double();
        m->tiles[r] = alloc(4, 1);
        for (int c = 0; c < 4; c++) m->tiles[r][c] = (uint8_t)next_u64();
        fill_vec3(&m->points[r]);
    }
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 3; b++) m->small[a][b] = (int8_t)next_u64();
    m->blob = alloc((int)m->n64, 1);
    for (int i = 0; i < m->n64; i++) m->blob[i] = (uint8_t)next_u64();
    m->names = alloc(m->n8, sizeof *m->names);
    for (int i = 0; i < m->n8; i++) m->names[i] = random_string();
    for (int i = 0; i < 4; i++) m->bits[i] = (int8_t)below(2);
    for (int i = 0; i < 8; i++) m->stamps[i] = (int64_t)next_u64();
    m->grid = alloc(2, sizeof *m->grid);
    m->corners = alloc(2, sizeof *m->corners);
    for (int a = 0; a < 2; a++) {
        m->grid[a] = alloc(m->cols, sizeof **m->grid);
        m->corners[a] = alloc(m->cols, sizeof **m->corners);
        for (int b = 0; b < m->cols; b++) {
            m->grid[a][b] = alloc(2, sizeof ***m->grid);
            for (int c = 0; c < 2; c++) m->grid[a][b][c] = random_float();
            fill_vec3(&m->corners[a][b]);
        }
    }
    fill_vec3(&m->origin);
    fill_tree(&m->tree, 3);
}

static void fill_with_literal(fbtypes_with_literal_t *m)
{
    for (int i = 0; i < 3; i++) m->a[i] = random_double();
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 2; j++) m->b[i][j] = (int8_t)next_u64();
}

static void print_hex(const uint8_t *bytes, int n)
{
    for (int i = 0; i < n; i++) printf("%02x", bytes[i]);
    putchar('\n');
}

static void print_features(const fbtypes_features_t *f)
{
    printf("fields %" PRId64 " %" PRId32 " %" PRId32 " %d %" PRId64 " ", f->i64, f->i32, f->rows, f->cols, f->n64);
    print_hex((const uint8_t *)f->text, (int)strlen(f->text));
}
static void print_fields_features_t(const fbtypes_features_t *f) { print_features(f); }
static void print_fields_vec3_t(const fbgeom_vec3_t *v) { (void)v; }
static void print_fields_tree_t(const fbtypes_tree_t *t) { (void)t; }
static void print_fields_with_literal_t(const fbtypes_with_literal_t *w) { (void)w; }

static int hashes(void)
{
#define PRINT_HASH(pkg, name) printf(#pkg "." #name " %016" PRIx64 "\n", (uint64_t)__##pkg##_##name##_get_hash());
    EACH_TYPE(PRINT_HASH)
    return 0;
}

static void sleep_ms(int ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) == -1 && errno == EINTR) {
    }
}

#define SEND(pkg, name, msg)                                   \
    do {                                                       \
        int size = pkg##_##name##_encoded_size(msg);           \
        uint8_t *buf = malloc(size);                           \
        pkg##_##name##_encode(buf, 0, size, msg);              \
        printf("sent " #pkg "." #name " ");                    \
        print_hex(buf, size);                                  \
        free(buf);                                             \
        if (pkg##_##name##_publish(lcm, channel, msg) != 0) return 3; \
    } while (0)

static int publish(const char *url, const char *channel, int count, uint64_t seed, int interval_ms)
{
    lcm_t *lcm = lcm_create(url);
    if (!lcm) return 2;
    rng_state = seed ? seed : 1;
    for (int i = 0; i < count; i++) {
        fbgeom_vec3_t v;
        fill_vec3(&v);
        SEND(fbgeom, vec3_t, &v);
        fbtypes_features_t f;
        fill_features(&f);
        SEND(fbtypes, features_t, &f);
        print_features(&f);
        fbtypes_tree_t t;
        fill_tree(&t, 3);
        SEND(fbtypes, tree_t, &t);
        fbtypes_with_literal_t w;
        fill_with_literal(&w);
        SEND(fbtypes, with_literal_t, &w);
        fflush(stdout);
        if (interval_ms > 0) sleep_ms(interval_ms);
    }
    lcm_destroy(lcm);
    return 0;
}

static int received = 0;

static void on_message(const lcm_recv_buf_t *rbuf, const char *channel, void *user)
{
    (void)channel;
    (void)user;
    received++;
    if (rbuf->data_size < 8) {
        printf("got unknown %u\n", rbuf->data_size);
        fflush(stdout);
        return;
    }
    int64_t hash = 0;
    for (int i = 0; i < 8; i++) hash = (int64_t)(((uint64_t)hash << 8) | ((const uint8_t *)rbuf->data)[i]);
#define RECEIVE(pkg, name)                                                          \
    if (hash == __##pkg##_##name##_get_hash()) {                                    \
        pkg##_##name msg;                                                           \
        if (pkg##_##name##_decode(rbuf->data, 0, rbuf->data_size, &msg) < 0) {      \
            printf("undecodable " #pkg "." #name "\n");                            \
        } else {                                                                    \
            int size = pkg##_##name##_encoded_size(&msg);                           \
            uint8_t *buf = malloc(size);                                            \
            pkg##_##name##_encode(buf, 0, size, &msg);                              \
            printf("got " #pkg "." #name " ");                                      \
            print_hex(buf, size);                                                   \
            free(buf);                                                              \
            print_fields_##name(&msg);                                              \
            pkg##_##name##_decode_cleanup(&msg);                                    \
        }                                                                           \
        fflush(stdout);                                                             \
        return;                                                                     \
    }
    EACH_TYPE(RECEIVE)
    printf("got unknown %u\n", rbuf->data_size);
    fflush(stdout);
}

static int subscribe(const char *url, const char *channel, int count, int timeout_ms)
{
    lcm_t *lcm = lcm_create(url);
    if (!lcm) return 2;
    lcm_subscribe(lcm, channel, on_message, NULL);
    printf("ready\n");
    fflush(stdout);
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (received < count) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (elapsed >= timeout_ms) break;
        lcm_handle_timeout(lcm, (int)(timeout_ms - elapsed));
    }
    lcm_destroy(lcm);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "hashes") == 0) return hashes();
    if (argc == 7 && strcmp(argv[1], "publish") == 0)
        return publish(argv[2], argv[3], atoi(argv[4]), strtoull(argv[5], NULL, 10), atoi(argv[6]));
    if (argc == 6 && strcmp(argv[1], "subscribe") == 0) return subscribe(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]));
    fprintf(stderr, "usage: see the comment at the top of types_interop.c\n");
    return 1;
}
