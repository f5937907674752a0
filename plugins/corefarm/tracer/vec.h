/* vec.h - small float vector helpers (inline, no libm beyond sqrtf). */
#ifndef CF_VEC_H
#define CF_VEC_H

#include <math.h>

typedef struct { float x, y, z; } vec3;

/* Plain comparisons: libm's fminf/fmaxf are out-of-line calls under gcc
 * (NaN rules) and dominated the BVH traversal. */
static inline float minf(float a, float b) { return a < b ? a : b; }
static inline float maxf(float a, float b) { return a > b ? a : b; }

#define PI_F 3.14159265358979323846f
#define INV_PI_F 0.31830988618379067154f

static inline vec3 v3(float x, float y, float z) { vec3 r = {x, y, z}; return r; }
static inline vec3 v3a(const float *a) { return v3(a[0], a[1], a[2]); }
static inline vec3 vadd(vec3 a, vec3 b) { return v3(a.x + b.x, a.y + b.y, a.z + b.z); }
static inline vec3 vsub(vec3 a, vec3 b) { return v3(a.x - b.x, a.y - b.y, a.z - b.z); }
static inline vec3 vmul(vec3 a, vec3 b) { return v3(a.x * b.x, a.y * b.y, a.z * b.z); }
static inline vec3 vscale(vec3 a, float s) { return v3(a.x * s, a.y * s, a.z * s); }
static inline vec3 vmadd(vec3 a, vec3 b, float s) { return v3(a.x + b.x * s, a.y + b.y * s, a.z + b.z * s); }
static inline float vdot(vec3 a, vec3 b) { return a.x * b.x + a.y * b.y + a.z * b.z; }
static inline vec3 vcross(vec3 a, vec3 b) {
    return v3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x);
}
static inline float vlen(vec3 a) { return sqrtf(vdot(a, a)); }
static inline vec3 vnorm(vec3 a) {
    float l = vlen(a);
    return l > 0.f ? vscale(a, 1.f / l) : v3(0.f, 0.f, 1.f);
}
static inline vec3 vneg(vec3 a) { return v3(-a.x, -a.y, -a.z); }
static inline float vmax3(vec3 a) { return maxf(a.x, maxf(a.y, a.z)); }
static inline float vlum(vec3 a) { return 0.2126f * a.x + 0.7152f * a.y + 0.0722f * a.z; }
static inline float vavg(vec3 a) { return (a.x + a.y + a.z) * (1.f / 3.f); }
static inline int vis_black(vec3 a) { return a.x <= 0.f && a.y <= 0.f && a.z <= 0.f; }
static inline vec3 vlerp(vec3 a, vec3 b, float t) { return vadd(vscale(a, 1.f - t), vscale(b, t)); }
static inline float clampf(float x, float lo, float hi) { return x < lo ? lo : (x > hi ? hi : x); }
static inline float vcomp(vec3 a, int i) { return i == 0 ? a.x : (i == 1 ? a.y : a.z); }

/* Orthonormal basis around unit n (Duff et al. 2017). */
static inline void onb(vec3 n, vec3 *t, vec3 *b) {
    float sign = copysignf(1.f, n.z);
    float a = -1.f / (sign + n.z);
    float bb = n.x * n.y * a;
    *t = v3(1.f + sign * n.x * n.x * a, sign * bb, -sign * n.x);
    *b = v3(bb, sign + n.y * n.y * a, -n.y);
}
static inline vec3 to_world(vec3 l, vec3 t, vec3 b, vec3 n) {
    return vadd(vadd(vscale(t, l.x), vscale(b, l.y)), vscale(n, l.z));
}
static inline vec3 vreflect(vec3 wo, vec3 n) { return vsub(vscale(n, 2.f * vdot(wo, n)), wo); }

#endif
