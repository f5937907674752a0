"""Bounding volume hierarchy built on the master with numpy.

The build processes a whole tree level at once, so the Python overhead is per
level (about log2(N) of them), not per node. Large nodes are split with a
binned surface-area heuristic; nodes of at most SMALL_NODE triangles are split
at the middle of their longest centroid axis, which is cheap and nearly as
good at that size. Bounds come from the float32 vertices the tracer sees, so
they are exact.

Node layout (32 bytes, see tracer/scene.h): min xyz, max xyz (float32),
``offset`` (first triangle of a leaf, or the left child; the right child is
``offset + 1``) and ``meta`` (triangle count of a leaf, 0 for an inner node).
"""

import numpy as np

BINS = 16
LEAF_SIZE = 4          # nodes this small always become leaves
SMALL_NODE = 48        # up to this size: midpoint split instead of SAH
BALANCED_DEPTH = 40    # below this depth only count-median splits: depth stays < 72
TRAVERSAL_COST = 1.0
INTERSECT_COST = 1.0

NODE_DTYPE = np.dtype([("lo", "<f4", 3), ("hi", "<f4", 3), ("offset", "<u4"), ("meta", "<u4")])


def _area(lo, hi):
    d = np.maximum(hi - lo, 0.0)
    return d[..., 0] * d[..., 1] + d[..., 1] * d[..., 2] + d[..., 2] * d[..., 0]


def _segments(counts):
    off = np.cumsum(counts) - counts
    seg = np.repeat(np.arange(len(counts)), counts)
    return off, seg


def _sah_split(tc, tlo, thi, counts):
    """Binned SAH over nodes whose triangles are given segment by segment.
    Returns (go_left per triangle, valid per node, split cost per node)."""
    nseg = len(counts)
    off, seg = _segments(counts)
    cmin = np.minimum.reduceat(tc, off)
    cmax = np.maximum.reduceat(tc, off)
    nlo = np.minimum.reduceat(tlo, off).astype(np.float64)
    nhi = np.maximum.reduceat(thi, off).astype(np.float64)
    node_area = _area(nlo, nhi)
    best_cost = np.full(nseg, np.inf)
    best_axis = np.zeros(nseg, np.int64)
    best_bin = np.zeros(nseg, np.int64)
    bins = []
    lo_cols = [np.ascontiguousarray(tlo[:, k], dtype=np.float64) for k in range(3)]
    hi_cols = [np.ascontiguousarray(thi[:, k], dtype=np.float64) for k in range(3)]
    for axis in range(3):
        e = cmax[:, axis] - cmin[:, axis]
        ok = e > 1e-12 * (1.0 + np.abs(cmax[:, axis]))
        scale = np.where(ok, BINS / np.where(ok, e, 1.0), 0.0)
        b = ((tc[:, axis] - cmin[seg, axis]) * scale[seg]).astype(np.int64)
        np.clip(b, 0, BINS - 1, out=b)
        bins.append(b)
        key = seg * BINS + b
        cnt = np.bincount(key, minlength=nseg * BINS).reshape(nseg, BINS)
        blo = np.empty((nseg, BINS, 3))
        bhi = np.empty((nseg, BINS, 3))
        for k in range(3):
            lo_k = np.full(nseg * BINS, np.inf)
            hi_k = np.full(nseg * BINS, -np.inf)
            np.minimum.at(lo_k, key, lo_cols[k])
            np.maximum.at(hi_k, key, hi_cols[k])
            blo[:, :, k] = lo_k.reshape(nseg, BINS)
            bhi[:, :, k] = hi_k.reshape(nseg, BINS)
        cl = np.cumsum(cnt, axis=1)[:, :-1]
        cr = np.cumsum(cnt[:, ::-1], axis=1)[:, ::-1][:, 1:]
        al = _area(np.minimum.accumulate(blo, axis=1)[:, :-1],
                   np.maximum.accumulate(bhi, axis=1)[:, :-1])
        ar = _area(np.minimum.accumulate(blo[:, ::-1], axis=1)[:, ::-1][:, 1:],
                   np.maximum.accumulate(bhi[:, ::-1], axis=1)[:, ::-1][:, 1:])
        with np.errstate(invalid="ignore"):
            cost = np.where((cl > 0) & (cr > 0), al * cl + ar * cr, np.inf)
        cost[~ok] = np.inf
        k = np.argmin(cost, axis=1)
        c = cost[np.arange(nseg), k]
        better = c < best_cost
        best_cost[better] = c[better]
        best_axis[better] = axis
        best_bin[better] = k[better] + 1
    chosen = np.choose(best_axis[seg], bins)
    with np.errstate(divide="ignore", invalid="ignore"):
        split_cost = TRAVERSAL_COST + INTERSECT_COST * best_cost / np.where(
            node_area > 0, node_area, 1.0)
    return chosen < best_bin[seg], np.isfinite(best_cost), split_cost


def _midpoint_split(tc, counts):
    off, seg = _segments(counts)
    cmin = np.minimum.reduceat(tc, off)
    cmax = np.maximum.reduceat(tc, off)
    axis = np.argmax(cmax - cmin, axis=1)
    mid = 0.5 * (cmin[np.arange(len(counts)), axis] + cmax[np.arange(len(counts)), axis])
    return tc[np.arange(len(seg)), axis[seg]] < mid[seg]


def build_bvh(tri_lo, tri_hi):
    """Build a BVH over triangles given by their float32 bounds (T,3).

    Returns ``(nodes, order)``: a structured array of NODE_DTYPE and the
    permutation that puts the triangles in leaf order."""
    n = len(tri_lo)
    if n == 0:
        empty = np.zeros(1, dtype=NODE_DTYPE)
        empty["lo"] = 1.0
        empty["hi"] = -1.0
        return empty, np.zeros(0, dtype=np.int64)
    tri_lo = np.ascontiguousarray(tri_lo, dtype=np.float32)
    tri_hi = np.ascontiguousarray(tri_hi, dtype=np.float32)
    cent = (tri_lo.astype(np.float64) + tri_hi) * 0.5
    order = np.arange(n, dtype=np.int64)

    cap = 2 * n
    lo_out = np.zeros((cap, 3), np.float32)
    hi_out = np.zeros((cap, 3), np.float32)
    offset_out = np.zeros(cap, np.uint32)
    meta_out = np.zeros(cap, np.uint32)
    node_count = 1

    act_id = np.array([0], np.int64)
    act_start = np.array([0], np.int64)
    act_cnt = np.array([n], np.int64)
    level = 0
    while len(act_id):
        nact = len(act_id)
        seg_off, seg = _segments(act_cnt)
        pos = np.repeat(act_start - seg_off, act_cnt) + np.arange(len(seg))
        tris = order[pos]
        tlo, thi = tri_lo[tris], tri_hi[tris]
        lo_out[act_id] = np.minimum.reduceat(tlo, seg_off)
        hi_out[act_id] = np.maximum.reduceat(thi, seg_off)

        go_left = np.zeros(len(seg), bool)
        do_split = np.zeros(nact, bool)
        big = act_cnt > SMALL_NODE
        small = (act_cnt > LEAF_SIZE) & ~big
        for group, sah in ((big, True), (small, False)):
            if not group.any():
                continue
            sel = group[seg]
            tc = cent[tris[sel]]
            if sah:
                left, valid, cost = _sah_split(tc, tlo[sel], thi[sel], act_cnt[group])
                split = valid | True   # large nodes are always split (median fallback)
                counts = act_cnt[group]
                off, gseg = _segments(counts)
                rank = np.arange(len(gseg)) - off[gseg]
                left = np.where(valid[gseg], left, rank < counts[gseg] // 2)
                del cost
            else:
                left = _midpoint_split(tc, act_cnt[group])
                split = np.ones(group.sum(), bool)
            go_left[sel] = left
            do_split[group] = split
        # A split that puts everything on one side falls back to a count median.
        n_left = np.bincount(seg, weights=go_left, minlength=nact).astype(np.int64)
        lopsided = do_split & ((n_left == 0) | (n_left == act_cnt))
        if level >= BALANCED_DEPTH:
            lopsided = do_split
        if lopsided.any():
            rank = np.arange(len(seg)) - seg_off[seg]
            fix = lopsided[seg]
            go_left[fix] = rank[fix] < act_cnt[seg][fix] // 2
            n_left = np.bincount(seg, weights=go_left, minlength=nact).astype(np.int64)

        leaf = ~do_split
        offset_out[act_id[leaf]] = act_start[leaf]
        meta_out[act_id[leaf]] = act_cnt[leaf]
        if not do_split.any():
            break

        # Stable partition of every split segment: left triangles first.
        sel = do_split[seg]
        left_i = go_left.astype(np.int64)
        csum = np.cumsum(left_i) - left_i
        left_before = csum - csum[seg_off][seg]
        rank = np.arange(len(seg)) - seg_off[seg]
        new_rank = np.where(go_left, left_before, n_left[seg] + rank - left_before)
        order[(act_start[seg] + new_rank)[sel]] = tris[sel]

        split_ids = act_id[do_split]
        nsplit = len(split_ids)
        children = node_count + 2 * np.arange(nsplit)
        node_count += 2 * nsplit
        offset_out[split_ids] = children
        meta_out[split_ids] = 0
        s_start, s_cnt, s_left = act_start[do_split], act_cnt[do_split], n_left[do_split]
        act_id = np.stack([children, children + 1], axis=1).reshape(-1)
        act_start = np.stack([s_start, s_start + s_left], axis=1).reshape(-1)
        act_cnt = np.stack([s_left, s_cnt - s_left], axis=1).reshape(-1)
        level += 1

    nodes = np.zeros(node_count, dtype=NODE_DTYPE)
    nodes["lo"] = lo_out[:node_count]
    nodes["hi"] = hi_out[:node_count]
    nodes["offset"] = offset_out[:node_count]
    nodes["meta"] = meta_out[:node_count]
    return nodes, order


def triangle_bounds(positions, tri_verts):
    p = positions[tri_verts]          # (T,3,3) float32
    return p.min(axis=1), p.max(axis=1)
