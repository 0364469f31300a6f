#ifndef CONVLOG_CSYSTEM_SHIM_H
#define CONVLOG_CSYSTEM_SHIM_H
#include <stdint.h>
#include <sys/socket.h>

// The layout of Linux's struct ucred (which Swift cannot see without _GNU_SOURCE): the
// credentials of the process at the other end of a Unix socket, read with SO_PEERCRED.
typedef struct {
    int32_t pid;
    uint32_t uid;
    uint32_t gid;
} convlog_peer_credentials;

static const int convlog_so_peercred = SO_PEERCRED;
#endif
