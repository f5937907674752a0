/* rng.h - deterministic per-sample random numbers.
 *
 * Every camera sample owns a PCG32 stream seeded from a hash of (pixel x,
 * pixel y, sample index, job seed), so a pixel's value depends only on those
 * numbers and never on how the image was split into tiles. */
#ifndef CF_RNG_H
#define CF_RNG_H

#include <stdint.h>

typedef struct { uint64_t state, inc; } Rng;

static inline uint32_t hash32(uint32_t x) {
    /* lowbias32 (Chris Wellons) */
    x ^= x >> 16; x *= 0x7feb352dU;
    x ^= x >> 15; x *= 0x846ca68bU;
    x ^= x >> 16;
    return x;
}

static inline uint32_t hash4(uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
    uint32_t h = hash32(a ^ 0x9e3779b9U);
    h = hash32(h ^ b);
    h = hash32(h ^ c);
    return hash32(h ^ d);
}

static inline uint32_t rng_u32(Rng *r) {
    uint64_t old = r->state;
    r->state = old * 6364136223846793005ULL + r->inc;
    uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
    uint32_t rot = (uint32_t)(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((-rot) & 31));
}

static inline void rng_seed(Rng *r, uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
    uint32_t h1 = hash4(a, b, c, d), h2 = hash4(d, c, b, a ^ 0x85ebca6bU);
    r->state = 0;
    r->inc = ((uint64_t)h2 << 1) | 1u;
    rng_u32(r);
    r->state += ((uint64_t)h1 << 32) | hash32(h1 ^ h2);
    rng_u32(r);
}

/* Uniform float in [0, 1). */
static inline float rng_float(Rng *r) {
    return (float)(rng_u32(r) >> 8) * (1.0f / 16777216.0f);
}

/* The (0,2)-sequence (van der Corput x Sobol dimension 2), XOR-scrambled,
 * for well-spread sub-pixel positions. */
static inline uint32_t radical_inverse2(uint32_t i) {
    i = (i << 16) | (i >> 16);
    i = ((i & 0x00ff00ffU) << 8) | ((i & 0xff00ff00U) >> 8);
    i = ((i & 0x0f0f0f0fU) << 4) | ((i & 0xf0f0f0f0U) >> 4);
    i = ((i & 0x33333333U) << 2) | ((i & 0xccccccccU) >> 2);
    i = ((i & 0x55555555U) << 1) | ((i & 0xaaaaaaaaU) >> 1);
    return i;
}

static inline uint32_t sobol2(uint32_t i) {
    uint32_t r = 0;
    for (uint32_t v = 1U << 31; i; i >>= 1, v ^= v >> 1)
        if (i & 1) r ^= v;
    return r;
}

static inline float u32_to_float(uint32_t x) { return (float)(x >> 8) * (1.0f / 16777216.0f); }

#endif
