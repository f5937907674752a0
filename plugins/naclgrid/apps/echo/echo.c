/* echo: the no-op application, for benchmarks and smoke tests.
 *
 *   echo   returns its input unchanged.
 *   spin   burns about N milliseconds of CPU, N given as ASCII decimal in the
 *          input (e.g. "10"), and returns the input. There is no clock import
 *          in the ABI, so the loop is calibrated: SPIN_ITERS_PER_MS iterations
 *          take about 1 ms under wasmtime on the reference machine (see
 *          docs/wasm-abi.md); benchmarks should time it rather than trust it.
 *          Input "N:K" runs N*K iterations instead, so a benchmark can
 *          calibrate K on its own machine without rebuilding.
 */
#include "naclgrid.h"

#ifndef SPIN_ITERS_PER_MS
#define SPIN_ITERS_PER_MS 480000u
#endif

NG_ENTRY(echo) {
    ng_set_result(input, input_len);
    return 0;
}

static uint64_t parse_u64(const uint8_t **p, const uint8_t *end) {
    uint64_t v = 0;
    while (*p < end && **p >= '0' && **p <= '9') v = v * 10 + (uint64_t)(*(*p)++ - '0');
    return v;
}

NG_ENTRY(spin) {
    const uint8_t *p = input, *end = input + input_len;
    uint64_t ms = parse_u64(&p, end);
    uint64_t per_ms = SPIN_ITERS_PER_MS;
    if (p < end && *p == ':') {
        p++;
        per_ms = parse_u64(&p, end);
    }
    if (p != end) return ng_fail("spin: input must be \"MS\" or \"MS:ITERS_PER_MS\"");
    /* xorshift64: a serial chain the optimiser cannot fold or batch (an
     * LCG gets unrolled into a jump-ahead), and the state is observable. */
    uint64_t x = 88172645463325252ull;
    for (uint64_t i = 0, n = ms * per_ms; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    if (x == 42) ng_log("spin: improbable state");
    ng_set_result(input, input_len);
    return 0;
}
