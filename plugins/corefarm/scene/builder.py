"""Builds a :class:`~.model.Scene` from the walker's callbacks, in document
order, as the original parser did (a material must precede its meshes)."""

import math

import numpy as np

from .background import build_background
from .camera import build_camera, camera_params, default_camera
from .errors import SceneError, Warnings
from .lights import build_light
from .materials import MaterialTable, build_material
from .meshes import TYPE_BASE, Mesh, build_geometry, transform_mesh
from .model import Background, Integrator, Scene
from .params import Params
from .settings import build_integrator, build_render
from .textures import ImageTable, build_texture
from .xmlwalk import block_params

QUIET_BLOCKS = {"render_passes", "logging_badge", "scene_parameters", "layer", "output",
                "volintegr", "accelerator", "scene_accelerator"}


def _int(text, default=0):
    try:
        return int(float(text))
    except (TypeError, ValueError, OverflowError):
        return default


class SceneBuilder:
    def __init__(self, dialect, resources, limits):
        self.dialect = dialect
        self.color_space = "srgb" if dialect == "v3" else "linear"
        self.resources = resources
        self.limits = limits
        self.reset()

    def reset(self):
        self.warnings = Warnings()
        self.materials = MaterialTable()
        self.textures = {}
        self.texture_list = []
        self.images = ImageTable()
        self.lights = []
        self.meshes = []
        self.meshes_by_id = {}
        self.instances = []
        self.cameras = {}
        self.backgrounds = {}
        self.integrators = {}
        self.render_params = None
        self.view_camera = None
        self.mesh = None
        self.next_mesh_id = 1
        self.total_vertices = 0
        self.total_faces = 0
        self.saw_scene_end = False

    # -- document -------------------------------------------------------------
    def scene_start(self, attrib):
        kind = attrib.get("type", "triangle")
        if kind not in ("triangle", "universal"):
            self.warnings.add(f"scene type '{kind}' treated as 'triangle'")

    def scene_end(self):
        self.saw_scene_end = True

    def _params(self, elem, where):
        return block_params(elem, where, self.warnings, self.color_space)

    def block(self, elem):
        tag = elem.tag
        name = elem.get("name", "")
        if tag == "texture":
            params, _ = self._params(elem, f"texture '{name}'")
            tex = build_texture(name, params, self.dialect, self.resources, self.images,
                                self.warnings)
            if tex is None:
                self.textures[name] = None
            else:
                self.textures[name] = len(self.texture_list)
                self.texture_list.append(tex)
        elif tag == "material":
            params, elements = self._params(elem, f"material '{name}'")
            build_material(name, params, elements, self.textures, self.materials,
                           self.warnings)
        elif tag == "light":
            params, _ = self._params(elem, f"light '{name}'")
            light = build_light(name, params, self.warnings)
            if light is not None:
                self.lights.append(light)
        elif tag == "camera":
            params, _ = self._params(elem, f"camera '{name}'")
            self.cameras[name] = camera_params(params)
        elif tag == "background":
            self.backgrounds[name] = self._params(elem, f"background '{name}'")[0]
        elif tag == "integrator":
            self.integrators[name] = self._params(elem, f"integrator '{name}'")[0]
        elif tag == "render":
            self.render_params = Params("render", self.warnings, "linear")
            for child in elem:
                self.render_params.set(child.tag, child.attrib)
        elif tag == "render_view":
            params, _ = self._params(elem, "render_view")
            if self.view_camera is None:
                self.view_camera = params.str("camera_name", None)
        elif tag == "smooth":
            self._smooth(elem.attrib)
        elif tag == "instance":
            self._instance(elem)
        elif tag == "volumeregion":
            self.warnings.add(f"volume region '{name}' is not supported; ignored")
        elif tag == "curve":
            self.warnings.add("hair curves (<curve>) are not supported; ignored")
        elif tag not in QUIET_BLOCKS:
            self.warnings.add(f"unknown element <{tag}> ignored")

    # -- meshes ---------------------------------------------------------------
    def mesh_start(self, attrib):
        mesh_id = _int(attrib.get("id"), 0) if "id" in attrib else 0
        if mesh_id <= 0:
            mesh_id = self.next_mesh_id
        self.next_mesh_id = max(self.next_mesh_id, mesh_id) + 1
        if len(self.meshes) >= self.limits.max_meshes:
            raise SceneError(f"scene has more than {self.limits.max_meshes} meshes")
        self.mesh = Mesh(mesh_id, _int(attrib.get("type"), 0),
                         attrib.get("has_orco") == "true", attrib.get("has_uv") == "true", 0)
        self.current_material = 0

    def object_mesh_start(self, name, params):
        self.mesh_start({"type": "0"})
        self.mesh.has_orco = params.bool("has_orco", False)
        self.mesh.has_uv = params.bool("has_uv", False)
        kind = params.str("type", "mesh")
        if kind != "mesh":
            self.warnings.add(f"object '{name}': type '{kind}' read as a mesh")

    def _ensure_mesh(self):
        if self.mesh is None:
            self.mesh_start({})

    def mesh_point(self, a):
        self._ensure_mesh()
        m = self.mesh
        try:
            m.pos.extend((float(a["x"]), float(a["y"]), float(a["z"])))
        except (KeyError, ValueError, OverflowError):
            self.warnings.add("mesh: malformed <p> replaced by the origin")
            m.pos.extend((0.0, 0.0, 0.0))
        if m.has_orco:
            try:
                m.orco.extend((float(a["ox"]), float(a["oy"]), float(a["oz"])))
            except (KeyError, ValueError, OverflowError):
                m.orco.extend(m.pos[-3:])
        self.total_vertices += 1
        if self.total_vertices > self.limits.max_vertices:
            raise SceneError(f"scene has more than {self.limits.max_vertices} vertices")

    def mesh_uv(self, a):
        self._ensure_mesh()
        try:
            self.mesh.uv.extend((float(a["u"]), float(a["v"])))
        except (KeyError, ValueError, OverflowError):
            self.warnings.add("mesh: malformed <uv> replaced by (0,0)")
            self.mesh.uv.extend((0.0, 0.0))

    def mesh_face(self, a):
        self._ensure_mesh()
        m = self.mesh
        try:
            idx = [int(a["a"]), int(a["b"]), int(a["c"])]
            if "d" in a:
                idx.append(int(a["d"]))
            if "uv_a" in a:
                uvi = [int(a["uv_a"]), int(a["uv_b"]), int(a["uv_c"])]
                if "d" in a:
                    uvi.append(int(a.get("uv_d", "-1")))
            else:
                uvi = [-1] * len(idx)
        except (KeyError, ValueError, OverflowError):
            m.bad_faces += 1
            return
        tris = [(0, 1, 2)] if len(idx) == 3 else [(0, 1, 2), (2, 3, 0)]
        try:
            for i, j, k in tris:
                m.faces.extend((idx[i], idx[j], idx[k]))
                m.face_uv.extend((uvi[i], uvi[j], uvi[k]))
                m.face_mat.append(self.current_material)
        except OverflowError:
            m.bad_faces += 1
            return
        self.total_faces += len(tris)
        if self.total_faces > self.limits.max_faces:
            raise SceneError(f"scene has more than {self.limits.max_faces} faces")

    def mesh_material(self, a):
        self._ensure_mesh()
        name = next(iter(a.values()), "")
        self.current_material = self.materials.index(name, self.warnings, "mesh")

    def mesh_other(self, tag):
        if tag == "n":
            self.warnings.add("mesh: explicit <n> normals ignored (use <smooth>)")
        else:
            self.warnings.add(f"mesh: unknown element <{tag}> ignored")

    def mesh_end(self):
        m = self.mesh
        self.mesh = None
        if m is None:
            return
        m.finish()
        if m.bad_faces:
            self.warnings.add(f"mesh {m.id}: {m.bad_faces} faces with invalid vertex "
                              "indices skipped")
        if (m.type & 0xFF) not in (0,):
            self.warnings.add(f"mesh {m.id}: mesh type {m.type & 0xFF} read as triangles")
        self.meshes.append(m)
        self.meshes_by_id[m.id] = m

    def _smooth(self, attrib):
        mesh_id = _int(attrib.get("ID"), 0)
        mesh = self.meshes[-1] if mesh_id == 0 and self.meshes else self.meshes_by_id.get(mesh_id)
        if mesh is None:
            self.warnings.add(f"<smooth ID=\"{mesh_id}\"> names no mesh; ignored")
            return
        try:
            angle = float(attrib.get("angle", "181"))
        except ValueError:
            angle = 181.0
        if angle > 0.1:
            mesh.smooth(angle)

    def _instance(self, elem):
        base = _int(elem.get("base_object_id"), -1)
        for child in elem:
            if child.tag == "transform":
                params = Params("instance", self.warnings)
                params.set("m", child.attrib)
                matrix = params.matrix("m")
                if matrix is not None:
                    self.instances.append((base, matrix))

    def object_block(self, name, params):
        kind = params.str("type", "")
        if kind != "sphere":
            self.warnings.add(f"object '{name}': type '{kind}' is not supported; ignored")
            return
        center = params.point("center", (0.0, 0.0, 0.0))
        radius = params.float("radius", 1.0)
        mat = self.materials.index(params.str("material", "defaultMat"), self.warnings,
                                   f"object '{name}'")
        self.meshes.append(_sphere_mesh(self.next_mesh_id, center, radius, mat))
        self.next_mesh_id += 1

    # -- result ---------------------------------------------------------------
    def finish(self, source_name=""):
        if self.mesh is not None:
            self.mesh_end()
        meshes = [m for m in self.meshes if not m.type & TYPE_BASE]
        for base_id, matrix in self.instances:
            base = self.meshes_by_id.get(base_id)
            if base is None:
                self.warnings.add(f"instance of unknown object {base_id} ignored")
                continue
            meshes.append(transform_mesh(base, matrix))
        geometry = build_geometry(meshes)
        if geometry.triangle_count == 0:
            self.warnings.add("scene has no geometry")
        bounds = None
        if len(geometry.positions):
            bounds = (tuple(geometry.positions.min(axis=0).tolist()),
                      tuple(geometry.positions.max(axis=0).tolist()))
        rp = self.render_params or Params("render", self.warnings)
        if self.render_params is None:
            self.warnings.add("scene has no <render> block; using defaults")
        camera = self._camera(rp, bounds)
        render = build_render(rp, self.dialect, (camera.resx, camera.resy), self.warnings)
        background, sky_lights = self._background(rp)
        integrator = self._integrator(rp)
        lights = self._check_lights(self.lights + sky_lights, geometry)
        if not lights and not background.ibl and not integrator.do_ao \
                and integrator.kind == "direct" and not _has_emitters(self.materials):
            self.warnings.add("scene has no lights: only the background and emitting "
                              "surfaces will be visible")
        return Scene(camera=camera, render=render, integrator=integrator,
                     background=background, lights=lights,
                     materials=self.materials.materials, nodes=self.materials.nodes,
                     textures=self.texture_list, images=self.images.images,
                     geometry=geometry, warnings=self.warnings.as_list(),
                     dialect=self.dialect, source_name=source_name)

    def _camera(self, rp, bounds):
        name = rp.str("camera_name", None) or self.view_camera
        raw = self.cameras.get(name) if name else None
        if raw is None and self.cameras:
            if name:
                self.warnings.add(f"render: camera '{name}' not found; using the first camera")
            raw = next(iter(self.cameras.values()))
        if raw is None:
            self.warnings.add("scene has no <camera>; using a default view of the scene")
            resx, resy = rp.int("width", 320), rp.int("height", 240)
            return default_camera(bounds[0] if bounds else None,
                                  bounds[1] if bounds else None,
                                  resx if resx > 0 else 320, resy if resy > 0 else 240)
        center = None
        if bounds:
            center = tuple((a + b) / 2 for a, b in zip(*bounds))
        return build_camera(raw, center, self.warnings, f"camera '{name or ''}'")

    def _background(self, rp):
        name = rp.str("background_name", None)
        params = self.backgrounds.get(name) if name else None
        if params is None and name:
            self.warnings.add(f"render: background '{name}' not found; black background")
        if params is None and not name and len(self.backgrounds) == 1:
            name, params = next(iter(self.backgrounds.items()))
        if params is None:
            return Background(kind="none"), []
        return build_background(name, params, self.textures, self.warnings)

    def _integrator(self, rp):
        name = rp.str("integrator_name", "default")
        params = self.integrators.get(name)
        if params is None:
            candidates = [p for n, p in self.integrators.items()
                          if p.str("type", "") != "none" and n != "volintegr"]
            if candidates:
                params = candidates[0]
            else:
                self.warnings.add("scene has no surface integrator; using direct lighting")
                return Integrator()
        vol = rp.str("volintegrator_name", "volintegr")
        vparams = self.integrators.get(vol)
        if vparams is not None and vparams.str("type", "none") != "none":
            self.warnings.add(f"volume integrator '{vparams.str('type', '')}' is not "
                              "supported; ignored")
        return build_integrator(name, params, self.warnings)

    def _check_lights(self, lights, geometry):
        mesh_ids = set(np.unique(geometry.tri_mesh).tolist()) if geometry.triangle_count else set()
        out = []
        for light in lights:
            if light.kind == "mesh" and light.mesh_id not in mesh_ids:
                self.warnings.add(f"light '{light.name}': mesh {light.mesh_id} not found; "
                                  "light ignored")
                continue
            if light.kind == "area":
                e1, e2 = light.e1, light.e2
                cross = (e1[1] * e2[2] - e1[2] * e2[1], e1[2] * e2[0] - e1[0] * e2[2],
                         e1[0] * e2[1] - e1[1] * e2[0])
                if math.sqrt(sum(c * c for c in cross)) <= 0:
                    self.warnings.add(f"light '{light.name}': degenerate area light ignored")
                    continue
            out.append(light)
        return out


def _has_emitters(table):
    return any(m.kind == "light" or (m.kind == "shiny" and m.emit > 0) for m in table.materials)


def _sphere_mesh(mesh_id, center, radius, material, rings=24, segments=48):
    theta = np.linspace(0, math.pi, rings + 1)
    phi = np.linspace(0, 2 * math.pi, segments, endpoint=False)
    t, p = np.meshgrid(theta, phi, indexing="ij")
    pts = np.stack([np.sin(t) * np.cos(p), np.sin(t) * np.sin(p), np.cos(t)], -1)
    mesh = Mesh(mesh_id, 0, False, False, material)
    mesh.positions = pts.reshape(-1, 3) * radius + np.asarray(center)
    faces = []
    for i in range(rings):
        for j in range(segments):
            a = i * segments + j
            b = i * segments + (j + 1) % segments
            c, d = a + segments, b + segments
            faces += [(a, c, d), (a, d, b)]
    mesh.orco_arr = None
    mesh.uv_arr = np.zeros((0, 2))
    mesh.tri = np.asarray(faces, dtype=np.int64)
    mesh.tri_uv = np.full((len(faces), 3), -1)
    mesh.tri_mat = np.full(len(faces), material)
    mesh.smooth(181.0)
    return mesh
