"""A SLURM batch script for a run on a cluster: one torchrun per node, the rendezvous on the job's first node
(from SLURM's own variables), and the run folder on the shared file system, so the studio can follow it
from any machine that mounts it. A requeued job resumes the run instead of starting it again."""

from __future__ import annotations

import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from engine.core.errors import UserError
from engine.core.tomlio import write_atomic
from engine.run.folder import RUN_FILE

SCRIPT_FILE = "train.sbatch"
CONFIG_FILE = "config.toml"


@dataclass
class ClusterPlan:
    nodes: int = 1
    gpus_per_node: int = 1
    time: str = "12:00:00"
    """SLURM's wall-clock limit: [days-]hours:minutes:seconds."""
    partition: str = ""
    account: str = ""
    cpus_per_gpu: int = 8
    port: int = 29500

    def problems(self) -> list[str]:
        p = []
        if self.nodes < 1:
            p.append("nodes must be at least 1")
        if self.gpus_per_node < 1:
            p.append("GPUs per node must be at least 1")
        if not re.fullmatch(r"(\d+-)?\d{1,3}:\d{2}:\d{2}", self.time):
            p.append(f"time limit {self.time!r} is not hours:minutes:seconds (or days-hours:minutes:seconds)")
        for name, value in (("partition", self.partition), ("account", self.account)):
            if value and not re.fullmatch(r"[\w.-]+", value):
                p.append(f"{name} {value!r} is not a SLURM name (letters, digits, . _ -)")
        if not 1024 <= self.port <= 65535:
            p.append(f"port {self.port} is not between 1024 and 65535")
        return p


def batch_script(plan: ClusterPlan, *, name: str, config: Path, run_dir: Path, repo: Path,
                 python: str = sys.executable) -> str:
    q = shlex.quote
    job = re.sub(r"[^\w.-]", "-", name)[:64] or "run"
    lines = ["#!/bin/bash", f"#SBATCH --job-name={job}",
             f"#SBATCH --nodes={plan.nodes}", "#SBATCH --ntasks-per-node=1",
             f"#SBATCH --gpus-per-node={plan.gpus_per_node}",
             f"#SBATCH --cpus-per-task={plan.cpus_per_gpu * plan.gpus_per_node}", f"#SBATCH --time={plan.time}",
             f"#SBATCH --output={run_dir.parent / (run_dir.name + '-slurm-%j.out')}", "#SBATCH --requeue"]
    lines += [f"#SBATCH --partition={plan.partition}"] * bool(plan.partition)
    lines += [f"#SBATCH --account={plan.account}"] * bool(plan.account)
    lines += [
        "# written by Attention Studio: sbatch this file from a login node",
        "set -euo pipefail",
        f"cd {q(str(repo))}",
        '# the first node hosts the rendezvous (sed reads every name: head would break the pipe under pipefail)',
        'head_node=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | sed -n 1p)',
        f"if [ -f {q(str(run_dir / RUN_FILE))} ]; then  # a requeued job continues its run",
        f"    what=(resume {q(str(run_dir))})",
        "else",
        f"    what=(train {q(str(config))})",
        "fi",
        f'srun {q(python)} -m torch.distributed.run --nnodes="$SLURM_JOB_NUM_NODES" '
        f'--nproc-per-node={plan.gpus_per_node} --rdzv-id="$SLURM_JOB_ID" --rdzv-backend=c10d '
        f'--rdzv-endpoint="$head_node:{plan.port}" -m engine "${{what[@]}}" --events',
    ]
    return "\n".join(lines) + "\n"


def write_cluster_job(cfg, plan: ClusterPlan, folder: Path, *, repo: Path) -> Path:
    """Write `folder`/config.toml (train.out_dir = `folder`/run, device cuda) and `folder`/train.sbatch;
    returns the script. The folder must be new or empty."""
    problems = plan.problems()
    if problems:
        raise UserError("; ".join(problems))
    folder = Path(folder).resolve()
    if folder.exists() and any(folder.iterdir()):
        raise UserError(f"{folder} is not empty: choose a new folder for the cluster job")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create {folder}: {e.strerror}") from None
    cfg = cfg.copy()
    run_dir = folder / "run"
    cfg.train.out_dir, cfg.train.device, cfg.train.processes = str(run_dir), "cuda", 1
    write_atomic(folder / CONFIG_FILE, cfg.to_toml())
    script = folder / SCRIPT_FILE
    write_atomic(script, batch_script(plan, name=cfg.name or folder.name, config=folder / CONFIG_FILE,
                                      run_dir=run_dir, repo=repo))
    script.chmod(0o755)
    return script
