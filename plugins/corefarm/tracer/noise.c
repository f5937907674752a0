/* noise.c - improved Perlin noise (gradient noise with a quintic fade).
 * The permutation comes from a fixed integer hash, not a table, so the
 * module stays small and the result is the same everywhere. */
#include "rng.h"
#include "texture.h"

static inline float fade(float t) { return t * t * t * (t * (t * 6.f - 15.f) + 10.f); }

static inline float grad(uint32_t h, float x, float y, float z) {
    switch (h & 15) {
    case 0: return x + y;   case 1: return -x + y;  case 2: return x - y;   case 3: return -x - y;
    case 4: return x + z;   case 5: return -x + z;  case 6: return x - z;   case 7: return -x - z;
    case 8: return y + z;   case 9: return -y + z;  case 10: return y - z;  case 11: return -y - z;
    case 12: return x + y;  case 13: return -x + y; case 14: return -y + z; default: return -y - z;
    }
}

static inline uint32_t corner(int32_t x, int32_t y, int32_t z) {
    return hash32((uint32_t)x * 0x8da6b343U ^ (uint32_t)y * 0xd8163841U ^ (uint32_t)z * 0xcb1ab31fU);
}

float noise3(vec3 p) {
    float fx = floorf(p.x), fy = floorf(p.y), fz = floorf(p.z);
    int32_t X = (int32_t)fx, Y = (int32_t)fy, Z = (int32_t)fz;
    float x = p.x - fx, y = p.y - fy, z = p.z - fz;
    float u = fade(x), v = fade(y), w = fade(z);
    float n000 = grad(corner(X, Y, Z), x, y, z);
    float n100 = grad(corner(X + 1, Y, Z), x - 1, y, z);
    float n010 = grad(corner(X, Y + 1, Z), x, y - 1, z);
    float n110 = grad(corner(X + 1, Y + 1, Z), x - 1, y - 1, z);
    float n001 = grad(corner(X, Y, Z + 1), x, y, z - 1);
    float n101 = grad(corner(X + 1, Y, Z + 1), x - 1, y, z - 1);
    float n011 = grad(corner(X, Y + 1, Z + 1), x, y - 1, z - 1);
    float n111 = grad(corner(X + 1, Y + 1, Z + 1), x - 1, y - 1, z - 1);
    float nx00 = n000 + u * (n100 - n000), nx10 = n010 + u * (n110 - n010);
    float nx01 = n001 + u * (n101 - n001), nx11 = n011 + u * (n111 - n011);
    float nxy0 = nx00 + v * (nx10 - nx00), nxy1 = nx01 + v * (nx11 - nx01);
    return clampf(nxy0 + w * (nxy1 - nxy0), -1.f, 1.f);
}
