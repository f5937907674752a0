/* render.c - one tile: samples are generated per source pixel (seeded by the
 * pixel, sample index and job seed) and splatted through the reconstruction
 * filter into the tile. Source pixels within the filter radius around the
 * tile are rendered too, in global row-major order, so every target pixel
 * receives exactly the same contributions in the same order whatever the
 * tiling: tiled renders are bit-identical to a single-tile render. */
#include <stdlib.h>
#include <string.h>
#include "msg.h"

#include "camera.h"
#include "integrator.h"
#include "render.h"

static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static double rdf64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    double d;
    memcpy(&d, &v, 8);
    return d;
}

int tile_request_parse(const uint8_t *in, int32_t len, TileRequest *r, char *err, size_t errlen) {
    if (len != TILE_REQUEST_SIZE) { msg_format(err, errlen, "tile request must be %d bytes", TILE_REQUEST_SIZE); return -1; }
    if (rd32(in) != TILE_MAGIC || rd32(in + 4) != TILE_VERSION) { msg_format(err, errlen, "not a version 1 tile request"); return -1; }
    memcpy(r->scene, in + 8, 64);
    r->scene[64] = 0;
    r->img_w = (int32_t)rd32(in + 72); r->img_h = (int32_t)rd32(in + 76);
    r->x0 = (int32_t)rd32(in + 80); r->y0 = (int32_t)rd32(in + 84);
    r->w = (int32_t)rd32(in + 88); r->h = (int32_t)rd32(in + 92);
    r->film_x0 = rdf64(in + 96); r->film_y0 = rdf64(in + 104);
    r->film_w = rdf64(in + 112); r->film_h = rdf64(in + 120);
    r->samples = rd32(in + 128); r->seed = rd32(in + 132);
    r->integrator = rd32(in + 136); r->light_samples_cap = rd32(in + 140); r->flags = rd32(in + 144);
    if (!r->scene[0]) { msg_format(err, errlen, "tile request names no scene file"); return -1; }
    if (r->img_w <= 0 || r->img_h <= 0 || r->img_w > 65536 || r->img_h > 65536 ||
        r->w <= 0 || r->h <= 0 || r->x0 < 0 || r->y0 < 0 ||
        r->x0 + r->w > r->img_w || r->y0 + r->h > r->img_h ||
        (uint64_t)r->w * (uint64_t)r->h > MAX_TILE_PIXELS) {
        msg_format(err, errlen, "tile %dx%d at (%d,%d) does not fit a %dx%d image", r->w, r->h, r->x0,
                 r->y0, r->img_w, r->img_h);
        return -1;
    }
    if (r->samples == 0 || r->samples > MAX_SAMPLES) { msg_format(err, errlen, "samples must be 1..%u", MAX_SAMPLES); return -1; }
    if (r->integrator > INTEG_PATH) { msg_format(err, errlen, "unknown integrator %u", r->integrator); return -1; }
    if (!(r->film_w > 0.0) || !(r->film_h > 0.0) || !(r->film_x0 == r->film_x0) ||
        !(r->film_y0 == r->film_y0) || r->film_w > 1e7 || r->film_h > 1e7 ||
        fabs(r->film_x0) > 1e7 || fabs(r->film_y0) > 1e7) {
        msg_format(err, errlen, "bad film window");
        return -1;
    }
    return 0;
}

static float filter_radius(const Settings *s) {
    static const float k[4] = {1.f, 2.f, 2.6f, 1.f};
    float r = 0.5f * s->filter_width * k[s->filter < 4 ? s->filter : 0];
    return r < 0.501f ? 0.501f : r;
}

static float filter_weight(uint32_t type, float x, float r) {
    float ax = fabsf(x);
    if (ax >= r) return 0.f;
    switch (type) {
    case FILTER_GAUSS: {
        float s2 = 0.25f * r * r;                       /* sigma = r / 2 */
        return expf(-0.5f * ax * ax / s2) - expf(-0.5f * r * r / s2);
    }
    case FILTER_MITCHELL: {
        const float B = 1.f / 3.f, C = 1.f / 3.f;
        float t = 2.f * ax / r;                         /* map [0, r) onto [0, 2) */
        if (t < 1.f) return ((12 - 9 * B - 6 * C) * t * t * t + (-18 + 12 * B + 6 * C) * t * t + (6 - 2 * B)) / 6.f;
        return ((-B - 6 * C) * t * t * t + (6 * B + 30 * C) * t * t + (-12 * B - 48 * C) * t + (8 * B + 24 * C)) / 6.f;
    }
    case FILTER_LANCZOS: {
        float t = 2.f * ax / r;                         /* lanczos2 over [0, 2) */
        if (t < 1e-5f) return 1.f;
        float pt = PI_F * t;
        return 2.f * sinf(pt) * sinf(pt * 0.5f) / (pt * pt);
    }
    default:
        return 1.f;
    }
}

/* Filter weights come from a table: the same numbers everywhere, and no
 * transcendental functions in the splatting loop. */
#define FILTER_TABLE 512

typedef struct { float r, scale; float w[FILTER_TABLE + 1]; int box; } FilterTable;

static void filter_table(FilterTable *ft, const Settings *s) {
    ft->r = filter_radius(s);
    ft->box = s->filter == FILTER_BOX;
    ft->scale = (float)FILTER_TABLE / ft->r;
    for (int i = 0; i <= FILTER_TABLE; i++)
        ft->w[i] = filter_weight(s->filter, ft->r * (float)i / (float)FILTER_TABLE, ft->r);
}

static inline float filter_lookup(const FilterTable *ft, float x) {
    float ax = fabsf(x);
    if (ax >= ft->r) return 0.f;
    if (ft->box) return 1.f;
    return ft->w[(int)(ax * ft->scale + 0.5f)];
}

/* One camera sample: its radiance (zero when not finite), with its alpha.
 * Out of line, so that tile_render's loops keep their values in registers
 * (the wasm engine spilled most of them around the inlined integrator). */
static __attribute__((noinline)) vec3 sample_li(const Scene *sc, const Integrator *it,
                                                float filmx, float filmy, Rng *rng,
                                                float *alpha) {
    const Settings *s = sc->settings;
    Ray ray;
    vec3 L = v3(0, 0, 0);
    *alpha = 0.f;
    if (camera_ray(s, filmx, filmy, rng, &ray)) L = integrator_li(it, &ray, rng, alpha);
    if (!(L.x == L.x) || !(L.y == L.y) || !(L.z == L.z) || !isfinite(L.x + L.y + L.z)) {
        L = v3(0, 0, 0);
    }
    if (s->clamp_rgb) L = v3(clampf(L.x, 0, 1), clampf(L.y, 0, 1), clampf(L.z, 0, 1));
    return L;
}

int tile_render(const Scene *sc, const TileRequest *req, float *out, char *err, size_t errlen) {
    const Settings *s = sc->settings;
    Integrator it;
    integrator_init(&it, sc, (int)req->integrator);
    if (req->light_samples_cap) it.light_samples_cap = (int)req->light_samples_cap;
    FilterTable ft;
    filter_table(&ft, s);
    float r = ft.r;
    int m = (int)ceilf(r - 0.5f);
    int x0 = req->x0, y0 = req->y0, w = req->w, h = req->h;
    size_t npix = (size_t)w * (size_t)h;
    double *acc = (double *)calloc(npix * 5, sizeof(double));
    if (!acc) { msg_format(err, errlen, "out of memory for a %dx%d tile", w, h); return -1; }
    int sx0 = x0 - m < 0 ? 0 : x0 - m, sx1 = x0 + w + m > req->img_w ? req->img_w : x0 + w + m;
    int sy0 = y0 - m < 0 ? 0 : y0 - m, sy1 = y0 + h + m > req->img_h ? req->img_h : y0 + h + m;
    double kx = req->film_w / req->img_w, ky = req->film_h / req->img_h;
    uint32_t seed = req->seed;
    for (int sy = sy0; sy < sy1; sy++) {
        for (int sx = sx0; sx < sx1; sx++) {
            uint32_t scr_x = hash4((uint32_t)sx, (uint32_t)sy, seed, 0x68bc21ebU);
            uint32_t scr_y = hash4((uint32_t)sx, (uint32_t)sy, seed, 0x02e5be93U);
            for (uint32_t k = 0; k < req->samples; k++) {
                float fx = (float)sx + u32_to_float(radical_inverse2(k) ^ scr_x);
                float fy = (float)sy + u32_to_float(sobol2(k) ^ scr_y);
                Rng rng;
                rng_seed(&rng, (uint32_t)sx, (uint32_t)sy, k, seed);
                float alpha;
                float filmx = (float)(req->film_x0 + (double)fx * kx);
                float filmy = (float)(req->film_y0 + (double)fy * ky);
                vec3 L = sample_li(sc, &it, filmx, filmy, &rng, &alpha);
                int tx0 = (int)ceilf(fx - r - 0.5f), tx1 = (int)floorf(fx + r - 0.5f);
                int ty0 = (int)ceilf(fy - r - 0.5f), ty1 = (int)floorf(fy + r - 0.5f);
                if (tx0 < x0) tx0 = x0;
                if (ty0 < y0) ty0 = y0;
                if (tx1 > x0 + w - 1) tx1 = x0 + w - 1;
                if (ty1 > y0 + h - 1) ty1 = y0 + h - 1;
                for (int ty = ty0; ty <= ty1; ty++) {
                    float wy = filter_lookup(&ft, fy - ((float)ty + 0.5f));
                    if (wy == 0.f) continue;
                    for (int tx = tx0; tx <= tx1; tx++) {
                        float wgt = wy * filter_lookup(&ft, fx - ((float)tx + 0.5f));
                        if (wgt == 0.f) continue;
                        double *a = acc + 5 * ((size_t)(ty - y0) * w + (tx - x0));
                        a[0] += (double)wgt * L.x;
                        a[1] += (double)wgt * L.y;
                        a[2] += (double)wgt * L.z;
                        a[3] += (double)wgt * alpha;
                        a[4] += (double)wgt;
                    }
                }
            }
        }
    }
    for (size_t i = 0; i < npix; i++) {
        double *a = acc + 5 * i;
        double inv = a[4] > 1e-12 ? 1.0 / a[4] : 0.0;
        out[4 * i + 0] = (float)(a[0] * inv);
        out[4 * i + 1] = (float)(a[1] * inv);
        out[4 * i + 2] = (float)(a[2] * inv);
        out[4 * i + 3] = (float)(a[3] * inv);
    }
    free(acc);
    return 0;
}
