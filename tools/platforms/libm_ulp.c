/* A stand-in for another platform's libm: LD_PRELOAD this library and the double-precision
 * elementary functions below return, for a share of their arguments, glibc's result moved
 * by one ulp towards the exact value (found with the long double function): where glibc
 * rounds correctly, the other faithful rounding, as a libm as accurate but rounding the
 * other way would give; exact results (exp2(3), log(1), pow(2, 10)) are never moved. It
 * does not emulate a libm less accurate than glibc (tgamma, lgamma and erfc err by up to
 * a few ulps in glibc already).
 * Which arguments are moved is a hash of the argument's bits and of KLBOOK_ULP_SEED, so the
 * perturbed function is still a function (the same argument gives the same result within
 * a run) and each seed is a different "platform". KLBOOK_ULP_SHARE (default 0.25) is the
 * share of arguments moved.
 *
 * Libraries that vendor their own elementary functions (numpy's AVX-512 loops, OpenBLAS)
 * are not affected; run with NPY_DISABLE_CPU_FEATURES to route numpy's loops through libm.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t seed_bits;
static uint64_t threshold;
static int initialised;

static void init(void) {
    const char *s = getenv("KLBOOK_ULP_SEED");
    const char *share = getenv("KLBOOK_ULP_SHARE");
    double f = share ? atof(share) : 0.25;
    if (f < 0) f = 0;
    if (f > 1) f = 1;
    seed_bits = s ? strtoull(s, NULL, 10) : 1;
    threshold = f >= 1 ? UINT64_MAX : (uint64_t)(f * 18446744073709551616.0);
    initialised = 1;
}

/* splitmix64 finaliser: a well-mixed hash of the argument bits and the seed. */
static uint64_t mix(uint64_t z) {
    z += 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* `result` is glibc's value, `precise` the long double one (64-bit significand); the
 * decision to move it is a hash of `key` (the argument's bits) and of `y`. */
static double perturb(uint64_t key, double y, double result, long double precise) {
    if (!initialised) init();
    if (!isfinite(result) || result == 0.0 || !isfinite(precise)) return result;
    if ((long double)result == precise) return result; /* exact: every libm returns it */
    uint64_t by;
    memcpy(&by, &y, 8);
    uint64_t h = mix(key ^ mix(by ^ mix(seed_bits)));
    if (h >= threshold) return result;
    double moved = nextafter(result, precise > (long double)result ? INFINITY : -INFINITY);
    return isfinite(moved) ? moved : result;
}

static uint64_t bits(double x) {
    uint64_t b;
    memcpy(&b, &x, 8);
    return b;
}

/* A logarithm decides by the significand alone: every libm reduces log(2^k m) to
 * k log 2 + log m, so log(1/2) is -log(2) and log(2^k) is k log 2 rounded, on every
 * platform; a hash of the whole argument would break that symmetry, which no libm does. */
static uint64_t significand_bits(double x) { return bits(x) & ((1ULL << 52) - 1); }

#define FUNCTION(name, key)                                                  \
    double name(double x) {                                                  \
        static double (*real)(double);                                       \
        static long double (*precise)(long double);                          \
        if (!real) {                                                         \
            real = (double (*)(double))dlsym(RTLD_NEXT, #name);              \
            precise = (long double (*)(long double))dlsym(RTLD_NEXT, #name "l"); \
        }                                                                    \
        return perturb(key(x), 0.0, real(x), precise(x));                    \
    }
#define UNARY(name) FUNCTION(name, bits)
#define LOGARITHM(name) FUNCTION(name, significand_bits)

#define BINARY(name)                                                              \
    double name(double x, double y) {                                             \
        static double (*real)(double, double);                                    \
        static long double (*precise)(long double, long double);                  \
        if (!real) {                                                              \
            real = (double (*)(double, double))dlsym(RTLD_NEXT, #name);           \
            precise = (long double (*)(long double, long double))dlsym(RTLD_NEXT, #name "l"); \
        }                                                                         \
        return perturb(bits(x), y, real(x, y), precise(x, y));                    \
    }

LOGARITHM(log)
UNARY(log1p)
LOGARITHM(log2)
LOGARITHM(log10)
UNARY(exp)
UNARY(expm1)
UNARY(exp2)
UNARY(sinh)
UNARY(cosh)
UNARY(tanh)
UNARY(atanh)
UNARY(lgamma)
UNARY(tgamma)
UNARY(erf)
UNARY(erfc)
BINARY(pow)
