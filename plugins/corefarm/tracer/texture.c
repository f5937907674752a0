/* texture.c - textures (image + procedural) and shader nodes (texture_mapper,
 * layer, value, mix), following the YafaRay/Blender blending rules. */
#include <string.h>

#include "texture.h"

/* ---- images --------------------------------------------------------------- */

static inline void texel(const Scene *sc, const ImageInfo *im, int x, int y, float *out) {
    if (im->format) {
        const float *p = (const float *)(sc->pixels + im->data_offset) + 4 * ((size_t)y * im->width + x);
        out[0] = p[0]; out[1] = p[1]; out[2] = p[2]; out[3] = p[3];
    } else {
        const uint8_t *p = sc->pixels + im->data_offset + 4 * ((size_t)y * im->width + x);
        out[0] = im->lut[p[0]]; out[1] = im->lut[p[1]]; out[2] = im->lut[p[2]];
        out[3] = p[3] * (1.f / 255.f);
    }
}

static inline int wrapi(int i, int n, int wrap) {
    if (wrap) { i %= n; return i < 0 ? i + n : i; }
    return i < 0 ? 0 : (i >= n ? n - 1 : i);
}

void image_sample(const Scene *sc, const ImageInfo *im, float s, float t, int wrap,
                  int interpolate, vec3 *rgb, float *alpha) {
    int w = (int)im->width, h = (int)im->height;
    if (!(s == s) || !(t == t)) { s = 0.f; t = 0.f; }
    s = clampf(s, -1e6f, 1e6f);
    t = clampf(t, -1e6f, 1e6f);
    float out[4];
    if (!interpolate) {
        texel(sc, im, wrapi((int)floorf(s * w), w, wrap), wrapi((int)floorf(t * h), h, wrap), out);
    } else {
        float x = s * w - 0.5f, y = t * h - 0.5f;
        float fx = floorf(x), fy = floorf(y);
        float ax = x - fx, ay = y - fy;
        int x0 = wrapi((int)fx, w, wrap), x1 = wrapi((int)fx + 1, w, wrap);
        int y0 = wrapi((int)fy, h, wrap), y1 = wrapi((int)fy + 1, h, wrap);
        float a[4], b[4], c[4], d[4];
        texel(sc, im, x0, y0, a); texel(sc, im, x1, y0, b);
        texel(sc, im, x0, y1, c); texel(sc, im, x1, y1, d);
        for (int k = 0; k < 4; k++)
            out[k] = (a[k] * (1 - ax) + b[k] * ax) * (1 - ay) + (c[k] * (1 - ax) + d[k] * ax) * ay;
    }
    *rgb = v3(out[0], out[1], out[2]);
    *alpha = out[3];
}

static void image_texture(const Scene *sc, const Texture *tx, vec3 p, vec3 *col, float *alpha) {
    const ImageInfo *im = &sc->images[tx->image];
    float s = 0.5f * p.x + 0.5f, t = 0.5f - 0.5f * p.y;
    if (tx->clipping == CLIP_CLIPCUBE && (fabsf(p.z) > 1.f)) { *col = v3(0, 0, 0); *alpha = 0; return; }
    if (tx->clipping == CLIP_REPEAT || tx->clipping == CLIP_CHECKER) {
        s *= (float)tx->xrepeat;
        t *= (float)tx->yrepeat;
    }
    if (tx->clipping == CLIP_CLIP || tx->clipping == CLIP_CLIPCUBE) {
        if (s < 0.f || s > 1.f || t < 0.f || t > 1.f) { *col = v3(0, 0, 0); *alpha = 0; return; }
    }
    if (tx->crop[0] != 0.f || tx->crop[1] != 0.f || tx->crop[2] != 1.f || tx->crop[3] != 1.f) {
        float fs = s - floorf(s), ft = t - floorf(t);
        if (tx->clipping != CLIP_REPEAT && tx->clipping != CLIP_CHECKER) { fs = clampf(s, 0, 1); ft = clampf(t, 0, 1); }
        s = tx->crop[0] + fs * (tx->crop[2] - tx->crop[0]);
        t = tx->crop[1] + ft * (tx->crop[3] - tx->crop[1]);
    }
    if (tx->rot90) { float x = s; s = t; t = x; }
    int wrap = tx->clipping == CLIP_REPEAT || tx->clipping == CLIP_CHECKER;
    image_sample(sc, im, s, t, wrap, (int)tx->interpolate, col, alpha);
    if (!tx->use_alpha) *alpha = 1.f;
}

/* ---- procedurals ------------------------------------------------------------ */

static float turbulence(vec3 p, int depth, int hard) {
    float sum = 0.f, amp = 1.f, norm = 0.f;
    for (int i = 0; i <= depth; i++) {
        float n = noise3(p);
        n = hard ? fabsf(n) : 0.5f + 0.5f * n;
        sum += n * amp;
        norm += amp;
        amp *= 0.5f;
        p = vscale(p, 2.f);
    }
    return sum / norm;
}

static float wave(float w, uint32_t shape) {
    if (shape == 1) { w *= 1.f / (2.f * PI_F); return w - floorf(w); }           /* saw */
    if (shape == 2) { w *= 1.f / (2.f * PI_F); return fabsf(2.f * (w - floorf(w)) - 1.f); } /* tri */
    return 0.5f + 0.5f * sinf(w);
}

static float procedural(const Texture *tx, vec3 p) {
    float size = tx->size > 0.f ? tx->size : 1.f;
    vec3 q = vscale(p, size);
    switch (tx->type) {
    case TEX_CLOUDS:
        return turbulence(q, tx->depth, (int)tx->hard);
    case TEX_MARBLE: {
        float w = (q.x + q.y + q.z) * 5.f + tx->turbulence * turbulence(q, tx->depth, (int)tx->hard);
        w = wave(w, tx->shape);
        return tx->sharpness > 1.f ? powf(w, 1.f / tx->sharpness) : w;
    }
    case TEX_WOOD: {
        float w = tx->wood_rings ? sqrtf(q.x * q.x + q.y * q.y + q.z * q.z) * 20.f
                                 : (q.x + q.y + q.z) * 10.f;
        w += tx->turbulence * turbulence(q, tx->depth, (int)tx->hard);
        return wave(w, tx->shape);
    }
    case TEX_BLEND: {
        float x = p.x, y = p.y, r;
        switch (tx->stype) {
        case 1: r = clampf(0.5f * (1 + x), 0, 1); return r * r;
        case 2: r = clampf(0.5f * (1 + x), 0, 1); return r * r * (3 - 2 * r);
        case 3: return clampf(0.25f * (2 + x + y), 0, 1);
        case 4: r = 1.f - sqrtf(x * x + y * y + p.z * p.z); return r > 0 ? r : 0;
        case 5: r = 1.f - sqrtf(x * x + y * y + p.z * p.z); return r > 0 ? r * r : 0;
        case 6: return atan2f(y, x) * (0.5f / PI_F) + 0.5f;
        default: return clampf(0.5f * (1 + x), 0, 1);
        }
    }
    case TEX_MUSGRAVE: {
        float sum = 0.f, amp = 1.f;
        for (int i = 0; i < (tx->depth > 0 ? tx->depth : 1); i++) {
            sum += noise3(q) * amp;
            amp *= 0.5f;
            q = vscale(q, 2.f);
        }
        return clampf(0.5f + 0.5f * sum * tx->intensity, 0, 1);
    }
    case TEX_VORONOI:
        return clampf(fabsf(noise3(q)) * 1.5f * tx->intensity, 0, 1);
    case TEX_DISTORTED: {
        vec3 d = v3(noise3(vadd(q, v3(5.2f, 1.3f, 7.1f))), noise3(vadd(q, v3(1.7f, 9.2f, 3.3f))),
                    noise3(vadd(q, v3(8.3f, 2.8f, 4.6f))));
        return 0.5f + 0.5f * noise3(vadd(q, vscale(d, tx->turbulence)));
    }
    default:
        return 0.f;
    }
}

/* ---- texture_mapper --------------------------------------------------------- */

static vec3 tube_map(vec3 p) {
    vec3 r = v3(0.f, p.z, 0.f);
    float d = p.x * p.x + p.y * p.y;
    if (d > 0.f) { r.z = 1.f / sqrtf(d); r.x = -atan2f(p.x, p.y) * INV_PI_F; }
    return r;
}

static vec3 sphere_map(vec3 p) {
    vec3 r = v3(0.f, 0.f, 0.f);
    float d = p.x * p.x + p.y * p.y + p.z * p.z;
    if (d > 0.f) {
        r.z = sqrtf(d);
        if (p.x != 0.f || p.y != 0.f) r.x = -atan2f(p.x, p.y) * INV_PI_F;
        r.y = 1.f - 2.f * acosf(clampf(p.z / r.z, -1.f, 1.f)) * INV_PI_F;
    }
    return r;
}

static vec3 cube_map(vec3 p, vec3 n) {
    float ax = fabsf(n.x), ay = fabsf(n.y), az = fabsf(n.z);
    if (az >= ax && az >= ay) return p;
    if (ay >= ax) return v3(p.x, p.z, p.y);
    return v3(p.y, p.z, p.x);
}

static NodeOut mapper(const Scene *sc, const Shader *h, const SurfacePoint *sp) {
    NodeOut o = {{0, 0, 0}, 1.f, 0.f, 0};
    if (h->texture < 0) return o;
    const Texture *tx = &sc->textures[h->texture];
    vec3 p;
    switch (h->texco) {
    case TEXCO_UV: p = sp->has_uv ? v3(2.f * sp->u - 1.f, 2.f * sp->v - 1.f, 0.f) : sp->P; break;
    case TEXCO_ORCO: p = sp->has_orco ? sp->orco : sp->P; break;
    case TEXCO_NORMAL: p = sp->N; break;
    case TEXCO_TRANSFORMED:
        p = sp->P;
        if (h->has_matrix) {
            const float *m = h->matrix;
            p = v3(m[0] * p.x + m[1] * p.y + m[2] * p.z + m[3],
                   m[4] * p.x + m[5] * p.y + m[6] * p.z + m[7],
                   m[8] * p.x + m[9] * p.y + m[10] * p.z + m[11]);
        }
        break;
    default: p = sp->P; break;
    }
    float c[3] = {p.x, p.y, p.z};
    vec3 q = v3(h->proj[0] ? c[h->proj[0] - 1] : 0.f, h->proj[1] ? c[h->proj[1] - 1] : 0.f,
                h->proj[2] ? c[h->proj[2] - 1] : 0.f);
    if (tx->type == TEX_IMAGE) {
        if (h->mapping == MAP_TUBE) q = tube_map(q);
        else if (h->mapping == MAP_SPHERE) q = sphere_map(q);
        else if (h->mapping == MAP_CUBE) q = cube_map(q, sp->N);
    }
    q = v3(q.x * h->scale[0] + 2.f * h->offset[0], q.y * h->scale[1] + 2.f * h->offset[1],
           q.z * h->scale[2] + 2.f * h->offset[2]);
    if (tx->type == TEX_IMAGE) {
        image_texture(sc, tx, q, &o.col, &o.alpha);
        o.val = vlum(o.col);
    } else if (tx->type == TEX_RGBCUBE) {
        o.col = v3(clampf(0.5f + 0.5f * q.x, 0, 1), clampf(0.5f + 0.5f * q.y, 0, 1),
                   clampf(0.5f + 0.5f * q.z, 0, 1));
        o.val = vavg(o.col);
    } else {
        o.val = procedural(tx, q);
        o.col = vlerp(v3a(tx->color1), v3a(tx->color2), o.val);
    }
    o.valid = 1;
    return o;
}

/* ---- layer (Blender texture channel blending) ------------------------------- */

static float blend1(float tex, float out, float fact, float facg, uint32_t mode) {
    fact *= facg;
    float facm = 1.f - fact;
    switch (mode) {
    case 1: return fact * tex + out;
    case 2: return (facm + fact * tex) * out;
    case 3: return out - fact * tex;
    case 4: return 1.f - (facm + fact * (1.f - tex)) * (1.f - out);
    case 5: return tex != 0.f ? facm * out + fact * out / tex : out;
    case 6: return facm * out + fact * fabsf(tex - out);
    case 7: { float c = fact * tex; return c < out ? c : out; }
    case 8: { float c = fact * tex; return c > out ? c : out; }
    default: return fact * tex + facm * out;
    }
}

static NodeOut eval_depth(const Scene *sc, int32_t idx, const SurfacePoint *sp, int depth);

static NodeOut layer(const Scene *sc, const Shader *h, const SurfacePoint *sp, int depth) {
    NodeOut up = {v3a(h->upper_color), h->upper_alpha, h->upper_value, 1};
    if (h->upper >= 0) {
        NodeOut u = eval_depth(sc, h->upper, sp, depth + 1);
        if (u.valid) up = u;
    }
    if (h->input < 0) return up;
    NodeOut in = eval_depth(sc, h->input, sp, depth + 1);
    if (!in.valid) return up;       /* texture unavailable: keep the material's own value */
    uint32_t f = h->flags;
    int tex_rgb = (f & LF_COLOR_INPUT) != 0;
    vec3 tcol = in.col;
    float ta = in.alpha, tin = in.val, stencil = up.alpha;
    if (f & LF_NO_RGB) { tin = vlum(tcol); tex_rgb = 0; }
    if (f & LF_NEGATIVE) {
        if (tex_rgb) tcol = v3(1.f - tcol.x, 1.f - tcol.y, 1.f - tcol.z);
        tin = 1.f - tin;
    }
    if (f & LF_STENCIL) {
        if (tex_rgb) { float x = ta; ta *= stencil; stencil *= x; }
        else { float x = tin; tin *= stencil; stencil *= x; }
    }
    NodeOut o = up;
    if (f & LF_DO_COLOR) {
        float fact = tin;
        if (!tex_rgb) tcol = v3a(h->def_col); else fact = ta;
        float g = stencil * h->colfac;
        o.col = v3(maxf(0.f, blend1(tcol.x, up.col.x, fact, g, h->mode)),
                   maxf(0.f, blend1(tcol.y, up.col.y, fact, g, h->mode)),
                   maxf(0.f, blend1(tcol.z, up.col.z, fact, g, h->mode)));
    }
    if (f & LF_DO_SCALAR) {
        float t = tin;
        if (tex_rgb) t = (f & LF_USE_ALPHA) ? ta : vlum(tcol);
        o.val = maxf(0.f, blend1(h->def_val, up.val, t, stencil * h->valfac, h->mode));
    }
    o.alpha = stencil;
    o.valid = 1;
    return o;
}

static NodeOut eval_depth(const Scene *sc, int32_t idx, const SurfacePoint *sp, int depth) {
    NodeOut o = {{0, 0, 0}, 1.f, 0.f, 0};
    if (idx < 0 || depth > 64) return o;
    const Shader *h = &sc->shaders[idx];
    switch (h->type) {
    case SH_MAPPER: return mapper(sc, h, sp);
    case SH_LAYER: return layer(sc, h, sp, depth);
    case SH_VALUE:
        o.col = v3a(h->color); o.val = h->scalar; o.valid = 1;
        return o;
    case SH_MIX: {
        NodeOut a = eval_depth(sc, h->input, sp, depth + 1);
        NodeOut b = eval_depth(sc, h->input2, sp, depth + 1);
        vec3 ca = a.valid ? a.col : v3a(h->color), cb = b.valid ? b.col : v3a(h->color2);
        float va = a.valid ? a.val : h->scalar, vb = b.valid ? b.val : h->scalar;
        o.col = vlerp(ca, cb, h->factor);
        o.val = va + (vb - va) * h->factor;
        o.valid = 1;
        return o;
    }
    default:
        return o;
    }
}

NodeOut node_eval(const Scene *sc, int32_t idx, const SurfacePoint *sp) {
    return eval_depth(sc, idx, sp, 0);
}

vec3 channel_color(const Scene *sc, int32_t node, const SurfacePoint *sp, vec3 def) {
    if (node < 0) return def;
    NodeOut o = node_eval(sc, node, sp);
    return o.valid ? o.col : def;
}

float channel_value(const Scene *sc, int32_t node, const SurfacePoint *sp, float def) {
    if (node < 0) return def;
    NodeOut o = node_eval(sc, node, sp);
    return o.valid ? o.val : def;
}
