"""The Trainer: set-up, step, evaluate, sample, checkpoint, as separate methods around one loop.

It reports through an EventWriter and polls a ControlChannel between steps; the CLI and the
studio's child process are thin shells around it. Batches and dropout are pure functions of
(seed, step), so a resumed run continues exactly as an uninterrupted one would.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from collections import deque
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel as DDP

from engine.config.schema import RunConfig
from engine.core.errors import UserError
from engine.core.tomlio import write_atomic
from engine.data.encode import PreparedCorpus
from engine.data.tokenizer import Tokenizer
from engine.launch import allocator
from engine.model import checkpoint as ckpt
from engine.model.build import config_dict, param_counts
from engine.model.load import BASE_DIR
from engine.model.lora import count_trainable
from engine.plan import estimate as est
from engine.plan.preflight import check
from engine.run.control import ControlChannel
from engine.run.events import EventWriter
from engine.run.folder import EVENTS_FILE, LOG_FILE, RUN_FILE, TOKENIZER_FILE, make_writable_folder
from engine.run.humanlog import TextLog
from engine.run.lock import RunLock
from engine.run.runinfo import occupied
from engine.runtime import device as dev
from engine.runtime import distributed as ddp
from engine.runtime import fp8
from engine.runtime.peak_memory import PeakMemory
from engine.trackers import attach_trackers, close_trackers
from engine.train import finetune, sharding
from engine.train.checkpointing import Checkpointing
from engine.train.clipping import GradClipper
from engine.train.faults import Faults
from engine.train.intervening import Intervening
from engine.train.make_task import make_task
from engine.train.optim import make_optimizer, set_lr
from engine.train.probe import Probes
from engine.train.recovery import Recovery
from engine.train.source_shape import adopt_source_shape
from engine.train.start_warnings import start_warnings
from engine.train.task_context import TaskContext, batch_to_device, shared_corpus
from engine.train.time_budget import TimeBudget

_trainers_made = 0


class Trainer(Recovery, Checkpointing, TimeBudget, Intervening):
    def __init__(self, cfg: RunConfig, *, events: EventWriter, run_dir: Path | None = None, resume: bool = False,
                 corpus: PreparedCorpus | None = None, clock=time.monotonic, started: float | None = None):
        """`corpus` skips corpus preparation (benchmarks feed synthetic tokens this way); `clock`: the run's time."""
        self.now, self.started = clock, started
        global _trainers_made
        self.cfg = check(cfg, resuming=resume)
        self.given_corpus = corpus
        # control requests older than this session are stale: a CLI process's session starts when it starts
        # (a stop sent while it imports torch still counts); a later trainer in the same process starts now
        self.session_start = None if _trainers_made == 0 else time.time()
        _trainers_made += 1
        self.events = events
        self.faults = Faults.from_environment()  # the reliability tests' switches, read once
        self.resume = resume
        self.run_dir = Path(run_dir or cfg.train.out_dir)
        self.dist = ddp.init_from_env(cfg.train.device)
        self.lock = RunLock(self.run_dir)
        self.control = ControlChannel(None)
        self.step = 0
        self.best_val = math.inf
        self.last_val, self.last_val_step = 0.0, -1  # the latest evaluation's loss and its step
        self.evals_without_gain = 0
        self.ignored: list[str] = []  # a fine-tune's config settings its source overrode (said at start)
        self.losses_since_eval: list[float] = []  # the train loss an evaluation reports (a causal LM's)
        self.lr_scale = 1.0
        self.rollbacks = 0
        self._compile_proven = False
        self.elapsed_before = 0.0
        self.trackers: list = []  # TensorBoard, MLflow, W&B: event listeners (engine/trackers)
        self.text_log = TextLog(self.run_dir / LOG_FILE)
        events.listeners.append(self.text_log)

    # ----- set-up -------------------------------------------------------------------------------
    def setup(self) -> None:
        """Everything before the first step: the device, the task and its data, the model, the run folder."""
        tr = self.cfg.train
        if not self.resume and (self.run_dir / RUN_FILE).exists():
            raise UserError(occupied(self.run_dir))
        self.device = dev.resolve_device(ddp.device_name_for(self.dist, tr.device))
        self.precision = dev.resolve_precision(tr.precision, self.device)
        dev.prepare(self.device, tr.threads)
        self.source = finetune.source_for_run(self.cfg, self.run_dir, resume=self.resume)
        self.arch = self.source.config.arch if self.source else self.cfg.arch
        self._prepare_task()
        self._build_model()
        if self.dist.is_main:
            self._open_run_folder()  # lock and events first: what resuming finds is recorded in the run
        resumed_from = self._load_latest() if self.resume else None
        self.tokens_per_step = tr.batch_size * tr.grad_accum * self.task.tokens_per_row  # in this process
        self.compiled = dev.should_compile(tr.compile, self.device, self.model.num_params(), tr.max_steps,
                                           self.flops_per_token * self.tokens_per_step, self.peak)
        self._wrap_model()
        self.log_every = tr.log_interval or (1 if self.device.type == "cpu" else 10)
        self.control = ControlChannel(self.run_dir if self.dist.is_main else None, since=self.session_start)
        self.control.install_signal_handlers()
        self.watch_health()  # the loss monitor and its spike doctor (engine/train/recovery.py)
        self._announce_start(resumed_from)

    def _prepare_task(self) -> None:
        """The task with its data (engine/train/make_task.py), given a context; its tokenizer becomes the run's."""
        cfg = self.cfg
        given = self.source.tokenizer if self.source else None
        if given is not None and self.resume and (self.run_dir / TOKENIZER_FILE).is_file():
            given = Tokenizer.load(self.run_dir / TOKENIZER_FILE)
        if not cfg.train.auto_batch_size:  # (that picks a micro-batch that fits) refused before anything large exists
            dev.check_memory(cfg, self.device, vocab_size=given.vocab_size if given else cfg.model.vocab_size,
                             processes=self.dist.world_size)
        self.resolve_vocab(given is not None or self.given_corpus is not None)  # before the tokenizer is trained
        ctx = TaskContext(cfg, self.arch, self.device, self.dist, self.events,
                          prepare_corpus=shared_corpus(cfg, self.dist, self.events, given=self.given_corpus),
                          to_device=self.to_device, autocast=self.autocast, choose_budget=self.resolve_budget)
        self.task = make_task(ctx, given)
        self.tokenizer = self.task.tokenizer
        self.corpus_stats = self.task.stats()
        self.probes = Probes(self.tokenizer, self.run_dir, resume=self.resume, seed=cfg.train.seed,
                             concept_regex=cfg.train.concept_regex)

    def _build_model(self) -> None:
        """The model on its device (a fine-tune's from its source), sharded if so, with its optimizer."""
        tr = self.cfg.train
        torch.manual_seed(tr.seed)
        labels = len(self.task.labels) if self.cfg.model.objective in ("classify", "tag", "span") else 0
        self.memory = PeakMemory(self.device).start()  # what the model, its training and evaluation take
        self.built = finetune.build_for_run(self.cfg, self.tokenizer, self.source, arch=self.arch, num_labels=labels)
        self.gpt_config, self.lora = self.built.config, self.built.lora  # lora: None, or rank/alpha/targets
        self.model = fp8.apply(self.built.model.to(self.device), self.precision)  # fp8: its linear layers
        self.task.configure(self.model)
        self.fsdp = self.dist.enabled and tr.parallel == "fsdp"
        if self.fsdp:
            sharding.shard(self.model)  # before the optimizer: it must hold the shards
        self.optimizer = make_optimizer(self.model, tr, self.device.type)
        self.scaler = torch.amp.GradScaler("cuda") if self.precision == "fp16" else None
        self.clip = GradClipper(self.model, self.optimizer, tr.grad_clip, fold=self.scaler is None and not self.fsdp)
        self.flops_per_token = est.flops_per_token(self.cfg, self.model.num_params(), self.model.config.vocab_size)
        self.peak = dev.peak_flops(self.device, self.precision)

    def _announce_start(self, resumed_from) -> None:
        """The `started` event, with everything the studio shows of the run, and the config's warnings."""
        cfg = self.cfg
        self.events.emit("started", self.step, run_dir=str(self.run_dir.resolve()), config=cfg.to_dict(),
                         **param_counts(self.model), device=dev.describe(self.device),
                         precision=self.precision, world_size=self.dist.world_size, resumed_from=resumed_from,
                         corpus=self.corpus_stats, pid=os.getpid(), peak_flops=self.peak,
                         flops_per_token=self.flops_per_token, objective=cfg.model.objective, arch=self.arch,
                         trainable_params=count_trainable(self.model), labels=self.task.labels,
                         source=self.source.description if self.source else None, method=cfg.finetune.method,
                         compiled=self.compiled, allocator=allocator.in_use(), val_text=self.task.val_text(),
                         budget=self.budget or None)
        for text in start_warnings(cfg, vocab_size=self.tokenizer.vocab_size, resuming=self.resume,
                                   peak_flops=self.peak, device_type=self.device.type) + self.ignored:
            self.events.emit("warning", self.step, kind="config", message=text)

    def _wrap_model(self) -> None:
        """forward_model: the model, compiled if so decided, in DDP when data-parallel."""
        self.forward_model = torch.compile(self.model) if self.compiled else self.model
        if self.dist.enabled and not self.fsdp:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.forward_model = DDP(self.forward_model, device_ids=ids)

    def _open_run_folder(self) -> None:
        make_writable_folder(self.run_dir)
        self.lock.acquire()
        self.ignored = adopt_source_shape(self.cfg) if self.source and not self.resume else []  # run.toml: as trained
        if not self.resume:
            write_atomic(self.run_dir / RUN_FILE, self.cfg.to_toml())
            self.tokenizer.save(self.run_dir / TOKENIZER_FILE)
            if self.lora:
                ckpt.write_folder(self.run_dir / BASE_DIR, self.built.base_tensors,
                                  meta={"step": 0, "model": config_dict(self.source.config)},
                                  extra_files={TOKENIZER_FILE: self.tokenizer.to_str()})
        self.events.attach(self.run_dir / EVENTS_FILE)
        if self.source and not self.resume:
            self.events.emit("finetune", **self.built.info)
        self.trackers = attach_trackers(self.cfg, self.events, self.run_dir, resuming=self.resume)

    # ----- the loop -----------------------------------------------------------------------------
    def fit(self) -> str:
        """Train to max_steps; returns why it ended: finished | stopped | early_stopping | target_reached."""
        tr = self.cfg.train
        ckpt_every = tr.checkpoint_interval or tr.eval_interval
        sample_every = tr.eval_interval if tr.sample_interval == 0 else tr.sample_interval
        self.start_clock()
        step_times: deque[float] = deque(maxlen=50)
        if self.step == 0:
            self.clock.time(self.evaluate)
            if self.budget_s and sample_every > 0 and (self.dist.is_main or self.fsdp):  # timed: the end samples
                self.clock.time(self.sample)
        reason, last = "finished", False
        self.model.train()
        while self.step < tr.max_steps and not last:
            if self._poll_control() == "stop":
                reason = "stopped"
                break
            self.intervene()  # the interventions due before this step (engine/train/intervening.py)
            loss, grad_norm = self.train_step()
            self.step += 1
            last = self.step == tr.max_steps or self.budget_ends_run()
            if self.step % self.log_every == 0 or last:
                self._log_step(loss, grad_norm, step_times)
            if self.step % tr.eval_interval == 0 and not self.skip_eval or last:
                improved = self.clock.time(self.evaluate)
                if self.step % ckpt_every == 0 or last:
                    self.clock.time(self.save, best=improved)
                reached = bool(tr.target_loss) and self.best_val <= tr.target_loss
                if reached or tr.early_stopping and self.evals_without_gain >= tr.early_stopping:
                    reason = "target_reached" if reached else "early_stopping"
                    break
            elif self.step % ckpt_every == 0:
                self.clock.time(self.save, best=False)
            if sample_every > 0 and (self.step % sample_every == 0 or last) and (self.dist.is_main or self.fsdp):
                self.clock.time(self.sample)
            self.faults.hold(self.step)
        if reason != "finished" and self.step > 0 and not self._checkpoint_at(self.step):
            self.save(best=False)
        return reason

    def train_step(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        if not self.compiled or self._compile_proven:
            return self._train_step()
        try:  # torch.compile builds its kernels at the first call: that is where it fails, if it does
            result = self._train_step()
        except torch._dynamo.exc.TorchDynamoException as e:
            self.optimizer.zero_grad(set_to_none=True)
            why = next((line.strip()[:300] for line in str(e).splitlines()
                        if line.strip() and "TORCHDYNAMO_VERBOSE" not in line), type(e).__name__)
            self.events.emit("warning", self.step + 1, kind="compile_failed", message=(
                f"torch.compile failed ({why}); training without it. Set train.compile = \"off\" to skip trying"))
            self.compiled = False
            self._wrap_model()
            result = self._train_step()
        self._compile_proven = True
        return result

    def _train_step(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        tr = self.cfg.train
        lr = self.scheduled_lr() * self.lr_scale
        set_lr(self.optimizer, lr)
        self.current_lr = lr
        if self.cfg.model.dropout > 0:  # dropout masks: a function of the step, for exact resume
            torch.manual_seed(tr.seed * 1_000_003 + self.step)
        total = None
        for micro in range(tr.grad_accum):
            batch = self.to_device(self.task.batch(self.step, micro))
            sync = micro == tr.grad_accum - 1
            ctx = self.forward_model.no_sync() if self.dist.enabled and not self.fsdp and not sync else nullcontext()
            with ctx:
                with self.autocast():
                    _, loss = self.forward_model(**batch)
                loss = self.faults.loss(loss, self.step, self.cfg.train.batch_size)
                scaled = loss / tr.grad_accum if tr.grad_accum > 1 else loss
                (self.scaler.scale(scaled) if self.scaler else scaled).backward()
            total = loss.detach() if total is None else total + loss.detach()
        loss = total / tr.grad_accum if tr.grad_accum > 1 else total
        if self.dist.enabled:
            loss = ddp.all_reduce_sum(loss, self.dist) / self.dist.world_size
        # reading the loss syncs a GPU: there, judge health only at log steps
        if self.device.type == "cpu" or (self.step + 1) % self.log_every == 0:
            if not self._healthy(loss):
                self.optimizer.zero_grad(set_to_none=True)
                return loss, None
        if self.scaler:
            self.scaler.unscale_(self.optimizer)
        grad_norm = self.clip() if tr.grad_clip > 0 else None
        if self.scaler:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return loss, grad_norm

    def to_device(self, batch: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
        return batch_to_device(batch, self.device)

    def autocast(self):
        return dev.autocast(self.device, self.precision)

    def _log_step(self, loss, grad_norm, step_times: deque) -> None:
        tr = self.cfg.train
        value = float(loss)  # waits for the GPU, so the clock below is honest
        self.losses_since_eval.append(value)
        now = self.now()
        steps = self.step - self._mark[0]
        if steps > 0:
            step_times.append((now - self._mark[1] - self.clock.excluded) / steps)
        self._mark = (self.step, now)
        self.clock.take_excluded()
        t_step = statistics.median(step_times) if step_times else 0.0
        tokens_step = self.tokens_per_step * self.dist.world_size
        tps = tokens_step / t_step if t_step else 0.0
        mfu = self.flops_per_token * tps / self.dist.world_size / self.peak if self.peak else 0.0
        eta = self.eta(t_step)
        gn = float(grad_norm) if grad_norm is not None else None
        if not self.dist.is_main:
            return
        if gn is not None and tr.grad_clip and gn > 10 * tr.grad_clip:
            self.events.emit("warning", self.step, kind="clipped",
                             message=f"gradient norm {gn:.1f} clipped to {tr.grad_clip}")
        self.events.emit("step", self.step, loss=value, lr=self.current_lr, grad_norm=gn, tokens_per_s=tps,
                         mfu=mfu, elapsed=self.elapsed(), eta=eta, step_time=t_step)

    # ----- evaluation, samples, attention ------------------------------------------------------
    def evaluate(self) -> bool:
        """Validation and training metrics on fixed rows; True when the validation loss is a new best."""
        self.model.eval()
        val_metrics = self.task.evaluate(self.model, "val")
        seen = [v for v in self.losses_since_eval if math.isfinite(v)]  # no repeated work for the train loss:
        train_metrics = {"loss": sum(seen) / len(seen)} if seen and not self.task.metric_names else \
            self.task.evaluate(self.model, "train")  # the steps' own, unless train metrics are wanted too
        self.losses_since_eval = []
        probes, phase = self.probes.at_eval(self.model, self.step, join=self.dist.is_main or self.fsdp)
        sharding.settle(self.model)
        self.model.train()
        val, train = val_metrics.pop("loss"), train_metrics["loss"]
        self.last_val, self.last_val_step = val, self.step  # a NaN one: the model is not saved (Recovery.broken)
        if "icl_score" in val_metrics:
            probes["icl_score"] = val_metrics.pop("icl_score")
        improved = val < self.best_val
        if improved:
            self.best_val, self.evals_without_gain = val, 0
        else:
            self.evals_without_gain += 1
        if self.dist.is_main:
            extra = {f"val_{k}": v for k, v in val_metrics.items()}
            extra.update({f"train_{k}": v for k, v in train_metrics.items() if k in self.task.metric_names})
            if self.task.labels:
                extra["labels"] = self.task.labels
            self.events.emit("eval", self.step, train_loss=train, val_loss=val, best=improved, **extra, **probes)
            if phase:
                self.events.emit("phase_change", phase.pop("step"), **phase)
        if self.dist.is_main or self.fsdp:  # sharded, every rank joins the forward pass
            self.record_attention()
        return improved

    def sample(self) -> None:
        if self.monitor.bad_in_a_row or self.broken():  # sampling from NaN outputs fails; the policy decides
            self.events.emit("warning", self.step, kind="no_sample",
                             message=f"no sample at step {self.step}: the model's outputs are not finite")
            return
        for prompt, text in self.task.samples(self.model):
            self.events.emit("sample", self.step, prompt=prompt, text=text)
        sharding.settle(self.model)
        self.model.train()

    def record_attention(self) -> None:
        path = self.task.record_attention(self.model, self.step, self.probes, main=self.dist.is_main,
                                          sharded=self.fsdp)
        if path is not None:
            self.events.emit("attention", self.step, path=str(path.relative_to(self.run_dir)))

    # ----- control -------------------------------------------------------------------------------
    def _poll_control(self) -> str | None:
        """stop, or None; a checkpoint request is served here, by every rank when the model is sharded."""
        action, wanted = self.control.poll(), False
        if action == "pause":
            self.events.emit("status", self.step, state="paused")
            pending = []  # checkpoints asked for while paused are written on resume (the other ranks wait)
            a, paused = self.control.wait_while_paused(lambda: pending.append(1))
            self.t0 += paused  # paused time is neither training time nor throughput
            self.clock.pause(paused)
            action, wanted = ("stop" if a == "stop" else None), bool(pending)
            if a != "stop":
                self.events.emit("status", self.step, state="running")
        code = 1 if action == "stop" else 2 if action == "checkpoint" or wanted else 0
        if self.dist.enabled:
            code = ddp.broadcast_code(code, self.dist, self.device)
        if code == 2:
            self.save(best=False)
        return "stop" if code == 1 else None

    def close(self) -> None:
        close_trackers(self.trackers, self.events)
        self.lock.release()
        self.text_log.close()
        if self.dist.enabled:  # nothing may keep the process group alive past its shutdown
            self.forward_model = self.model = self.optimizer = self.clip = self.built = self.interventions = None
            sharding.release_meshes()
        ddp.shutdown(self.dist)
