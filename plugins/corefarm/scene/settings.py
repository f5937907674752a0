"""``<render>`` and ``<integrator>`` blocks (docs §11, §12)."""

from .model import Integrator, RenderSettings

FILTERS = {"box", "gauss", "mitchell", "lanczos"}
PATH_LIKE = {"pathtracing", "photonmapping", "bidirectional", "SPPM", "sppm"}


def build_integrator(name, params, warnings):
    where = f"integrator '{name}'"
    kind = params.str("type", "directlighting")
    integ = Integrator(source_type=kind)
    integ.raydepth = max(0, min(params.int("raydepth", 5), 32))
    integ.shadow_depth = max(0, min(params.int("shadowDepth", 5), 32))
    integ.transp_shadows = params.bool("transpShad", False)
    integ.do_ao = params.bool("do_AO", False)
    integ.ao_samples = max(1, min(params.int("AO_samples", 32), 256))
    integ.ao_distance = max(0.0, params.float("AO_distance", 1.0))
    integ.ao_color = params.color("AO_color", (1.0, 1.0, 1.0))
    integ.bg_transp = params.bool("bg_transp", False)
    if kind == "directlighting":
        integ.kind = "direct"
    elif kind in PATH_LIKE:
        integ.kind = "path"
        integ.bounces = max(1, min(params.int("bounces", 5 if kind != "pathtracing" else 3),
                                   32))
        integ.path_samples = max(1, min(params.int("path_samples", 16), 256))
        if kind != "pathtracing":
            warnings.add(f"{where}: '{kind}' is rendered with the path tracer")
    elif kind == "DebugIntegrator":
        warnings.add(f"{where}: debug integrator rendered as direct lighting")
        integ.kind = "direct"
    else:
        warnings.add(f"{where}: integrator type '{kind}' is not supported; "
                     "using direct lighting")
        integ.kind = "direct"
    if params.bool("caustics", False) or params.str("caustic_type", "none") != "none":
        warnings.add(f"{where}: photon-mapped caustics are not supported; "
                     "glass still refracts")
    return integ


def build_render(params, dialect, camera_res, warnings):
    r = RenderSettings()
    resx, resy = camera_res
    r.width = params.int("width", resx)
    r.height = params.int("height", resy)
    if r.width <= 0 or r.height <= 0:
        warnings.add("render: invalid width/height; using the camera resolution")
        r.width, r.height = resx, resy
    r.xstart = params.int("xstart", 0)
    r.ystart = params.int("ystart", 0)
    r.aa_minsamples = max(1, min(params.int("AA_minsamples", 1), 4096))
    r.aa_passes = max(1, min(params.int("AA_passes", 1), 64))
    r.aa_inc_samples = max(0, min(params.int("AA_inc_samples", r.aa_minsamples), 4096))
    filt = params.str("filter_type", "box")
    if filt not in FILTERS:
        if filt.lower() not in FILTERS:
            warnings.add(f"render: filter '{filt}' unknown; using box")
        filt = "box"
    r.filter = filt
    r.pixelwidth = max(0.5, min(params.float("AA_pixelwidth", 1.5), 8.0))
    r.clamp_rgb = params.bool("clamp_rgb", False)
    r.tile_size = max(4, min(params.int("tile_size", 32), 1024))
    r.premult = params.bool("premult", False)
    gamma = params.float("gamma", 1.0)
    if dialect == "v3":
        space = params.str("color_space", "sRGB")
        if space == "sRGB":
            r.output_space, r.gamma = "srgb", 1.0
        elif space == "Raw_Manual_Gamma":
            r.output_space, r.gamma = "gamma", gamma
        else:
            r.output_space, r.gamma = "linear", 1.0
    else:
        r.output_space, r.gamma = ("gamma", gamma) if gamma > 0 else ("linear", 1.0)
    if r.aa_passes > 1:
        warnings.add("render: adaptive AA passes become a fixed sample budget "
                     f"({r.samples} samples per pixel)")
    return r
