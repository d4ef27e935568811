"""Speed and accuracy of klbook's kl_divergence and kl_normal against what readers would use.

Run with ``make bench`` (or ``.venv/bin/python benchmarks/bench_kl.py``). One run
measures, on the same machine and interleaved so that a change in load hits
every method alike:

* time per element of klbook.kl_divergence with each of its two passes (the
  compiled one, numba, and the pure-numpy fallback: klbook._kl_kernel),
  scipy.stats.entropy(p, q), sum(scipy.special.rel_entr), sum(scipy.special.kl_div)
  and the naive numpy sum(p * log(p / q)) on float64 arrays of 1e3, 1e5 and 1e7
  entries, for random and for near-identical pairs: median over rounds, and the
  medians of the per-round ratios to the naive sum and to scipy.stats.entropy;
* a memory-bandwidth floor: one elementwise add, np.add(p, q), timed in the
  same rounds;
* the per-call time at n = 10;
* accuracy against a 50-digit mpmath reference KL(p/sum p || q/sum q) taken
  from the exact float64 inputs: median and max relative error and the share
  of negative results, for n = 10 and n = 1000;
* the same for the Gaussian closed form, klbook's kl_normal (both passes) against
  three formulas: the textbook one, log(s2/s1) + (s1^2 + (m1 - m2)^2) / (2 s2^2) - 1/2;
  torch's (torch.distributions.kl._kl_normal_normal), the variance-ratio form
  (var_ratio + t1 - 1 - log var_ratio) / 2 with var_ratio = (s1/s2)^2 and
  t1 = ((m1 - m2)/s2)^2; and TensorFlow Probability's (normal.py, _kl_normal_normal),
  (m1/s2 - m2/s2)^2 / 2 + expm1(2 d) / 2 - d with d = log s1 - log s2;
* the targets of issue 15, each with its measured ratio and whether it is met.

Times are the CPU time of this thread (time.thread_time) unless --wall is given:
on a machine shared with other processes, wall time counts their load too. A ratio
is the median over rounds of the per-round ratio, each round timing every method
once in a rotated order. Prints one table and exits 0. This is not a test: nothing
here asserts. Options: --quick (smaller sizes and fewer rounds), --seed N, --wall.
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
from klbook import _kl_kernel
from klbook.continuous import kl_normal

mpmath.mp.dps = 50
CLOCK = time.thread_time


# --- the methods --------------------------------------------------------------------------

try:
    from klbook import _kl_kernel_compiled  # noqa: F401  (is the compiled pass available?)
    KERNELS = ("compiled", "numpy")
except ImportError as error:  # numba missing: only the numpy pass
    KERNELS = ("numpy",)
    print(f"(no compiled pass: {error}; pip install 'klbook[fast]')")
_SUMS = {"compiled": _kl_kernel.compiled_sums, "numpy": _kl_kernel.numpy_sums}


def use_kernel(kernel: str | None) -> None:
    """Make klbook use the given pass (None: the one chosen at import) until the next call.

    Benchmark-only: it replaces what klbook._kl_kernel chose at import, so that one
    process can time both passes interleaved.
    """
    kernel = kernel or _DEFAULT_KERNEL
    _kl_kernel.kl_sums = _SUMS[kernel]
    _kl_kernel.IMPLEMENTATION = kernel


_DEFAULT_KERNEL = _kl_kernel.IMPLEMENTATION


def naive(p, q):
    return np.sum(p * np.log(p / q))


def rel_entr_sum(p, q):
    return np.sum(scipy.special.rel_entr(p, q))


def kl_div_sum(p, q):
    return np.sum(scipy.special.kl_div(p, q))


def klbook_name(kernel: str, function: str = "kl_divergence") -> str:
    return f"klbook.{function} ({kernel})"


METHODS = {klbook_name(kernel): klbook.kl_divergence for kernel in KERNELS}
METHODS.update({
    "scipy.stats.entropy": scipy.stats.entropy,
    "sum(rel_entr)": rel_entr_sum,
    "sum(kl_div)": kl_div_sum,
    "naive numpy": naive,
})
KERNEL_OF = {klbook_name(kernel): kernel for kernel in KERNELS}
KERNEL_OF.update({klbook_name(kernel, "kl_normal"): kernel for kernel in KERNELS})
BASELINE = "scipy.stats.entropy"
NAIVE = "naive numpy"
FLOOR = "np.add (floor)"


def textbook_normal(mu1, sigma1, mu2, sigma2):
    """log(s2/s1) + (s1^2 + (m1 - m2)^2) / (2 s2^2) - 1/2, term by term."""
    return np.log(sigma2 / sigma1) + (sigma1**2 + (mu1 - mu2) ** 2) / (2 * sigma2**2) - 0.5


def torch_normal(mu1, sigma1, mu2, sigma2):
    """torch.distributions.kl._kl_normal_normal: the variance-ratio form."""
    var_ratio = (sigma1 / sigma2) ** 2
    t1 = ((mu1 - mu2) / sigma2) ** 2
    return 0.5 * (var_ratio + t1 - 1 - np.log(var_ratio))


def tfp_normal(mu1, sigma1, mu2, sigma2):
    """tensorflow_probability's _kl_normal_normal: expm1 of twice the log-scale difference."""
    diff_log_scale = np.log(sigma1) - np.log(sigma2)
    return (0.5 * np.square(mu1 / sigma2 - mu2 / sigma2)
            + 0.5 * np.expm1(2.0 * diff_log_scale) - diff_log_scale)


TEXTBOOK = "textbook formula"
NORMAL_METHODS = {klbook_name(kernel, "kl_normal"): kl_normal for kernel in KERNELS}
NORMAL_METHODS.update({
    TEXTBOOK: textbook_normal,
    "torch formula (variance ratio)": torch_normal,
    "TFP formula (expm1)": tfp_normal,
})


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
    """One round: each function `inner` times, in the given order; seconds per call."""
    times = {}
    for name, function in functions:
        use_kernel(KERNEL_OF.get(name))
        start = CLOCK()
        for _ in range(inner):
            function(*args)
        times[name] = (CLOCK() - start) / inner
    use_kernel(None)
    return times


def interleaved(functions, args, rounds, inner):
    """Per-function lists of times; the order rotates every round."""
    functions = list(functions.items())
    for name, function in functions:  # warm up (allocator, caches, imports)
        use_kernel(KERNEL_OF.get(name))
        function(*args)
    samples = {name: [] for name, _ in functions}
    for r in range(rounds):
        order = functions[r % len(functions):] + functions[:r % len(functions)]
        gc.collect()
        for name, seconds in time_round(order, args, inner).items():
            samples[name].append(seconds)
    use_kernel(None)
    return samples


def paired_ratio(samples, name, baseline):
    return statistics.median(a / b for a, b in zip(samples[name], samples[baseline]))


def speed_table(rng, sizes, rounds_for):
    rows = []
    functions = dict(METHODS)
    functions[FLOOR] = np.add
    for n in sizes:
        rounds, inner = rounds_for(n)
        for kind, make in PAIRS.items():
            p, q = make(rng, n)
            samples = interleaved(functions, (p, q), rounds, inner)
            for name in functions:
                rows.append((n, kind, name, 1e9 * statistics.median(samples[name]) / n,
                             paired_ratio(samples, name, NAIVE),
                             paired_ratio(samples, name, BASELINE)))
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
                         paired_ratio(samples, name, BASELINE)))
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
                use_kernel(KERNEL_OF.get(name))
                values = [float(function(p, q)) for p, q in pairs]
                errors = [relative_error(v, r) for v, r in zip(values, references)]
                rows.append((n, kind, name, *summarise(errors, values)))
    use_kernel(None)
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
            use_kernel(KERNEL_OF.get(name))
            values = np.asarray(function(*params), dtype=float)
            errors = [relative_error(v, r) for v, r in zip(values, references)]
            accuracy.append((kind, name, *summarise(errors, values)))
        use_kernel(None)
        big = normal_parameters(rng, kind, size)
        samples = interleaved(NORMAL_METHODS, big, rounds, inner)
        for name in NORMAL_METHODS:
            speed.append((kind, name, 1e9 * statistics.median(samples[name]) / size,
                          paired_ratio(samples, name, TEXTBOOK)))
    return accuracy, speed


# --- targets ------------------------------------------------------------------------------


def targets(speed, overhead, normal_speed):
    """(what, measured, target) for each target of issue 15, for each klbook pass."""
    rows = []
    for kernel in KERNELS:
        name = klbook_name(kernel)
        for n, kind, method, _, to_naive, _ in speed:
            if method == name and n >= 10**5:
                rows.append((f"kl_divergence ({kernel}) / naive numpy, n = {n:.0e}, {kind}",
                             to_naive, 1.3))
        for kind, method, ratio in ((k, m, r) for k, m, _, r in normal_speed):
            if method == klbook_name(kernel, "kl_normal"):
                rows.append((f"kl_normal ({kernel}) / textbook formula, 1e5 sets, {kind}",
                             ratio, 2.0))
        for kind, method, _, ratio in overhead:
            if method == name:
                rows.append((f"kl_divergence ({kernel}) / scipy.stats.entropy, n = 10, {kind}",
                             ratio, 0.15))
    return rows


# --- report -------------------------------------------------------------------------------


def main(argv=None) -> int:
    global CLOCK
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer rounds")
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--wall", action="store_true",
                        help="time.perf_counter (wall clock), not this thread's CPU time")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    CLOCK = time.perf_counter if args.wall else time.thread_time

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
          f"load average {os.getloadavg()[0]:.1f} at start; klbook's passes: "
          f"{', '.join(KERNELS)} (chosen at import: {_DEFAULT_KERNEL}); "
          f"clock: {'wall' if args.wall else 'thread CPU time'}")
    speed = speed_table(rng, sizes, rounds_for)
    overhead = overhead_table(rng)
    accuracy = accuracy_table(rng, trials_for)
    normal_accuracy, normal_speed = normal_tables(
        rng, trials=200, size=10**5, rounds=11 if not args.quick else 5, inner=10)

    width = max(len(name) for name in list(METHODS) + list(NORMAL_METHODS) + [FLOOR])
    print(f"\nSpeed (median over interleaved rounds; ratios = median per-round time / "
          f"{NAIVE}, / {BASELINE})")
    print(f"{'n':>9} {'pairs':<7} {'method':<{width}} {'ns/elem':>9} {'/naive':>7} {'/scipy':>7}")
    for n, kind, name, ns, to_naive, to_scipy in speed:
        print(f"{n:>9.0e} {kind:<7} {name:<{width}} {ns:>9.2f} {to_naive:>7.2f} {to_scipy:>7.2f}")

    print(f"\nPer-call time at n = 10 (microseconds; ratio to {BASELINE})")
    print(f"{'pairs':<7} {'method':<{width}} {'us/call':>9} {'ratio':>7}")
    for kind, name, micro, ratio in overhead:
        print(f"{kind:<7} {name:<{width}} {micro:>9.2f} {ratio:>7.2f}")

    print("\nAccuracy against 50-digit mpmath (relative error; share of negative results)")
    print(f"{'n':>5} {'pairs':<7} {'method':<{width}} {'median':>9} {'max':>9} {'neg':>6}")
    for n, kind, name, median, worst, negative in accuracy:
        print(f"{n:>5} {kind:<7} {name:<{width}} {median:>9.1e} {worst:>9.1e} {negative:>6.0%}")

    print("\nGaussian closed form; 200 parameter sets per kind")
    print(f"{'pairs':<7} {'method':<{width}} {'median':>9} {'max':>9} {'neg':>6}")
    for kind, name, median, worst, negative in normal_accuracy:
        print(f"{kind:<7} {name:<{width}} {median:>9.1e} {worst:>9.1e} {negative:>6.0%}")
    print(f"{'pairs':<7} {'method (1e5 parameter sets)':<{width}} {'ns/elem':>9} "
          f"{'ratio':>7}  (ratio to the {TEXTBOOK})")
    for kind, name, ns, ratio in normal_speed:
        print(f"{kind:<7} {name:<{width}} {ns:>9.2f} {ratio:>7.2f}")

    rows = targets(speed, overhead, normal_speed)
    what_width = max(len(what) for what, _, _ in rows)
    print("\nTargets of issue 15 (ratios from this run)")
    for what, measured, target in rows:
        verdict = "met" if measured <= target else "NOT met"
        print(f"{what:<{what_width}} {measured:>6.2f} <= {target:<5} {verdict}")
    for kernel in KERNELS:
        mine = [measured <= target for what, measured, target in rows if f"({kernel})" in what]
        print(f"{kernel} pass: {sum(mine)} of {len(mine)} targets met")
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
