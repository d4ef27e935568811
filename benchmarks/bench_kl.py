"""Speed and accuracy of klbook.kl_divergence against what readers would otherwise use.

Run with ``make bench`` (or ``.venv/bin/python benchmarks/bench_kl.py``). One run
measures, on the same machine and interleaved so that a change in load hits
every method alike:

* time per element of klbook.kl_divergence, scipy.stats.entropy(p, q),
  sum(scipy.special.rel_entr), sum(scipy.special.kl_div) and the naive numpy
  sum(p * log(p / q)) on float64 arrays of 1e3, 1e5 and 1e7 entries, for random
  and for near-identical pairs: median over rounds, and the median of the
  per-round ratios to scipy.stats.entropy;
* a memory-bandwidth floor: one elementwise add, np.add(p, q), timed in the
  same rounds;
* the per-call overhead at n = 10;
* accuracy against a 50-digit mpmath reference KL(p/sum p || q/sum q) taken
  from the exact float64 inputs: median and max relative error and the share
  of negative results, for n = 10 and n = 1000;
* the same for the Gaussian closed form: klbook's kl_normal against the
  torch/TFP-style formula log(s2/s1) + (s1^2 + (m1 - m2)^2) / (2 s2^2) - 1/2.

Prints one table and exits 0. This is not a test: nothing here asserts.
Options: --quick (smaller sizes and fewer rounds), --seed N.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import time

import mpmath
import numpy as np
import scipy
import scipy.special
import scipy.stats

import klbook

try:  # engineer C's accurate Gaussian closed form
    from klbook.continuous import kl_normal
    KL_NORMAL_SOURCE = "klbook.continuous.kl_normal"
except ImportError:  # pragma: no cover - until kl_normal lands
    from klbook.special import log1pmx

    def kl_normal(mu1, sigma1, mu2, sigma2):
        """(phi(r) + z**2) / 2 with r = (s1/s2)**2, z = (m1 - m2)/s2, phi(r) = r - 1 - log r."""
        mu1, sigma1, mu2, sigma2 = np.broadcast_arrays(*map(np.asarray, (mu1, sigma1, mu2, sigma2)))
        t = (sigma1 - sigma2) / sigma2          # exact difference when s1 ~ s2 (Sterbenz)
        x = t * (2.0 + t)                       # r - 1, without forming r
        z = (mu1 - mu2) / sigma2
        return (-log1pmx(x) + z * z) / 2.0

    KL_NORMAL_SOURCE = "benchmark-local phi(x) = x - 1 - log x form (klbook.kl_normal absent)"

mpmath.mp.dps = 50


# --- the methods --------------------------------------------------------------------------


def naive(p, q):
    return np.sum(p * np.log(p / q))


def rel_entr_sum(p, q):
    return np.sum(scipy.special.rel_entr(p, q))


def kl_div_sum(p, q):
    return np.sum(scipy.special.kl_div(p, q))


METHODS = {
    "klbook.kl_divergence": klbook.kl_divergence,
    "scipy.stats.entropy": scipy.stats.entropy,
    "sum(rel_entr)": rel_entr_sum,
    "sum(kl_div)": kl_div_sum,
    "naive numpy": naive,
}
BASELINE = "scipy.stats.entropy"
FLOOR = "np.add (floor)"


def torch_style_normal(mu1, sigma1, mu2, sigma2):
    """The closed form as torch.distributions and TFP write it."""
    var_ratio = (sigma1 / sigma2) ** 2
    t1 = ((mu1 - mu2) / sigma2) ** 2
    return 0.5 * (var_ratio + t1 - 1 - np.log(var_ratio))


def textbook_normal(mu1, sigma1, mu2, sigma2):
    """log(s2/s1) + (s1^2 + (m1 - m2)^2) / (2 s2^2) - 1/2, term by term."""
    return np.log(sigma2 / sigma1) + (sigma1**2 + (mu1 - mu2) ** 2) / (2 * sigma2**2) - 0.5


NORMAL_METHODS = {
    "klbook.kl_normal": kl_normal,
    "torch/TFP formula": torch_style_normal,
    "textbook formula": textbook_normal,
}


# --- data ---------------------------------------------------------------------------------


def random_pair(rng, n):
    """Two independent draws from the flat Dirichlet (normalised exponentials)."""
    p = rng.standard_exponential(n)
    q = rng.standard_exponential(n)
    return p / p.sum(), q / q.sum()


def near_pair(rng, n):
    """q = p (1 + 1e-8 z), renormalised: the case where textbook formulas lose every digit."""
    p = rng.standard_exponential(n)
    p /= p.sum()
    q = p * (1.0 + 1e-8 * rng.standard_normal(n))
    return p, q / q.sum()


PAIRS = {"random": random_pair, "near": near_pair}


# --- timing -------------------------------------------------------------------------------


def time_round(functions, args, inner):
    """One round: each function once (inner calls), in a rotated order; seconds per call."""
    times = {}
    for name, function in functions:
        start = time.perf_counter()
        for _ in range(inner):
            function(*args)
        times[name] = (time.perf_counter() - start) / inner
    return times


def interleaved(functions, args, rounds, inner):
    """Per-function lists of times; the order rotates every round."""
    functions = list(functions.items())
    samples = {name: [] for name, _ in functions}
    for r in range(rounds):
        order = functions[r % len(functions):] + functions[:r % len(functions)]
        gc.collect()
        for name, seconds in time_round(order, args, inner).items():
            samples[name].append(seconds)
    return samples


def paired_ratio(samples, name, baseline=BASELINE):
    return statistics.median(a / b for a, b in zip(samples[name], samples[baseline]))


def speed_table(rng, sizes, rounds_for):
    rows = []
    functions = dict(METHODS)
    functions[FLOOR] = np.add
    for n in sizes:
        rounds, inner = rounds_for(n)
        for kind, make in PAIRS.items():
            p, q = make(rng, n)
            for function in functions.values():  # warm up (allocator, caches, imports)
                function(p, q)
            samples = interleaved(functions, (p, q), rounds, inner)
            for name in functions:
                rows.append((n, kind, name, 1e9 * statistics.median(samples[name]) / n,
                             paired_ratio(samples, name)))
            del p, q
            gc.collect()
    return rows


def overhead_table(rng, rounds=15, inner=300):
    rows = []
    for kind, make in PAIRS.items():
        p, q = make(rng, 10)
        samples = interleaved(METHODS, (p, q), rounds, inner)
        for name in METHODS:
            rows.append((kind, name, 1e6 * statistics.median(samples[name]),
                         paired_ratio(samples, name)))
    return rows


# --- accuracy -----------------------------------------------------------------------------


def reference_kl(p, q):
    """KL(p/sum p || q/sum q) at 50 digits from the exact float64 entries."""
    P = [mpmath.mpf(float(v)) for v in p]
    Q = [mpmath.mpf(float(v)) for v in q]
    sp, sq = mpmath.fsum(P), mpmath.fsum(Q)
    return mpmath.fsum((a / sp) * mpmath.log((a * sq) / (b * sp)) for a, b in zip(P, Q) if a > 0)


def reference_normal(mu1, sigma1, mu2, sigma2):
    m1, s1, m2, s2 = (mpmath.mpf(float(v)) for v in (mu1, sigma1, mu2, sigma2))
    return mpmath.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - mpmath.mpf(1) / 2


def relative_error(value, reference):
    return float(abs((mpmath.mpf(float(value)) - reference) / reference))


def summarise(errors, values):
    return (statistics.median(errors), max(errors),
            sum(1 for v in values if v < 0) / len(values))


def accuracy_table(rng, trials_for):
    rows = []
    for n in (10, 1000):
        for kind, make in PAIRS.items():
            pairs = [make(rng, n) for _ in range(trials_for(n))]
            references = [reference_kl(p, q) for p, q in pairs]
            for name, function in METHODS.items():
                values = [float(function(p, q)) for p, q in pairs]
                errors = [relative_error(v, r) for v, r in zip(values, references)]
                rows.append((n, kind, name, *summarise(errors, values)))
    return rows


def normal_parameters(rng, kind, size):
    mu1 = rng.standard_normal(size)
    sigma1 = np.exp(rng.standard_normal(size))
    if kind == "random":
        return mu1, sigma1, rng.standard_normal(size), np.exp(rng.standard_normal(size))
    # near-identical: relative changes of 1e-8, as for the discrete pairs
    return (mu1, sigma1, mu1 + 1e-8 * sigma1 * rng.standard_normal(size),
            sigma1 * (1.0 + 1e-8 * rng.standard_normal(size)))


def normal_tables(rng, trials, size, rounds, inner):
    accuracy, speed = [], []
    for kind in PAIRS:
        params = normal_parameters(rng, kind, trials)
        references = [reference_normal(*column) for column in zip(*params)]
        for name, function in NORMAL_METHODS.items():
            values = np.asarray(function(*params), dtype=float)
            errors = [relative_error(v, r) for v, r in zip(values, references)]
            accuracy.append((kind, name, *summarise(errors, values)))
        big = normal_parameters(rng, kind, size)
        samples = interleaved(NORMAL_METHODS, big, rounds, inner)
        for name in NORMAL_METHODS:
            speed.append((kind, name, 1e9 * statistics.median(samples[name]) / size,
                          paired_ratio(samples, name, baseline="torch/TFP formula")))
    return accuracy, speed


# --- report -------------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer rounds")
    parser.add_argument("--seed", type=int, default=20260101)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)

    if args.quick:
        sizes = (10**3, 10**5, 10**6)
        rounds_for = lambda n: (5, max(1, 10**5 // n))  # noqa: E731
        trials_for = lambda n: 50 if n == 10 else 5  # noqa: E731
    else:
        sizes = (10**3, 10**5, 10**7)
        rounds_for = lambda n: (9 if n >= 10**7 else 21, max(1, 10**6 // n))  # noqa: E731
        trials_for = lambda n: 200 if n == 10 else 20  # noqa: E731

    print(f"klbook benchmark: numpy {np.__version__}, scipy {scipy.__version__}, "
          f"Python {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f} at start")
    speed = speed_table(rng, sizes, rounds_for)
    overhead = overhead_table(rng)
    accuracy = accuracy_table(rng, trials_for)
    normal_accuracy, normal_speed = normal_tables(
        rng, trials=200, size=10**5, rounds=11 if not args.quick else 5, inner=10)

    width = max(len(name) for name in list(METHODS) + [FLOOR])
    print("\nSpeed (median over interleaved rounds; ratio = median per-round time / "
          f"{BASELINE})")
    print(f"{'n':>9} {'pairs':<7} {'method':<{width}} {'ns/elem':>9} {'ratio':>7}")
    for n, kind, name, ns, ratio in speed:
        print(f"{n:>9.0e} {kind:<7} {name:<{width}} {ns:>9.2f} {ratio:>7.2f}")

    print("\nPer-call time at n = 10 (microseconds)")
    print(f"{'pairs':<7} {'method':<{width}} {'us/call':>9} {'ratio':>7}")
    for kind, name, micro, ratio in overhead:
        print(f"{kind:<7} {name:<{width}} {micro:>9.2f} {ratio:>7.2f}")

    print("\nAccuracy against 50-digit mpmath (relative error; share of negative results)")
    print(f"{'n':>5} {'pairs':<7} {'method':<{width}} {'median':>9} {'max':>9} {'neg':>6}")
    for n, kind, name, median, worst, negative in accuracy:
        print(f"{n:>5} {kind:<7} {name:<{width}} {median:>9.1e} {worst:>9.1e} {negative:>6.0%}")

    print(f"\nGaussian closed form ({KL_NORMAL_SOURCE}); 200 parameter sets per kind")
    print(f"{'pairs':<7} {'method':<{width}} {'median':>9} {'max':>9} {'neg':>6}")
    for kind, name, median, worst, negative in normal_accuracy:
        print(f"{kind:<7} {name:<{width}} {median:>9.1e} {worst:>9.1e} {negative:>6.0%}")
    print(f"{'pairs':<7} {'method (1e5 parameter sets)':<{width}} {'ns/elem':>9} "
          f"{'ratio':>7}  (ratio to the torch/TFP formula)")
    for kind, name, ns, ratio in normal_speed:
        print(f"{kind:<7} {name:<{width}} {ns:>9.2f} {ratio:>7.2f}")
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
