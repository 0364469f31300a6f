/*
 * A closed-loop load driver in C, the same for convlogd and for Redis, so that neither side is
 * measured through a slower client: CLIENTS threads, each with one connection to a Unix socket
 * and one request in flight, each owning every CLIENTS-th of SESSIONS sessions; round r sends
 * message r to each of its sessions (conversations interleaved, roles alternating).
 *
 *   cc -O2 rpc_load.c -lpthread -o rpc_load
 *   ./rpc_load MODE SOCKET CLIENTS SESSIONS MESSAGES BYTES TAG
 *
 * MODE:
 *   convlog-add   JSON-RPC `add` {sessionId "TAG-s<k>", role, content of BYTES bytes, metadata {"turn": r},
 *                 messageId "m<r>"}, with createIfMissing on round 0; each answer must hold a result
 *   convlog-read  JSON-RPC `getContext` (window 5) on random sessions TAG-s<k>, MESSAGES calls per client
 *   redis-add     RPUSH TAG:s<k> <BYTES bytes>; each answer must be an integer reply
 *   redis-read    LRANGE TAG:s<k> -5 -1 on random sessions, MESSAGES calls per client
 *
 * Prints one JSON object: requests per second, latency percentiles (µs), and the mean bytes of a
 * request's payload (for convlog-add: the `params` object without createIfMissing, i.e. the
 * message as JSON; for redis-add: the key and the value).
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

enum mode { CONVLOG_ADD, CONVLOG_READ, REDIS_ADD, REDIS_READ };

static enum mode mode;
static const char *socket_path, *tag;
static int clients, sessions, messages, bytes;
static char *content;

struct worker {
    int index;
    /* Bytes read from the socket and not consumed yet: inbox[inbox_start, inbox_end). */
    char inbox[65536];
    size_t inbox_start, inbox_end;
    double *latencies;
    long count;
    long payload_bytes;
    const char *failure;
    char answer[256];
};

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int compare_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int connect_socket(void) {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    strncpy(address.sun_path, socket_path, sizeof address.sun_path - 1);
    if (fd < 0 || connect(fd, (struct sockaddr *)&address, sizeof address) != 0) return -1;
    return fd;
}

static int send_all(int fd, const char *data, size_t length) {
    while (length > 0) {
        ssize_t sent = write(fd, data, length);
        if (sent < 0 && errno == EINTR) continue;
        if (sent <= 0) return -1;
        data += sent;
        length -= (size_t)sent;
    }
    return 0;
}

/* The next byte of the connection, or -1 when it is closed. */
static int next_byte(struct worker *w, int fd) {
    if (w->inbox_start == w->inbox_end) {
        ssize_t got;
        do got = read(fd, w->inbox, sizeof w->inbox);
        while (got < 0 && errno == EINTR);
        if (got <= 0) return -1;
        w->inbox_start = 0;
        w->inbox_end = (size_t)got;
    }
    return (unsigned char)w->inbox[w->inbox_start++];
}

/* Reads one line, up to and including '\n', into w->answer (truncated to its size); returns 0, or -1. */
static int read_line(struct worker *w, int fd) {
    size_t kept = 0;
    for (;;) {
        int byte = next_byte(w, fd);
        if (byte < 0) return -1;
        if (kept + 1 < sizeof w->answer) w->answer[kept++] = (char)byte;
        if (byte == '\n') break;
    }
    w->answer[kept] = 0;
    return 0;
}

/* Builds request number `n` of this worker into request; returns its length and sets *payload to its payload's length. */
static size_t build(struct worker *w, long n, unsigned *seed, char *request, size_t capacity, long *payload) {
    int owned = (sessions - w->index + clients - 1) / clients;
    int round = (int)(n / owned);
    int session = w->index + (int)(n % owned) * clients;
    if (mode == CONVLOG_READ || mode == REDIS_READ) session = (int)(rand_r(seed) % (unsigned)sessions);
    int length = 0;
    switch (mode) {
    case CONVLOG_ADD: {
        char params[8192 + 65536];
        int p = snprintf(params, sizeof params,
                         "{\"sessionId\":\"%s-s%d\",\"role\":\"%s\",\"content\":\"%s\",\"metadata\":{\"turn\":%d},\"messageId\":\"m%d\"",
                         tag, session, round % 2 == 0 ? "user" : "assistant", content, round, round);
        *payload = p + 1;
        length = snprintf(request, capacity, "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"method\":\"add\",\"params\":%s%s}}\n", n, params,
                          round == 0 ? ",\"createIfMissing\":true" : "");
        break;
    }
    case CONVLOG_READ:
        length = snprintf(request, capacity,
                          "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"method\":\"getContext\",\"params\":{\"sessionId\":\"%s-s%d\",\"window\":5}}\n", n, tag, session);
        *payload = length;
        break;
    case REDIS_ADD: {
        char key[64];
        int k = snprintf(key, sizeof key, "%s:s%d", tag, session);
        length = snprintf(request, capacity, "*3\r\n$5\r\nRPUSH\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", k, key, bytes, content);
        *payload = k + bytes;
        break;
    }
    case REDIS_READ: {
        char key[64];
        int k = snprintf(key, sizeof key, "%s:s%d", tag, session);
        length = snprintf(request, capacity, "*4\r\n$6\r\nLRANGE\r\n$%d\r\n%s\r\n$2\r\n-5\r\n$2\r\n-1\r\n", k, key);
        *payload = length;
        break;
    }
    }
    return (size_t)length;
}

/* Reads one whole answer; returns 0 when it is a success. */
static int read_answer(struct worker *w, int fd) {
    if (read_line(w, fd) != 0) return -1;
    switch (mode) {
    case CONVLOG_ADD:
    case CONVLOG_READ:
        return strstr(w->answer, "\"result\"") ? 0 : -1;
    case REDIS_ADD:
        return w->answer[0] == ':' ? 0 : -1;
    case REDIS_READ:
        break;
    }
    /* LRANGE: *N, then N bulk strings ($len, then the bytes and CRLF). */
    if (w->answer[0] != '*') return -1;
    int items = atoi(w->answer + 1);
    for (int i = 0; i < items; i++) {
        if (read_line(w, fd) != 0 || w->answer[0] != '$') return -1;
        for (long left = atol(w->answer + 1) + 2; left > 0; left--)
            if (next_byte(w, fd) < 0) return -1;
    }
    return 0;
}

static void *run_worker(void *argument) {
    struct worker *w = argument;
    int fd = connect_socket();
    if (fd < 0) {
        w->failure = "cannot connect";
        return NULL;
    }
    int owned = (sessions - w->index + clients - 1) / clients;
    long total = (mode == CONVLOG_READ || mode == REDIS_READ) ? messages : (long)owned * messages;
    w->latencies = malloc(sizeof(double) * (total > 0 ? total : 1));
    size_t capacity = (size_t)bytes + 70000;
    char *request = malloc(capacity);
    unsigned seed = (unsigned)w->index * 7919u + 17u;
    for (long n = 0; n < total; n++) {
        long payload = 0;
        size_t length = build(w, n, &seed, request, capacity, &payload);
        double begin = now_us();
        if (send_all(fd, request, length) != 0 || read_answer(w, fd) != 0) {
            w->failure = w->answer[0] ? w->answer : "connection lost";
            break;
        }
        w->latencies[w->count++] = now_us() - begin;
        w->payload_bytes += payload;
    }
    free(request);
    close(fd);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 8) {
        fprintf(stderr, "usage: %s convlog-add|convlog-read|redis-add|redis-read SOCKET CLIENTS SESSIONS MESSAGES BYTES TAG\n", argv[0]);
        return 2;
    }
    if (strcmp(argv[1], "convlog-add") == 0) mode = CONVLOG_ADD;
    else if (strcmp(argv[1], "convlog-read") == 0) mode = CONVLOG_READ;
    else if (strcmp(argv[1], "redis-add") == 0) mode = REDIS_ADD;
    else if (strcmp(argv[1], "redis-read") == 0) mode = REDIS_READ;
    else {
        fprintf(stderr, "unknown mode %s\n", argv[1]);
        return 2;
    }
    socket_path = argv[2];
    clients = atoi(argv[3]);
    sessions = atoi(argv[4]);
    messages = atoi(argv[5]);
    bytes = atoi(argv[6]);
    tag = argv[7];
    if (clients < 1 || sessions < clients || messages < 1 || bytes < 1 || bytes > 65536) {
        fprintf(stderr, "need 1 <= CLIENTS <= SESSIONS, MESSAGES >= 1, 1 <= BYTES <= 65536\n");
        return 2;
    }
    content = malloc((size_t)bytes + 1);
    memset(content, 'm', (size_t)bytes);
    content[bytes] = 0;

    struct worker *workers = calloc((size_t)clients, sizeof *workers);
    pthread_t *threads = calloc((size_t)clients, sizeof *threads);
    double start = now_us();
    for (int i = 0; i < clients; i++) {
        workers[i].index = i;
        pthread_create(&threads[i], NULL, run_worker, &workers[i]);
    }
    for (int i = 0; i < clients; i++) pthread_join(threads[i], NULL);
    double seconds = (now_us() - start) / 1e6;

    long count = 0, payload = 0;
    for (int i = 0; i < clients; i++) {
        if (workers[i].failure) {
            fprintf(stderr, "client %d failed: %s\n", i, workers[i].failure);
            return 1;
        }
        count += workers[i].count;
        payload += workers[i].payload_bytes;
    }
    double *all = malloc(sizeof(double) * (count > 0 ? count : 1));
    long filled = 0;
    for (int i = 0; i < clients; i++) {
        memcpy(all + filled, workers[i].latencies, sizeof(double) * workers[i].count);
        filled += workers[i].count;
    }
    qsort(all, count, sizeof(double), compare_double);
    printf("{\"requests\":%ld,\"seconds\":%.3f,\"perSecond\":%.1f,\"p50Micros\":%.1f,\"p90Micros\":%.1f,\"p99Micros\":%.1f,"
           "\"maxMicros\":%.1f,\"meanPayloadBytes\":%.1f}\n",
           count, seconds, count / seconds, all[count / 2], all[count * 9 / 10], all[count * 99 / 100], all[count - 1],
           (double)payload / count);
    return 0;
}
