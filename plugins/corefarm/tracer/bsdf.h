/* bsdf.h - materials turned into a list of weighted lobes at a hit point.
 * Lobes are physically normalised (Lambert = albedo / pi); blend materials
 * simply concatenate their sub-materials' lobes with scaled weights. */
#ifndef CF_BSDF_H
#define CF_BSDF_H

#include "rng.h"
#include "texture.h"

enum { LOBE_DIFFUSE, LOBE_TRANSLUCENT, LOBE_GLOSSY, LOBE_MIRROR, LOBE_REFRACT,
       LOBE_TRANSPARENT };
#define MAX_LOBES 12

typedef struct {
    int type;
    vec3 w;          /* weight (albedo / tint) */
    float param;     /* glossy exponent, or Oren-Nayar sigma for diffuse */
    vec3 dir;        /* delta lobes: the outgoing direction */
    float sel;       /* selection weight (mean of w, floored) */
} Lobe;

typedef struct {
    Lobe lobes[MAX_LOBES];
    int n;
    int nondelta;        /* number of non-delta lobes */
    int types;           /* LOBE_BIT of every lobe present */
    vec3 emit;           /* emitted radiance towards wo */
    vec3 absorb;         /* glass: absorption coefficients of the medium behind */
    float diffuse_albedo;/* for AO */
    vec3 albedo;         /* diffuse colour, for AO */
} Closure;

void closure_build(const Scene *sc, uint32_t mat, const SurfacePoint *sp, vec3 wo,
                   Rng *rng, Closure *c);

#define LOBES_ALL 0x3F
#define LOBE_BIT(t) (1 << (t))

/* f * |cos| summed over the non-delta lobes in MASK, and the pdf with which
 * closure_sample(MASK) picks WI; with REST, the other lobes' sum goes there
 * (one pass for both halves of a MIS estimate). */
vec3 closure_eval_split(const Closure *c, const SurfacePoint *sp, vec3 wo, vec3 wi, int mask,
                        float *pdf, vec3 *rest);

static inline vec3 closure_eval(const Closure *c, const SurfacePoint *sp, vec3 wo, vec3 wi,
                                int mask, float *pdf) {
    return closure_eval_split(c, sp, wo, wi, mask, pdf, NULL);
}

/* Sample a direction among the lobes in MASK. Returns 0 when nothing was
 * sampled; *weight is f*cos/pdf (divided by the lobe choice probability). */
int closure_sample(const Closure *c, const SurfacePoint *sp, vec3 wo, Rng *rng, int mask,
                   vec3 *wi, vec3 *weight, int *delta, int *lobe_type, float *pdf_out);

float fresnel_dielectric(float cos_i, float eta);

#endif
