/* env.c - importance sampling of the background on its lat-long table. */
#include "env.h"
#include "fastmath.h"
#include "sampling.h"

static uint32_t find(const float *cdf, uint32_t n, float u) {
    uint32_t lo = 0, hi = n - 1;
    while (lo < hi) {
        uint32_t mid = (lo + hi) >> 1;
        if (cdf[mid] <= u) lo = mid + 1; else hi = mid;
    }
    return lo;
}

static float cosine_sample(vec3 N, Rng *rng, vec3 *wi) {
    float c;
    *wi = cosine_hemisphere(N, rng, &c);
    return c * INV_PI_F;
}

static float table_pdf(const Scene *sc, vec3 wi) {
    float z = clampf(wi.z, -1.f, 1.f);
    float st = sqrtf(maxf(0.f, 1.f - z * z));
    if (st <= 1e-6f) return 0.f;
    float theta = fast_atan2(st, z);
    float phi = fast_atan2(wi.y, wi.x);
    if (phi < 0.f) phi += 2.f * PI_F;
    uint32_t i = (uint32_t)(phi * (0.5f * INV_PI_F) * (float)sc->env_w);
    uint32_t j = (uint32_t)(theta * INV_PI_F * (float)sc->env_h);
    if (i >= sc->env_w) i = sc->env_w - 1;
    if (j >= sc->env_h) j = sc->env_h - 1;
    return sc->env_pdf[(size_t)j * sc->env_w + i] / (2.f * PI_F * PI_F * st);
}

static int table_sample(const Scene *sc, Rng *rng, vec3 *wi) {
    uint32_t w = sc->env_w, h = sc->env_h;
    uint32_t j = find(sc->env_marginal, h, rng_float(rng));
    uint32_t i = find(sc->env_conditional + (size_t)j * w, w, rng_float(rng));
    float su = ((float)i + rng_float(rng)) / (float)w;
    float sv = ((float)j + rng_float(rng)) / (float)h;
    float st, ct, sp, cp;
    fast_sincos(PI_F * sv, &st, &ct);
    fast_sincos(2.f * PI_F * su, &sp, &cp);
    if (st <= 1e-6f) return 0;
    *wi = v3(st * cp, st * sp, ct);
    return 1;
}

/* With a table, half the samples follow it and half follow the cosine: the
 * table wins for a small bright sun, the cosine for a smooth sky seen by a
 * tilted surface; the mixture pdf keeps the better of both. */
float env_sample(const Scene *sc, vec3 N, Rng *rng, vec3 *wi) {
    if (!sc->env_w) return cosine_sample(N, rng, wi);
    if (rng_float(rng) < 0.5f) cosine_sample(N, rng, wi);
    else if (!table_sample(sc, rng, wi)) return 0.f;
    return env_pdf(sc, N, *wi);
}

float env_pdf(const Scene *sc, vec3 N, vec3 wi) {
    float pc = maxf(vdot(N, wi), 0.f) * INV_PI_F;
    if (!sc->env_w) return pc;
    return 0.5f * (pc + table_pdf(sc, wi));
}
