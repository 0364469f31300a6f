/*
 * The physical floor for durable appends: LMDB alone, no daemon, no framing.
 * Appends COUNT records of BYTES bytes (big-endian sequence keys, MDB_APPEND) with one commit
 * (fdatasync) per record, then with BATCH records per commit, into fresh environments under DIR.
 *
 *   cc -O2 lmdb_append.c -llmdb -o lmdb_append && ./lmdb_append DIR COUNT BYTES BATCH
 *
 * Prints one JSON object: per-commit latency percentiles and messages per second for both modes.
 */
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static void check(int rc, const char *what) {
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", what, mdb_strerror(rc));
        exit(1);
    }
}

static int compare_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Appends count records, batch per commit; returns messages/s and fills commit latencies. */
static double run(const char *dir, long count, int bytes, int batch, double *latencies, long *commits) {
    MDB_env *env;
    MDB_dbi dbi;
    MDB_txn *txn;
    mkdir(dir, 0700);
    check(mdb_env_create(&env), "mdb_env_create");
    check(mdb_env_set_mapsize(env, (size_t)1 << 32), "mdb_env_set_mapsize");
    check(mdb_env_open(env, dir, 0, 0600), "mdb_env_open");
    check(mdb_txn_begin(env, NULL, 0, &txn), "mdb_txn_begin");
    check(mdb_dbi_open(txn, NULL, 0, &dbi), "mdb_dbi_open");
    check(mdb_txn_commit(txn), "mdb_txn_commit");
    char *value = malloc(bytes);
    memset(value, 'x', bytes);
    double start = now_us();
    long written = 0;
    *commits = 0;
    while (written < count) {
        double begin = now_us();
        check(mdb_txn_begin(env, NULL, 0, &txn), "mdb_txn_begin");
        for (int i = 0; i < batch && written < count; i++, written++) {
            uint64_t sequence = __builtin_bswap64((uint64_t)written + 1);
            MDB_val key = {sizeof sequence, &sequence}, data = {(size_t)bytes, value};
            check(mdb_put(txn, dbi, &key, &data, MDB_APPEND), "mdb_put");
        }
        check(mdb_txn_commit(txn), "mdb_txn_commit");
        latencies[(*commits)++] = now_us() - begin;
    }
    double seconds = (now_us() - start) / 1e6;
    mdb_env_close(env);
    free(value);
    return count / seconds;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s DIR COUNT BYTES BATCH\n", argv[0]);
        return 2;
    }
    long count = atol(argv[2]);
    int bytes = atoi(argv[3]), batch = atoi(argv[4]);
    double *latencies = malloc(sizeof(double) * count);
    char single[4096], batched[4096];
    snprintf(single, sizeof single, "%s/single", argv[1]);
    snprintf(batched, sizeof batched, "%s/batched", argv[1]);
    long commits;
    double single_rate = run(single, count, bytes, 1, latencies, &commits);
    qsort(latencies, commits, sizeof(double), compare_double);
    double p50 = latencies[commits / 2], p99 = latencies[commits * 99 / 100];
    double batch_rate = run(batched, count, bytes, batch, latencies, &commits);
    printf("{\"onePerCommitMessagesPerSecond\":%.1f,\"onePerCommitP50Micros\":%.1f,\"onePerCommitP99Micros\":%.1f,"
           "\"batchedMessagesPerSecond\":%.1f,\"batch\":%d}\n",
           single_rate, p50, p99, batch_rate, batch);
    free(latencies);
    return 0;
}
