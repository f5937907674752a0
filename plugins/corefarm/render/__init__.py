"""Render helpers around the tracer: tile requests, tiling, assembly, image
writers, safe archive unpacking and in-process rendering.

    job = RenderJob.prepare(scene, size=(640, 480), samples=4)
    tiles = job.grid(7, 5)
    asm = job.assembler(tiles)
    for task in job.tasks(tiles):                 # (tile, entry, input)
        asm.add(task.tile, run_somewhere(task.entry, task.input, job.files))
    job.write("out.png", asm.result())
"""

from .assemble import Assembler, IncompleteImage
from .job import ENTRY, SCENE_FILE, RenderJob, TileTask
from .request import TileRequest, film_window
from .tiles import Tile, choose_grid, parse_grid, split_by_size, split_grid
from .writers import encode_image, format_for, write_image

__all__ = ["Assembler", "ENTRY", "IncompleteImage", "RenderJob", "SCENE_FILE", "Tile",
           "TileRequest", "TileTask", "choose_grid", "encode_image", "film_window",
           "format_for", "parse_grid", "split_by_size", "split_grid", "write_image"]
