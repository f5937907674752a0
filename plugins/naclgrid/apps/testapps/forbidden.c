/* forbidden: imports WASI fd_write, outside the naclgrid ABI. The sandbox
 * must refuse it before running anything. */
#include "naclgrid.h"

__attribute__((import_module("wasi_snapshot_preview1"), import_name("fd_write")))
int32_t fd_write(int32_t fd, const void *iovs, int32_t iovs_len, int32_t *written);

NG_ENTRY(hello) {
    struct { const void *buf; int32_t len; } iov = { "hello\n", 6 };
    int32_t written;
    fd_write(1, &iov, 1, &written);
    return 0;
}
