/* bvh.c - BVH traversal with Moller-Trumbore triangle tests. */
#include "bvh.h"

#define STACK 96

typedef struct { vec3 o, d, inv; } RayPre;

static inline RayPre pre(const Ray *r) {
    RayPre p;
    p.o = r->o;
    p.d = r->d;
    p.inv = v3(fabsf(r->d.x) > 1e-20f ? 1.f / r->d.x : copysignf(1e30f, r->d.x),
               fabsf(r->d.y) > 1e-20f ? 1.f / r->d.y : copysignf(1e30f, r->d.y),
               fabsf(r->d.z) > 1e-20f ? 1.f / r->d.z : copysignf(1e30f, r->d.z));
    return p;
}

static inline float box(const Node *n, const RayPre *r, float tmin, float tmax) {
    float t1 = (n->lo[0] - r->o.x) * r->inv.x, t2 = (n->hi[0] - r->o.x) * r->inv.x;
    float lo = minf(t1, t2), hi = maxf(t1, t2);
    t1 = (n->lo[1] - r->o.y) * r->inv.y; t2 = (n->hi[1] - r->o.y) * r->inv.y;
    lo = maxf(lo, minf(t1, t2)); hi = minf(hi, maxf(t1, t2));
    t1 = (n->lo[2] - r->o.z) * r->inv.z; t2 = (n->hi[2] - r->o.z) * r->inv.z;
    lo = maxf(lo, minf(t1, t2)); hi = minf(hi, maxf(t1, t2));
    lo = maxf(lo, tmin);
    hi = minf(hi, tmax);
    return lo <= hi ? lo : INFINITY;
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

int bvh_closest(const Scene *sc, const Ray *ray, Hit *hit) {
    if (sc->settings->ntri_visible == 0) return 0;
    RayPre r = pre(ray);
    float tmax = ray->tmax;
    int found = 0;
    uint32_t stack[STACK];
    int sp = 0;
    uint32_t node = 0;
    if (box(&sc->nodes[0], &r, ray->tmin, tmax) == INFINITY) return 0;
    for (;;) {
        const Node *n = &sc->nodes[node];
        uint32_t cnt = n->meta & 0xFFFFFF;
        if (cnt) {
            for (uint32_t i = n->offset; i < n->offset + cnt; i++) {
                float t, u, v;
                if (tri_hit(&sc->geom[i], &r, ray->tmin, tmax, &t, &u, &v)) {
                    tmax = t;
                    hit->t = t; hit->u = u; hit->v = v; hit->tri = i;
                    found = 1;
                }
            }
        } else {
            uint32_t a = n->offset, b = n->offset + 1;
            float ta = box(&sc->nodes[a], &r, ray->tmin, tmax);
            float tb = box(&sc->nodes[b], &r, ray->tmin, tmax);
            if (ta != INFINITY && tb != INFINITY) {
                if (tb < ta) { uint32_t x = a; a = b; b = x; }
                if (sp < STACK) stack[sp++] = b;
                node = a;
                continue;
            }
            if (ta != INFINITY) { node = a; continue; }
            if (tb != INFINITY) { node = b; continue; }
        }
        /* Pop, skipping nodes that are now farther than the closest hit. */
        for (;;) {
            if (sp == 0) return found;
            node = stack[--sp];
            if (box(&sc->nodes[node], &r, ray->tmin, tmax) != INFINITY) break;
        }
    }
}

int bvh_all_hits(const Scene *sc, const Ray *ray, HitVisitor visit, void *ctx) {
    if (sc->settings->ntri_visible == 0) return 1;
    RayPre r = pre(ray);
    uint32_t stack[STACK];
    int sp = 0;
    stack[sp++] = 0;
    while (sp) {
        const Node *n = &sc->nodes[stack[--sp]];
        if (box(n, &r, ray->tmin, ray->tmax) == INFINITY) continue;
        uint32_t cnt = n->meta & 0xFFFFFF;
        if (cnt) {
            for (uint32_t i = n->offset; i < n->offset + cnt; i++) {
                Hit h;
                if (tri_hit(&sc->geom[i], &r, ray->tmin, ray->tmax, &h.t, &h.u, &h.v)) {
                    h.tri = i;
                    if (!visit(ctx, &h)) return 0;
                }
            }
        } else if (sp + 2 <= STACK) {
            stack[sp++] = n->offset + 1;
            stack[sp++] = n->offset;
        }
    }
    return 1;
}
