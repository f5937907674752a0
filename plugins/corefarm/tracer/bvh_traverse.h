/* bvh_traverse.h - the inline parts of BVH traversal: ray set-up, the box
 * and triangle tests, and the any-hit walk used for shadow rays (inline so
 * the caller's visitor is inlined too, with no indirect call per hit). */
#ifndef CF_BVH_TRAVERSE_H
#define CF_BVH_TRAVERSE_H

#include "bvh.h"

#define STACK 96

#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

typedef struct {
    vec3 o, d, inv;
#ifdef __wasm_simd128__
    v128_t o4, inv4;   /* (x, y, z, x): lane 3 repeats x so it never decides */
#endif
} RayPre;

static inline RayPre pre(const Ray *r) {
    RayPre p;
    p.o = r->o;
    p.d = r->d;
    p.inv = v3(fabsf(r->d.x) > 1e-20f ? 1.f / r->d.x : copysignf(1e30f, r->d.x),
               fabsf(r->d.y) > 1e-20f ? 1.f / r->d.y : copysignf(1e30f, r->d.y),
               fabsf(r->d.z) > 1e-20f ? 1.f / r->d.z : copysignf(1e30f, r->d.z));
#ifdef __wasm_simd128__
    p.o4 = wasm_f32x4_make(p.o.x, p.o.y, p.o.z, p.o.x);
    p.inv4 = wasm_f32x4_make(p.inv.x, p.inv.y, p.inv.z, p.inv.x);
#endif
    return p;
}

/* Entry distance of the ray into node N within [tmin, tmax], or INFINITY.
 * The wasm build uses 128-bit SIMD: scalar float min/max must honour NaN in
 * wasm and cost several instructions each, while pmin/pmax map to one. */
static inline float box(const Node *n, const RayPre *r, float tmin, float tmax) {
#ifdef __wasm_simd128__
    v128_t lo = wasm_v128_load(n->lo);          /* lo.x lo.y lo.z hi.x */
    v128_t hi = wasm_v128_load(n->hi);          /* hi.x hi.y hi.z (offset) */
    lo = wasm_i32x4_shuffle(lo, lo, 0, 1, 2, 0);
    hi = wasm_i32x4_shuffle(hi, hi, 0, 1, 2, 0);
    v128_t t1 = wasm_f32x4_mul(wasm_f32x4_sub(lo, r->o4), r->inv4);
    v128_t t2 = wasm_f32x4_mul(wasm_f32x4_sub(hi, r->o4), r->inv4);
    v128_t mn = wasm_f32x4_pmin(t1, t2), mx = wasm_f32x4_pmax(t1, t2);
    mn = wasm_f32x4_pmax(mn, wasm_i32x4_shuffle(mn, mn, 2, 3, 0, 1));
    mn = wasm_f32x4_pmax(mn, wasm_i32x4_shuffle(mn, mn, 1, 0, 3, 2));
    mx = wasm_f32x4_pmin(mx, wasm_i32x4_shuffle(mx, mx, 2, 3, 0, 1));
    mx = wasm_f32x4_pmin(mx, wasm_i32x4_shuffle(mx, mx, 1, 0, 3, 2));
    float lo_t = maxf(wasm_f32x4_extract_lane(mn, 0), tmin);
    float hi_t = minf(wasm_f32x4_extract_lane(mx, 0), tmax);
    return lo_t <= hi_t ? lo_t : INFINITY;
#else
    float t1 = (n->lo[0] - r->o.x) * r->inv.x, t2 = (n->hi[0] - r->o.x) * r->inv.x;
    float lo = minf(t1, t2), hi = maxf(t1, t2);
    t1 = (n->lo[1] - r->o.y) * r->inv.y; t2 = (n->hi[1] - r->o.y) * r->inv.y;
    lo = maxf(lo, minf(t1, t2)); hi = minf(hi, maxf(t1, t2));
    t1 = (n->lo[2] - r->o.z) * r->inv.z; t2 = (n->hi[2] - r->o.z) * r->inv.z;
    lo = maxf(lo, minf(t1, t2)); hi = minf(hi, maxf(t1, t2));
    lo = maxf(lo, tmin);
    hi = minf(hi, tmax);
    return lo <= hi ? lo : INFINITY;
#endif
}

/* Both children of an inner node (stored side by side) at once: their entry
 * distances in *TA and *TB (INFINITY when missed); bit 0 of the result is
 * set when the first child is hit, bit 2 when the second is. The wasm build
 * tests the two boxes in the same SIMD registers, which halves the
 * horizontal reductions and leaves no scalar min/max to branch on; the
 * distances are those of box(). */
static inline int box2(const Node *n, const RayPre *r, float tmin, float tmax,
                       float *ta, float *tb) {
#ifdef __wasm_simd128__
    v128_t alo = wasm_v128_load(n[0].lo), ahi = wasm_v128_load(n[0].hi);
    v128_t blo = wasm_v128_load(n[1].lo), bhi = wasm_v128_load(n[1].hi);
    /* Lane 3 of a hi load is the node's offset, an arbitrary bit pattern:
     * replace it by x so that no lane computes with a NaN or a denormal. */
    ahi = wasm_i32x4_shuffle(ahi, ahi, 0, 1, 2, 0);
    bhi = wasm_i32x4_shuffle(bhi, bhi, 0, 1, 2, 0);
    v128_t a1 = wasm_f32x4_mul(wasm_f32x4_sub(alo, r->o4), r->inv4);
    v128_t a2 = wasm_f32x4_mul(wasm_f32x4_sub(ahi, r->o4), r->inv4);
    v128_t b1 = wasm_f32x4_mul(wasm_f32x4_sub(blo, r->o4), r->inv4);
    v128_t b2 = wasm_f32x4_mul(wasm_f32x4_sub(bhi, r->o4), r->inv4);
    v128_t an = wasm_f32x4_pmin(a1, a2), af = wasm_f32x4_pmax(a1, a2);
    v128_t bn = wasm_f32x4_pmin(b1, b2), bf = wasm_f32x4_pmax(b1, b2);
    /* (a.x, a.y, b.x, b.y) against (a.z, a.z, b.z, b.z), then lane pairs. */
    v128_t nr = wasm_f32x4_pmax(wasm_i32x4_shuffle(an, bn, 0, 1, 4, 5),
                                wasm_i32x4_shuffle(an, bn, 2, 2, 6, 6));
    v128_t fr = wasm_f32x4_pmin(wasm_i32x4_shuffle(af, bf, 0, 1, 4, 5),
                                wasm_i32x4_shuffle(af, bf, 2, 2, 6, 6));
    nr = wasm_f32x4_pmax(nr, wasm_i32x4_shuffle(nr, nr, 1, 0, 3, 2));
    fr = wasm_f32x4_pmin(fr, wasm_i32x4_shuffle(fr, fr, 1, 0, 3, 2));
    nr = wasm_f32x4_pmax(nr, wasm_f32x4_splat(tmin));
    fr = wasm_f32x4_pmin(fr, wasm_f32x4_splat(tmax));
    v128_t hit = wasm_f32x4_le(nr, fr);
    nr = wasm_v128_bitselect(nr, wasm_f32x4_splat(INFINITY), hit);
    *ta = wasm_f32x4_extract_lane(nr, 0);
    *tb = wasm_f32x4_extract_lane(nr, 2);
    return wasm_i32x4_bitmask(hit) & 5;
#else
    *ta = box(&n[0], r, tmin, tmax);
    *tb = box(&n[1], r, tmin, tmax);
    return (*ta != INFINITY) | (*tb != INFINITY) << 2;
#endif
}

static inline int tri_hit(const TriGeom *g, const RayPre *r, float tmin, float tmax,
                          float *t, float *u, float *v) {
    vec3 p = vcross(r->d, g->e2);
    float det = vdot(g->e1, p);
    if (det == 0.f) return 0;
    float inv = 1.f / det;
    vec3 s = vsub(r->o, g->v0);
    float uu = vdot(s, p) * inv;
    if (uu < 0.f || uu > 1.f) return 0;
    vec3 q = vcross(s, g->e1);
    float vv = vdot(r->d, q) * inv;
    if (vv < 0.f || uu + vv > 1.f) return 0;
    float tt = vdot(g->e2, q) * inv;
    if (!(tt > tmin && tt < tmax)) return 0;
    *t = tt; *u = uu; *v = vv;
    return 1;
}

/* One node of the any-hit walk. Returns 1 when the walk is over, with the
 * answer in *RESULT. */
static inline __attribute__((always_inline)) int all_hits_step(
        const Scene *sc, const Ray *ray, const RayPre *r, HitVisitor visit, void *ctx,
        uint32_t *stack, int *sp, uint32_t *node, int *result) {
    const Node *n = &sc->nodes[*node];
    uint32_t cnt = n->meta & 0xFFFFFF;
    if (cnt) {
        for (uint32_t i = n->offset; i < n->offset + cnt; i++) {
            Hit h;
            if (tri_hit(&sc->geom[i], r, ray->tmin, ray->tmax, &h.t, &h.u, &h.v)) {
                h.tri = i;
                if (!visit(ctx, &h)) { *result = 0; return 1; }
            }
        }
    } else {
        uint32_t a = n->offset, b = n->offset + 1;
        float ta, tb;
        int hits = box2(&sc->nodes[a], r, ray->tmin, ray->tmax, &ta, &tb);
        if (hits == 5) {
            if (tb < ta) { uint32_t x = a; a = b; b = x; }
            if (*sp < STACK) stack[(*sp)++] = b;
            *node = a;
            return 0;
        }
        if (hits == 1) { *node = a; return 0; }
        if (hits == 4) { *node = b; return 0; }
    }
    if (*sp == 0) { *result = 1; return 1; }
    *node = stack[--*sp];
    return 0;
}

static inline int bvh_all_hits(const Scene *sc, const Ray *ray, HitVisitor visit, void *ctx) {
    if (sc->settings->ntri_visible == 0) return 1;
    RayPre r = pre(ray);
    uint32_t stack[STACK];
    int sp = 0, result;
    uint32_t node = 0;
    if (box(&sc->nodes[0], &r, ray->tmin, ray->tmax) == INFINITY) return 1;
    /* Near child first: a blocker close to the shading point ends the
     * search early. Two nodes per iteration: wasm engines check their
     * interruption deadline at every loop iteration, which cost the
     * shadow rays 4-8 % in the sandbox (the step must be inlined, or the
     * walk state goes through memory). */
    for (;;) {
        if (all_hits_step(sc, ray, &r, visit, ctx, stack, &sp, &node, &result)) return result;
        if (all_hits_step(sc, ray, &r, visit, ctx, stack, &sp, &node, &result)) return result;
    }
}

#endif
