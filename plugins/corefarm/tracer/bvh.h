/* bvh.h - ray queries against the scene's BVH. */
#ifndef CF_BVH_H
#define CF_BVH_H

#include "scene.h"

typedef struct { vec3 o, d; float tmin, tmax; } Ray;
typedef struct { float t, u, v; uint32_t tri; } Hit;

/* Closest visible triangle along RAY within (tmin, tmax); 1 if found. */
int bvh_closest(const Scene *sc, const Ray *ray, Hit *hit);

/* Visitor for bvh_all_hits (bvh_traverse.h), which visits every triangle hit
 * within (tmin, tmax), near nodes first. VISIT returns 0 to stop (the ray is
 * blocked), 1 to go on; bvh_all_hits returns 1 when the ray got through. */
typedef int (*HitVisitor)(void *ctx, const Hit *hit);

#endif
