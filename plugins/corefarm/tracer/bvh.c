/* bvh.c - closest-hit BVH traversal with Moller-Trumbore triangle tests. */
#include "bvh_traverse.h"

int bvh_closest(const Scene *sc, const Ray *ray, Hit *hit) {
    if (sc->settings->ntri_visible == 0) return 0;
    RayPre r = pre(ray);
    float tmax = ray->tmax;
    int found = 0;
    /* Each stack entry remembers its entry distance: a node is skipped
     * without a second box test once a closer hit has been found. */
    uint32_t stack[STACK];
    float near[STACK];
    int sp = 0;
    uint32_t node = 0;
    if (box(&sc->nodes[0], &r, ray->tmin, tmax) == INFINITY) return 0;
    for (;;) {
        const Node *n = &sc->nodes[node];
        uint32_t cnt = n->meta & 0xFFFFFF;
        if (cnt) {
            for (uint32_t i = n->offset; i < n->offset + cnt; i++) {
                float t, u, v;
                if (tri_hit(&sc->geom[i], &r, ray->tmin, tmax, &t, &u, &v)) {
                    tmax = t;
                    hit->t = t; hit->u = u; hit->v = v; hit->tri = i;
                    found = 1;
                }
            }
        } else {
            uint32_t a = n->offset, b = n->offset + 1;
            float ta, tb;
            int hits = box2(&sc->nodes[a], &r, ray->tmin, tmax, &ta, &tb);
            if (hits == 5) {
                if (tb < ta) { uint32_t x = a; a = b; b = x; float y = ta; ta = tb; tb = y; }
                if (sp < STACK) { stack[sp] = b; near[sp] = tb; sp++; }
                node = a;
                continue;
            }
            if (hits == 1) { node = a; continue; }
            if (hits == 4) { node = b; continue; }
        }
        /* Skip the entries farther than the closest hit so far, then pop.
         * Written so that the common pop enters no loop: wasm engines check
         * their interruption deadline on every loop entry. */
        while (sp > 0 && near[sp - 1] > tmax) sp--;
        if (sp == 0) return found;
        node = stack[--sp];
    }
}
