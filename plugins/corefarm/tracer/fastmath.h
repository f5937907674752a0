/* fastmath.h - pow, exp, atan2, acos, sin and cos for the hot paths, from
 * plain arithmetic and bit operations (relative error ~1e-6).
 *
 * wasi-libc's (musl) versions in the wasm build cost several times glibc's
 * in the native build; these cost the same in both and give bit-identical
 * results in every wasm engine. */
#ifndef CF_FASTMATH_H
#define CF_FASTMATH_H

#include <stdint.h>
#include <string.h>

#include "vec.h"

static inline uint32_t f2u(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline float u2f(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

/* log2(x) for x > 0 (x <= 0 gives -128). */
static inline float fast_log2(float x) {
    if (!(x > 0.f)) return -128.f;
    uint32_t u = f2u(x);
    int e = (int)((u >> 23) & 255) - 127;
    float m = u2f((u & 0x007FFFFFu) | 0x3F800000u);          /* [1, 2) */
    if (m > 1.41421356f) { m *= 0.5f; e += 1; }              /* [0.707, 1.414) */
    float t = (m - 1.f) / (m + 1.f), t2 = t * t;
    float ln = 2.f * t * (1.f + t2 * (1.f / 3.f + t2 * (1.f / 5.f + t2 * (1.f / 7.f + t2 * (1.f / 9.f)))));
    return (float)e + ln * 1.44269504f;
}

/* 2^x. */
static inline float fast_exp2(float x) {
    if (x < -126.f) return 0.f;
    if (x > 127.f) x = 127.f;
    float n = floorf(x + 0.5f), f = x - n;                   /* f in [-0.5, 0.5] */
    float p = 1.f + f * (0.693147181f + f * (0.240226507f + f * (0.0555041087f + f * (
                   0.00961812911f + f * (0.00133335581f + f * 0.000154035304f)))));
    return p * u2f((uint32_t)((int)n + 127) << 23);
}

static inline float fast_exp(float x) { return fast_exp2(x * 1.44269504f); }

/* x^y for x >= 0, y > 0. */
static inline float fast_pow(float x, float y) {
    if (!(x > 0.f)) return 0.f;
    return fast_exp2(y * fast_log2(x));
}

/* atan(x) for |x| <= 1 (minimax, error < 1e-5 rad after the range split). */
static inline float atan_unit(float x) {
    /* atan(x) = atan(c) + atan((x - c) / (1 + x c)) with c = 0.5 splits [0,1]. */
    float ax = fabsf(x), base = 0.f;
    if (ax > 0.41421356f) { base = 0.463647609f; ax = (ax - 0.5f) / (1.f + 0.5f * ax); }
    float a2 = ax * ax;
    float r = ax * (1.f + a2 * (-1.f / 3.f + a2 * (1.f / 5.f + a2 * (-1.f / 7.f + a2 * (1.f / 9.f - a2 / 11.f)))));
    r += base;
    return x < 0.f ? -r : r;
}

static inline float fast_atan2(float y, float x) {
    if (x == 0.f && y == 0.f) return 0.f;
    float ax = fabsf(x), ay = fabsf(y);
    float r = ay <= ax ? atan_unit(ay / ax) : 1.57079633f - atan_unit(ax / ay);
    if (x < 0.f) r = PI_F - r;
    return y < 0.f ? -r : r;
}

static inline float fast_acos(float x) {
    x = clampf(x, -1.f, 1.f);
    return fast_atan2(sqrtf(maxf(0.f, 1.f - x * x)), x);
}

/* sin and cos of x in [-2pi, 2pi]. */
static inline void fast_sincos(float x, float *s, float *c) {
    if (x > PI_F) x -= 2.f * PI_F;
    if (x < -PI_F) x += 2.f * PI_F;
    float sign = 1.f;                                        /* cos(x) = -cos(pi - x) */
    float y = x;
    if (y > 1.57079633f) { y = PI_F - y; sign = -1.f; }
    else if (y < -1.57079633f) { y = -PI_F - y; sign = -1.f; }
    float y2 = y * y;
    *s = y * (1.f + y2 * (-1.f / 6.f + y2 * (1.f / 120.f + y2 * (-1.f / 5040.f + y2 * (1.f / 362880.f - y2 / 39916800.f)))));
    *c = sign * (1.f + y2 * (-0.5f + y2 * (1.f / 24.f + y2 * (-1.f / 720.f + y2 * (1.f / 40320.f - y2 / 3628800.f)))));
}

#endif
