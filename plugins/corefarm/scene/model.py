"""The in-memory scene: what the loader produces and :mod:`.pack` serialises.

Everything here is already in the renderer's conventions: linear colours,
light values with YafaRay's pi factors applied, a camera frame of unit
vectors, indices instead of names.
"""

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

Vec = tuple


@dataclass
class Camera:
    kind: str = "perspective"          # perspective | orthographic | architect | angular
    eye: Vec = (0.0, 1.0, 0.0)
    x: Vec = (1.0, 0.0, 0.0)           # right
    y: Vec = (0.0, 0.0, -1.0)          # down on screen
    z: Vec = (0.0, -1.0, 0.0)          # forward
    resx: int = 320
    resy: int = 200
    aspect: float = 1.0                # pixel aspect multiplier (aspect_ratio)
    focal: float = 1.0
    scale: float = 1.0                 # orthographic view width
    aperture: float = 0.0
    dof_distance: float = 0.0
    angle: float = 90.0                # angular camera, degrees
    max_angle: float = 90.0
    circular: bool = True
    mirrored: bool = False


@dataclass
class RenderSettings:
    width: int = 320
    height: int = 240
    xstart: int = 0
    ystart: int = 0
    aa_minsamples: int = 1
    aa_passes: int = 1
    aa_inc_samples: int = 1
    filter: str = "box"                # box | gauss | mitchell | lanczos
    pixelwidth: float = 1.5
    gamma: float = 1.0
    output_space: str = "gamma"        # gamma (c^(1/gamma)) | srgb | linear
    clamp_rgb: bool = False
    tile_size: int = 32
    premult: bool = False

    @property
    def samples(self):
        """Samples per pixel: adaptive passes become a fixed budget, because
        adaptive AA would make a pixel depend on its tile's neighbours."""
        extra = max(0, self.aa_passes - 1) * max(0, self.aa_inc_samples)
        return max(1, self.aa_minsamples + extra // 2)


@dataclass
class Integrator:
    kind: str = "direct"               # direct | path
    source_type: str = "directlighting"
    raydepth: int = 5
    shadow_depth: int = 5
    transp_shadows: bool = False
    do_ao: bool = False
    ao_samples: int = 32
    ao_distance: float = 1.0
    ao_color: Vec = (1.0, 1.0, 1.0)
    bounces: int = 3
    path_samples: int = 1
    bg_transp: bool = False


@dataclass
class Background:
    kind: str = "none"                 # none | constant | gradient | texture | sunsky
    color: Vec = (0.0, 0.0, 0.0)       # constant colour x power
    power: float = 1.0
    ibl: bool = False
    ibl_samples: int = 16
    horizon: Vec = (1.0, 1.0, 1.0)     # gradient, already x power
    zenith: Vec = (0.4, 0.5, 1.0)
    horizon_ground: Vec = (1.0, 1.0, 1.0)
    zenith_ground: Vec = (0.4, 0.5, 1.0)
    texture: int = -1                  # texture index (image) for textureback
    mapping: str = "sphere"            # sphere | probe
    rotation: float = 0.0              # degrees about Z
    sun_dir: Vec = (0.0, 0.0, 1.0)     # sunsky
    perez: tuple = ()                  # 3 x 5 coefficients for Y, x, y
    zenith_xyY: Vec = (0.0, 0.0, 0.0)
    sky_scale: float = 1.0


@dataclass
class Light:
    kind: str                          # point spot sun directional area sphere mesh
    name: str = ""
    color: Vec = (1.0, 1.0, 1.0)       # radiometric: pi*color*power (see docs §3)
    pos: Vec = (0.0, 0.0, 0.0)
    direction: Vec = (0.0, 0.0, 1.0)   # unit; for sun/directional: towards the light
    e1: Vec = (0.0, 0.0, 0.0)
    e2: Vec = (0.0, 0.0, 0.0)
    radius: float = 1.0
    cos_inner: float = 1.0
    cos_outer: float = 0.0
    angle: float = 0.0                 # sun half-angle, degrees
    samples: int = 1
    mesh_id: int = 0
    double_sided: bool = False
    infinite: bool = True


@dataclass
class Material:
    """One flat record for every material type (see tracer/scene.h)."""
    kind: str = "shiny"                # shiny glossy coated glass blend light null
    name: str = ""
    color: Vec = (1.0, 1.0, 1.0)
    diffuse_color: Vec = (1.0, 1.0, 1.0)
    mirror_color: Vec = (1.0, 1.0, 1.0)
    filter_color: Vec = (1.0, 1.0, 1.0)
    absorb: Vec = (0.0, 0.0, 0.0)      # glass sigma per unit length
    diffuse_reflect: float = 1.0
    specular_reflect: float = 0.0
    glossy_reflect: float = 1.0
    transparency: float = 0.0
    transmit_filter: float = 1.0
    translucency: float = 0.0
    emit: float = 0.0
    ior: float = 1.33
    exponent: float = 50.0
    exp_u: float = 50.0
    exp_v: float = 50.0
    sigma: float = 0.0                 # Oren-Nayar, 0 = Lambert
    roughness: float = 0.0             # rough_glass alpha
    blend_value: float = 0.5
    fresnel: bool = False
    double_sided: bool = False
    fake_shadows: bool = False
    anisotropic: bool = False
    mat1: int = 0
    mat2: int = 0
    shaders: dict = field(default_factory=dict)   # channel -> node index


@dataclass
class ShaderNode:
    kind: str                          # mapper | layer | value | mix | null
    name: str = ""
    # mapper
    texture: int = -1
    texco: str = "global"
    mapping: str = "plain"
    proj: tuple = (1, 2, 3)
    scale: Vec = (1.0, 1.0, 1.0)
    offset: Vec = (0.0, 0.0, 0.0)
    matrix: Optional[tuple] = None
    # layer
    input: int = -1
    upper: int = -1
    mode: int = 0
    colfac: float = 1.0
    valfac: float = 1.0
    def_col: Vec = (1.0, 0.0, 1.0)
    def_val: float = 1.0
    do_color: bool = True
    do_scalar: bool = False
    color_input: bool = False
    use_alpha: bool = False
    no_rgb: bool = False
    negative: bool = False
    stencil: bool = False
    upper_color: Vec = (1.0, 1.0, 1.0)
    upper_alpha: float = 1.0
    upper_value: float = 0.0
    # value / mix
    color: Vec = (1.0, 1.0, 1.0)
    scalar: float = 1.0
    input2: int = -1
    factor: float = 0.5


@dataclass
class Texture:
    kind: str                          # image clouds marble wood blend musgrave voronoi distorted_noise rgb_cube
    name: str = ""
    image: int = -1
    color1: Vec = (0.0, 0.0, 0.0)
    color2: Vec = (1.0, 1.0, 1.0)
    size: float = 1.0
    depth: int = 2
    hard: bool = False
    turbulence: float = 1.0
    sharpness: float = 1.0
    shape: int = 0                     # sin saw tri
    wood_rings: bool = False
    stype: int = 0                     # blend texture type
    intensity: float = 1.0
    # image
    xrepeat: int = 1
    yrepeat: int = 1
    clipping: int = 0                  # repeat extend clip clipcube checker
    crop: tuple = (0.0, 0.0, 1.0, 1.0)
    rot90: bool = False
    interpolate: int = 1               # 0 none, 1 bilinear
    use_alpha: bool = True
    normalmap: bool = False


@dataclass
class Image:
    name: str
    width: int
    height: int
    pixels: np.ndarray                 # (h, w, 4) uint8 or float32, row 0 = top
    lut: Optional[np.ndarray] = None   # 256 floats linearising uint8 RGB


@dataclass
class Geometry:
    """All triangles of the scene, concatenated."""
    positions: np.ndarray              # (V,3) float32
    orco: np.ndarray                   # (V,3) float32, or (0,3)
    normals: np.ndarray                # (N,3) float32
    uvs: np.ndarray                    # (K,2) float32
    tri_verts: np.ndarray              # (T,3) uint32
    tri_normals: np.ndarray            # (T,3) int32, -1 = flat
    tri_uvs: np.ndarray                # (T,3) int32, -1 = none
    tri_material: np.ndarray           # (T,) uint16
    tri_flags: np.ndarray              # (T,) uint16, see FLAG_*
    tri_mesh: np.ndarray               # (T,) int32 mesh id

    FLAG_INVISIBLE = 1
    FLAG_ORCO = 2

    @property
    def triangle_count(self):
        return int(self.tri_verts.shape[0])


@dataclass
class Scene:
    camera: Camera
    render: RenderSettings
    integrator: Integrator
    background: Background
    lights: list
    materials: list
    nodes: list
    textures: list
    images: list
    geometry: Geometry
    warnings: list
    dialect: str = "0.1"
    source_name: str = ""
