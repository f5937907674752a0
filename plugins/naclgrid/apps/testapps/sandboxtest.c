/* sandboxtest: misbehaving and probing entries for the sandbox tests (and the
 * browser worker's conformance tests). Not an example to copy. */
#include "naclgrid.h"

static uint64_t parse_u64(const uint8_t *p, int32_t len) {
    uint64_t v = 0;
    for (int32_t i = 0; i < len && p[i] >= '0' && p[i] <= '9'; i++) v = v * 10 + (p[i] - '0');
    return v;
}

static char *cstr(const uint8_t *p, int32_t len) {
    char *s = malloc((size_t)len + 1);
    memcpy(s, p, (size_t)len);
    s[len] = 0;
    return s;
}

/* Never returns: the time limit (fuel or epoch) must stop it. */
NG_ENTRY(loop) {
    volatile uint64_t n = 0;
    for (;;) n++;
    return 0;
}

/* Allocates and touches 1 MiB blocks until malloc fails, then traps. The
 * volatile sink keeps the optimiser from deleting the unused allocations
 * (and with them the NULL check). */
static char *volatile bomb_sink;
NG_ENTRY(bomb) {
    for (;;) {
        char *p = malloc(1 << 20);
        if (!p) __builtin_trap();
        memset(p, 0xAB, 1 << 20);
        bomb_sink = p;
    }
    return 0;
}

/* Asks for more pages forever, ignoring the refusals: spins at the cap. */
NG_ENTRY(grow_forever) {
    for (;;) __builtin_wasm_memory_grow(0, 16);
    return 0;
}

/* Integer division by zero: wasm traps ("integer divide by zero"). */
NG_ENTRY(divide) {
    /* Both operands volatile: LLVM rewrites 1/x as a compare, without a div. */
    volatile int one = 1, zero = 0;
    return one / zero;
}

/* An explicit trap after setting an error text. */
NG_ENTRY(abort_with_message) {
    ng_set_error((const char *)input, input_len);
    __builtin_trap();
    return 0;
}

/* Unbounded recursion: wasm stack overflow. */
/* The volatile frame defeats tail-recursion elimination. */
static int deep(int n) {
    volatile int frame[16];
    frame[n & 15] = n;
    return n == -1 ? 0 : deep(n + 1) + frame[n & 15];
}
NG_ENTRY(recurse) {
    return deep(input_len);
}

/* Returns non-zero with the input as the error message. */
NG_ENTRY(fail) {
    ng_set_error((const char *)input, input_len);
    return 7;
}

/* Non-zero without a message. */
NG_ENTRY(fail_silently) {
    return 3;
}

/* Input: a file name. Result: its bytes; fails "no such file NAME". */
NG_ENTRY(read_file) {
    char *name = cstr(input, input_len);
    size_t len;
    uint8_t *data = ng_file_load(name, &len);
    if (!data) return ng_failf("no such file %s", name);
    ng_set_result(data, (int32_t)len);
    return 0;
}

/* Input: a file name. Result: its size as decimal, "-1" when absent. */
NG_ENTRY(file_size) {
    char *name = cstr(input, input_len);
    char out[24];
    ng_set_result(out, ng_format(out, sizeof out, "%lld", (long long)ng_file_size(name)));
    return 0;
}

/* Input: "NAME". Reads the file in 7-byte chunks past its end, checking the
 * counts; result: the bytes reassembled. */
NG_ENTRY(read_chunks) {
    char *name = cstr(input, input_len);
    int64_t size = ng_file_size(name);
    if (size < 0) return ng_fail("missing");
    uint8_t *buf = malloc((size_t)size + 7);
    int64_t off = 0;
    for (;;) {
        int32_t n = ng_file_read(name, off, buf + off, 7);
        if (n < 0) return ng_fail("read failed");
        if (n == 0) break;
        off += n;
    }
    if (off != size) return ng_failf("read %lld of %lld bytes", (long long)off, (long long)size);
    if (ng_file_read(name, size + 100, buf, 7) != 0) return ng_fail("read past end not 0");
    if (ng_file_read(name, -1, buf, 7) != -1) return ng_fail("negative offset not -1");
    ng_set_result(buf, (int32_t)size);
    return 0;
}

/* Input: decimal N. Writes N log lines "line I". */
NG_ENTRY(log_lines) {
    uint64_t n = parse_u64(input, input_len);
    for (uint64_t i = 0; i < n; i++) ng_logf("line %llu", (unsigned long long)i);
    ng_set_result("ok", 2);
    return 0;
}

/* Input: decimal N. Result: N bytes of 'x'. */
NG_ENTRY(big_result) {
    uint64_t n = parse_u64(input, input_len);
    char *p = malloc(n ? n : 1);
    if (!p) return ng_fail("out of memory");
    memset(p, 'x', n);
    ng_set_result(p, (int32_t)n);
    return 0;
}

/* Hands the host a pointer outside linear memory. */
NG_ENTRY(bad_pointer) {
    ng_set_result((const void *)0x7ffffff0, 1 << 20);
    return 0;
}

/* State kept between calls of one instance: shows whether instances are
 * reused (result "2", "3", ...) or fresh per task (always "1"). */
static int calls;
NG_ENTRY(count_calls) {
    char out[16];
    ng_set_result(out, ng_format(out, sizeof out, "%d", ++calls));
    return 0;
}

/* ng_format self-check for the header's formatter. */
NG_ENTRY(format) {
    char out[256];
    int n = ng_format(out, sizeof out, "%d|%5s|%-4s|%05d|%x|%X|%lld|%zu|%.3f|%e|%c|%%|%s|%u",
                      -42, "ab", "cd", 42, 255u, 0xBEEFu, -1234567890123LL, (size_t)7,
                      3.14159, 12345.678, 'z', (const char *)0, 4000000000u);
    ng_set_result(out, n);
    return 0;
}
