/* integrator.c - YafaRay's "directlighting" (direct light + specular and
 * glossy recursion + ambient occlusion) and a path tracer that stands in for
 * photon mapping, path tracing and bidirectional scenes. */
#include "integrator.h"
#include "bvh_traverse.h"
#include "bsdf.h"
#include "env.h"
#include "light.h"
#include "sampling.h"

uint64_t g_ray_count;

void integrator_init(Integrator *it, const Scene *sc, int mode) {
    const Settings *s = sc->settings;
    it->sc = sc;
    it->mode = mode ? mode : (int)s->integrator;
    if (it->mode != INTEG_PATH) it->mode = INTEG_DIRECT;
    it->raydepth = (int)s->raydepth;
    it->bounces = s->bounces ? (int)s->bounces : 3;
    it->shadow_depth = (int)s->shadow_depth;
    it->transp_shadows = (int)s->transp_shadows;
    it->light_samples_cap = 16;
}

static inline float eps_for(vec3 p) {
    float m = maxf(fabsf(p.x), maxf(fabsf(p.y), fabsf(p.z)));
    return 2e-5f * (1.f + m);
}

static inline vec3 offset(vec3 p, vec3 ng, vec3 dir) {
    float e = eps_for(p);
    return vdot(dir, ng) >= 0.f ? vmadd(p, ng, e) : vmadd(p, ng, -e);
}

static void surface(const Scene *sc, const Ray *ray, const Hit *h, SurfacePoint *sp) {
    const Tri *t = &sc->tris[h->tri];
    const TriGeom *g = &sc->geom[h->tri];
    float u = h->u, v = h->v, w = 1.f - u - v;
    vec3 ng = vnorm(vcross(g->e1, g->e2));
    sp->tri = h->tri;
    sp->P = vadd(g->v0, vadd(vscale(g->e1, u), vscale(g->e2, v)));
    sp->backface = vdot(ray->d, ng) > 0.f;
    sp->Ng = sp->backface ? vneg(ng) : ng;
    sp->N = sp->Ng;
    if (t->n[0] >= 0) {
        const float *n0 = sc->normals + 3 * t->n[0], *n1 = sc->normals + 3 * t->n[1],
                    *n2 = sc->normals + 3 * t->n[2];
        vec3 n = vnorm(v3(w * n0[0] + u * n1[0] + v * n2[0], w * n0[1] + u * n1[1] + v * n2[1],
                          w * n0[2] + u * n1[2] + v * n2[2]));
        if (sp->backface) n = vneg(n);
        if (vdot(n, vneg(ray->d)) > 0.f) sp->N = n;
    }
    sp->has_uv = t->uv[0] >= 0;
    if (sp->has_uv) {
        const float *a = sc->uvs + 2 * t->uv[0], *b = sc->uvs + 2 * t->uv[1], *c = sc->uvs + 2 * t->uv[2];
        sp->u = w * a[0] + u * b[0] + v * c[0];
        sp->v = w * a[1] + u * b[1] + v * c[1];
    } else {
        sp->u = u; sp->v = v;
    }
    sp->has_orco = (t->flags & TRI_ORCO) != 0;
    if (sp->has_orco) {
        const float *a = sc->orco + 3 * t->v[0], *b = sc->orco + 3 * t->v[1], *c = sc->orco + 3 * t->v[2];
        sp->orco = v3(w * a[0] + u * b[0] + v * c[0], w * a[1] + u * b[1] + v * c[1],
                      w * a[2] + u * b[2] + v * c[2]);
    }
}

/* ---- shadows ------------------------------------------------------------------ */

typedef struct { const Integrator *it; vec3 T; int count; } Shadow;

static int shadow_visit(void *ctx, const Hit *h) {
    Shadow *s = (Shadow *)ctx;
    const Scene *sc = s->it->sc;
    const Tri *t = &sc->tris[h->tri];
    if (t->flags & TRI_LIGHT) return 1;            /* lamps do not shadow themselves */
    const Material *m = &sc->materials[t->material];
    if (m->type == MAT_LIGHT || m->type == MAT_NULL) return 1;
    if (m->type == MAT_GLASS && (m->flags & MATF_FAKE_SHADOWS)) {
        s->T = vmul(s->T, v3a(m->filter_color));
    } else if (m->type == MAT_SHINY && s->it->transp_shadows && m->transparency > 0.f) {
        float tf = m->transmit_filter, k = m->transparency * (1.f - m->specular_reflect);
        s->T = vmul(s->T, vscale(v3(tf * m->color[0] + 1 - tf, tf * m->color[1] + 1 - tf,
                                    tf * m->color[2] + 1 - tf), k));
    } else {
        return 0;
    }
    if (++s->count > s->it->shadow_depth || vis_black(s->T)) return 0;
    return 1;
}

static vec3 transmittance(const Integrator *it, const SurfacePoint *sp, vec3 wi, float dist) {
    Ray r;
    r.o = offset(sp->P, sp->Ng, wi);
    r.d = wi;
    r.tmin = 0.f;
    r.tmax = dist == INFINITY ? INFINITY : dist * (1.f - 1e-4f) - eps_for(sp->P);
    if (!(r.tmax > 0.f)) return v3(1, 1, 1);
    Shadow s = {it, v3(1, 1, 1), 0};
    g_ray_count++;
    return bvh_all_hits(it->sc, &r, shadow_visit, &s) ? s.T : v3(0, 0, 0);
}

/* ---- direct light --------------------------------------------------------------- */


/* Shadow samples per light: the scene's count at the first hit, halved at
 * every further bounce (reflections still look smooth, cost stays bounded). */
static inline int samples_at(const Integrator *it, int n, int depth) {
    if (n > it->light_samples_cap) n = it->light_samples_cap;
    n >>= depth < 8 ? depth : 8;
    return n < 1 ? 1 : n;
}

static inline int has_ibl(const Scene *sc) {
    return sc->settings->bg_ibl && sc->settings->bg_type != BG_NONE;
}

/* Light from the lamps and, for a lighting background, from the sky. The
 * lobes in MIS_MASK also sample the background through their own rays; for
 * them the two strategies are combined with the power heuristic. */
static vec3 direct_light(const Integrator *it, const SurfacePoint *sp, const Closure *cl,
                         vec3 wo, Rng *rng, int depth, int mis_mask) {
    const Scene *sc = it->sc;
    const Settings *s = sc->settings;
    vec3 L = v3(0, 0, 0);
    for (uint32_t i = 0; i < sc->nlights; i++) {
        const Light *l = &sc->lights[i];
        int n = samples_at(it, (int)l->samples, depth);
        vec3 acc = v3(0, 0, 0);
        for (int k = 0; k < n; k++) {
            LightSample ls;
            if (!light_sample(sc, l, sp->P, rng, &ls)) continue;
            vec3 f = closure_eval(cl, sp, wo, ls.wi, LOBES_ALL, NULL);
            if (vis_black(f)) continue;
            vec3 T = transmittance(it, sp, ls.wi, ls.dist);
            acc = vadd(acc, vmul(vmul(f, ls.li), T));
        }
        L = vmadd(L, acc, 1.f / (float)n);
    }
    if (has_ibl(sc)) {
        int n = samples_at(it, (int)s->bg_ibl_samples, depth);
        vec3 acc = v3(0, 0, 0);
        for (int k = 0; k < n; k++) {
            vec3 wi;
            float pe = env_sample(sc, sp->N, rng, &wi);
            if (pe <= 0.f) continue;
            float pb = 0.f;
            vec3 fo;
            vec3 fm = closure_eval_split(cl, sp, wo, wi, mis_mask, &pb, &fo);
            vec3 f = vadd(fo, vscale(fm, mis_power(pe, pb)));
            if (vis_black(f)) continue;
            vec3 T = transmittance(it, sp, wi, INFINITY);
            if (vis_black(T)) continue;
            acc = vadd(acc, vscale(vmul(vmul(f, background_eval(sc, wi)), T), 1.f / pe));
        }
        L = vmadd(L, acc, 1.f / (float)n);
    }
    return L;
}

/* Background seen by a ray that a BSDF sampled with PDF at a point with
 * normal N (PDF 0: a camera or specular ray, full weight). */
static vec3 escaped(const Scene *sc, vec3 d, float pdf, vec3 N) {
    vec3 bg = background_eval(sc, d);
    if (pdf > 0.f && has_ibl(sc)) bg = vscale(bg, mis_power(pdf, env_pdf(sc, N, d)));
    return bg;
}

static vec3 ambient_occlusion(const Integrator *it, const SurfacePoint *sp, const Closure *cl,
                              Rng *rng, int primary) {
    const Settings *s = it->sc->settings;
    int n = primary ? (int)s->ao_samples : 1;
    if (n < 1) n = 1;
    int open = 0;
    for (int k = 0; k < n; k++) {
        vec3 wi = cosine_hemisphere(sp->N, rng, NULL);
        if (vdot(wi, sp->Ng) <= 0.f) continue;
        Ray r = {offset(sp->P, sp->Ng, wi), wi, 0.f, s->ao_distance > 0.f ? s->ao_distance : INFINITY};
        Hit h;
        g_ray_count++;
        if (!bvh_closest(it->sc, &r, &h)) open++;
    }
    return vscale(vmul(v3a(s->ao_color), cl->albedo), (float)open / (float)n);
}

/* ---- directlighting ------------------------------------------------------------- */

static inline vec3 absorb(vec3 L, vec3 sigma, float t) {
    if (vis_black(sigma)) return L;
    return v3(L.x * expf(-sigma.x * t), L.y * expf(-sigma.y * t), L.z * expf(-sigma.z * t));
}

#define GLOSSY_LOBES LOBE_BIT(LOBE_GLOSSY)

/* SEE_LAMPS: count the emission of sampled lamps (camera and specular rays).
 * MIS_PDF, MIS_N: how this ray was sampled, for the background weight. */
static vec3 li_direct(const Integrator *it, const Ray *ray, Rng *rng, int depth, int see_lamps,
                      float mis_pdf, vec3 mis_n, float *alpha) {
    const Scene *sc = it->sc;
    Hit h;
    g_ray_count++;
    if (!bvh_closest(sc, ray, &h)) {
        if (depth == 0 && sc->settings->bg_transp) *alpha = 0.f;
        return escaped(sc, ray->d, mis_pdf, mis_n);
    }
    SurfacePoint sp;
    surface(sc, ray, &h, &sp);
    vec3 wo = vneg(ray->d);
    const Tri *t = &sc->tris[h.tri];
    Closure cl;
    closure_build(sc, t->material, &sp, wo, rng, &cl);
    vec3 L = v3(0, 0, 0);
    if (see_lamps || !(t->flags & TRI_LIGHT)) L = cl.emit;
    if (cl.nondelta) {
        L = vadd(L, direct_light(it, &sp, &cl, wo, rng, depth, GLOSSY_LOBES));
        if (sc->settings->do_ao) L = vadd(L, ambient_occlusion(it, &sp, &cl, rng, depth == 0));
        if (depth < it->raydepth) {
            vec3 wi, w;
            int delta, type;
            float pdf;
            if (closure_sample(&cl, &sp, wo, rng, GLOSSY_LOBES, &wi, &w, &delta, &type, &pdf)) {
                Ray r2 = {offset(sp.P, sp.Ng, wi), wi, 0.f, INFINITY};
                float a2;
                vec3 Li = li_direct(it, &r2, rng, depth + 1, 0, pdf, sp.N, &a2);
                L = vadd(L, vmul(w, Li));
            }
        }
    }
    if (depth < it->raydepth) {
        int ndelta = 0;
        float total = 0.f;
        for (int k = 0; k < cl.n; k++)
            if (cl.lobes[k].type > LOBE_GLOSSY) { ndelta++; total += maxf(vavg(cl.lobes[k].w), 1e-4f); }
        if (ndelta) {
            /* Branch near the camera, follow one lobe deeper down. */
            int branch = depth < 2 || ndelta == 1;
            float pick = branch ? 0.f : rng_float(rng) * total;
            for (int k = 0; k < cl.n; k++) {
                const Lobe *lb = &cl.lobes[k];
                if (lb->type <= LOBE_GLOSSY) continue;
                float wsel = maxf(vavg(lb->w), 1e-4f);
                vec3 w = lb->w;
                if (!branch) {
                    pick -= wsel;
                    if (pick >= 0.f) continue;
                    w = vscale(w, total / wsel);
                }
                vec3 dir = lb->dir;
                Ray r2 = {offset(sp.P, sp.Ng, dir), dir, 0.f, INFINITY};
                float a2 = 1.f;
                vec3 Li = li_direct(it, &r2, rng, depth + 1, 1, 0.f, sp.N, &a2);
                L = vadd(L, vmul(w, Li));
                if (!branch) break;
            }
        }
    }
    if (sp.backface && sc->materials[t->material].type == MAT_GLASS) L = absorb(L, cl.absorb, h.t);
    return L;
}

/* ---- path tracing ---------------------------------------------------------------- */

static vec3 li_path(const Integrator *it, const Ray *ray0, Rng *rng, float *alpha) {
    const Scene *sc = it->sc;
    const Settings *s = sc->settings;
    vec3 T = v3(1, 1, 1), L = v3(0, 0, 0);
    Ray ray = *ray0;
    int specular = 1, diffuse_bounces = 0;
    float last_pdf = 0.f;
    vec3 last_n = v3(0, 0, 1);
    int max_depth = it->bounces + it->raydepth;
    for (int depth = 0; depth <= max_depth; depth++) {
        Hit h;
        g_ray_count++;
        if (!bvh_closest(sc, &ray, &h)) {
            if (depth == 0 && s->bg_transp) *alpha = 0.f;
            L = vadd(L, vmul(T, escaped(sc, ray.d, specular ? 0.f : last_pdf, last_n)));
            break;
        }
        SurfacePoint sp;
        surface(sc, &ray, &h, &sp);
        vec3 wo = vneg(ray.d);
        const Tri *t = &sc->tris[h.tri];
        Closure cl;
        closure_build(sc, t->material, &sp, wo, rng, &cl);
        if (sp.backface && sc->materials[t->material].type == MAT_GLASS) T = absorb(T, cl.absorb, h.t);
        if (specular || !(t->flags & TRI_LIGHT)) L = vadd(L, vmul(T, cl.emit));
        if (cl.nondelta) L = vadd(L, vmul(T, direct_light(it, &sp, &cl, wo, rng, depth, LOBES_ALL)));
        vec3 wi, w;
        int delta, type;
        float pdf;
        if (!closure_sample(&cl, &sp, wo, rng, LOBES_ALL, &wi, &w, &delta, &type, &pdf)) break;
        if (!delta && ++diffuse_bounces > it->bounces) break;
        T = vmul(T, w);
        specular = delta;
        last_pdf = pdf;
        last_n = sp.N;
        if (depth >= 3) {
            float q = minf(0.95f, vmax3(T));
            if (q <= 0.f || rng_float(rng) >= q) break;
            T = vscale(T, 1.f / q);
        }
        ray.o = offset(sp.P, sp.Ng, wi);
        ray.d = wi;
        ray.tmin = 0.f;
        ray.tmax = INFINITY;
    }
    return L;
}

vec3 integrator_li(const Integrator *it, const Ray *ray, Rng *rng, float *alpha) {
    *alpha = 1.f;
    if (it->mode == INTEG_PATH) return li_path(it, ray, rng, alpha);
    return li_direct(it, ray, rng, 0, 1, 0.f, v3(0, 0, 1), alpha);
}
