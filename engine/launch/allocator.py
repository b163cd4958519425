"""A faster malloc for training processes on Intel CPUs: tcmalloc or jemalloc where installed, else TBB's.

Every CPU training step allocates and frees ~1 MB activation buffers and hundreds of small objects
(tensors, autograd nodes). glibc's malloc hands the big buffers back to the OS and faults them in
again, and is slower at the small ones; tcmalloc keeps both in per-thread caches. On the baby recipe
that is 4-7% of the step (bench/README.md); PyTorch's own CPU launcher (`torch.backends.xeon.run_cpu`)
preloads it for the same reason. An allocator has to be in place before the process starts, so:
the studio and the engine's own launcher start training processes with LD_PRELOAD set, and `python -m
engine train|resume` restarts itself once with it (same PID, same arguments). Linux only; nothing
happens where no such library is installed. Every Intel machine set up by the README has one: oneTBB's
scalable allocator comes with the `tbb` wheel from PyPI (Linux x86_64, a dependency in pyproject.toml)
into the environment's lib folder; a system tcmalloc (`apt install libtcmalloc-minimal4`) or jemalloc
is taken first where present. AMD CPUs keep glibc's: with the mallopt settings of engine/runtime/device.py
it was the fastest there, in turns against each (bench/README.md): TBB's 0.96-0.99x a baby step on two EPYC
generations (1.02-1.06x on Intel Xeons), tcmalloc's 0.88-0.99x, mimalloc's 0.90-0.92x, jemalloc's
0.83-0.87x. `ENGINE_ALLOCATOR=system` keeps glibc's anywhere; an LD_PRELOAD set by hand is left as it is.
No torch here: this runs before torch is imported.
"""

from __future__ import annotations

import glob
import os
import sys

from engine import PROCESS_START

LIBRARIES = ("libtcmalloc_minimal.so.4", "libtcmalloc.so.4", "libjemalloc.so.2")
SEARCH = ("/usr/lib/*-linux-gnu", "/lib/*-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/lib")
TBB = ("libtbbmalloc.so.2", "libtbbmalloc_proxy.so.2")
"""The tbb wheel's allocator and the proxy that routes malloc/free to it (the proxy needs the first loaded)."""
NAMES = ("tcmalloc", "jemalloc", "tbbmalloc")
TRIED = "ENGINE_ALLOCATOR_TRIED"
"""Set in the restarted process so that it never restarts again, whatever happened to the preload."""
STARTED = "ENGINE_PROCESS_START"
"""The first process's start time, carried over the restart (control requests sent meanwhile count)."""
TRAINING_COMMANDS = ("train", "resume")


def find() -> str | None:
    """What LD_PRELOAD takes for the fastest installed allocator (one path, or TBB's two), or None."""
    if not sys.platform.startswith("linux") or cpu_vendor() == "AuthenticAMD":
        return None
    for name in LIBRARIES:
        for pattern in SEARCH:
            hits = sorted(glob.glob(os.path.join(pattern, name)))
            if hits:
                return hits[0]
    tbb = [os.path.join(sys.prefix, "lib", name) for name in TBB]
    return os.pathsep.join(tbb) if all(os.path.exists(path) for path in tbb) else None


def cpu_vendor(cpuinfo: str = "/proc/cpuinfo") -> str:
    """The CPU's vendor_id ("GenuineIntel", "AuthenticAMD"), "" where unreadable."""
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("vendor_id"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def wanted(env: dict | os._Environ = os.environ) -> bool:
    return env.get("ENGINE_ALLOCATOR", "auto").lower() != "system"


def preloaded(env: dict | os._Environ = os.environ) -> bool:
    return any(name.split(".so")[0] in env.get("LD_PRELOAD", "") for name in (*LIBRARIES, TBB[1]))


def in_use() -> str:
    """The allocator this process runs with: tcmalloc, jemalloc, tbbmalloc or system (`started` event)."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as f:
            maps = f.read()
    except OSError:
        return "system"
    return next((name for name in NAMES if f"lib{name}" in maps), "system")


def training_env(env: dict) -> dict:
    """`env` for a training process: with the fast allocator preloaded, when there is one."""
    env = dict(env)
    lib = find() if wanted(env) and not preloaded(env) else None
    if lib:
        env["LD_PRELOAD"] = os.pathsep.join(filter(None, [lib, env.get("LD_PRELOAD")]))
        # tcmalloc reports every allocation over 1 GB on stderr; a large corpus is no news
        env.setdefault("TCMALLOC_LARGE_ALLOC_REPORT_THRESHOLD", str(1 << 40))
    return env


def restart_with_allocator(argv: list[str]) -> None:
    """For train/resume: replace this process with itself plus the allocator (returns if nothing to do)."""
    command = next((a for a in argv if not a.startswith("-")), None)
    if command not in TRAINING_COMMANDS or os.environ.get(TRIED) or not wanted() or preloaded():
        return
    env = training_env(dict(os.environ))
    if not preloaded(env):
        return
    env[TRIED] = "1"
    env.setdefault(STARTED, repr(PROCESS_START))
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execve(sys.executable, [sys.executable, "-m", "engine", *argv], env)
    except OSError:
        return  # carry on with glibc's allocator
