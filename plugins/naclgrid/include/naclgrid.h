/*
 * naclgrid.h - the naclgrid WebAssembly ABI, version 1, for C and C++.
 *
 * A naclgrid application is a wasm32 module. It may import only the five
 * functions below, all from the import module "naclgrid"; a module importing
 * anything else (including any wasi_snapshot_preview1 function) is refused
 * before it runs. It must export its linear memory as "memory" and an
 * allocator "ng_alloc" (a default one is defined here). Each entry is an
 * exported function (input pointer, input length) -> int32, 0 on success.
 * The full contract is in docs/wasm-abi.md.
 *
 * Build (Debian clang + lld + wasi-libc; malloc, string and math functions
 * from wasi-libc import nothing, but stdio does - printf, and even snprintf,
 * import wasi_snapshot_preview1 functions: use ng_logf / ng_format instead):
 *
 *   clang --target=wasm32-wasi -O2 -nostartfiles -Wl,--no-entry \
 *         -I path/to/include app.c -o app.wasm
 *
 * Minimal app:
 *
 *   #include "naclgrid.h"
 *
 *   NG_ENTRY(echo) {
 *       ng_set_result(input, input_len);
 *       return 0;
 *   }
 */
#ifndef NACLGRID_H
#define NACLGRID_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NG_ABI_VERSION 1

/* Default cap of one formatted log line built by ng_logf / ng_failf; the
 * host truncates lines longer than its own cap (4096 bytes) anyway. */
#ifndef NG_FORMAT_MAX
#define NG_FORMAT_MAX 1024
#endif

#define NG_IMPORT(name) \
    __attribute__((import_module("naclgrid"), import_name(#name)))
#define NG_EXPORT(name) __attribute__((export_name(#name)))

/* ---- The imports: exactly the host's capabilities. ---------------------- */

/* Write one log line (UTF-8; invalid bytes are replaced). Lines, and the
 * number and total size of lines per task, are capped by the host; excess
 * output is dropped, never an error. */
NG_IMPORT(log)
void ng_log_write(const char *ptr, int32_t len);

/* Size in bytes of the current job's dropped file NAME, or -1 when the job
 * has no such file. Only the current job's files are visible. */
NG_IMPORT(file_size)
int64_t ng_file_size_n(const char *name, int32_t name_len);

/* Copy at most DST_LEN bytes of file NAME, starting at OFFSET, to DST.
 * Returns the number of bytes copied (0 at or past the end of the file), or
 * -1 when the job has no such file or the arguments are out of range. */
NG_IMPORT(file_read)
int32_t ng_file_read_n(const char *name, int32_t name_len, int64_t offset,
                       void *dst, int32_t dst_len);

/* Set the task's result bytes. The last call wins. A result larger than the
 * application's result cap fails the task ("result limit"). */
NG_IMPORT(set_result)
void ng_set_result(const void *ptr, int32_t len);

/* Set the error text reported when the entry returns non-zero. */
NG_IMPORT(set_error)
void ng_set_error(const char *ptr, int32_t len);

/* ---- Entries and the allocator. ------------------------------------------ */

/* Declare an entry: an exported int32_t NAME(const uint8_t *input,
 * int32_t input_len). Return 0 on success; anything else fails the task with
 * the text given to ng_set_error (or "entry returned N" without one). The
 * input buffer was obtained from ng_alloc and belongs to the entry. */
#define NG_ENTRY(name)                                                      \
    NG_EXPORT(name) int32_t name(const uint8_t *input, int32_t input_len)

/* The host calls ng_alloc(n) before each entry call and copies the n input
 * bytes there; returning 0 for n > 0 fails the task with "memory limit".
 * This weak default uses malloc; define your own (non-weak) ng_alloc, or
 * define NG_NO_DEFAULT_ALLOC before including this header, to replace it. */
#ifndef NG_NO_DEFAULT_ALLOC
NG_EXPORT(ng_alloc) __attribute__((weak)) void *ng_alloc(int32_t size) {
    return malloc(size > 0 ? (size_t)size : 1);
}
#endif

/* ---- Helpers (header-only; they import nothing else). ------------------- */

static inline void ng_log(const char *text) {
    ng_log_write(text, (int32_t)strlen(text));
}

/* ng_vformat: a small vsnprintf for log and error lines. wasi-libc's own
 * snprintf links its stdio machinery, which imports
 * wasi_snapshot_preview1.fd_write/fd_seek/fd_close and so would get the module
 * refused. Supports %d %i %u %x %X %o %c %s %p %f %e %g (as %f/%e) %% with
 * flags "-0+ ", width, precision, '*' and the h/hh/l/ll/z/j/t modifiers.
 * Always NUL-terminates when cap > 0; returns the length written (truncated). */
static inline int ng__put(char *out, size_t cap, size_t *n, char c) {
    if (*n + 1 < cap) out[*n] = c;
    (*n)++;
    return 0;
}

static inline void ng__pad(char *out, size_t cap, size_t *n, char c, int count) {
    while (count-- > 0) ng__put(out, cap, n, c);
}

static inline void ng__field(char *out, size_t cap, size_t *n, const char *body,
                             int len, const char *prefix, int width, int left,
                             int zero) {
    int plen = (int)strlen(prefix);
    int pad = width - len - plen;
    if (!left && !zero) ng__pad(out, cap, n, ' ', pad);
    while (*prefix) ng__put(out, cap, n, *prefix++);
    if (!left && zero) ng__pad(out, cap, n, '0', pad);
    for (int i = 0; i < len; i++) ng__put(out, cap, n, body[i]);
    if (left) ng__pad(out, cap, n, ' ', pad);
}

static inline int ng__utoa(char *end, unsigned long long v, unsigned base,
                           int upper, int min_digits) {
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    int len = 0;
    while (v || len < min_digits) {
        *--end = digits[v % base];
        v /= base;
        len++;
    }
    return len;
}

static inline int ng_vformat(char *out, size_t cap, const char *fmt, va_list ap) {
    size_t n = 0;
    char tmp[80];
    for (; *fmt; fmt++) {
        if (*fmt != '%') { ng__put(out, cap, &n, *fmt); continue; }
        int left = 0, zero = 0, plus = 0, space = 0, width = 0, prec = -1, lng = 0;
        for (;; fmt++) {
            if (fmt[1] == '-') left = 1;
            else if (fmt[1] == '0') zero = 1;
            else if (fmt[1] == '+') plus = 1;
            else if (fmt[1] == ' ') space = 1;
            else if (fmt[1] == '#') {}
            else break;
        }
        fmt++;
        if (*fmt == '*') { width = va_arg(ap, int); fmt++;
                           if (width < 0) { left = 1; width = -width; } }
        else while (*fmt >= '0' && *fmt <= '9') width = width * 10 + (*fmt++ - '0');
        if (*fmt == '.') {
            fmt++; prec = 0;
            if (*fmt == '*') { prec = va_arg(ap, int); fmt++; }
            else while (*fmt >= '0' && *fmt <= '9') prec = prec * 10 + (*fmt++ - '0');
        }
        for (;; fmt++) {
            if (*fmt == 'h') {}
            else if (*fmt == 'l') lng++;
            else if (*fmt == 'z' || *fmt == 'j' || *fmt == 't') lng = 2;
            else break;
        }
        char *end = tmp + sizeof tmp;
        const char *sign = "";
        int len;
        switch (*fmt) {
        case 'd': case 'i': {
            long long v = lng >= 2 ? va_arg(ap, long long)
                        : lng == 1 ? va_arg(ap, long) : va_arg(ap, int);
            unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v
                                         : (unsigned long long)v;
            sign = v < 0 ? "-" : plus ? "+" : space ? " " : "";
            len = ng__utoa(end, u, 10, 0, prec < 0 ? 1 : prec);
            ng__field(out, cap, &n, end - len, len, sign, width, left, zero && prec < 0);
            break;
        }
        case 'u': case 'x': case 'X': case 'o': {
            unsigned long long u = lng >= 2 ? va_arg(ap, unsigned long long)
                                 : lng == 1 ? va_arg(ap, unsigned long)
                                            : va_arg(ap, unsigned);
            unsigned base = *fmt == 'u' ? 10 : *fmt == 'o' ? 8 : 16;
            len = ng__utoa(end, u, base, *fmt == 'X', prec < 0 ? 1 : prec);
            ng__field(out, cap, &n, end - len, len, "", width, left, zero && prec < 0);
            break;
        }
        case 'p': {
            len = ng__utoa(end, (uintptr_t)va_arg(ap, void *), 16, 0, 1);
            ng__field(out, cap, &n, end - len, len, "0x", width, left, 0);
            break;
        }
        case 'c':
            tmp[0] = (char)va_arg(ap, int);
            ng__field(out, cap, &n, tmp, 1, "", width, left, 0);
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s) s = "(null)";
            len = 0;
            while (s[len] && (prec < 0 || len < prec)) len++;
            ng__field(out, cap, &n, s, len, "", width, left, 0);
            break;
        }
        case 'f': case 'F': case 'e': case 'E': case 'g': case 'G': {
            double v = va_arg(ap, double);
            int e10 = 0, expo = (*fmt == 'e' || *fmt == 'E');
            if (prec < 0) prec = 6;
            if (prec > 17) prec = 17;
            if (v < 0 || (v == 0 && 1 / v < 0)) { sign = "-"; v = -v; }
            else sign = plus ? "+" : space ? " " : "";
            if (v != v) { ng__field(out, cap, &n, "nan", 3, sign, width, left, 0); break; }
            if (v > 1.7976931348623157e308) { ng__field(out, cap, &n, "inf", 3, sign, width, left, 0); break; }
            double scale = 1;
            for (int i = 0; i < prec; i++) scale *= 10;
            if ((*fmt == 'g' || *fmt == 'G') && v != 0 && (v >= 1e16 || v < 1e-5)) expo = 1;
            if (v * scale >= 1.8e19) expo = 1;   /* too wide for a u64 */
            if (expo && v != 0) {
                while (v >= 10) { v /= 10; e10++; }
                while (v < 1) { v *= 10; e10--; }
            }
            double r = v * scale + 0.5;
            unsigned long long whole = (unsigned long long)(r / scale);
            unsigned long long frac = (unsigned long long)(r - (double)whole * scale);
            if (expo && whole >= 10) { whole /= 10; e10++; }
            char *p = end;
            if (expo) {
                int a = e10 < 0 ? -e10 : e10;
                p -= ng__utoa(p, (unsigned)a, 10, 0, 2);
                *--p = e10 < 0 ? '-' : '+';
                *--p = (*fmt == 'E' || *fmt == 'G') ? 'E' : 'e';
            }
            if (prec > 0) { p -= ng__utoa(p, frac, 10, 0, prec); *--p = '.'; }
            p -= ng__utoa(p, whole, 10, 0, 1);
            ng__field(out, cap, &n, p, (int)(end - p), sign, width, left, zero);
            break;
        }
        case '%': ng__put(out, cap, &n, '%'); break;
        case 0: fmt--; break;
        default: ng__put(out, cap, &n, '%'); ng__put(out, cap, &n, *fmt); break;
        }
    }
    if (cap) out[n < cap ? n : cap - 1] = 0;
    return (int)(n < cap ? n : (cap ? cap - 1 : 0));
}

__attribute__((format(printf, 3, 4)))
static inline int ng_format(char *out, size_t cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = ng_vformat(out, cap, fmt, ap);
    va_end(ap);
    return n;
}

/* printf-like log line, formatted with ng_vformat. */
__attribute__((format(printf, 1, 2)))
static inline void ng_logf(const char *fmt, ...) {
    char buf[NG_FORMAT_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = ng_vformat(buf, sizeof buf, fmt, ap);
    va_end(ap);
    ng_log_write(buf, n);
}

static inline void ng_result_str(const char *text) {
    ng_set_result(text, (int32_t)strlen(text));
}

/* Fail with a message:  return ng_fail("bad input");  */
static inline int32_t ng_fail(const char *message) {
    ng_set_error(message, (int32_t)strlen(message));
    return 1;
}

__attribute__((format(printf, 1, 2)))
static inline int32_t ng_failf(const char *fmt, ...) {
    char buf[NG_FORMAT_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = ng_vformat(buf, sizeof buf, fmt, ap);
    va_end(ap);
    ng_set_error(buf, n);
    return 1;
}

static inline int64_t ng_file_size(const char *name) {
    return ng_file_size_n(name, (int32_t)strlen(name));
}

static inline int32_t ng_file_read(const char *name, int64_t offset,
                                   void *dst, int32_t dst_len) {
    return ng_file_read_n(name, (int32_t)strlen(name), offset, dst, dst_len);
}

/* Read a whole dropped file into a fresh malloc'd buffer, NUL-terminated for
 * convenience (the terminator is not counted). Returns NULL when the file is
 * missing or memory runs out; *len_out (if not NULL) gets the size. */
static inline uint8_t *ng_file_load(const char *name, size_t *len_out) {
    int32_t name_len = (int32_t)strlen(name);
    int64_t size = ng_file_size_n(name, name_len);
    if (size < 0 || size > INT32_MAX - 1) return NULL;
    uint8_t *buf = (uint8_t *)malloc((size_t)size + 1);
    if (!buf) return NULL;
    int64_t done = 0;
    while (done < size) {
        int32_t n = ng_file_read_n(name, name_len, done, buf + done,
                                   (int32_t)(size - done));
        if (n <= 0) { free(buf); return NULL; }
        done += n;
    }
    buf[size] = 0;
    if (len_out) *len_out = (size_t)size;
    return buf;
}

#ifdef __cplusplus
}
#endif

#endif /* NACLGRID_H */
