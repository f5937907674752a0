"""``<material>`` blocks and their ``<list_element>`` shader nodes (docs §6)."""

import math

from .model import Material, ShaderNode

CHANNELS = ("diffuse", "glossy", "glossy_reflect", "mirror_color", "mirror",
            "transparency", "translucency", "filter_color", "bump", "mask")
CHANNEL_PARAMS = {
    "diffuse_shader": "diffuse", "glossy_shader": "glossy",
    "glossy_reflect_shader": "glossy_reflect", "mirror_color_shader": "mirror_color",
    "mirror_shader": "mirror", "transparency_shader": "transparency",
    "translucency_shader": "translucency", "filter_color_shader": "filter_color",
    "bump_shader": "bump", "mask": "mask",
}
TEXCO = {"uv", "global", "orco", "transformed", "window", "normal", "reflect",
         "stick", "stress", "tangent"}
MAPPINGS = {"plain", "cube", "tube", "sphere"}
BLEND_MODES = {"mix": 0, "add": 1, "mult": 2, "multiply": 2, "sub": 3, "subtract": 3,
               "screen": 4, "div": 5, "divide": 5, "diff": 6, "difference": 6,
               "dark": 7, "darken": 7, "light": 8, "lighten": 8}


class MaterialTable:
    """Materials by name; index 0 is always ``defaultMat``."""

    def __init__(self):
        self.materials = [Material(kind="shiny", name="defaultMat", color=(0.8, 0.8, 0.8))]
        self.nodes = []
        self.by_name = {"defaultMat": 0}

    def index(self, name, warnings, where):
        if name in self.by_name:
            return self.by_name[name]
        warnings.add(f"{where}: material '{name}' is not defined; using defaultMat")
        return 0

    def add(self, material):
        if material.name in self.by_name and material.name == "defaultMat":
            self.materials[0] = material
            return 0
        self.by_name[material.name] = len(self.materials)
        self.materials.append(material)
        return len(self.materials) - 1


def build_material(name, params, elements, textures, table, warnings):
    """Create the material (or a fallback) and register it in ``table``."""
    where = f"material '{name}'"
    kind = params.str("type", "shinydiffusemat")
    mat = Material(name=name)
    if kind == "shinydiffusemat":
        mat.kind = "shiny"
        _shiny(mat, params)
    elif kind == "mirror":
        mat.kind = "shiny"
        mat.diffuse_reflect = 0.0
        mat.specular_reflect = params.float("reflect", 1.0)
        mat.mirror_color = params.color("color", (1.0, 1.0, 1.0))
    elif kind in ("glossy", "coated_glossy"):
        mat.kind = "coated" if kind == "coated_glossy" else "glossy"
        _glossy(mat, params, where, warnings)
    elif kind in ("glass", "rough_glass"):
        mat.kind = "glass"
        _glass(mat, params, where, warnings)
        if kind == "rough_glass":
            mat.roughness = min(1.0, max(0.0, params.float("alpha", 0.5)))
    elif kind in ("blend_mat", "blend", "mask_mat"):
        mat.kind = "blend"
        mat.mat1 = table.index(params.str("material1", ""), warnings, where)
        mat.mat2 = table.index(params.str("material2", ""), warnings, where)
        mat.blend_value = min(1.0, max(0.0, params.float("blend_value", 0.5)))
        if kind == "mask_mat":
            warnings.add(f"{where}: mask_mat approximated as a blend by the mask value")
    elif kind == "light_mat":
        mat.kind = "light"
        power = params.float("power", 1.0)
        mat.color = tuple(c * power for c in params.color("color", (1.0, 1.0, 1.0)))
        mat.double_sided = params.bool("double_sided", False)
    elif kind in ("null", "null_mat"):
        mat.kind = "null"
    else:
        warnings.add(f"{where}: material type '{kind}' is not supported; "
                     "faces using it render with defaultMat")
        table.by_name[name] = 0
        return 0
    _shader_nodes(mat, params, elements, textures, table, where, warnings)
    return table.add(mat)


def _oren_nayar(params, spelling):
    if params.str("diffuse_brdf", "") in spelling:
        return max(0.0, params.float("sigma", 0.1))
    return 0.0


def _shiny(mat, params):
    mat.color = params.color("color", (1.0, 1.0, 1.0))
    mat.diffuse_reflect = params.float("diffuse_reflect", 1.0)
    mat.specular_reflect = params.float("specular_reflect", 0.0)
    mat.mirror_color = params.color("mirror_color", (1.0, 1.0, 1.0))
    mat.fresnel = params.bool("fresnel_effect", False)
    mat.ior = params.float("IOR", 1.33)
    mat.transparency = params.float("transparency", 0.0)
    mat.transmit_filter = params.float("transmit_filter", 1.0)
    mat.translucency = params.float("translucency", 0.0)
    mat.emit = params.float("emit", 0.0)
    mat.sigma = _oren_nayar(params, ("oren_nayar", "Oren-Nayar"))


def _glossy(mat, params, where, warnings):
    mat.color = params.color("color", (1.0, 1.0, 1.0))
    mat.glossy_reflect = params.float("glossy_reflect", 1.0)
    mat.exponent = max(1.0, params.float("exponent", 50.0))
    mat.diffuse_color = params.color("diffuse_color", (1.0, 1.0, 1.0))
    mat.diffuse_reflect = params.float("diffuse_reflect", 0.0)
    mat.anisotropic = params.bool("anisotropic", False)
    mat.exp_u = max(1.0, params.float("exp_u", 50.0))
    mat.exp_v = max(1.0, params.float("exp_v", 50.0))
    mat.sigma = _oren_nayar(params, ("Oren-Nayar", "oren_nayar"))
    mat.ior = params.float("IOR", 1.4)
    if abs(mat.ior - 1.0) < 1e-7:
        mat.ior = 1.0000001
    mat.mirror_color = params.color("mirror_color", (1.0, 1.0, 1.0))
    if mat.anisotropic:
        warnings.add(f"{where}: anisotropic glossy approximated by the mean exponent")
        mat.exponent = math.sqrt(mat.exp_u * mat.exp_v)


def _glass(mat, params, where, warnings):
    mat.ior = max(1.0, params.float("IOR", 1.4))
    tf = params.float("transmit_filter", 0.0)
    fc = params.color("filter_color", (1.0, 1.0, 1.0))
    mat.transmit_filter = tf
    mat.filter_color = tuple(tf * c + (1.0 - tf) for c in fc)
    mat.mirror_color = params.color("mirror_color", (1.0, 1.0, 1.0))
    absorption = params.color("absorption", (1.0, 1.0, 1.0))
    dist = params.float("absorption_dist", 1.0)
    if any(c < 1.0 for c in absorption) and dist > 0:
        mat.absorb = tuple(-math.log(max(c, 1e-4)) / dist for c in absorption)
    mat.fake_shadows = params.bool("fake_shadows", False)
    if params.float("dispersion_power", 0.0) > 0:
        warnings.add(f"{where}: dispersion is not supported; rendering without it")


def _shader_nodes(mat, params, elements, textures, table, where, warnings):
    by_name = {}
    for el in elements:
        node_name = el.str("name", "")
        if node_name:
            by_name[node_name] = el
    resolved = {}

    def resolve(node_name, stack):
        if node_name in resolved:
            return resolved[node_name]
        el = by_name.get(node_name)
        if el is None:
            warnings.add(f"{where}: shader node '{node_name}' is not defined; ignored")
            return -1
        if node_name in stack:
            warnings.add(f"{where}: shader node '{node_name}' is part of a cycle; ignored")
            return -1
        stack = stack | {node_name}
        node = _node(el, node_name, textures, resolve, stack, where, warnings)
        if node is None:
            resolved[node_name] = -1
            return -1
        table.nodes.append(node)
        resolved[node_name] = len(table.nodes) - 1
        return resolved[node_name]

    for param, channel in CHANNEL_PARAMS.items():
        node_name = params.str(param, None)
        if node_name:
            idx = resolve(node_name, frozenset())
            if idx >= 0:
                mat.shaders[channel] = idx
    if "bump" in mat.shaders:
        warnings.add(f"{where}: bump mapping is not supported; ignored")


def _node(el, name, textures, resolve, stack, where, warnings):
    kind = el.str("type", "")
    if kind == "texture_mapper":
        node = ShaderNode(kind="mapper", name=name)
        tex_name = el.str("texture", "")
        tex = textures.get(tex_name)
        if tex is None:
            if tex_name not in textures:
                warnings.add(f"{where}: texture '{tex_name}' is not defined; "
                             "using the material colour instead")
            node.texture = -1
        else:
            node.texture = tex
        node.texco = el.str("texco", "global")
        if node.texco not in TEXCO:
            warnings.add(f"{where}: texco '{node.texco}' unknown; using global")
            node.texco = "global"
        elif node.texco in ("window", "reflect", "stick", "stress", "tangent"):
            warnings.add(f"{where}: texco '{node.texco}' approximated by global")
        node.mapping = el.str("mapping", "plain")
        if node.mapping not in MAPPINGS:
            node.mapping = "plain"
        node.proj = tuple(min(3, max(0, el.int(k, d)))
                          for k, d in (("proj_x", 1), ("proj_y", 2), ("proj_z", 3)))
        node.scale = el.point("scale", (1.0, 1.0, 1.0))
        node.offset = el.point("offset", (0.0, 0.0, 0.0))
        node.matrix = el.matrix("transform")
        return node
    if kind == "layer":
        node = ShaderNode(kind="layer", name=name)
        input_name = el.str("input", "")
        node.input = resolve(input_name, stack) if input_name else -1
        upper = el.str("upper_layer", "")
        node.upper = resolve(upper, stack) if upper else -1
        if "blend_mode" in el:
            node.mode = BLEND_MODES.get(el.str("blend_mode", "mix"), 0)
        else:
            node.mode = min(8, max(0, el.int("mode", 0)))
        node.colfac = el.float("colfac", 1.0)
        node.valfac = el.float("valfac", 1.0)
        node.def_col = el.color("def_col", (1.0, 0.0, 1.0))
        node.def_val = el.float("def_val", 1.0)
        node.do_color = el.bool("do_color", True)
        node.do_scalar = el.bool("do_scalar", False)
        node.color_input = el.bool("color_input", False)
        node.use_alpha = el.bool("use_alpha", False)
        node.no_rgb = el.bool("noRGB", False)
        node.negative = el.bool("negative", False)
        node.stencil = el.bool("stencil", False)
        node.upper_color = el.color("upper_color", (1.0, 1.0, 1.0))
        node.upper_value = el.float("upper_value", 0.0)
        return node
    if kind == "value":
        node = ShaderNode(kind="value", name=name)
        node.color = el.color("color", (1.0, 1.0, 1.0))
        node.scalar = el.float("scalar", 1.0)
        return node
    if kind == "mix":
        node = ShaderNode(kind="mix", name=name)
        a, b = el.str("input1", ""), el.str("input2", "")
        node.input = resolve(a, stack) if a else -1
        node.input2 = resolve(b, stack) if b else -1
        node.color = el.color("color1", (0.0, 0.0, 0.0))
        node.upper_color = el.color("color2", (1.0, 1.0, 1.0))
        node.factor = el.float("cfactor", 0.5)
        return node
    warnings.add(f"{where}: shader node type '{kind}' is not supported; ignored")
    return None
