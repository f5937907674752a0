/* light.c - point, spot, sun, directional, area, sphere and mesh lights, and
 * the constant / gradient / texture / Preetham sun-sky backgrounds. */
#include "light.h"
#include "fastmath.h"
#include "sampling.h"

static vec3 cone_dir(vec3 axis, float cos_max, Rng *rng) {
    return around(axis, 1.f - rng_float(rng) * (1.f - cos_max), rng);
}

int light_sample(const Scene *sc, const Light *l, vec3 P, Rng *rng, LightSample *o) {
    vec3 color = v3a(l->color);
    switch (l->type) {
    case LIGHT_POINT:
    case LIGHT_SPOT: {
        vec3 d = vsub(v3a(l->pos), P);
        float d2 = vdot(d, d);
        if (d2 <= 0.f) return 0;
        float dist = sqrtf(d2);
        o->wi = vscale(d, 1.f / dist);
        o->dist = dist;
        float k = 1.f / d2;
        if (l->type == LIGHT_SPOT) {
            float c = -vdot(o->wi, v3a(l->dir));
            if (c <= l->cos_outer) return 0;
            if (c < l->cos_inner) {
                float v = (c - l->cos_outer) / maxf(l->cos_inner - l->cos_outer, 1e-6f);
                k *= v * v * (3.f - 2.f * v);
            }
        }
        o->li = vscale(color, k);
        return 1;
    }
    case LIGHT_SUN:
        o->wi = l->cos_outer < 1.f ? cone_dir(v3a(l->dir), l->cos_outer, rng) : v3a(l->dir);
        o->dist = INFINITY;
        o->li = color;
        return 1;
    case LIGHT_DIRECTIONAL: {
        vec3 dir = v3a(l->dir);
        if (!(l->flags & LIGHTF_INFINITE)) {
            vec3 rel = vsub(P, v3a(l->pos));
            float along = vdot(rel, dir);
            vec3 perp = vsub(rel, vscale(dir, along));
            if (vdot(perp, perp) > l->radius * l->radius || along > 0.f) return 0;
            o->dist = -along;
        } else {
            o->dist = INFINITY;
        }
        o->wi = dir;
        o->li = color;
        return 1;
    }
    case LIGHT_AREA: {
        vec3 e1 = v3a(l->e1), e2 = v3a(l->e2);
        vec3 q = vadd(v3a(l->pos), vadd(vscale(e1, rng_float(rng)), vscale(e2, rng_float(rng))));
        vec3 n = vnorm(vcross(e1, e2));
        vec3 d = vsub(q, P);
        float d2 = vdot(d, d);
        if (d2 <= 0.f) return 0;
        float dist = sqrtf(d2);
        o->wi = vscale(d, 1.f / dist);
        float cl = -vdot(n, o->wi);
        if (cl <= 0.f) return 0;
        o->dist = dist;
        o->li = vscale(color, cl * l->area / d2);
        return 1;
    }
    case LIGHT_SPHERE: {
        vec3 c = vsub(v3a(l->pos), P);
        float d2 = vdot(c, c), r2 = l->radius * l->radius;
        if (d2 <= r2) return 0;
        float dist = sqrtf(d2);
        float cos_max = sqrtf(maxf(0.f, 1.f - r2 / d2));
        vec3 axis = vscale(c, 1.f / dist);
        o->wi = cone_dir(axis, cos_max, rng);
        float b = vdot(o->wi, c);
        float disc = b * b - (d2 - r2);
        o->dist = disc > 0.f ? b - sqrtf(disc) : dist - l->radius;
        o->li = vscale(color, 2.f * PI_F * (1.f - cos_max));
        return 1;
    }
    case LIGHT_MESH: {
        const LightTri *lt = sc->light_tris + l->tri_start;
        float u = rng_float(rng);
        uint32_t lo = 0, hi = l->tri_count - 1;
        while (lo < hi) {
            uint32_t mid = (lo + hi) >> 1;
            if (lt[mid].cdf < u) lo = mid + 1; else hi = mid;
        }
        const TriGeom *g = &sc->geom[lt[lo].tri];
        float a = sqrtf(rng_float(rng)), b = rng_float(rng);
        vec3 q = vadd(g->v0, vadd(vscale(g->e1, 1.f - a), vscale(g->e2, a * b)));
        vec3 n = vnorm(vcross(g->e1, g->e2));
        vec3 d = vsub(q, P);
        float d2 = vdot(d, d);
        if (d2 <= 0.f) return 0;
        float dist = sqrtf(d2);
        o->wi = vscale(d, 1.f / dist);
        float cl = -vdot(n, o->wi);
        if (l->flags & LIGHTF_DOUBLE_SIDED) cl = fabsf(cl);
        if (cl <= 0.f) return 0;
        o->dist = dist;
        o->li = vscale(color, cl * l->area / d2);
        return 1;
    }
    }
    return 0;
}

static float perez(const float *k, float cos_theta, float gamma, float cos_gamma) {
    return (1.f + k[0] * fast_exp(k[1] / cos_theta)) *
           (1.f + k[2] * fast_exp(k[3] * gamma) + k[4] * cos_gamma * cos_gamma);
}

static vec3 sunsky(const Settings *s, vec3 d) {
    vec3 sun = v3a(s->sun_dir);
    float cos_theta = maxf(d.z, 0.001f);
    float cos_gamma = clampf(vdot(vnorm(v3(d.x, d.y, cos_theta)), sun), -1.f, 1.f);
    float gamma = fast_acos(cos_gamma);
    float cos_ts = clampf(sun.z, 0.001f, 1.f);
    float theta_s = fast_acos(cos_ts);
    float xyY[3];
    for (int i = 0; i < 3; i++) {
        const float *k = s->perez + 5 * i;
        float num = perez(k, cos_theta, gamma, cos_gamma);
        float den = perez(k, 1.f, theta_s, cos_ts);
        xyY[i] = den != 0.f ? num / den : 0.f;
    }
    float Y = s->zenith_xyY[2] * xyY[0] * s->sky_scale;
    float x = s->zenith_xyY[0] * xyY[1], y = s->zenith_xyY[1] * xyY[2];
    if (y <= 1e-6f || Y <= 0.f) return v3(0, 0, 0);
    float X = x * Y / y, Z = (1.f - x - y) * Y / y;
    vec3 rgb = v3(3.2406f * X - 1.5372f * Y - 0.4986f * Z,
                  -0.9689f * X + 1.8758f * Y + 0.0415f * Z,
                  0.0557f * X - 0.2040f * Y + 1.0570f * Z);
    if (d.z < 0.f) rgb = vscale(rgb, 0.5f);     /* a darker "ground" below the horizon */
    return v3(maxf(rgb.x, 0.f), maxf(rgb.y, 0.f), maxf(rgb.z, 0.f));
}

vec3 background_eval(const Scene *sc, vec3 d) {
    const Settings *s = sc->settings;
    switch (s->bg_type) {
    case BG_CONSTANT:
        return v3a(s->bg_color);
    case BG_GRADIENT:
        if (d.z >= 0.f) return vlerp(v3a(s->grad_horizon), v3a(s->grad_zenith), d.z);
        return vlerp(v3a(s->grad_hground), v3a(s->grad_zground), -d.z);
    case BG_TEXTURE: {
        const Texture *tx = &sc->textures[s->bg_texture];
        const ImageInfo *im = &sc->images[tx->image];
        float u, v;
        if (s->bg_mapping == 1) {
            float r = sqrtf(d.x * d.x + d.y * d.y);
            float k = r > 0.f ? fast_acos(-d.z) * INV_PI_F / r : 0.f;
            u = 0.5f + 0.5f * d.x * k;
            v = 0.5f - 0.5f * d.y * k;
        } else {
            float phi = fast_atan2(d.y, d.x);
            if (phi < 0.f) phi += 2.f * PI_F;
            u = 1.f - phi * (0.5f * INV_PI_F) + s->bg_rotation * (1.f / 360.f);
            u -= floorf(u);
            v = clampf(fast_acos(d.z) * INV_PI_F, 0.f, 1.f);
        }
        vec3 rgb;
        float a;
        image_sample(sc, im, u, v, 1, 1, &rgb, &a);
        return vscale(rgb, s->bg_color[0]);   /* the packer stores power here */
    }
    case BG_SUNSKY:
        return sunsky(s, d);
    default:
        return v3(0, 0, 0);
    }
}
