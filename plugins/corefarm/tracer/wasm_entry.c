/* wasm_entry.c - the naclgrid entries of tracer.wasm.
 *
 *   render_tile(tile request) -> w*h*4 little-endian float32, linear RGBA
 *   stats()                   -> u64 rays traced by this instance so far
 *
 * The parsed scene is kept in a static between calls of the same instance,
 * keyed by its file name, so a tile after the first skips the load. */
#include "naclgrid.h"

#include "integrator.h"
#include "msg.h"
#include "render.h"

static Scene g_scene;
static char g_name[65];
static int g_loaded;

static int32_t ensure_scene(const char *name) {
    char err[256];
    if (g_loaded && strcmp(g_name, name) == 0) return 0;
    if (g_loaded) { scene_free(&g_scene); g_loaded = 0; }
    size_t len = 0;
    uint8_t *blob = ng_file_load(name, &len);
    if (!blob) {
        msg_format(err, sizeof err, "scene file '%s' is missing or too large", name);
        return ng_fail(err);
    }
    if (scene_load(&g_scene, blob, len, err, sizeof err)) {
        scene_free(&g_scene);
        return ng_fail(err);
    }
    memcpy(g_name, name, sizeof g_name);
    g_loaded = 1;
    return 0;
}

NG_ENTRY(render_tile) {
    char err[256];
    TileRequest req;
    int rc = tile_request_parse(input, input_len, &req, err, sizeof err);
    free((void *)input);
    if (rc) return ng_fail(err);
    if (ensure_scene(req.scene)) return 1;
    size_t bytes = (size_t)req.w * (size_t)req.h * 16;
    float *out = (float *)malloc(bytes);
    if (!out) return ng_fail("out of memory for the tile result");
    if (tile_render(&g_scene, &req, out, err, sizeof err)) { free(out); return ng_fail(err); }
    ng_set_result(out, (int32_t)bytes);
    free(out);
    return 0;
}

NG_ENTRY(stats) {
    uint8_t b[8];
    uint64_t n = g_ray_count;
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(n >> (8 * i));
    free((void *)input);
    ng_set_result(b, 8);
    return 0;
}
