"""Run every chapter under nbval on emulated platforms (``make platforms``).

Readers run the book on Intel, AMD and Apple CPUs. Their results differ from the
machine that stored the outputs in three places, each emulated here on one x86-64
machine:

* numpy's vectorised loops: numpy picks AVX-512, AVX2 or SSE code at import time; the
  ``NPY_DISABLE_CPU_FEATURES`` switch makes it take the paths of a CPU without them (and,
  without AVX-512, numpy's float64 ``log`` and ``exp`` call the C library's);
* the BLAS: ``OPENBLAS_CORETYPE`` selects the kernels OpenBLAS would pick on another CPU,
  which sum in another order;
* the C library's ``log``, ``exp``, ``pow`` and friends (Apple's libm, musl, an older
  glibc): ``libm_ulp.c``, preloaded, moves their result by one ulp for a share of the
  arguments chosen by a hash of the argument and a seed, so each seed is another libm.

Each setting first proves that it is in effect (a probe fails if numpy kept its
AVX-512 loops, OpenBLAS its kernel, or libm its values), then runs the tests: the
chapters' nbval tests, and the unit tests and doctests (whose accuracy claims and printed
values must hold on every platform too). The script prints a table of settings and failing
tests and exits non-zero if any setting fails or is not in effect.

Usage: ``python tools/platforms.py [--jobs N] [--only NAME,...] [--extra-seeds K]
[PYTEST ARGUMENTS ...]``; by default the tests are ``--nbval --nbval-current-env chapters``
(``make platforms`` passes the chapters and the unit tests and doctests of ``make checks``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHIM_SOURCE = ROOT / "tools" / "platforms" / "libm_ulp.c"
SHIM = ROOT / "_build" / "platforms" / "libm_ulp.so"

# numpy 2.4's names for the x86 feature groups above its X86_V2 baseline.
NO_AVX512 = "X86_V4,AVX512_ICL,AVX512_SPR"
NO_AVX2 = "X86_V3," + NO_AVX512


@dataclass(frozen=True)
class Setting:
    name: str
    description: str
    env: dict[str, str] = field(default_factory=dict)
    libm_seed: int | None = None
    libm_share: float = 0.25

    def environment(self) -> dict[str, str]:
        env = {**os.environ, **self.env}
        if self.libm_seed is not None:
            env["LD_PRELOAD"] = str(SHIM)
            env["KLBOOK_ULP_SEED"] = str(self.libm_seed)
            env["KLBOOK_ULP_SHARE"] = str(self.libm_share)
        return env


SETTINGS = [
    Setting("native", "this machine as it is"),
    Setting("avx2", "an AVX2 CPU without AVX-512 (AMD Zen 2/3, Intel Haswell to Alder Lake)",
            {"NPY_DISABLE_CPU_FEATURES": NO_AVX512, "OPENBLAS_CORETYPE": "Haswell"}),
    Setting("sse4", "an x86-64 CPU without AVX (numpy's baseline loops, OpenBLAS Nehalem)",
            {"NPY_DISABLE_CPU_FEATURES": NO_AVX2, "OPENBLAS_CORETYPE": "Nehalem"}),
    Setting("libm-1", "another libm (seed 1), AVX2 numpy, OpenBLAS Haswell",
            {"NPY_DISABLE_CPU_FEATURES": NO_AVX512, "OPENBLAS_CORETYPE": "Haswell"}, 1),
    Setting("libm-2", "another libm (seed 2), AVX2 numpy, OpenBLAS Sandybridge",
            {"NPY_DISABLE_CPU_FEATURES": NO_AVX512, "OPENBLAS_CORETYPE": "Sandybridge"}, 2),
    Setting("libm-3", "another libm (seed 3), baseline numpy, OpenBLAS Katmai (generic SSE)",
            {"NPY_DISABLE_CPU_FEATURES": NO_AVX2, "OPENBLAS_CORETYPE": "Katmai"}, 3),
]



def extra_settings(count: int) -> list[Setting]:
    """`count` more libms (seeds 4, 5, ...), each moving half of the arguments, over the
    numpy and OpenBLAS variants in turn: a harsher check than CI's, for a change that
    touches many outputs (``--extra-seeds``)."""
    variants = [({"NPY_DISABLE_CPU_FEATURES": NO_AVX512, "OPENBLAS_CORETYPE": "Haswell"},
                 "AVX2 numpy, OpenBLAS Haswell"),
                ({"NPY_DISABLE_CPU_FEATURES": NO_AVX2, "OPENBLAS_CORETYPE": "Nehalem"},
                 "baseline numpy, OpenBLAS Nehalem")]
    settings = []
    for k in range(count):
        env, what = variants[k % len(variants)]
        seed = 4 + k
        settings.append(Setting(f"libm-{seed}", f"another libm (seed {seed}, half the "
                                f"arguments moved), {what}", env, seed, 0.5))
    return settings


# Run in each setting before the tests: prints what is in effect, as JSON.
PROBE = r"""
import ctypes, glob, json, math, os
import numpy as np
lib = ctypes.CDLL(glob.glob(os.path.join(os.path.dirname(np.__file__) + ".libs",
                                         "libscipy_openblas64_*.so"))[0])
lib.scipy_openblas_get_corename64_.restype = ctypes.c_char_p
xs = [1.0 + k / 1031.0 for k in range(1, 2001)]
features = np._core._multiarray_umath.__cpu_features__
disabled = [f for f in os.environ.get("NPY_DISABLE_CPU_FEATURES", "").replace(",", " ").split() if f]
print(json.dumps({
    "avx512": bool(features.get("X86_V4")),
    # a feature numpy does not know (renamed in another version) counts as still enabled
    "still_enabled": [f for f in disabled if features.get(f, True)],
    "openblas": lib.scipy_openblas_get_corename64_().decode(),
    "log": [math.log(x).hex() for x in xs],
    "nplog": [float(v).hex() for v in np.log(np.array(xs))],
}))
"""


def build_shim() -> None:
    if SHIM.exists() and SHIM.stat().st_mtime >= SHIM_SOURCE.stat().st_mtime:
        return
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        sys.exit("platforms: no C compiler (cc or gcc) to build the libm shim; "
                 "install one (Debian: apt-get install gcc)")
    SHIM.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([compiler, "-O2", "-shared", "-fPIC", "-o", str(SHIM), str(SHIM_SOURCE),
                    "-ldl", "-lm"], check=True)


def probe(setting: Setting) -> dict:
    import json

    out = subprocess.run([sys.executable, "-c", PROBE], env=setting.environment(),
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def check_in_effect(setting: Setting, reference: dict) -> list[str]:
    """What of `setting` is not in effect, compared with the native probe."""
    found = probe(setting)
    problems = []
    if found["still_enabled"]:
        problems.append(f"numpy did not disable {', '.join(found['still_enabled'])}")
    wanted = setting.env.get("OPENBLAS_CORETYPE")
    if wanted and found["openblas"].lower() != wanted.lower():
        problems.append(f"OpenBLAS runs {found['openblas']} kernels, not {wanted}")
    if setting.libm_seed is not None:
        moved = sum(a != b for a, b in zip(found["log"], reference["log"]))
        share = moved / len(found["log"])
        if not 0.6 * setting.libm_share < share < 1.4 * setting.libm_share:
            problems.append(f"libm shim moved {share:.0%} of math.log values, not about "
                            f"{setting.libm_share:.0%}")
        # against the same numpy loops without the shim: does numpy's log reach the libm?
        unperturbed = probe(Setting(setting.name, setting.description, setting.env))
        if found["nplog"] == unperturbed["nplog"]:
            problems.append("numpy's log does not go through the perturbed libm")
    return problems


def run_tests(setting: Setting, pytest_args: list[str], jobs: int) -> tuple[list[str], int, float]:
    """Failing tests, tests run, and seconds taken, of pytest under `setting`."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "junit.xml"
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                   "-n", str(jobs), "--dist", "loadfile", f"--junitxml={report}", *pytest_args]
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, env=setting.environment(),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seconds = time.perf_counter() - start
        if not report.exists():
            return ["pytest did not run"], 0, seconds
        failing, total = [], 0
        for case in ElementTree.parse(report).iter("testcase"):
            total += 1
            if case.find("failure") is not None or case.find("error") is not None:
                failing.append(f"{Path(case.get('classname', '')).name} {case.get('name')}")
        return failing, total, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--only", type=lambda text: text.split(","), default=None,
                        metavar="NAME[,NAME...]", help="names of the settings to run")
    parser.add_argument("--extra-seeds", type=int, default=0, metavar="K",
                        help="also run K more libms, each moving half of the arguments")
    args, pytest_args = parser.parse_known_args(argv)
    pytest_args = pytest_args or ["--nbval", "--nbval-current-env", "chapters"]

    build_shim()
    every = SETTINGS + extra_settings(args.extra_seeds)
    settings = [s for s in every if not args.only or s.name in args.only]
    reference = probe(SETTINGS[0])
    if not reference["avx512"]:
        print("note: this machine has no AVX-512, so no setting runs numpy's AVX-512 loops",
              flush=True)
    rows, failed = [], False
    for setting in settings:
        problems = check_in_effect(setting, reference)
        if problems:
            failed = True
            rows.append((setting, ["not in effect: " + "; ".join(problems)], 0, 0.0))
            continue
        failing, total, seconds = run_tests(setting, pytest_args, args.jobs)
        failed |= bool(failing) or total == 0
        rows.append((setting, failing, total, seconds))
        print(f"{setting.name:8} {len(failing):3} of {total} tests fail  ({seconds:.0f} s)",
              flush=True)

    print("\nsetting   failing tests   description")
    for setting, failing, total, _ in rows:
        print(f"{setting.name:8}  {len(failing):3} of {total:4}   {setting.description}")
        for cell in failing:
            print(f"              {cell}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
