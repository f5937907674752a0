/* scene.c - map scene.bin into a Scene and validate every index in it, so
 * the renderer can index arrays without further checks. */
#include "msg.h"
#include <stdlib.h>
#include <string.h>

#include "scene.h"

typedef struct { uint32_t id, count, offset, size; } Section;

static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

#define FAIL(...) do { msg_format(err, errlen, __VA_ARGS__); return -1; } while (0)

static int section(const uint8_t *blob, size_t size, const Section *secs, uint32_t nsec,
                   uint32_t id, size_t elem, uint32_t min_count, const void **out,
                   uint32_t *count, char *err, size_t errlen) {
    for (uint32_t i = 0; i < nsec; i++) {
        if (secs[i].id != id) continue;
        const Section *s = &secs[i];
        if ((uint64_t)s->offset + s->size > size || s->offset % 4)
            FAIL("scene.bin: section %u out of range", id);
        /* Empty arrays are stored as one zero record; count says how many are real. */
        if ((uint64_t)s->count * elem > s->size && !(s->count == 0))
            FAIL("scene.bin: section %u too short", id);
        if (s->count < min_count) FAIL("scene.bin: section %u is empty", id);
        *out = blob + s->offset;
        *count = s->count;
        return 0;
    }
    FAIL("scene.bin: section %u missing", id);
}

static int check_shader_ref(int32_t idx, uint32_t n) { return idx >= -1 && idx < (int32_t)n; }

int scene_load(Scene *sc, uint8_t *blob, size_t size, char *err, size_t errlen) {
    memset(sc, 0, sizeof *sc);
    sc->blob = blob;
    sc->blob_size = size;
    if (size < 16 || memcmp(blob, CF_MAGIC, 8) != 0) FAIL("not a corefarm scene.bin");
    if (rd32(blob + 8) != CF_VERSION)
        FAIL("scene.bin version %u, tracer reads version %u", rd32(blob + 8), CF_VERSION);
    uint32_t nsec = rd32(blob + 12);
    if (nsec > 64 || 16 + (uint64_t)nsec * 16 > size) FAIL("scene.bin: bad section table");
    Section secs[64];
    for (uint32_t i = 0; i < nsec; i++) {
        const uint8_t *p = blob + 16 + i * 16;
        secs[i].id = rd32(p); secs[i].count = rd32(p + 4);
        secs[i].offset = rd32(p + 8); secs[i].size = rd32(p + 12);
    }
    uint32_t one;
    const void *ptr;
#define SEC(id, type, minc, field, countf) \
    if (section(blob, size, secs, nsec, id, sizeof(type), minc, &ptr, &sc->countf, err, errlen)) \
        return -1; \
    sc->field = (const type *)ptr;
    if (section(blob, size, secs, nsec, SEC_SETTINGS, sizeof(Settings), 1, &ptr, &one, err, errlen))
        return -1;
    sc->settings = (const Settings *)ptr;
    if (section(blob, size, secs, nsec, SEC_VERTS, 12, 0, &ptr, &sc->nverts, err, errlen)) return -1;
    sc->verts = (const float *)ptr;
    if (section(blob, size, secs, nsec, SEC_NORMALS, 12, 0, &ptr, &sc->nnormals, err, errlen)) return -1;
    sc->normals = (const float *)ptr;
    if (section(blob, size, secs, nsec, SEC_UVS, 8, 0, &ptr, &sc->nuvs, err, errlen)) return -1;
    sc->uvs = (const float *)ptr;
    if (section(blob, size, secs, nsec, SEC_ORCO, 12, 0, &ptr, &sc->norco, err, errlen)) return -1;
    sc->orco = (const float *)ptr;
    SEC(SEC_TRIS, Tri, 0, tris, ntris)
    SEC(SEC_NODES, Node, 1, nodes, nnodes)
    SEC(SEC_MATERIALS, Material, 1, materials, nmaterials)
    SEC(SEC_SHADERS, Shader, 0, shaders, nshaders)
    SEC(SEC_TEXTURES, Texture, 0, textures, ntextures)
    SEC(SEC_IMAGES, ImageInfo, 0, images, nimages)
    SEC(SEC_LIGHTS, Light, 0, lights, nlights)
    SEC(SEC_LIGHT_TRIS, LightTri, 0, light_tris, nlight_tris)
    if (section(blob, size, secs, nsec, SEC_PIXELS, 1, 0, &ptr, &sc->npixel_bytes, err, errlen))
        return -1;
    sc->pixels = (const uint8_t *)ptr;
    uint32_t has_env = 0;
    if (section(blob, size, secs, nsec, SEC_ENV, 1, 0, &ptr, &has_env, err, errlen)) return -1;
    if (has_env) {
        const uint8_t *e = (const uint8_t *)ptr;
        uint32_t w = rd32(e), h = rd32(e + 4);
        uint32_t sec_size = 0;
        for (uint32_t i = 0; i < nsec; i++) if (secs[i].id == SEC_ENV) sec_size = secs[i].size;
        if (!w || !h || w > 4096 || h > 4096 || 8 + 4 * ((uint64_t)h + 2ull * w * h) > sec_size)
            FAIL("scene.bin: bad background table");
        sc->env_w = w; sc->env_h = h;
        sc->env_marginal = (const float *)(e + 8);
        sc->env_conditional = sc->env_marginal + h;
        sc->env_pdf = sc->env_conditional + (size_t)w * h;
    }
#undef SEC

    const Settings *s = sc->settings;
    if (s->ntri_visible > sc->ntris) FAIL("scene.bin: bad visible triangle count");
    if (s->resx <= 0 || s->resy <= 0) FAIL("scene.bin: bad camera resolution");
    for (uint32_t i = 0; i < sc->ntris; i++) {
        const Tri *t = &sc->tris[i];
        for (int k = 0; k < 3; k++) {
            if (t->v[k] >= sc->nverts) FAIL("scene.bin: triangle %u vertex out of range", i);
            if (t->n[k] < -1 || t->n[k] >= (int32_t)sc->nnormals) FAIL("scene.bin: bad normal index");
            if (t->uv[k] < -1 || t->uv[k] >= (int32_t)sc->nuvs) FAIL("scene.bin: bad uv index");
        }
        if (t->material >= sc->nmaterials) FAIL("scene.bin: bad material index");
        if ((t->flags & TRI_ORCO) && sc->norco != sc->nverts) FAIL("scene.bin: orco missing");
    }
    for (uint32_t i = 0; i < sc->nnodes; i++) {
        const Node *n = &sc->nodes[i];
        uint32_t cnt = n->meta & 0xFFFFFF;
        if (cnt) {
            if ((uint64_t)n->offset + cnt > s->ntri_visible) FAIL("scene.bin: bad leaf");
        } else if (sc->ntris && (n->offset <= i || (uint64_t)n->offset + 1 >= sc->nnodes)) {
            FAIL("scene.bin: bad inner node %u", i);
        }
    }
    for (uint32_t i = 0; i < sc->nmaterials; i++) {
        const Material *m = &sc->materials[i];
        if (m->type > MAT_NULL) FAIL("scene.bin: bad material type");
        /* Blend materials may only reference earlier materials: no cycles. */
        if (m->type == MAT_BLEND && (m->mat1 < 0 || m->mat2 < 0 ||
                                     m->mat1 >= (int32_t)i || m->mat2 >= (int32_t)i))
            FAIL("scene.bin: bad blend material %u", i);
        for (int k = 0; k < 10; k++)
            if (!check_shader_ref(m->shaders[k], sc->nshaders)) FAIL("scene.bin: bad shader ref");
    }
    for (uint32_t i = 0; i < sc->nshaders; i++) {
        const Shader *h = &sc->shaders[i];
        /* Nodes only reference earlier nodes (the packer emits them in
         * dependency order), so evaluation cannot loop. */
        if (h->input >= (int32_t)i || h->upper >= (int32_t)i || h->input2 >= (int32_t)i ||
            h->input < -1 || h->upper < -1 || h->input2 < -1)
            FAIL("scene.bin: bad shader graph at node %u", i);
        if (h->texture < -1 || h->texture >= (int32_t)sc->ntextures) FAIL("scene.bin: bad texture ref");
        for (int k = 0; k < 3; k++)
            if (h->proj[k] < 0 || h->proj[k] > 3) FAIL("scene.bin: bad projection");
    }
    for (uint32_t i = 0; i < sc->ntextures; i++) {
        const Texture *t = &sc->textures[i];
        if (t->type == TEX_IMAGE && (t->image < 0 || t->image >= (int32_t)sc->nimages))
            FAIL("scene.bin: bad image ref");
    }
    for (uint32_t i = 0; i < sc->nimages; i++) {
        const ImageInfo *im = &sc->images[i];
        uint64_t bytes = (uint64_t)im->width * im->height * (im->format ? 16 : 4);
        if (!im->width || !im->height || im->data_offset % 4 ||
            (uint64_t)im->data_offset + bytes > sc->npixel_bytes)
            FAIL("scene.bin: bad image %u", i);
    }
    if (s->bg_type == BG_TEXTURE && (s->bg_texture < 0 || s->bg_texture >= (int32_t)sc->ntextures ||
                                     sc->textures[s->bg_texture].type != TEX_IMAGE))
        FAIL("scene.bin: bad background texture");
    for (uint32_t i = 0; i < sc->nlights; i++) {
        const Light *l = &sc->lights[i];
        if (l->type > LIGHT_MESH) FAIL("scene.bin: bad light type");
        if (l->type == LIGHT_MESH && ((uint64_t)l->tri_start + l->tri_count > sc->nlight_tris ||
                                      l->tri_count == 0))
            FAIL("scene.bin: bad mesh light");
    }
    for (uint32_t i = 0; i < sc->nlight_tris; i++)
        if (sc->light_tris[i].tri >= sc->ntris) FAIL("scene.bin: bad light triangle");

    sc->geom = (TriGeom *)malloc(sizeof(TriGeom) * (sc->ntris ? sc->ntris : 1));
    if (!sc->geom) FAIL("out of memory");
    for (uint32_t i = 0; i < sc->ntris; i++) {
        const Tri *t = &sc->tris[i];
        vec3 a = v3a(sc->verts + 3 * t->v[0]);
        vec3 b = v3a(sc->verts + 3 * t->v[1]);
        vec3 c = v3a(sc->verts + 3 * t->v[2]);
        sc->geom[i].v0 = a;
        sc->geom[i].e1 = vsub(b, a);
        sc->geom[i].e2 = vsub(c, a);
    }
    return 0;
}

void scene_free(Scene *sc) {
    free(sc->geom);
    free(sc->blob);
    memset(sc, 0, sizeof *sc);
}
