/* camera.c - perspective (with depth of field), architect, orthographic and
 * angular cameras; film y grows downwards as in YafaRay. */
#include "camera.h"

static void concentric_disk(float u1, float u2, float *x, float *y) {
    float a = 2.f * u1 - 1.f, b = 2.f * u2 - 1.f;
    if (a == 0.f && b == 0.f) { *x = 0.f; *y = 0.f; return; }
    float r, phi;
    if (fabsf(a) > fabsf(b)) { r = a; phi = (PI_F / 4.f) * (b / a); }
    else { r = b; phi = PI_F / 2.f - (PI_F / 4.f) * (a / b); }
    *x = r * cosf(phi);
    *y = r * sinf(phi);
}

int camera_ray(const Settings *s, float fx, float fy, Rng *rng, Ray *ray) {
    vec3 X = v3a(s->cx), Y = v3a(s->cy), Z = v3a(s->cz), eye = v3a(s->eye);
    float a = s->aspect * (float)s->resy / (float)s->resx;
    float px = fx / (float)s->resx, py = fy / (float)s->resy;
    ray->tmin = 0.f;
    ray->tmax = INFINITY;
    switch (s->cam_type) {
    case CAM_ORTHO:
        ray->o = vadd(vsub(eye, vscale(vadd(X, vscale(Y, a)), 0.5f * s->scale)),
                      vadd(vscale(X, px * s->scale), vscale(Y, py * s->scale * a)));
        ray->d = Z;
        return 1;
    case CAM_ANGULAR: {
        float u = 1.f - 2.f * px, v = (2.f * py - 1.f) * a;
        float r = sqrtf(u * u + v * v);
        float angle = s->angle * (PI_F / 180.f);
        if (s->circular && s->angle > 0.f && r > s->max_angle / s->angle) return 0;
        float theta = atan2f(v, u), phi = r * angle;
        vec3 Xm = s->mirrored ? vneg(X) : X;
        ray->o = eye;
        ray->d = vnorm(vadd(vscale(vadd(vscale(Xm, cosf(theta)), vscale(Y, sinf(theta))), sinf(phi)),
                            vscale(Z, cosf(phi))));
        return 1;
    }
    default: {
        vec3 Yd = s->cam_type == CAM_ARCHITECT ? v3(0.f, 0.f, -1.f) : Y;
        vec3 d = vadd(vscale(Z, s->focal), vadd(vscale(X, px - 0.5f), vscale(Yd, a * (py - 0.5f))));
        d = vnorm(d);
        ray->o = eye;
        if (s->aperture > 0.f && s->dof_distance > 0.f) {
            float lx, ly;
            concentric_disk(rng_float(rng), rng_float(rng), &lx, &ly);
            vec3 L = vadd(vscale(X, lx * s->aperture), vscale(Y, ly * s->aperture));
            ray->o = vadd(eye, L);
            d = vnorm(vsub(vscale(d, s->dof_distance), L));
        }
        ray->d = d;
        return 1;
    }
    }
}
