/*
 * The floor for any request/response over a Unix socket: a one-thread echo server and a client
 * doing ROUNDS round trips of BYTES bytes (newline-terminated), like one JSON-RPC call each.
 *
 *   cc -O2 unix_echo.c -lpthread -o unix_echo && ./unix_echo SOCKET_PATH ROUNDS BYTES
 *
 * Prints one JSON object with round-trip percentiles in microseconds.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const char *path;
static int bytes;

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int compare_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Reads until a newline; returns the bytes read or -1. */
static ssize_t read_line(int fd, char *buffer, size_t capacity) {
    size_t used = 0;
    while (used < capacity) {
        ssize_t n = read(fd, buffer + used, capacity - used);
        if (n <= 0) return -1;
        used += (size_t)n;
        if (buffer[used - 1] == '\n') return (ssize_t)used;
    }
    return -1;
}

static void *serve(void *listener) {
    int fd = accept(*(int *)listener, NULL, NULL);
    char *buffer = malloc(bytes + 1);
    ssize_t n;
    while ((n = read_line(fd, buffer, bytes + 1)) > 0) {
        if (write(fd, buffer, (size_t)n) != n) break;
    }
    close(fd);
    free(buffer);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s SOCKET_PATH ROUNDS BYTES\n", argv[0]);
        return 2;
    }
    path = argv[1];
    long rounds = atol(argv[2]);
    bytes = atoi(argv[3]);
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    strncpy(address.sun_path, path, sizeof address.sun_path - 1);
    unlink(path);
    int listener = socket(AF_UNIX, SOCK_STREAM, 0);
    if (bind(listener, (struct sockaddr *)&address, sizeof address) != 0 || listen(listener, 1) != 0) {
        perror("bind");
        return 1;
    }
    pthread_t server;
    pthread_create(&server, NULL, serve, &listener);
    int client = socket(AF_UNIX, SOCK_STREAM, 0);
    if (connect(client, (struct sockaddr *)&address, sizeof address) != 0) {
        perror("connect");
        return 1;
    }
    char *message = malloc(bytes + 1), *reply = malloc(bytes + 1);
    memset(message, 'x', bytes - 1);
    message[bytes - 1] = '\n';
    double *latencies = malloc(sizeof(double) * rounds);
    for (long i = 0; i < rounds; i++) {
        double begin = now_us();
        if (write(client, message, bytes) != bytes || read_line(client, reply, bytes + 1) != bytes) {
            fprintf(stderr, "echo failed\n");
            return 1;
        }
        latencies[i] = now_us() - begin;
    }
    close(client);
    pthread_join(server, NULL);
    unlink(path);
    qsort(latencies, rounds, sizeof(double), compare_double);
    printf("{\"roundTripP50Micros\":%.2f,\"roundTripP90Micros\":%.2f,\"roundTripP99Micros\":%.2f,\"rounds\":%ld}\n",
           latencies[rounds / 2], latencies[rounds * 9 / 10], latencies[rounds * 99 / 100], rounds);
    return 0;
}
