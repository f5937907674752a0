/* texture.h - image and procedural textures, and the shader-node graph. */
#ifndef CF_TEXTURE_H
#define CF_TEXTURE_H

#include "scene.h"

typedef struct {
    vec3 P, N, Ng;            /* position; shading and geometric normal (facing the viewer) */
    vec3 orco;
    float u, v;               /* texture uv */
    int has_uv, has_orco;
    int backface;             /* hit the back of the triangle's geometric normal */
    uint32_t tri;
} SurfacePoint;

typedef struct { vec3 col; float alpha, val; int valid; } NodeOut;

/* Evaluate shader node IDX at SP. */
NodeOut node_eval(const Scene *sc, int32_t idx, const SurfacePoint *sp);

/* A material channel: the node's colour/value, or DEF when no node is set. */
vec3 channel_color(const Scene *sc, int32_t node, const SurfacePoint *sp, vec3 def);
float channel_value(const Scene *sc, int32_t node, const SurfacePoint *sp, float def);

/* Bilinear RGBA lookup of image IM at (s, t) in [0,1] (t = 0 is the top row).
 * WRAP repeats, otherwise the edge is clamped. */
void image_sample(const Scene *sc, const ImageInfo *im, float s, float t, int wrap,
                  int interpolate, vec3 *rgb, float *alpha);

float noise3(vec3 p);   /* improved Perlin noise in [-1, 1] */

#endif
