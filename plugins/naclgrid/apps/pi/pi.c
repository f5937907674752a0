/* pi: a Monte-Carlo estimate of pi, split into independent samples.
 *
 *   sample  input "SEED COUNT" (ASCII decimal), output "HITS": how many of
 *           COUNT points drawn uniformly in the unit square fall inside the
 *           quarter circle. Deterministic: points come from splitmix64
 *           seeded with SEED, 53 bits per coordinate, so any host (native
 *           agent or browser) returns the same HITS for the same input.
 *
 * The master forks N tasks with distinct seeds and estimates
 * pi = 4 * sum(HITS) / (N * COUNT).
 */
#include "naclgrid.h"

static uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int parse_u64(const uint8_t **p, const uint8_t *end, uint64_t *out) {
    const uint8_t *start = *p;
    uint64_t v = 0;
    while (*p < end && **p >= '0' && **p <= '9') {
        uint64_t d = (uint64_t)(**p - '0');
        if (v > (UINT64_MAX - d) / 10) return 0;
        v = v * 10 + d;
        (*p)++;
    }
    *out = v;
    return *p != start;
}

NG_ENTRY(sample) {
    const uint8_t *p = input, *end = input + input_len;
    uint64_t seed, count;
    if (!parse_u64(&p, end, &seed) || p == end || *p++ != ' ' ||
        !parse_u64(&p, end, &count) || p != end)
        return ng_fail("sample: input must be \"SEED COUNT\" in ASCII decimal");
    uint64_t state = seed, hits = 0;
    const double scale = 1.0 / 9007199254740992.0; /* 2^-53 */
    for (uint64_t i = 0; i < count; i++) {
        double x = (double)(splitmix64(&state) >> 11) * scale;
        double y = (double)(splitmix64(&state) >> 11) * scale;
        hits += x * x + y * y <= 1.0;
    }
    char out[24];
    ng_set_result(out, ng_format(out, sizeof out, "%llu", (unsigned long long)hits));
    return 0;
}
