/* integrator.h - radiance along a camera ray. */
#ifndef CF_INTEGRATOR_H
#define CF_INTEGRATOR_H

#include "bvh.h"
#include "rng.h"

typedef struct {
    const Scene *sc;
    int mode;              /* INTEG_DIRECT or INTEG_PATH */
    int raydepth, bounces, shadow_depth, transp_shadows;
    int light_samples_cap; /* cap on per-light samples at the first hit */
} Integrator;

void integrator_init(Integrator *it, const Scene *sc, int mode_override);

/* Radiance along RAY; *alpha gets 0 when a camera ray sees a transparent
 * background, else 1. */
vec3 integrator_li(const Integrator *it, const Ray *ray, Rng *rng, float *alpha);

extern uint64_t g_ray_count;

#endif
