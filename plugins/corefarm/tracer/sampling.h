/* sampling.h - direction sampling without trigonometry (rejection on the
 * unit disk), which keeps wasm and native equally fast: musl's sinf/cosf in
 * the wasm build are far slower than glibc's. */
#ifndef CF_SAMPLING_H
#define CF_SAMPLING_H

#include "rng.h"
#include "vec.h"

/* Uniform point in the unit disk. */
static inline void disk_point(Rng *r, float *x, float *y) {
    for (;;) {
        float a = 2.f * rng_float(r) - 1.f, b = 2.f * rng_float(r) - 1.f;
        if (a * a + b * b <= 1.f) { *x = a; *y = b; return; }
    }
}

/* Uniform azimuth as (cos phi, sin phi). */
static inline void azimuth(Rng *r, float *c, float *s) {
    for (;;) {
        float a = 2.f * rng_float(r) - 1.f, b = 2.f * rng_float(r) - 1.f;
        float d = a * a + b * b;
        if (d <= 1.f && d > 1e-12f) {
            float inv = 1.f / sqrtf(d);
            *c = a * inv; *s = b * inv;
            return;
        }
    }
}

/* Cosine-weighted direction around unit N (pdf = cos / pi). */
static inline vec3 cosine_hemisphere(vec3 n, Rng *r, float *cos_theta) {
    float x, y;
    disk_point(r, &x, &y);
    float z = sqrtf(maxf(0.f, 1.f - x * x - y * y));
    vec3 t, b;
    onb(n, &t, &b);
    if (cos_theta) *cos_theta = z;
    return vnorm(to_world(v3(x, y, z), t, b, n));
}

/* Direction at angle acos(COS_T) from AXIS, uniform in azimuth. */
static inline vec3 around(vec3 axis, float cos_t, Rng *r) {
    float c, s;
    azimuth(r, &c, &s);
    float sin_t = sqrtf(maxf(0.f, 1.f - cos_t * cos_t));
    vec3 t, b;
    onb(axis, &t, &b);
    return vnorm(to_world(v3(c * sin_t, s * sin_t, cos_t), t, b, axis));
}

#endif
