#ifndef CONVLOG_CLMDB_SHIM_H
#define CONVLOG_CLMDB_SHIM_H
#include <lmdb.h>
#endif
