/*
 * scene.h - scene.bin records (version 1) and the loaded scene.
 *
 * The records mirror corefarm/scene/layout.py field by field. They hold only
 * 4-byte fields (and two uint16 in Tri), so the layout has no padding on
 * wasm32 or x86-64; the static asserts below and a Python test pin the sizes.
 */
#ifndef CF_SCENE_H
#define CF_SCENE_H

#include <stddef.h>
#include <stdint.h>

#include "vec.h"

#define CF_MAGIC "CFSCENE1"
#define CF_VERSION 1

enum { SEC_SETTINGS = 1, SEC_VERTS, SEC_NORMALS, SEC_UVS, SEC_ORCO, SEC_TRIS, SEC_NODES,
       SEC_MATERIALS, SEC_SHADERS, SEC_TEXTURES, SEC_IMAGES, SEC_PIXELS, SEC_LIGHTS,
       SEC_LIGHT_TRIS, SEC_ENV, SEC_COUNT };

typedef struct {
    uint32_t cam_type; float eye[3], cx[3], cy[3], cz[3];
    float focal, scale, aspect, aperture, dof_distance, angle, max_angle;
    uint32_t circular, mirrored; int32_t resx, resy;
    int32_t width, height, xstart, ystart;
    uint32_t samples, filter; float filter_width; uint32_t clamp_rgb;
    uint32_t integrator, raydepth, shadow_depth, transp_shadows, do_ao, ao_samples;
    float ao_distance, ao_color[3];
    uint32_t bounces, path_samples, bg_transp;
    uint32_t bg_type; float bg_color[3]; uint32_t bg_ibl, bg_ibl_samples;
    float grad_horizon[3], grad_zenith[3], grad_hground[3], grad_zground[3];
    int32_t bg_texture; uint32_t bg_mapping; float bg_rotation;
    float sun_dir[3], perez[15], zenith_xyY[3], sky_scale;
    uint32_t ntri_visible; float scene_radius;
    uint32_t reserved[8];
} Settings;

typedef struct { uint32_t v[3]; int32_t n[3]; int32_t uv[3]; uint16_t material, flags; } Tri;
typedef struct { float lo[3], hi[3]; uint32_t offset, meta; } Node;

typedef struct {
    uint32_t type, flags;
    float color[3], diffuse_color[3], mirror_color[3], filter_color[3], absorb[3];
    float diffuse_reflect, specular_reflect, glossy_reflect, transparency, transmit_filter,
          translucency, emit, ior, exponent, sigma, roughness, blend_value;
    int32_t mat1, mat2;
    int32_t shaders[10];
} Material;

typedef struct {
    uint32_t type; int32_t texture; uint32_t texco, mapping;
    int32_t proj[3]; float scale[3], offset[3]; uint32_t has_matrix; float matrix[12];
    int32_t input, upper; uint32_t mode, flags; float colfac, valfac, def_col[3], def_val;
    float upper_color[3], upper_alpha, upper_value;
    float color[3], scalar; int32_t input2; float factor, color2[3];
} Shader;

typedef struct {
    uint32_t type; int32_t image; float color1[3], color2[3], size;
    int32_t depth; uint32_t hard; float turbulence, sharpness;
    uint32_t shape, wood_rings, stype; float intensity;
    int32_t xrepeat, yrepeat; uint32_t clipping; float crop[4];
    uint32_t rot90, interpolate, use_alpha, normalmap;
} Texture;

typedef struct { uint32_t width, height, format, data_offset; float lut[256]; } ImageInfo;

typedef struct {
    uint32_t type, flags; float color[3], pos[3], dir[3], e1[3], e2[3];
    float radius, cos_inner, cos_outer; uint32_t samples, tri_start, tri_count; float area;
} Light;

typedef struct { uint32_t tri; float cdf; } LightTri;

_Static_assert(sizeof(Settings) == 392, "Settings layout");
_Static_assert(sizeof(Tri) == 40, "Tri layout");
_Static_assert(sizeof(Node) == 32, "Node layout");
_Static_assert(sizeof(Material) == 164, "Material layout");
_Static_assert(sizeof(Shader) == 200, "Shader layout");
_Static_assert(sizeof(Texture) == 112, "Texture layout");
_Static_assert(sizeof(ImageInfo) == 1040, "ImageInfo layout");
_Static_assert(sizeof(Light) == 96, "Light layout");
_Static_assert(sizeof(LightTri) == 8, "LightTri layout");

enum { CAM_PERSPECTIVE, CAM_ORTHO, CAM_ARCHITECT, CAM_ANGULAR };
enum { FILTER_BOX, FILTER_GAUSS, FILTER_MITCHELL, FILTER_LANCZOS };
enum { INTEG_SCENE, INTEG_DIRECT, INTEG_PATH };
enum { BG_NONE, BG_CONSTANT, BG_GRADIENT, BG_TEXTURE, BG_SUNSKY };
enum { MAT_SHINY, MAT_GLOSSY, MAT_COATED, MAT_GLASS, MAT_BLEND, MAT_LIGHT, MAT_NULL };
enum { MATF_FRESNEL = 1, MATF_DOUBLE_SIDED = 2, MATF_FAKE_SHADOWS = 4 };
enum { SH_NULL, SH_MAPPER, SH_LAYER, SH_VALUE, SH_MIX };
enum { CH_DIFFUSE, CH_GLOSSY, CH_GLOSSY_REFLECT, CH_MIRROR_COLOR, CH_MIRROR,
       CH_TRANSPARENCY, CH_TRANSLUCENCY, CH_FILTER_COLOR, CH_BUMP, CH_MASK };
enum { TEXCO_GLOBAL, TEXCO_UV, TEXCO_ORCO, TEXCO_TRANSFORMED, TEXCO_NORMAL };
enum { MAP_PLAIN, MAP_CUBE, MAP_TUBE, MAP_SPHERE };
enum { LF_DO_COLOR = 1, LF_DO_SCALAR = 2, LF_COLOR_INPUT = 4, LF_USE_ALPHA = 8,
       LF_NO_RGB = 16, LF_NEGATIVE = 32, LF_STENCIL = 64 };
enum { TEX_IMAGE, TEX_CLOUDS, TEX_MARBLE, TEX_WOOD, TEX_BLEND, TEX_MUSGRAVE, TEX_VORONOI,
       TEX_DISTORTED, TEX_RGBCUBE };
enum { CLIP_REPEAT, CLIP_EXTEND, CLIP_CLIP, CLIP_CLIPCUBE, CLIP_CHECKER };
enum { LIGHT_POINT, LIGHT_SPOT, LIGHT_SUN, LIGHT_DIRECTIONAL, LIGHT_AREA, LIGHT_SPHERE,
       LIGHT_MESH };
enum { LIGHTF_DOUBLE_SIDED = 1, LIGHTF_INFINITE = 2 };
enum { TRI_INVISIBLE = 1, TRI_ORCO = 2, TRI_LIGHT = 4 };

/* Precomputed triangle for intersection: v0 and the two edges. */
typedef struct { vec3 v0, e1, e2; } TriGeom;

typedef struct {
    uint8_t *blob;            /* the whole scene.bin; the pointers below point into it */
    size_t blob_size;
    const Settings *settings;
    const float *verts, *normals, *uvs, *orco;
    uint32_t nverts, nnormals, nuvs, norco;
    const Tri *tris; uint32_t ntris;
    const Node *nodes; uint32_t nnodes;
    const Material *materials; uint32_t nmaterials;
    const Shader *shaders; uint32_t nshaders;
    const Texture *textures; uint32_t ntextures;
    const ImageInfo *images; uint32_t nimages;
    const uint8_t *pixels; uint32_t npixel_bytes;
    const Light *lights; uint32_t nlights;
    const LightTri *light_tris; uint32_t nlight_tris;
    /* Background importance table (env_w == 0: none), see scene/envmap.py. */
    uint32_t env_w, env_h;
    const float *env_marginal, *env_conditional, *env_pdf;
    TriGeom *geom;            /* malloc'd, ntris entries */
} Scene;

/* Take ownership of BLOB (malloc'd) and validate every index in it.
 * Returns 0, or -1 with a message in ERR. */
int scene_load(Scene *scene, uint8_t *blob, size_t size, char *err, size_t errlen);
void scene_free(Scene *scene);

#endif
