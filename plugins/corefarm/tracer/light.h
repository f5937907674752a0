/* light.h - light sampling and the background. */
#ifndef CF_LIGHT_H
#define CF_LIGHT_H

#include "rng.h"
#include "texture.h"

typedef struct {
    vec3 wi;         /* unit direction towards the light */
    float dist;      /* shadow ray length (INFINITY for distant lights) */
    vec3 li;         /* incident radiance divided by the sampling pdf */
} LightSample;

/* Sample light L as seen from P (with geometric normal NG for offsets).
 * Returns 0 when the light cannot reach P. */
int light_sample(const Scene *sc, const Light *l, vec3 P, Rng *rng, LightSample *out);

/* Radiance arriving from the background along direction D (unit). */
vec3 background_eval(const Scene *sc, vec3 d);

#endif
