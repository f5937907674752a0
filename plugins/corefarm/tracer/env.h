/* env.h - sampling directions towards a lighting (IBL) background. */
#ifndef CF_ENV_H
#define CF_ENV_H

#include "rng.h"
#include "scene.h"

/* Sample a direction for image-based lighting at a point with normal N:
 * from the background's importance table when the scene has one, else
 * cosine-weighted around N (constant backgrounds). Returns the solid-angle
 * pdf (0: no sample). */
float env_sample(const Scene *sc, vec3 N, Rng *rng, vec3 *wi);

/* The pdf env_sample would have given WI. */
float env_pdf(const Scene *sc, vec3 N, vec3 wi);

static inline float mis_power(float a, float b) {
    float a2 = a * a, b2 = b * b;
    return a2 + b2 > 0.f ? a2 / (a2 + b2) : 0.f;
}

#endif
