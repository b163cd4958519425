"""Run on a cluster: the SLURM script is valid bash, asks for what was chosen, and runs torchrun with the
rendezvous on the job's first node; run with stand-ins for srun and scontrol it trains, and resumes
once the run folder exists (a requeued job)."""

import os
import subprocess

import pytest

from engine.cli import main
from engine.config import schema as config_mod
from tests.conftest import tiny_config


@pytest.fixture
def job(tmp_path, tiny_text, capsys):
    cfg = tiny_config(tiny_text, tmp_path)
    (tmp_path / "mine.toml").write_text(cfg.to_toml())
    assert main(["cluster", str(tmp_path / "mine.toml"), "--out", str(tmp_path / "job"), "--nodes", "2",
                 "--gpus-per-node", "4", "--time", "1-02:00:00", "--partition", "gpu"]) == 0
    assert "sbatch" in capsys.readouterr().out
    return tmp_path / "job"


def test_the_batch_script_is_valid_bash_and_asks_for_the_chosen_resources(job):
    script = job / "train.sbatch"
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    text = script.read_text()
    for line in ("#SBATCH --nodes=2", "#SBATCH --gpus-per-node=4", "#SBATCH --ntasks-per-node=1",
                 "#SBATCH --time=1-02:00:00", "#SBATCH --partition=gpu", "#SBATCH --requeue"):
        assert line in text.splitlines()
    cfg = config_mod.load(job / "config.toml")
    assert cfg.train.out_dir == str(job / "run") and cfg.train.device == "cuda"


def test_the_script_starts_torchrun_on_each_node_and_resumes_a_requeued_run(job, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "scontrol").write_text('#!/bin/bash\necho node-a\necho node-b\n')
    (bin_dir / "srun").write_text(f'#!/bin/bash\nprintf "%s\\n" "$@" > {tmp_path}/srun-args\n')
    for stub in bin_dir.iterdir():
        stub.chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", SLURM_JOB_NODELIST="node-[a-b]",
               SLURM_JOB_NUM_NODES="2", SLURM_JOB_ID="4242")

    def started_with() -> list[str]:
        subprocess.run(["bash", str(job / "train.sbatch")], env=env, check=True)
        return (tmp_path / "srun-args").read_text().splitlines()

    args = started_with()
    assert args[1:3] == ["-m", "torch.distributed.run"]
    for expected in ("--nnodes=2", "--nproc-per-node=4", "--rdzv-id=4242", "--rdzv-backend=c10d",
                     "--rdzv-endpoint=node-a:29500"):
        assert expected in args
    assert args[-5:] == ["-m", "engine", "train", str(job / "config.toml"), "--events"]
    (job / "run").mkdir()
    (job / "run" / "run.toml").write_text("")
    assert started_with()[-5:] == ["-m", "engine", "resume", str(job / "run"), "--events"]


def test_cluster_mistakes_are_said_in_one_line(tmp_path, tiny_text, capsys):
    (tmp_path / "mine.toml").write_text(tiny_config(tiny_text, tmp_path).to_toml())
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "x").write_text("mine")
    for extra, expect in ((["--time", "12h"], "not hours:minutes:seconds"), (["--nodes", "0"], "at least 1"),
                          (["--partition", "a b"], "not a SLURM name")):
        assert main(["cluster", str(tmp_path / "mine.toml"), "--out", str(tmp_path / "j"), *extra]) == 2
        assert expect in capsys.readouterr().err
    assert main(["cluster", str(tmp_path / "mine.toml"), "--out", str(tmp_path / "taken")]) == 2
    assert "is not empty" in capsys.readouterr().err
    assert not (tmp_path / "j").exists()
