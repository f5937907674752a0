/* render.h - the tile request and the tile renderer. */
#ifndef CF_RENDER_H
#define CF_RENDER_H

#include "scene.h"

/* Tile request, 160 bytes little-endian (corefarm/render/request.py):
 *   0 u32 magic 'CFTR'   4 u32 version (1)   8 char scene[64] (NUL padded)
 *  72 i32 img_w  76 i32 img_h  80 i32 x0  84 i32 y0  88 i32 w  92 i32 h
 *  96 f64 film_x0  104 f64 film_y0  112 f64 film_w  120 f64 film_h
 * 128 u32 samples  132 u32 seed  136 u32 integrator (0 scene, 1 direct, 2 path)
 * 140 u32 light_samples_cap (0 = 16)  144 u32 flags  148..159 reserved */
#define TILE_REQUEST_SIZE 160
#define TILE_MAGIC 0x52544643u   /* "CFTR" */
#define TILE_VERSION 1
#define MAX_TILE_PIXELS (1u << 22)
#define MAX_SAMPLES 65536u

typedef struct {
    char scene[65];
    int32_t img_w, img_h, x0, y0, w, h;
    double film_x0, film_y0, film_w, film_h;
    uint32_t samples, seed, integrator, light_samples_cap, flags;
} TileRequest;

int tile_request_parse(const uint8_t *in, int32_t len, TileRequest *req, char *err, size_t errlen);

/* Render the tile into OUT (w*h*4 floats, linear RGBA). Returns 0 or -1. */
int tile_render(const Scene *sc, const TileRequest *req, float *out, char *err, size_t errlen);

#endif
