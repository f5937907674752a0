/* bsdf.c - material lobes: Lambert / Oren-Nayar, Ashikhmin-Shirley style
 * glossy, perfect mirror, dielectric refraction and straight transparency. */
#include "bsdf.h"
#include "fastmath.h"
#include "sampling.h"

float fresnel_dielectric(float cos_i, float eta) {
    /* eta = n_incident / n_transmitted */
    cos_i = clampf(cos_i, 0.f, 1.f);
    float sin2_t = eta * eta * (1.f - cos_i * cos_i);
    if (sin2_t >= 1.f) return 1.f;
    float cos_t = sqrtf(1.f - sin2_t);
    float rs = (eta * cos_i - cos_t) / (eta * cos_i + cos_t);
    float rp = (cos_i - eta * cos_t) / (cos_i + eta * cos_t);
    return 0.5f * (rs * rs + rp * rp);
}

static void add(Closure *c, int type, vec3 w, float param, vec3 dir) {
    if (c->n >= MAX_LOBES || vis_black(w)) return;
    Lobe *l = &c->lobes[c->n++];
    l->type = type; l->w = w; l->param = param; l->dir = dir;
    l->sel = maxf(vavg(w), 1e-4f);
    c->types |= LOBE_BIT(type);
    if (type <= LOBE_GLOSSY) c->nondelta++;
}

static int refract_dir(vec3 wo, vec3 n, float eta, vec3 *out) {
    float cos_i = vdot(wo, n);
    float sin2_t = eta * eta * (1.f - cos_i * cos_i);
    if (sin2_t >= 1.f) return 0;
    float cos_t = sqrtf(1.f - sin2_t);
    *out = vnorm(vadd(vscale(vneg(wo), eta), vscale(n, eta * cos_i - cos_t)));
    return 1;
}

static vec3 sample_blinn_normal(vec3 n, float exponent, Rng *rng) {
    return around(n, fast_pow(rng_float(rng), 1.f / (exponent + 1.f)), rng);
}

static void build(const Scene *sc, uint32_t mi, const SurfacePoint *sp, vec3 wo, Rng *rng,
                  Closure *c, float scale, int depth) {
    const Material *m = &sc->materials[mi];
    const int32_t *sh = m->shaders;
    vec3 N = sp->N;
    float cos_o = maxf(vdot(wo, N), 0.f);
    switch (m->type) {
    case MAT_SHINY: {
        vec3 color = channel_color(sc, sh[CH_DIFFUSE], sp, v3a(m->color));
        float spec = channel_value(sc, sh[CH_MIRROR], sp, m->specular_reflect);
        vec3 mcol = channel_color(sc, sh[CH_MIRROR_COLOR], sp, v3a(m->mirror_color));
        float transp = clampf(channel_value(sc, sh[CH_TRANSPARENCY], sp, m->transparency), 0, 1);
        float transl = clampf(channel_value(sc, sh[CH_TRANSLUCENCY], sp, m->translucency), 0, 1);
        float kr = (m->flags & MATF_FRESNEL) ? fresnel_dielectric(cos_o, 1.f / maxf(m->ior, 1e-3f)) : 1.f;
        float rm = clampf(spec * kr, 0.f, 1.f);
        float rest = 1.f - rm;
        if (rm > 0.f) add(c, LOBE_MIRROR, vscale(mcol, rm * scale), 0.f, vreflect(wo, N));
        if (transp > 0.f) {
            float tf = m->transmit_filter;
            vec3 tint = v3(tf * color.x + 1.f - tf, tf * color.y + 1.f - tf, tf * color.z + 1.f - tf);
            add(c, LOBE_TRANSPARENT, vscale(tint, rest * transp * scale), 0.f, vneg(wo));
        }
        if (transl > 0.f)
            add(c, LOBE_TRANSLUCENT, vscale(color, rest * (1.f - transp) * transl * scale), 0.f, N);
        float d = rest * (1.f - transp) * (1.f - transl) * m->diffuse_reflect;
        if (d > 0.f) add(c, LOBE_DIFFUSE, vscale(color, d * scale), m->sigma, N);
        c->albedo = vadd(c->albedo, vscale(color, d * scale));
        if (m->emit > 0.f) c->emit = vadd(c->emit, vscale(color, m->emit * scale));
        break;
    }
    case MAT_GLOSSY:
    case MAT_COATED: {
        vec3 gcol = channel_color(sc, sh[CH_GLOSSY], sp, v3a(m->color));
        float gref = clampf(channel_value(sc, sh[CH_GLOSSY_REFLECT], sp, m->glossy_reflect), 0, 1);
        vec3 dcol = channel_color(sc, sh[CH_DIFFUSE], sp, v3a(m->diffuse_color));
        float base = 1.f;
        if (m->type == MAT_COATED) {
            float kr = fresnel_dielectric(cos_o, 1.f / maxf(m->ior, 1.0000001f));
            vec3 mcol = channel_color(sc, sh[CH_MIRROR_COLOR], sp, v3a(m->mirror_color));
            add(c, LOBE_MIRROR, vscale(mcol, kr * scale), 0.f, vreflect(wo, N));
            base = 1.f - kr;
        }
        add(c, LOBE_GLOSSY, vscale(gcol, gref * base * scale), m->exponent, N);
        float d = (1.f - gref) * m->diffuse_reflect * base;
        if (d > 0.f) add(c, LOBE_DIFFUSE, vscale(dcol, d * scale), m->sigma, N);
        c->albedo = vadd(c->albedo, vscale(dcol, d * scale));
        break;
    }
    case MAT_GLASS: {
        float ior = maxf(m->ior, 1.f);
        vec3 n = N;
        if (m->roughness > 0.f) {
            float a = maxf(m->roughness, 0.02f);
            vec3 h = sample_blinn_normal(N, maxf(2.f / (a * a) - 2.f, 1.f), rng);
            if (vdot(h, wo) > 0.f) n = h;
        }
        float eta = sp->backface ? ior : 1.f / ior;
        float cos_i = maxf(vdot(wo, n), 0.f);
        float kr = fresnel_dielectric(cos_i, eta);
        vec3 mcol = channel_color(sc, sh[CH_MIRROR_COLOR], sp, v3a(m->mirror_color));
        vec3 fcol = channel_color(sc, sh[CH_FILTER_COLOR], sp, v3a(m->filter_color));
        vec3 r = vreflect(wo, n);
        if (vdot(r, sp->Ng) <= 0.f) r = vreflect(wo, N);
        add(c, LOBE_MIRROR, vscale(mcol, kr * scale), 0.f, r);
        vec3 t;
        if (kr < 1.f && refract_dir(wo, n, eta, &t)) add(c, LOBE_REFRACT, vscale(fcol, (1.f - kr) * scale), 0.f, t);
        c->absorb = v3a(m->absorb);
        break;
    }
    case MAT_BLEND: {
        float v = clampf(channel_value(sc, sh[CH_MASK], sp, m->blend_value), 0.f, 1.f);
        if (depth > 16) break;
        if (v < 1.f) build(sc, (uint32_t)m->mat1, sp, wo, rng, c, scale * (1.f - v), depth + 1);
        if (v > 0.f) build(sc, (uint32_t)m->mat2, sp, wo, rng, c, scale * v, depth + 1);
        break;
    }
    case MAT_LIGHT:
        if (!sp->backface || (m->flags & MATF_DOUBLE_SIDED)) c->emit = vadd(c->emit, vscale(v3a(m->color), scale));
        break;
    case MAT_NULL:
        add(c, LOBE_TRANSPARENT, v3(scale, scale, scale), 0.f, vneg(wo));
        break;
    }
}

void closure_build(const Scene *sc, uint32_t mat, const SurfacePoint *sp, vec3 wo, Rng *rng,
                   Closure *c) {
    c->n = 0;
    c->nondelta = 0;
    c->types = 0;
    c->emit = v3(0, 0, 0);
    c->absorb = v3(0, 0, 0);
    c->albedo = v3(0, 0, 0);
    build(sc, mat, sp, wo, rng, c, 1.f, 0);
}

/* oren_nayar and glossy_pdf_f are kept out of line (NOINLINE) and take
 * pointers: inlined, clang hoisted their square roots and divisions out of
 * closure_eval_split's lobe loop for the wasm target and ran them on every
 * call, for lobes that need neither (4.8x gcc's time in that function). */
#define NOINLINE __attribute__((noinline))

static NOINLINE float oren_nayar(const vec3 *wop, const vec3 *wip, const vec3 *np, float sigma) {
    vec3 wo = *wop, wi = *wip, n = *np;
    float s2 = sigma * sigma;
    float A = 1.f - 0.5f * s2 / (s2 + 0.33f), B = 0.45f * s2 / (s2 + 0.09f);
    float ci = vdot(wi, n), co = vdot(wo, n);
    vec3 pi = vsub(wi, vscale(n, ci)), po = vsub(wo, vscale(n, co));
    float lp = vlen(pi) * vlen(po);
    float cos_phi = lp > 0.f ? vdot(pi, po) / lp : 0.f;
    float si = sqrtf(maxf(0.f, 1.f - ci * ci)), so = sqrtf(maxf(0.f, 1.f - co * co));
    float sin_a, tan_b;
    if (ci < co) { sin_a = si; tan_b = co > 0.f ? so / co : 0.f; }
    else { sin_a = so; tan_b = ci > 0.f ? si / ci : 0.f; }
    return A + B * maxf(0.f, cos_phi) * sin_a * tan_b;
}

static NOINLINE float glossy_pdf_f(const vec3 *wop, const vec3 *wip, const vec3 *np, float e,
                                   float *f) {
    vec3 wo = *wop, wi = *wip, n = *np;
    vec3 h = vadd(wo, wi);
    float hl = vlen(h);
    *f = 0.f;
    if (hl <= 0.f) return 0.f;
    h = vscale(h, 1.f / hl);
    float nh = maxf(vdot(n, h), 0.f), hi = maxf(vdot(h, wi), 1e-6f);
    float ci = vdot(n, wi), co = vdot(n, wo);
    if (ci <= 0.f || co <= 0.f) return 0.f;
    float d = fast_pow(nh, e);
    *f = (e + 1.f) / (8.f * PI_F) * d / (hi * maxf(ci, co));
    return (e + 1.f) / (2.f * PI_F) * d / (4.f * hi);
}

vec3 closure_eval_split(const Closure *c, const SurfacePoint *sp, vec3 wo, vec3 wi, int mask,
                        float *pdf, vec3 *rest) {
    vec3 sum = v3(0, 0, 0), other = v3(0, 0, 0);
    float p = 0.f, wsum = 0.f;
    if (pdf) *pdf = 0.f;
    if (rest) *rest = other;
    int want = rest ? LOBES_ALL : mask;
    if (!(c->types & want & (LOBE_BIT(LOBE_DIFFUSE) | LOBE_BIT(LOBE_TRANSLUCENT) |
                             LOBE_BIT(LOBE_GLOSSY))))
        return sum;
    float ci = vdot(sp->N, wi), gi = vdot(sp->Ng, wi);
    int up = ci > 0.f && gi > 0.f, down = ci < 0.f && gi < 0.f;
    for (int k = 0; k < c->n; k++) {
        const Lobe *l = &c->lobes[k];
        int in = (mask & LOBE_BIT(l->type)) != 0;
        if (!in && !rest) continue;
        if (in) wsum += l->sel;          /* delta lobes take part in the choice too */
        float f, lp;
        if (l->type == LOBE_DIFFUSE) {
            if (!up) continue;
            f = INV_PI_F * (l->param > 0.f ? oren_nayar(&wo, &wi, &sp->N, l->param) : 1.f) * ci;
            lp = ci * INV_PI_F;
        } else if (l->type == LOBE_TRANSLUCENT) {
            if (!down) continue;
            f = -ci * INV_PI_F;
            lp = -ci * INV_PI_F;
        } else if (l->type == LOBE_GLOSSY) {
            if (!up) continue;
            lp = glossy_pdf_f(&wo, &wi, &sp->N, l->param, &f);
            f *= ci;
        } else {
            continue;
        }
        if (in) {
            sum = vadd(sum, vscale(l->w, f));
            p += l->sel * lp;
        } else {
            other = vadd(other, vscale(l->w, f));
        }
    }
    if (pdf) *pdf = wsum > 0.f ? p / wsum : 0.f;
    if (rest) *rest = other;
    return sum;
}

int closure_sample(const Closure *c, const SurfacePoint *sp, vec3 wo, Rng *rng, int mask,
                   vec3 *wi, vec3 *weight, int *delta, int *lobe_type, float *pdf_out) {
    *pdf_out = 0.f;
    float wsum = 0.f;
    int last = -1;
    for (int k = 0; k < c->n; k++)
        if (mask & LOBE_BIT(c->lobes[k].type)) { wsum += c->lobes[k].sel; last = k; }
    if (last < 0) return 0;
    float u = rng_float(rng) * wsum;
    int k = 0;
    for (; k < last; k++) {
        if (!(mask & LOBE_BIT(c->lobes[k].type))) continue;
        u -= c->lobes[k].sel;
        if (u < 0.f) break;
    }
    const Lobe *l = &c->lobes[k];
    *lobe_type = l->type;
    if (l->type > LOBE_GLOSSY) {
        float p = l->sel / wsum;
        *wi = l->dir;
        *weight = vscale(l->w, 1.f / p);
        *delta = 1;
        return 1;
    }
    *delta = 0;
    vec3 d;
    if (l->type == LOBE_DIFFUSE) d = cosine_hemisphere(sp->N, rng, NULL);
    else if (l->type == LOBE_TRANSLUCENT) d = cosine_hemisphere(vneg(sp->N), rng, NULL);
    else {
        vec3 h = sample_blinn_normal(sp->N, l->param, rng);
        if (vdot(h, wo) < 0.f) h = vneg(h);
        d = vreflect(wo, h);
    }
    float pdf;
    vec3 f = closure_eval(c, sp, wo, d, mask, &pdf);
    if (pdf <= 0.f || vis_black(f)) return 0;
    *pdf_out = pdf;
    *wi = d;
    *weight = vscale(f, 1.f / pdf);
    return 1;
}
