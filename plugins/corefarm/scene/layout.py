"""The binary layout of ``scene.bin`` (version 1), shared with the tracer's
tracer/scene.h. Every record is made of 4-byte fields only, so C and numpy
agree on the layout without padding rules; tests check the sizes against the
C header.

The ENV section (importance sampling of the background, see envmap.py) is
u32 width, u32 height, then height floats (row cdf), width*height floats
(per-row cdfs) and width*height floats (cell pdf); count 0 means none.

File: 16-byte header (magic ``CFSCENE1``, u32 version, u32 section count),
then one 16-byte entry per section (u32 id, u32 count, u32 offset, u32 size),
then the sections, each 16-byte aligned. All little-endian.
"""

import numpy as np

MAGIC = b"CFSCENE1"
VERSION = 1

SEC_SETTINGS, SEC_VERTS, SEC_NORMALS, SEC_UVS, SEC_ORCO, SEC_TRIS, SEC_NODES, \
    SEC_MATERIALS, SEC_SHADERS, SEC_TEXTURES, SEC_IMAGES, SEC_PIXELS, SEC_LIGHTS, \
    SEC_LIGHT_TRIS, SEC_ENV = range(1, 16)

f3 = ("<f4", 3)

SETTINGS = np.dtype([
    ("cam_type", "<u4"), ("eye", *f3), ("cx", *f3), ("cy", *f3), ("cz", *f3),
    ("focal", "<f4"), ("scale", "<f4"), ("aspect", "<f4"), ("aperture", "<f4"),
    ("dof_distance", "<f4"), ("angle", "<f4"), ("max_angle", "<f4"),
    ("circular", "<u4"), ("mirrored", "<u4"), ("resx", "<i4"), ("resy", "<i4"),
    ("width", "<i4"), ("height", "<i4"), ("xstart", "<i4"), ("ystart", "<i4"),
    ("samples", "<u4"), ("filter", "<u4"), ("filter_width", "<f4"), ("clamp_rgb", "<u4"),
    ("integrator", "<u4"), ("raydepth", "<u4"), ("shadow_depth", "<u4"),
    ("transp_shadows", "<u4"), ("do_ao", "<u4"), ("ao_samples", "<u4"),
    ("ao_distance", "<f4"), ("ao_color", *f3), ("bounces", "<u4"), ("path_samples", "<u4"),
    ("bg_transp", "<u4"),
    ("bg_type", "<u4"), ("bg_color", *f3), ("bg_ibl", "<u4"), ("bg_ibl_samples", "<u4"),
    ("grad_horizon", *f3), ("grad_zenith", *f3), ("grad_hground", *f3),
    ("grad_zground", *f3), ("bg_texture", "<i4"), ("bg_mapping", "<u4"),
    ("bg_rotation", "<f4"), ("sun_dir", *f3), ("perez", "<f4", 15), ("zenith_xyY", *f3),
    ("sky_scale", "<f4"), ("ntri_visible", "<u4"), ("scene_radius", "<f4"),
    ("reserved", "<u4", 8),
])

TRI = np.dtype([("v", "<u4", 3), ("n", "<i4", 3), ("uv", "<i4", 3), ("material", "<u2"),
                ("flags", "<u2")])

NODE = np.dtype([("lo", *f3), ("hi", *f3), ("offset", "<u4"), ("meta", "<u4")])

MATERIAL = np.dtype([
    ("type", "<u4"), ("flags", "<u4"), ("color", *f3), ("diffuse_color", *f3),
    ("mirror_color", *f3), ("filter_color", *f3), ("absorb", *f3),
    ("diffuse_reflect", "<f4"), ("specular_reflect", "<f4"), ("glossy_reflect", "<f4"),
    ("transparency", "<f4"), ("transmit_filter", "<f4"), ("translucency", "<f4"),
    ("emit", "<f4"), ("ior", "<f4"), ("exponent", "<f4"), ("sigma", "<f4"),
    ("roughness", "<f4"), ("blend_value", "<f4"), ("mat1", "<i4"), ("mat2", "<i4"),
    ("shaders", "<i4", 10),
])

SHADER = np.dtype([
    ("type", "<u4"), ("texture", "<i4"), ("texco", "<u4"), ("mapping", "<u4"),
    ("proj", "<i4", 3), ("scale", *f3), ("offset", *f3), ("has_matrix", "<u4"),
    ("matrix", "<f4", 12), ("input", "<i4"), ("upper", "<i4"), ("mode", "<u4"),
    ("flags", "<u4"), ("colfac", "<f4"), ("valfac", "<f4"), ("def_col", *f3),
    ("def_val", "<f4"), ("upper_color", *f3), ("upper_alpha", "<f4"), ("upper_value", "<f4"),
    ("color", *f3), ("scalar", "<f4"), ("input2", "<i4"), ("factor", "<f4"),
    ("color2", *f3),
])

TEXTURE = np.dtype([
    ("type", "<u4"), ("image", "<i4"), ("color1", *f3), ("color2", *f3), ("size", "<f4"),
    ("depth", "<i4"), ("hard", "<u4"), ("turbulence", "<f4"), ("sharpness", "<f4"),
    ("shape", "<u4"), ("wood_rings", "<u4"), ("stype", "<u4"), ("intensity", "<f4"),
    ("xrepeat", "<i4"), ("yrepeat", "<i4"), ("clipping", "<u4"), ("crop", "<f4", 4),
    ("rot90", "<u4"), ("interpolate", "<u4"), ("use_alpha", "<u4"), ("normalmap", "<u4"),
])

IMAGE = np.dtype([("width", "<u4"), ("height", "<u4"), ("format", "<u4"),
                  ("data_offset", "<u4"), ("lut", "<f4", 256)])

LIGHT = np.dtype([
    ("type", "<u4"), ("flags", "<u4"), ("color", *f3), ("pos", *f3), ("dir", *f3),
    ("e1", *f3), ("e2", *f3), ("radius", "<f4"), ("cos_inner", "<f4"), ("cos_outer", "<f4"),
    ("samples", "<u4"), ("tri_start", "<u4"), ("tri_count", "<u4"), ("area", "<f4"),
])

LIGHT_TRI = np.dtype([("tri", "<u4"), ("cdf", "<f4")])

# Sizes the C header asserts too.
SIZES = {"Settings": SETTINGS.itemsize, "Tri": TRI.itemsize, "Node": NODE.itemsize,
         "Material": MATERIAL.itemsize, "Shader": SHADER.itemsize,
         "Texture": TEXTURE.itemsize, "ImageInfo": IMAGE.itemsize, "Light": LIGHT.itemsize,
         "LightTri": LIGHT_TRI.itemsize}

CAMERA_TYPES = {"perspective": 0, "orthographic": 1, "architect": 2, "angular": 3}
FILTERS = {"box": 0, "gauss": 1, "mitchell": 2, "lanczos": 3}
INTEGRATORS = {"direct": 1, "path": 2}
BACKGROUNDS = {"none": 0, "constant": 1, "gradient": 2, "texture": 3, "sunsky": 4}
MATERIAL_TYPES = {"shiny": 0, "glossy": 1, "coated": 2, "glass": 3, "blend": 4, "light": 5,
                  "null": 6}
MAT_FRESNEL, MAT_DOUBLE_SIDED, MAT_FAKE_SHADOWS = 1, 2, 4
SHADER_TYPES = {"null": 0, "mapper": 1, "layer": 2, "value": 3, "mix": 4}
TEXCO = {"global": 0, "uv": 1, "orco": 2, "transformed": 3, "normal": 4, "window": 0,
         "reflect": 0, "stick": 0, "stress": 0, "tangent": 0}
MAPPINGS = {"plain": 0, "cube": 1, "tube": 2, "sphere": 3}
LAYER_FLAGS = {"do_color": 1, "do_scalar": 2, "color_input": 4, "use_alpha": 8,
               "no_rgb": 16, "negative": 32, "stencil": 64}
TEXTURE_TYPES = {"image": 0, "clouds": 1, "marble": 2, "wood": 3, "blend": 4, "musgrave": 5,
                 "voronoi": 6, "distorted_noise": 7, "rgb_cube": 8}
CHANNELS = ("diffuse", "glossy", "glossy_reflect", "mirror_color", "mirror",
            "transparency", "translucency", "filter_color", "bump", "mask")
LIGHT_TYPES = {"point": 0, "spot": 1, "sun": 2, "directional": 3, "area": 4, "sphere": 5,
               "mesh": 6}
LIGHT_DOUBLE_SIDED, LIGHT_INFINITE = 1, 2
TRI_INVISIBLE, TRI_ORCO, TRI_LIGHT = 1, 2, 4
