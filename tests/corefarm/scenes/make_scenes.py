"""Writes our own test scenes (YafaRay 0.1.x dialect, as the Blender 2.49
exporter would) and their textures. Run once; the outputs are committed:

    python tests/corefarm/scenes/make_scenes.py
"""

import math
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


class P(tuple):
    pass


class C(tuple):
    pass


def param(name, v):
    if isinstance(v, bool):
        return f'\t<{name} bval="{"true" if v else "false"}"/>'
    if isinstance(v, int):
        return f'\t<{name} ival="{v}"/>'
    if isinstance(v, float):
        return f'\t<{name} fval="{v:g}"/>'
    if isinstance(v, P):
        return f'\t<{name} x="{v[0]:g}" y="{v[1]:g}" z="{v[2]:g}"/>'
    if isinstance(v, C):
        return f'\t<{name} r="{v[0]:g}" g="{v[1]:g}" b="{v[2]:g}" a="1"/>'
    return f'\t<{name} sval="{v}"/>'


def block(tag, name, params, elements=()):
    lines = [f'<{tag} name="{name}">' if name is not None else f"<{tag}>"]
    lines += [param(k, v) for k, v in sorted(params.items())]
    for el in elements:
        lines.append("\t<list_element>")
        lines += ["\t" + param(k, v) for k, v in sorted(el.items())]
        lines.append("\t</list_element>")
    lines.append(f"</{tag}>")
    return "\n".join(lines)


def mesh(tris, material, verts=None, uvs=None, mesh_type=0, smooth=None):
    """tris: list of (a, b, c) or (a, b, c, ua, ub, uc) into verts / uvs."""
    out = [f'<mesh vertices="{len(verts)}" faces="{len(tris)}" has_orco="false" '
           f'has_uv="{"true" if uvs else "false"}" type="{mesh_type}">']
    out += [f'\t\t\t<p x="{x:g}" y="{y:g}" z="{z:g}"/>' for x, y, z in verts]
    out += [f'\t\t\t<uv u="{u:g}" v="{v:g}"/>' for u, v in (uvs or [])]
    out.append(f'\t\t\t<set_material sval="{material}"/>')
    for t in tris:
        if len(t) == 6:
            out.append(f'\t\t\t<f a="{t[0]}" b="{t[1]}" c="{t[2]}" uv_a="{t[3]}" uv_b="{t[4]}" uv_c="{t[5]}"/>')
        else:
            out.append(f'\t\t\t<f a="{t[0]}" b="{t[1]}" c="{t[2]}"/>')
    out.append("</mesh>")
    if smooth is not None:
        out.append(f'<smooth ID="0" angle="{smooth:g}"/>')
    return "\n".join(out)


def quad(a, b, c, d, material, uv_repeat=None):
    verts = [a, b, c, d]
    if uv_repeat:
        r = uv_repeat
        uvs = [(0, 0), (r, 0), (r, r), (0, r)]
        return mesh([(0, 1, 2, 0, 1, 2), (2, 3, 0, 2, 3, 0)], material, verts, uvs)
    return mesh([(0, 1, 2), (2, 3, 0)], material, verts)


def box(lo, hi, material, rot_deg=0.0):
    (x0, y0, z0), (x1, y1, z1) = lo, hi
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    c, s = math.cos(math.radians(rot_deg)), math.sin(math.radians(rot_deg))

    def r(x, y, z):
        dx, dy = x - cx, y - cy
        return (cx + c * dx - s * dy, cy + s * dx + c * dy, z)

    v = [r(x, y, z) for z in (z0, z1) for y in (y0, y1) for x in (x0, x1)]
    faces = [(0, 2, 3, 1), (4, 5, 7, 6), (0, 1, 5, 4), (2, 6, 7, 3), (0, 4, 6, 2), (1, 3, 7, 5)]
    tris = []
    for a, b, cc, d in faces:
        tris += [(a, b, cc), (cc, d, a)]
    return mesh(tris, material, v)


def sphere(center, radius, material, rings=16, segments=32):
    verts = []
    for i in range(rings + 1):
        t = math.pi * i / rings
        for j in range(segments):
            p = 2 * math.pi * j / segments
            verts.append((center[0] + radius * math.sin(t) * math.cos(p),
                          center[1] + radius * math.sin(t) * math.sin(p),
                          center[2] + radius * math.cos(t)))
    tris = []
    for i in range(rings):
        for j in range(segments):
            a, b = i * segments + j, i * segments + (j + 1) % segments
            cc, d = a + segments, b + segments
            if i > 0:
                tris.append((a, cc, b))
            if i < rings - 1:
                tris.append((b, cc, d))
    return mesh(tris, material, verts, smooth=181)


def camera(eye, target, up=(0, 0, 1), focal=1.09375, resx=640, resy=480, kind="perspective",
           scale=1.0):
    d = [t - e for t, e in zip(target, eye)]
    n = math.sqrt(sum(x * x for x in d))
    d = [x / n for x in d]
    params = {"type": kind, "from": P(eye), "to": P(e + x for e, x in zip(eye, d)),
              "up": P(e + u for e, u in zip(eye, up)), "resx": resx, "resy": resy,
              "focal": focal}
    if kind == "orthographic":
        params["scale"] = scale
    return block("camera", "cam", params)


def render(width, height, samples=1, gamma=1.8, filt="box", background=True):
    params = {"camera_name": "cam", "integrator_name": "default",
              "volintegrator_name": "volintegr", "width": width, "height": height,
              "xstart": 0, "ystart": 0, "AA_minsamples": samples, "AA_passes": 1,
              "AA_pixelwidth": 1.5, "AA_threshold": 0.05, "filter_type": filt, "gamma": gamma,
              "clamp_rgb": False, "tile_size": 32, "threads": -1}
    if background:
        params["background_name"] = "world_background"
    return block("render", None, params)


def integrators(kind="directlighting", **extra):
    params = {"type": kind, "raydepth": 5, "shadowDepth": 2, "transpShad": False}
    params.update(extra)
    return block("integrator", "default", params) + "\n" + \
        block("integrator", "volintegr", {"type": "none"})


def shiny(name, color, **kw):
    params = {"type": "shinydiffusemat", "color": C(color), "diffuse_reflect": 1.0}
    params.update(kw)
    return block("material", name, params)


def scene(*parts):
    return '<?xml version="1.0"?>\n<scene type="triangle">\n\n' + "\n\n".join(parts) + \
        "\n</scene>\n"


def write(name, text):
    with open(os.path.join(HERE, name), "w") as f:
        f.write(text)


def cornell():
    white, red, green = (0.73, 0.73, 0.73), (0.65, 0.05, 0.05), (0.12, 0.45, 0.15)
    L = 0.25
    return scene(
        block("material", "defaultMat", {"type": "shinydiffusemat"}),
        shiny("White", white), shiny("Red", red), shiny("Green", green),
        block("material", "Glass", {"type": "glass", "IOR": 1.5, "filter_color": C((1, 1, 1)),
                                    "mirror_color": C((1, 1, 1)), "transmit_filter": 0.0}),
        block("material", "Lamp", {"type": "light_mat", "color": C((1, 0.9, 0.75)),
                                   "power": 12.0, "double_sided": False}),
        block("light", "Area", {"type": "arealight", "color": C((1, 0.9, 0.75)), "power": 12.0,
                                "corner": P((-L, -L, 1.985)), "point1": P((-L, L, 1.985)),
                                "point2": P((L, -L, 1.985)), "samples": 4, "object": 1}),
        quad((-L, -L, 1.985), (-L, L, 1.985), (L, L, 1.985), (L, -L, 1.985), "Lamp"),
        quad((-1, -1, 0), (1, -1, 0), (1, 1, 0), (-1, 1, 0), "White"),
        quad((-1, -1, 2), (-1, 1, 2), (1, 1, 2), (1, -1, 2), "White"),
        quad((-1, 1, 0), (1, 1, 0), (1, 1, 2), (-1, 1, 2), "White"),
        quad((-1, -1, 0), (-1, 1, 0), (-1, 1, 2), (-1, -1, 2), "Red"),
        quad((1, -1, 0), (1, -1, 2), (1, 1, 2), (1, 1, 0), "Green"),
        box((-0.65, 0.0, 0.0), (-0.05, 0.6, 1.2), "White", rot_deg=18.0),
        sphere((0.45, -0.35, 0.35), 0.35, "Glass"),
        camera((0, -3.9, 1.0), (0, 0, 1.0), focal=1.6, resx=256, resy=256),
        block("background", "world_background", {"type": "constant", "color": C((0, 0, 0)),
                                                 "ibl": False}),
        integrators("pathtracing", bounces=5, path_samples=16),
        render(256, 256, samples=4, gamma=2.2),
    )


def furnace(kind):
    """A white sphere in a uniformly white world: it must render white."""
    mats = {
        "diffuse": shiny("Ball", (1, 1, 1)),
        "glossy": block("material", "Ball", {"type": "glossy", "color": C((1, 1, 1)),
                                             "glossy_reflect": 1.0, "exponent": 30.0,
                                             "diffuse_reflect": 0.0}),
        "coated": block("material", "Ball", {"type": "coated_glossy", "color": C((1, 1, 1)),
                                             "diffuse_color": C((1, 1, 1)), "IOR": 1.5,
                                             "glossy_reflect": 0.5, "exponent": 30.0,
                                             "diffuse_reflect": 1.0}),
        "glass": block("material", "Ball", {"type": "glass", "IOR": 1.5,
                                            "filter_color": C((1, 1, 1))}),
    }
    integ = "directlighting" if kind == "diffuse" else "pathtracing"
    return scene(
        block("material", "defaultMat", {"type": "shinydiffusemat"}),
        mats[kind],
        block("object", "Ball", {"type": "sphere", "center": P((0, 0, 0)), "radius": 1.0,
                                 "material": "Ball"}),
        camera((0, -4, 0), (0, 0, 0), focal=1.2, resx=64, resy=64),
        block("background", "world_background", {"type": "constant", "color": C((1, 1, 1)),
                                                 "power": 1.0, "ibl": kind == "diffuse",
                                                 "ibl_samples": 8}),
        integrators(integ, bounces=12, raydepth=12),
        render(64, 64, samples=4, gamma=1.0),
    )


def enclosure():
    """Closed box, every wall emits 1 and reflects half: L = 1 / (1 - 0.5) = 2."""
    parts = [block("material", "defaultMat", {"type": "shinydiffusemat"}),
             shiny("Wall", (0.5, 0.5, 0.5), diffuse_reflect=1.0, emit=2.0)]
    # emit is radiance = emit * color = 1.0
    s = 2.0
    parts.append(box((-s, -s, -s), (s, s, s), "Wall"))
    parts += [camera((0, 0, 0), (0.3, 1, 0.2), focal=0.8, resx=48, resy=48),
              integrators("pathtracing", bounces=30, raydepth=2),
              render(48, 48, samples=8, gamma=1.0, background=False)]
    return scene(*parts)


def checker_png(path, n=8, size=128):
    rows = []
    for y in range(size):
        row = bytearray([0])
        for x in range(size):
            on = ((x * n // size) + (y * n // size)) % 2
            row += bytes((230, 200, 140) if on else (60, 40, 30))
        rows.append(bytes(row))
    raw = zlib.compress(b"".join(rows), 9)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + \
            struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)) \
        + chunk(b"IDAT", raw) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def features():
    wood = {"type": "wood", "size": 2.0, "depth": 2, "turbulence": 3.0, "wood_type": "rings",
            "hard": False, "noise_type": "newperlin", "shape": "sin"}
    return scene(
        block("texture", "Checker", {"type": "image", "filename": "checker.png", "gamma": 1.8,
                                     "xrepeat": 1, "yrepeat": 1, "clipping": "repeat",
                                     "interpolate": "bilinear"}),
        block("texture", "Wood", wood),
        block("material", "defaultMat", {"type": "shinydiffusemat"}),
        block("material", "Floor", {"type": "shinydiffusemat", "color": C((0.7, 0.7, 0.7)),
                                    "diffuse_reflect": 1.0, "diffuse_shader": "diff_layer0"},
              [{"element": "shader_node", "name": "diff_layer0", "type": "layer",
                "input": "map0", "mode": 0, "colfac": 1.0, "do_color": True,
                "color_input": True, "def_col": C((1, 0, 1)), "upper_color": C((0.7, 0.7, 0.7)),
                "use_alpha": False},
               {"element": "shader_node", "name": "map0", "type": "texture_mapper",
                "texture": "Checker", "texco": "uv", "mapping": "plain",
                "scale": P((1, 1, 1)), "offset": P((0, 0, 0)), "proj_x": 1, "proj_y": 2,
                "proj_z": 3}]),
        block("material", "Glass", {"type": "glass", "IOR": 1.5, "filter_color": C((0.8, 1.0, 0.9)),
                                    "transmit_filter": 1.0, "mirror_color": C((1, 1, 1)),
                                    "fake_shadows": True}),
        block("material", "Coated", {"type": "coated_glossy", "color": C((1, 1, 1)),
                                     "diffuse_color": C((0.6, 0.05, 0.04)), "diffuse_reflect": 1.0,
                                     "glossy_reflect": 0.3, "exponent": 80.0, "IOR": 1.6}),
        block("material", "Gold", {"type": "glossy", "color": C((0.9, 0.6, 0.2)),
                                   "glossy_reflect": 0.9, "exponent": 200.0,
                                   "diffuse_color": C((0.5, 0.35, 0.1)), "diffuse_reflect": 0.3}),
        shiny("Red", (0.7, 0.1, 0.1)),
        shiny("Mirror", (1, 1, 1), diffuse_reflect=0.0, specular_reflect=1.0),
        block("material", "RedMirror", {"type": "blend", "material1": "Red",
                                        "material2": "Mirror", "blend_value": 0.4}),
        block("material", "Wooden", {"type": "shinydiffusemat", "color": C((0.5, 0.3, 0.1)),
                                     "diffuse_shader": "diff_layer0"},
              [{"element": "shader_node", "name": "diff_layer0", "type": "layer",
                "input": "map0", "mode": 0, "colfac": 1.0, "do_color": True,
                "color_input": False, "def_col": C((0.25, 0.12, 0.04)),
                "upper_color": C((0.6, 0.4, 0.2))},
               {"element": "shader_node", "name": "map0", "type": "texture_mapper",
                "texture": "Wood", "texco": "global", "mapping": "plain",
                "scale": P((1, 1, 1)), "offset": P((0, 0, 0)), "proj_x": 1, "proj_y": 2,
                "proj_z": 3}]),
        block("material", "Lamp", {"type": "light_mat", "color": C((1, 1, 1)), "power": 6.0}),
        block("light", "Area", {"type": "arealight", "color": C((1, 1, 1)), "power": 6.0,
                                "corner": P((-1, -1, 4)), "point1": P((-1, 1, 4)),
                                "point2": P((1, -1, 4)), "samples": 8, "object": 1}),
        block("light", "Spot", {"type": "spotlight", "color": C((0.4, 0.6, 1.0)), "power": 60.0,
                                "from": P((4, -5, 5)), "to": P((1.2, -2.6, 0)),
                                "cone_angle": 15.0, "blend": 0.3}),
        quad((-1, -1, 4), (-1, 1, 4), (1, 1, 4), (1, -1, 4), "Lamp"),
        quad((-6, -6, 0), (6, -6, 0), (6, 6, 0), (-6, 6, 0), "Floor", uv_repeat=3),
        sphere((-1.6, 0.3, 0.8), 0.8, "Glass"),
        sphere((0.3, 1.2, 0.8), 0.8, "Coated"),
        sphere((1.8, -0.4, 0.7), 0.7, "RedMirror"),
        sphere((0.1, -1.4, 0.5), 0.5, "Gold"),
        box((-2.8, 1.6, 0), (-1.8, 2.6, 1.0), "Wooden", rot_deg=25.0),
        camera((0.0, -7.5, 3.5), (0.0, 0.0, 0.6), focal=1.2, resx=320, resy=240),
        block("background", "world_background", {"type": "gradientback",
                                                 "horizon_color": C((0.8, 0.8, 0.75)),
                                                 "zenith_color": C((0.2, 0.35, 0.7)),
                                                 "power": 1.0, "ibl": True, "ibl_samples": 8}),
        integrators("directlighting", raydepth=6, transpShad=True),
        render(320, 240, samples=4, gamma=1.8, filt="gauss"),
    )


def env_hdr(path, w=64, h=32):
    """A small lat-long sky: blue zenith, bright horizon, one warm sun spot."""
    def rgbe(r, g, b):
        m = max(r, g, b)
        if m < 1e-32:
            return bytes(4)
        e = math.frexp(m)[1]
        s = 256.0 / 2 ** e
        return bytes((int(r * s), int(g * s), int(b * s), e + 128))
    rows = []
    for y in range(h):
        theta = math.pi * (y + 0.5) / h
        row = bytearray()
        for x in range(w):
            phi = 2 * math.pi * (x + 0.5) / w
            z = math.cos(theta)
            if z > 0:
                c = (0.3 + 0.5 * (1 - z), 0.45 + 0.45 * (1 - z), 0.9)
            else:
                c = (0.25, 0.22, 0.2)
            d = math.hypot(phi - 1.0, theta - 1.0)
            if d < 0.12:
                c = (40.0, 34.0, 26.0)
            row += rgbe(*c)
        rows.append(bytes(row))
    with open(path, "wb") as f:
        f.write(b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n" + f"-Y {h} +X {w}\n".encode())
        f.write(b"".join(rows))


def studio():
    return scene(
        block("texture", "world_texture", {"type": "image", "filename": "sky.hdr", "gamma": 1.0}),
        block("material", "defaultMat", {"type": "shinydiffusemat"}),
        shiny("Clay", (0.75, 0.75, 0.75)),
        block("material", "Chrome", {"type": "glossy", "color": C((0.95, 0.95, 0.95)),
                                     "glossy_reflect": 1.0, "exponent": 400.0,
                                     "diffuse_reflect": 0.0}),
        block("material", "Neon", {"type": "light_mat", "color": C((1.0, 0.3, 0.1)),
                                   "power": 3.0, "double_sided": True}),
        block("light", "NeonLight", {"type": "meshlight", "color": C((1.0, 0.3, 0.1)),
                                     "power": 3.0, "object": 3, "double_sided": True,
                                     "samples": 8}),
        block("light", "Bulb", {"type": "spherelight", "color": C((0.9, 0.9, 1.0)), "power": 2.0,
                                "from": P((2.5, -2.0, 3.0)), "radius": 0.3, "samples": 8}),
        block("light", "Fill", {"type": "pointlight", "color": C((1, 1, 1)), "power": 4.0,
                                "from": P((-3, -3, 4))}),
        quad((-5, -5, 0), (5, -5, 0), (5, 5, 0), (-5, 5, 0), "Clay"),
        sphere((-0.9, 0.2, 0.9), 0.9, "Chrome"),
        box((1.3, 1.6, 0.0), (1.5, 2.6, 1.6), "Neon"),
        box((0.4, -0.6, 0.0), (1.4, 0.4, 1.0), "Clay", rot_deg=30.0),
        camera((4.0, -6.0, 4.5), (0.0, 0.4, 0.6), resx=256, resy=192, kind="orthographic",
               scale=7.0),
        block("background", "world_background", {"type": "textureback", "texture": "world_texture",
                                                 "mapping": "sphere", "power": 1.0, "ibl": True,
                                                 "ibl_samples": 8, "rotation": 0.0}),
        integrators("directlighting", raydepth=4),
        render(256, 192, samples=4, gamma=2.2),
    )


if __name__ == "__main__":
    checker_png(os.path.join(HERE, "checker.png"))
    env_hdr(os.path.join(HERE, "sky.hdr"))
    write("cornell.xml", cornell())
    write("features.xml", features())
    write("studio.xml", studio())
    write("enclosure.xml", enclosure())
    for kind in ("diffuse", "glossy", "coated", "glass"):
        write(f"furnace_{kind}.xml", furnace(kind))
