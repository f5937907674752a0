#define _POSIX_C_SOURCE 199309L
/* native_main.c - tracer_native: the same renderer built with gcc, for speed
 * comparisons with the wasm build.
 *
 *   tracer_native SCENE.bin [-s WxH] [-n SAMPLES] [-t X,Y,W,H] [--seed N]
 *                 [--integrator scene|direct|path] [-o OUT.f32] [--repeat N]
 *
 * Prints one line: "rays R seconds S rays_per_second RPS cpu_seconds C
 * load_cpu_seconds L" (best of --repeat; C is the process CPU time, robust on
 * a shared machine; L is the CPU time of reading and loading the scene, which
 * a wasm task that starts from a fresh instance also spends). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "integrator.h"
#include "render.h"

static double now(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s SCENE.bin [-s WxH] [-n SAMPLES] [-t X,Y,W,H] [--seed N] "
                        "[--integrator scene|direct|path] [-o OUT.f32] [--repeat N]\n", argv[0]);
        return 2;
    }
    double load0 = now(CLOCK_PROCESS_CPUTIME_ID);
    FILE *f = fopen(argv[1], "rb");
    if (!f) { perror(argv[1]); return 1; }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *blob = malloc(size > 0 ? size : 1);
    if (!blob || fread(blob, 1, size, f) != (size_t)size) { fprintf(stderr, "read failed\n"); return 1; }
    fclose(f);
    Scene sc;
    char err[256];
    if (scene_load(&sc, blob, size, err, sizeof err)) { fprintf(stderr, "%s\n", err); return 1; }
    double load_cpu = now(CLOCK_PROCESS_CPUTIME_ID) - load0;
    const Settings *s = sc.settings;
    TileRequest req;
    memset(&req, 0, sizeof req);
    strcpy(req.scene, "scene.bin");
    req.img_w = s->width; req.img_h = s->height;
    req.samples = s->samples ? s->samples : 1;
    int tile_set = 0, repeat = 1;
    const char *outpath = NULL;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "-s") && i + 1 < argc) sscanf(argv[++i], "%dx%d", &req.img_w, &req.img_h);
        else if (!strcmp(argv[i], "-n") && i + 1 < argc) req.samples = (uint32_t)atoi(argv[++i]);
        else if (!strcmp(argv[i], "-t") && i + 1 < argc) { sscanf(argv[++i], "%d,%d,%d,%d", &req.x0, &req.y0, &req.w, &req.h); tile_set = 1; }
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc) req.seed = (uint32_t)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--repeat") && i + 1 < argc) repeat = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-o") && i + 1 < argc) outpath = argv[++i];
        else if (!strcmp(argv[i], "--integrator") && i + 1 < argc) {
            const char *m = argv[++i];
            req.integrator = !strcmp(m, "direct") ? INTEG_DIRECT : !strcmp(m, "path") ? INTEG_PATH : INTEG_SCENE;
        } else { fprintf(stderr, "unknown option %s\n", argv[i]); return 2; }
    }
    if (!tile_set) { req.x0 = 0; req.y0 = 0; req.w = req.img_w; req.h = req.img_h; }
    /* Same film window rule as corefarm/render/request.py: keep the region's
     * width and centre, fit the height to the output aspect. */
    req.film_w = s->width;
    req.film_h = (double)s->width * req.img_h / req.img_w;
    req.film_x0 = s->xstart;
    req.film_y0 = s->ystart + 0.5 * ((double)s->height - req.film_h);
    if (req.x0 < 0 || req.y0 < 0 || req.w <= 0 || req.h <= 0 || req.x0 + req.w > req.img_w ||
        req.y0 + req.h > req.img_h) { fprintf(stderr, "bad tile\n"); return 2; }
    float *out = malloc((size_t)req.w * req.h * 16);
    double best = 1e30, best_cpu = 1e30;
    uint64_t rays = 0;
    for (int r = 0; r < (repeat > 0 ? repeat : 1); r++) {
        g_ray_count = 0;
        double t0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
        if (tile_render(&sc, &req, out, err, sizeof err)) { fprintf(stderr, "%s\n", err); return 1; }
        double dt = now(CLOCK_MONOTONIC) - t0, dc = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
        if (dt < best) best = dt;
        if (dc < best_cpu) best_cpu = dc;
        rays = g_ray_count;
    }
    printf("rays %llu seconds %.6f rays_per_second %.1f cpu_seconds %.6f load_cpu_seconds %.6f\n",
           (unsigned long long)rays, best, rays / (best > 0 ? best : 1e-9), best_cpu, load_cpu);
    if (outpath) {
        FILE *o = fopen(outpath, "wb");
        if (!o) { perror(outpath); return 1; }
        fwrite(out, 16, (size_t)req.w * req.h, o);
        fclose(o);
    }
    free(out);
    scene_free(&sc);
    return 0;
}
