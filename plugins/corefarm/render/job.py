"""The seam between a loaded scene and whoever runs the tiles.

``RenderJob.prepare(scene, ...)`` packs the scene once; ``job.files`` are the
job files every agent needs (just ``scene.bin``); ``job.tasks(tiles)`` yields
``(tile, entry, input)`` for the grid to fork; ``job.assembler(tiles)`` takes
the results back; ``job.write(path, image)`` writes the output file.
"""

from dataclasses import dataclass, field

from corefarm.scene import pack_scene

from .assemble import Assembler
from .request import INTEGRATORS, MAX_SAMPLES, TileRequest, film_window
from .tiles import split_grid
from .writers import encode_image, format_for, write_image

ENTRY = "render_tile"
SCENE_FILE = "scene.bin"
MAX_SIDE = 16384
PATH_SAMPLES_CAP = 16


@dataclass(frozen=True)
class TileTask:
    tile: object
    entry: str
    input: bytes


@dataclass
class RenderJob:
    scene_bin: bytes
    width: int
    height: int
    samples: int
    seed: int = 0
    integrator: str = "scene"
    light_samples_cap: int = 0
    film: tuple = (0.0, 0.0, 1.0, 1.0)
    output_space: str = "srgb"
    gamma: float = 2.2
    alpha: bool = True
    warnings: list = field(default_factory=list)

    @classmethod
    def prepare(cls, scene, size=None, samples=None, seed=0, integrator="scene",
                light_samples_cap=0):
        """Pack ``scene`` for rendering at ``size`` (default: the scene's own
        render size) with ``samples`` per pixel (default: from the scene)."""
        width, height = size or (scene.render.width, scene.render.height)
        if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
            raise ValueError(f"image size must be 1..{MAX_SIDE} pixels per side")
        if samples is None:
            samples = scene.render.samples
            if scene.integrator.kind == "path" and integrator in ("scene", "path"):
                # YafaRay traced path_samples paths per AA sample; we trace one
                # path per sample, so the default budget folds them in.
                samples *= min(scene.integrator.path_samples, PATH_SAMPLES_CAP)
        if not 1 <= samples <= MAX_SAMPLES:
            raise ValueError(f"samples must be 1..{MAX_SAMPLES}")
        if integrator not in INTEGRATORS:
            raise ValueError(f"integrator must be one of {', '.join(INTEGRATORS)}")
        return cls(scene_bin=pack_scene(scene), width=width, height=height, samples=samples,
                   seed=seed, integrator=integrator, light_samples_cap=light_samples_cap,
                   film=film_window(scene.render, width, height),
                   output_space=scene.render.output_space, gamma=scene.render.gamma,
                   alpha=scene.integrator.bg_transp, warnings=list(scene.warnings))

    @property
    def files(self):
        return {SCENE_FILE: self.scene_bin}

    def request(self, tile):
        return TileRequest(SCENE_FILE, self.width, self.height, tile.x0, tile.y0, tile.w,
                           tile.h, self.film, self.samples, self.seed,
                           INTEGRATORS[self.integrator], self.light_samples_cap).encode()

    def grid(self, cols, rows):
        return split_grid(self.width, self.height, cols, rows)

    def tasks(self, tiles):
        for tile in tiles:
            yield TileTask(tile, ENTRY, self.request(tile))

    def assembler(self, tiles):
        return Assembler(self.width, self.height, tiles)

    def encode(self, image, fmt):
        """Image file bytes (``fmt``: png, tga or exr). An alpha channel is
        written only when the scene asked for a transparent background."""
        return encode_image(image, fmt, self.output_space, self.gamma, alpha=self.alpha)

    def write(self, path, image):
        return write_image(path, image, self.output_space, self.gamma, alpha=self.alpha,
                           fmt=format_for(path))
