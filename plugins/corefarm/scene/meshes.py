"""Triangle meshes: streaming construction, smoothing, instancing and the
final concatenation into one :class:`~.model.Geometry`."""

import math
from array import array

import numpy as np

from .model import Geometry

TYPE_INVISIBLE = 0x100
TYPE_BASE = 0x200


class Mesh:
    """One ``<mesh>`` (or late-v3 ``<object>``) while it is being read."""

    def __init__(self, mesh_id, mesh_type, has_orco, has_uv, material):
        self.id = mesh_id
        self.type = mesh_type
        self.has_orco = has_orco
        self.has_uv = has_uv
        self.material = material
        # Flat typed arrays: a tenth of the memory of lists of Python numbers.
        self.pos = array("d")          # x,y,z,...
        self.orco = array("d")
        self.uv = array("d")           # u,v,...
        self.faces = array("q")        # a,b,c,...
        self.face_uv = array("q")      # uv_a,uv_b,uv_c (or -1)
        self.face_mat = array("q")
        self.bad_faces = 0
        # filled by finish()
        self.positions = None
        self.normals = None        # (F,3,3) per-corner shading normals or None
        self.vertex_normals = None  # (V,3) when every corner uses its vertex's normal
        self.smooth_angle = None

    def finish(self):
        n = len(self.pos) // 3
        self.positions = np.frombuffer(self.pos, dtype=np.float64).reshape(n, 3).copy()
        self.orco_arr = (np.frombuffer(self.orco, dtype=np.float64).reshape(-1, 3).copy()
                         if self.has_orco and len(self.orco) == len(self.pos) else None)
        self.uv_arr = np.frombuffer(self.uv, dtype=np.float64).reshape(-1, 2).copy()
        f = np.frombuffer(self.faces, dtype=np.int64).reshape(-1, 3).copy()
        fuv = np.frombuffer(self.face_uv, dtype=np.int64).reshape(-1, 3).copy()
        mats = np.frombuffer(self.face_mat, dtype=np.int64).copy()
        ok = np.all((f >= 0) & (f < n), axis=1)
        if fuv.size:
            bad_uv = np.any(fuv >= len(self.uv_arr), axis=1)
            fuv[bad_uv] = -1
        self.bad_faces += int((~ok).sum())
        self.tri = f[ok]
        self.tri_uv = fuv[ok] if fuv.size else np.full((len(self.tri), 3), -1, np.int64)
        self.tri_mat = mats[ok]
        self.pos = self.orco = self.uv = self.faces = self.face_uv = self.face_mat = None

    def smooth(self, angle):
        self.smooth_angle = angle
        if angle >= 180.0:
            # One normal per vertex: a third of the per-corner storage.
            self.vertex_normals = vertex_normals(self.positions, self.tri)
            self.normals = None
        else:
            self.normals = smooth_normals(self.positions, self.tri, angle)
            self.vertex_normals = None


def face_normals(positions, tri):
    a = positions[tri[:, 0]]
    return np.cross(positions[tri[:, 1]] - a, positions[tri[:, 2]] - a)


def _unit(v):
    length = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.divide(v, length, out=np.zeros_like(v), where=length > 0)


def vertex_normals(positions, tri):
    """Area-weighted average of the face normals around each vertex."""
    fn = face_normals(positions, tri)
    vn = np.zeros_like(positions)
    for k in range(3):
        np.add.at(vn, tri[:, k], fn)
    return _unit(vn)


def smooth_normals(positions, tri, angle, chunk=1 << 20):
    """Per-corner shading normals, shape (F,3,3).

    angle >= 180: every vertex gets the area-weighted average of its faces.
    Otherwise a corner averages only the faces around its vertex whose normal
    is within ``angle`` degrees of its own face (Blender auto-smooth)."""
    fn = face_normals(positions, tri)
    if len(tri) == 0:
        return np.zeros((0, 3, 3))
    if angle >= 180.0:
        vn = np.zeros_like(positions)
        for k in range(3):
            np.add.at(vn, tri[:, k], fn)
        return _unit(vn[tri])
    cos_limit = math.cos(math.radians(max(angle, 0.0)))
    un = _unit(fn)
    corners_v = tri.reshape(-1)                         # corner -> vertex
    corners_f = np.repeat(np.arange(len(tri)), 3)       # corner -> face
    order = np.argsort(corners_v, kind="stable")         # vertex -> its corners
    counts = np.bincount(corners_v, minlength=len(positions))
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    out = np.zeros((len(corners_v), 3))
    for lo in range(0, len(corners_v), chunk):
        c = np.arange(lo, min(lo + chunk, len(corners_v)))
        v = corners_v[c]
        deg = counts[v]
        pair_c = np.repeat(c, deg)                       # (corner, neighbour face) pairs
        first = np.repeat(starts[v], deg)
        rank = np.arange(len(pair_c)) - np.repeat(np.cumsum(deg) - deg, deg)
        nb_face = corners_f[order[first + rank]]
        own = corners_f[pair_c]
        keep = np.einsum("ij,ij->i", un[own], un[nb_face]) >= cos_limit - 1e-6
        acc = np.zeros((len(c), 3))
        np.add.at(acc, pair_c[keep] - lo, fn[nb_face[keep]])
        out[c] = acc
    return _unit(out).reshape(-1, 3, 3)


def transform_mesh(mesh, matrix):
    """A copy of base ``mesh`` placed by the 4x4 row-major ``matrix``
    (column-vector convention, translation in m03 m13 m23)."""
    m = np.asarray(matrix, dtype=np.float64).reshape(4, 4)
    copy = Mesh(mesh.id, mesh.type & ~TYPE_BASE, mesh.has_orco, mesh.has_uv, mesh.material)
    copy.positions = mesh.positions @ m[:3, :3].T + m[:3, 3]
    copy.orco_arr = mesh.orco_arr
    copy.uv_arr = mesh.uv_arr
    copy.tri, copy.tri_uv, copy.tri_mat = mesh.tri, mesh.tri_uv, mesh.tri_mat
    try:
        nm = np.linalg.inv(m[:3, :3]).T
    except np.linalg.LinAlgError:
        nm = m[:3, :3]
    if mesh.normals is not None:
        copy.normals = _unit(mesh.normals @ nm.T)
    if mesh.vertex_normals is not None:
        copy.vertex_normals = _unit(mesh.vertex_normals @ nm.T)
    return copy


def build_geometry(meshes):
    """Concatenate finished meshes into one Geometry (float32 / int32)."""
    pos, orco, nrm, uvs = [], [], [], []
    tv, tn, tu, tm, tf, tid = [], [], [], [], [], []
    nv = nn = nuv = 0
    any_orco = any(m.orco_arr is not None for m in meshes)
    for m in meshes:
        t = len(m.tri)
        pos.append(m.positions)
        if any_orco:
            orco.append(m.orco_arr if m.orco_arr is not None else m.positions)
        tv.append(m.tri + nv)
        if m.vertex_normals is not None:
            nrm.append(m.vertex_normals)
            tn.append(m.tri + nn)
            nn += len(m.vertex_normals)
        elif m.normals is not None:
            nrm.append(m.normals.reshape(-1, 3))
            tn.append(np.arange(nn, nn + 3 * t).reshape(t, 3))
            nn += 3 * t
        else:
            tn.append(np.full((t, 3), -1))
        uvs.append(m.uv_arr)
        tu.append(np.where(m.tri_uv >= 0, m.tri_uv + nuv, -1))
        nuv += len(m.uv_arr)
        tm.append(m.tri_mat)
        flags = 0
        if m.type & TYPE_INVISIBLE:
            flags |= Geometry.FLAG_INVISIBLE
        if m.orco_arr is not None:
            flags |= Geometry.FLAG_ORCO
        tf.append(np.full(t, flags))
        tid.append(np.full(t, m.id))
        nv += len(m.positions)

    def cat(parts, shape, dtype):
        parts = [p for p in parts if len(p)]
        if not parts:
            return np.zeros(shape, dtype=dtype)
        return np.ascontiguousarray(np.concatenate(parts).astype(dtype))

    return Geometry(
        positions=cat(pos, (0, 3), np.float32),
        orco=cat(orco, (0, 3), np.float32),
        normals=cat(nrm, (0, 3), np.float32),
        uvs=cat(uvs, (0, 2), np.float32),
        tri_verts=cat(tv, (0, 3), np.uint32),
        tri_normals=cat(tn, (0, 3), np.int32),
        tri_uvs=cat(tu, (0, 3), np.int32),
        tri_material=cat(tm, (0,), np.uint16),
        tri_flags=cat(tf, (0,), np.uint16),
        tri_mesh=cat(tid, (0,), np.int32),
    )
