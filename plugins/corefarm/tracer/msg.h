/* msg.h - a tiny message formatter (%s %d %u %%). wasi-libc's snprintf drags
 * in stdio's FILE machinery and with it WASI fd_* imports, which the naclgrid
 * sandbox refuses, so error texts are built with this instead. */
#ifndef CF_MSG_H
#define CF_MSG_H

#include <stdarg.h>
#include <stddef.h>

static inline void msg_format(char *out, size_t cap, const char *fmt, ...) {
    va_list ap;
    size_t n = 0;
    if (!cap) return;
    va_start(ap, fmt);
    for (const char *p = fmt; *p && n + 1 < cap; p++) {
        if (*p != '%' || !p[1]) { out[n++] = *p; continue; }
        p++;
        if (*p == 's') {
            const char *s = va_arg(ap, const char *);
            while (s && *s && n + 1 < cap) out[n++] = *s++;
        } else if (*p == 'd' || *p == 'u') {
            char digits[12];
            int k = 0;
            unsigned long v;
            if (*p == 'd') {
                int x = va_arg(ap, int);
                if (x < 0 && n + 1 < cap) out[n++] = '-';
                v = x < 0 ? (unsigned long)(-(long)x) : (unsigned long)x;
            } else {
                v = va_arg(ap, unsigned);
            }
            do { digits[k++] = (char)('0' + v % 10); v /= 10; } while (v && k < 12);
            while (k && n + 1 < cap) out[n++] = digits[--k];
        } else {
            out[n++] = *p;
        }
    }
    out[n] = 0;
    va_end(ap);
}

#endif
