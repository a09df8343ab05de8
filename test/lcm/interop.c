/*
 * The liblcm side of framebus's LCM interop tests. Built by the tests with lcm-gen's C
 * output for lcm/*.lcm and test/lcm/codec_test_types.lcm, and linked against liblcm.
 *
 *   interop hashes
 *       prints "<type> <fingerprint as 16 hex digits>" for every type
 *   interop roundtrip
 *       reads "<type> <hex encoding>" lines; decodes each with lcm-gen's code, encodes it
 *       again and prints the hex, or "ERR <reason>"
 *   interop publish <url> <channel> <count> <size> <interval_ms>
 *       publishes <count> framebus.video_packet_t, message i with sequence i and <size>
 *       data bytes of pattern_byte(i, j)
 *   interop subscribe <url> <channel-regex> <count> <timeout_ms>
 *       prints "ready", then one line per message received:
 *       "msg <channel> <sequence> <codec> <key> <timestamp_ns> <frame_id> <width> <height>
 *        <size> <ok|bad>", where ok means the data is pattern_byte(sequence, j) throughout;
 *       exits after <count> messages or <timeout_ms>
 */
#include <errno.h>
#include <inttypes.h>
#include <lcm/lcm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fbtest_path_t.h"
#include "fbtest_pose_t.h"
#include "fbtest_sample_t.h"
#include "framebus_compressed_image_t.h"
#include "framebus_keyframe_request_t.h"
#include "framebus_raw_image_t.h"
#include "framebus_twist_t.h"
#include "framebus_video_packet_t.h"

static uint8_t pattern_byte(int64_t message, int64_t j)
{
    return (uint8_t)(j * 131 + message * 7 + (j >> 8));
}

static void print_hex(const uint8_t *bytes, int n)
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < n; i++) {
        putchar(digits[bytes[i] >> 4]);
        putchar(digits[bytes[i] & 15]);
    }
    putchar('\n');
}

static int parse_hex(const char *hex, uint8_t *out)
{
    int n = 0;
    for (; hex[0] && hex[1] && hex[0] != '\n'; hex += 2) {
        unsigned int byte;
        if (sscanf(hex, "%2x", &byte) != 1) return -1;
        out[n++] = (uint8_t)byte;
    }
    return n;
}

#define EACH_TYPE(X)                  \
    X(framebus, video_packet_t)       \
    X(framebus, compressed_image_t)   \
    X(framebus, raw_image_t)          \
    X(framebus, keyframe_request_t)   \
    X(framebus, twist_t)              \
    X(fbtest, pose_t)                 \
    X(fbtest, path_t)                 \
    X(fbtest, sample_t)

static int hashes(void)
{
#define PRINT_HASH(pkg, name) \
    printf(#pkg "." #name " %016" PRIx64 "\n", (uint64_t)__##pkg##_##name##_get_hash());
    EACH_TYPE(PRINT_HASH)
    return 0;
}

static int roundtrip(void)
{
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, stdin) > 0) {
        char *space = strchr(line, ' ');
        if (!space) {
            printf("ERR no type\n");
            continue;
        }
        *space = 0;
        uint8_t *in = malloc(strlen(space + 1) / 2 + 1);
        int len = parse_hex(space + 1, in);
        int handled = 0;
#define ROUNDTRIP(pkg, name)                                              \
    if (!handled && strcmp(line, #pkg "." #name) == 0) {                  \
        handled = 1;                                                      \
        pkg##_##name msg;                                                 \
        int used = pkg##_##name##_decode(in, 0, len, &msg);               \
        if (used != len) {                                                \
            printf("ERR decode returned %d for %d bytes\n", used, len);   \
            if (used >= 0) pkg##_##name##_decode_cleanup(&msg);           \
        } else {                                                          \
            int size = pkg##_##name##_encoded_size(&msg);                 \
            uint8_t *out = malloc(size);                                  \
            pkg##_##name##_encode(out, 0, size, &msg);                    \
            print_hex(out, size);                                         \
            free(out);                                                    \
            pkg##_##name##_decode_cleanup(&msg);                          \
        }                                                                 \
    }
        EACH_TYPE(ROUNDTRIP)
        if (!handled) printf("ERR unknown type %s\n", line);
        free(in);
        fflush(stdout);
    }
    free(line);
    return 0;
}

static void sleep_ms(int ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) == -1 && errno == EINTR) {
    }
}

static int publish(const char *url, const char *channel, int count, int size, int interval_ms)
{
    lcm_t *lcm = lcm_create(url);
    if (!lcm) return 2;
    uint8_t *data = malloc(size > 0 ? size : 1);
    for (int i = 0; i < count; i++) {
        for (int j = 0; j < size; j++) data[j] = pattern_byte(i, j);
        framebus_video_packet_t msg = {
            .codec = "h264",
            .key = i % 2 == 0,
            .sequence = i,
            .timestamp_ns = INT64_C(1700000000000000000) + i,
            .frame_id = 1000 + i,
            .width = 1920,
            .height = 1080,
            .data_size = size,
            .data = data,
        };
        if (framebus_video_packet_t_publish(lcm, channel, &msg) != 0) return 3;
        if (interval_ms > 0) sleep_ms(interval_ms);
    }
    printf("sent %d\n", count);
    free(data);
    lcm_destroy(lcm);
    return 0;
}

static int received = 0;

static void on_message(const lcm_recv_buf_t *rbuf, const char *channel, void *user)
{
    (void)user;
    framebus_video_packet_t msg;
    if (framebus_video_packet_t_decode(rbuf->data, 0, rbuf->data_size, &msg) < 0) {
        printf("undecodable %s %u\n", channel, rbuf->data_size);
    } else {
        int ok = 1;
        for (int j = 0; j < msg.data_size && ok; j++) ok = msg.data[j] == pattern_byte(msg.sequence, j);
        printf("msg %s %" PRId64 " %s %d %" PRId64 " %" PRId64 " %d %d %d %s\n", channel, msg.sequence, msg.codec,
               msg.key, msg.timestamp_ns, msg.frame_id, msg.width, msg.height, msg.data_size, ok ? "ok" : "bad");
        framebus_video_packet_t_decode_cleanup(&msg);
    }
    fflush(stdout);
    received++;
}

static int subscribe(const char *url, const char *pattern, int count, int timeout_ms)
{
    lcm_t *lcm = lcm_create(url);
    if (!lcm) return 2;
    /* lcm_subscribe joins the group and runs liblcm's self test before returning. */
    lcm_subscribe(lcm, pattern, on_message, NULL);
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
    if (argc == 2 && strcmp(argv[1], "roundtrip") == 0) return roundtrip();
    if (argc == 7 && strcmp(argv[1], "publish") == 0)
        return publish(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]), atoi(argv[6]));
    if (argc == 6 && strcmp(argv[1], "subscribe") == 0)
        return subscribe(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]));
    fprintf(stderr, "usage: see the comment at the top of interop.c\n");
    return 1;
}
