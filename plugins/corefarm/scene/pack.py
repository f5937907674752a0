"""Serialise a :class:`~.model.Scene` into ``scene.bin`` (see :mod:`.layout`)."""

import math
import struct

import numpy as np

from . import layout as L
from .bvh import build_bvh, triangle_bounds
from .envmap import env_tables


def _flags(obj, table):
    return sum(bit for name, bit in table.items() if getattr(obj, name))


def _settings(scene, ntri_visible, radius):
    s = np.zeros(1, dtype=L.SETTINGS)[0]
    c, r, i, b = scene.camera, scene.render, scene.integrator, scene.background
    s["cam_type"] = L.CAMERA_TYPES[c.kind]
    s["eye"], s["cx"], s["cy"], s["cz"] = c.eye, c.x, c.y, c.z
    s["focal"], s["scale"], s["aspect"] = c.focal, c.scale, c.aspect
    s["aperture"], s["dof_distance"] = c.aperture, c.dof_distance
    s["angle"], s["max_angle"] = c.angle, c.max_angle
    s["circular"], s["mirrored"] = c.circular, c.mirrored
    s["resx"], s["resy"] = c.resx, c.resy
    s["width"], s["height"], s["xstart"], s["ystart"] = r.width, r.height, r.xstart, r.ystart
    s["samples"] = r.samples
    s["filter"] = L.FILTERS[r.filter]
    s["filter_width"] = r.pixelwidth
    s["clamp_rgb"] = r.clamp_rgb
    s["integrator"] = L.INTEGRATORS[i.kind]
    s["raydepth"], s["shadow_depth"] = i.raydepth, i.shadow_depth
    s["transp_shadows"], s["do_ao"] = i.transp_shadows, i.do_ao
    s["ao_samples"], s["ao_distance"], s["ao_color"] = i.ao_samples, i.ao_distance, i.ao_color
    s["bounces"], s["path_samples"], s["bg_transp"] = i.bounces, i.path_samples, i.bg_transp
    s["bg_type"] = L.BACKGROUNDS[b.kind]
    s["bg_color"], s["bg_ibl"], s["bg_ibl_samples"] = b.color, b.ibl, b.ibl_samples
    s["grad_horizon"], s["grad_zenith"] = b.horizon, b.zenith
    s["grad_hground"], s["grad_zground"] = b.horizon_ground, b.zenith_ground
    s["bg_texture"], s["bg_mapping"] = b.texture, 1 if b.mapping == "probe" else 0
    s["bg_rotation"] = b.rotation
    s["sun_dir"] = b.sun_dir
    if b.perez:
        s["perez"] = [v for row in b.perez for v in row]
    s["zenith_xyY"], s["sky_scale"] = b.zenith_xyY, b.sky_scale
    s["ntri_visible"] = ntri_visible
    s["scene_radius"] = radius
    return s


def _materials(scene):
    out = np.zeros(len(scene.materials), dtype=L.MATERIAL)
    for k, m in enumerate(scene.materials):
        o = out[k]
        o["type"] = L.MATERIAL_TYPES[m.kind]
        o["flags"] = ((L.MAT_FRESNEL if m.fresnel else 0)
                      | (L.MAT_DOUBLE_SIDED if m.double_sided else 0)
                      | (L.MAT_FAKE_SHADOWS if m.fake_shadows else 0))
        for name in ("color", "diffuse_color", "mirror_color", "filter_color", "absorb",
                     "diffuse_reflect", "specular_reflect", "glossy_reflect", "transparency",
                     "transmit_filter", "translucency", "emit", "ior", "exponent", "sigma",
                     "roughness", "blend_value", "mat1", "mat2"):
            o[name] = getattr(m, name)
        o["shaders"] = [m.shaders.get(ch, -1) for ch in L.CHANNELS]
    return out


def _shaders(scene):
    out = np.zeros(max(1, len(scene.nodes)), dtype=L.SHADER)
    for k, n in enumerate(scene.nodes):
        o = out[k]
        o["type"] = L.SHADER_TYPES[n.kind]
        o["texture"] = n.texture
        o["texco"] = L.TEXCO[n.texco]
        o["mapping"] = L.MAPPINGS[n.mapping]
        o["proj"], o["scale"], o["offset"] = n.proj, n.scale, n.offset
        if n.matrix is not None:
            o["has_matrix"] = 1
            o["matrix"] = n.matrix[:12]
        o["input"], o["upper"], o["mode"] = n.input, n.upper, n.mode
        o["flags"] = _flags(n, L.LAYER_FLAGS)
        o["colfac"], o["valfac"] = n.colfac, n.valfac
        o["def_col"], o["def_val"] = n.def_col, n.def_val
        o["upper_color"], o["upper_alpha"], o["upper_value"] = (n.upper_color, n.upper_alpha,
                                                                n.upper_value)
        o["color"], o["scalar"], o["input2"], o["factor"] = n.color, n.scalar, n.input2, n.factor
        o["color2"] = n.upper_color
    return out


def _textures(scene):
    out = np.zeros(max(1, len(scene.textures)), dtype=L.TEXTURE)
    for k, t in enumerate(scene.textures):
        o = out[k]
        o["type"] = L.TEXTURE_TYPES[t.kind]
        for name in ("image", "color1", "color2", "size", "depth", "hard", "turbulence",
                     "sharpness", "shape", "wood_rings", "stype", "intensity", "xrepeat",
                     "yrepeat", "clipping", "crop", "rot90", "interpolate", "use_alpha",
                     "normalmap"):
            o[name] = getattr(t, name)
    return out


def _images(scene):
    info = np.zeros(max(1, len(scene.images)), dtype=L.IMAGE)
    chunks, offset = [], 0
    for k, im in enumerate(scene.images):
        data = np.ascontiguousarray(im.pixels)
        is_float = data.dtype != np.uint8
        raw = data.astype("<f4").tobytes() if is_float else data.tobytes()
        info[k]["width"], info[k]["height"] = im.width, im.height
        info[k]["format"] = 1 if is_float else 0
        info[k]["data_offset"] = offset
        if im.lut is not None:
            info[k]["lut"] = im.lut
        pad = (-len(raw)) % 16
        chunks.append(raw + b"\0" * pad)
        offset += len(raw) + pad
    return info, b"".join(chunks)


def _tri_area(positions, tv):
    a = positions[tv[:, 0]].astype(np.float64)
    cr = np.cross(positions[tv[:, 1]] - a, positions[tv[:, 2]] - a)
    return 0.5 * np.linalg.norm(cr, axis=1)


def _lights(scene, positions, tri_verts, tri_mesh, tri_flags):
    lights = np.zeros(max(1, len(scene.lights)), dtype=L.LIGHT)
    light_tris = []
    count = 0
    for k, li in enumerate(scene.lights):
        o = lights[k]
        o["type"] = L.LIGHT_TYPES[li.kind]
        o["flags"] = ((L.LIGHT_DOUBLE_SIDED if li.double_sided else 0)
                      | (L.LIGHT_INFINITE if li.infinite else 0))
        o["color"], o["pos"], o["dir"] = li.color, li.pos, li.direction
        o["e1"], o["e2"], o["radius"] = li.e1, li.e2, li.radius
        o["cos_inner"], o["cos_outer"], o["samples"] = li.cos_inner, li.cos_outer, li.samples
        if li.kind == "area":
            o["area"] = float(np.linalg.norm(np.cross(li.e1, li.e2)))
        elif li.kind == "sphere":
            o["area"] = 4 * math.pi * li.radius ** 2
        if li.mesh_id and li.kind in ("mesh", "area", "sphere"):
            mine = np.nonzero(tri_mesh == li.mesh_id)[0]
            tri_flags[mine] |= L.TRI_LIGHT
            if li.kind == "mesh":
                area = _tri_area(positions, tri_verts[mine])
                total = float(area.sum())
                if total <= 0:
                    o["type"] = L.LIGHT_TYPES["point"]
                    o["color"] = (0.0, 0.0, 0.0)
                    continue
                entries = np.zeros(len(mine), dtype=L.LIGHT_TRI)
                entries["tri"] = mine
                entries["cdf"] = np.cumsum(area) / total
                entries["cdf"][-1] = 1.0
                o["tri_start"], o["tri_count"], o["area"] = count, len(mine), total
                light_tris.append(entries)
                count += len(mine)
    lt = np.concatenate(light_tris) if light_tris else np.zeros(1, dtype=L.LIGHT_TRI)
    return lights, lt


def pack_scene(scene):
    """Return the ``scene.bin`` bytes for ``scene`` (builds the BVH)."""
    g = scene.geometry
    visible = np.nonzero((g.tri_flags & L.TRI_INVISIBLE) == 0)[0]
    hidden = np.nonzero(g.tri_flags & L.TRI_INVISIBLE)[0]
    lo, hi = triangle_bounds(g.positions, g.tri_verts[visible])
    nodes, order = build_bvh(lo, hi)
    perm = np.concatenate([visible[order], hidden]).astype(np.int64)

    tris = np.zeros(len(perm), dtype=L.TRI)
    tris["v"] = g.tri_verts[perm]
    tris["n"] = g.tri_normals[perm]
    tris["uv"] = g.tri_uvs[perm]
    tris["material"] = g.tri_material[perm]
    flags = g.tri_flags[perm].copy()
    lights, light_tris = _lights(scene, g.positions, tris["v"], g.tri_mesh[perm], flags)
    tris["flags"] = flags
    if len(tris) == 0:
        tris = np.zeros(1, dtype=L.TRI)

    radius = 1.0
    if len(g.positions):
        pmin, pmax = g.positions.min(axis=0), g.positions.max(axis=0)
        radius = max(1e-3, float(np.linalg.norm(pmax.astype(np.float64) - pmin)) * 0.5)
    settings = _settings(scene, len(visible), radius)
    images, pixels = _images(scene)

    def arr(a, dtype, width):
        a = np.ascontiguousarray(a, dtype=dtype)
        return a if len(a) else np.zeros((1, width), dtype=dtype)

    env = env_tables(scene)
    if env is None:
        env_count, env_data = 0, b"\0" * 16
    else:
        w, h, marginal, conditional, pdf = env
        env_count = 1
        env_data = struct.pack("<II", w, h) + marginal.tobytes() + conditional.tobytes() \
            + pdf.tobytes()

    sections = [
        (L.SEC_SETTINGS, 1, settings.tobytes()),
        (L.SEC_VERTS, len(g.positions), arr(g.positions, "<f4", 3).tobytes()),
        (L.SEC_NORMALS, len(g.normals), arr(g.normals, "<f4", 3).tobytes()),
        (L.SEC_UVS, len(g.uvs), arr(g.uvs, "<f4", 2).tobytes()),
        (L.SEC_ORCO, len(g.orco), arr(g.orco, "<f4", 3).tobytes()),
        (L.SEC_TRIS, len(perm), tris.tobytes()),
        (L.SEC_NODES, len(nodes), nodes.astype(L.NODE).tobytes()),
        (L.SEC_MATERIALS, len(scene.materials), _materials(scene).tobytes()),
        (L.SEC_SHADERS, len(scene.nodes), _shaders(scene).tobytes()),
        (L.SEC_TEXTURES, len(scene.textures), _textures(scene).tobytes()),
        (L.SEC_IMAGES, len(scene.images), images.tobytes()),
        (L.SEC_PIXELS, len(pixels), pixels or b"\0" * 16),
        (L.SEC_LIGHTS, len(scene.lights), lights.tobytes()),
        (L.SEC_LIGHT_TRIS, int(lights["tri_count"].sum()) if len(scene.lights) else 0,
         light_tris.tobytes()),
        (L.SEC_ENV, env_count, env_data),
    ]
    header = L.MAGIC + struct.pack("<II", L.VERSION, len(sections))
    offset = len(header) + 16 * len(sections)
    table, body = [], []
    for sec_id, count, data in sections:
        pad = (-offset) % 16
        body.append(b"\0" * pad)
        offset += pad
        table.append(struct.pack("<IIII", sec_id, count, offset, len(data)))
        body.append(data)
        offset += len(data)
    if offset > 0xFFFFFFFF:
        raise ValueError("scene.bin would exceed 4 GiB")
    return header + b"".join(table) + b"".join(body)
