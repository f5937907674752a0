/* camera.h - primary rays (docs §5 camera models). */
#ifndef CF_CAMERA_H
#define CF_CAMERA_H

#include "bvh.h"
#include "rng.h"

/* Ray through film position (fx, fy) in camera pixel space; 0 when the
 * camera has no ray there (outside an angular camera's circle). */
int camera_ray(const Settings *s, float fx, float fy, Rng *rng, Ray *ray);

#endif
