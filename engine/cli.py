"""The engine's command line: prepare, tokenizer, train, resume, eval, generate, predict, attention, heads,
lens, export, control, serve, runs.

Bad configs and corpora get one line saying what is wrong and exit status 2, never a traceback.
When stdout is not a terminal (a GUI, a pipe) training events go to stdout as JSON lines.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path

from engine.core.errors import UserError
from engine.core.paths import output_file, output_folder
from engine.core.text import engine_command
from engine.infer.commands import cmd_export, cmd_generate, cmd_predict
from engine.launch.allocator import restart_with_allocator
from engine.plan.preflight import check
from engine.probes.commands import add_commands as add_probe_commands
from engine.probes.commands import cmd_attention
from engine.run.folder import LOG_FILE, RUN_FILE
from engine.runqueue.commands import add_commands
from engine.train.commands import cmd_eval
from engine.worker.serve import cmd_serve

EXIT_USER, EXIT_FAULT, EXIT_CRASH = 2, 3, 1
CHECKPOINT_HELP = "best (the default: lowest validation loss), latest, or a name such as step-000500"


def main(argv: list[str] | None = None) -> int:
    if argv is None:  # a real command line: train/resume restart once with tcmalloc where the machine has it
        restart_with_allocator(sys.argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USER
    args.argv = list(argv if argv is not None else sys.argv[1:])
    try:
        return args.func(args) or 0
    except UserError as e:
        _say_error(str(e), getattr(e, "problems", []))
        if getattr(args, "events", None) and not getattr(e, "reported", False):  # a launcher reads stdout
            from engine.run.events import EventWriter

            EventWriter(None, echo=sys.stdout).emit("error", kind="refused", message=str(e),
                                                    problems=getattr(e, "problems", []))
        return EXIT_USER
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=engine_command(), description="Attention Studio's engine: train and use "
                                "Transformer language models from a TOML run config.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def add(name, func, help):
        sp = sub.add_parser(name, help=help, description=help)
        sp.set_defaults(func=func)
        return sp

    def output_flags(sp):
        g = sp.add_mutually_exclusive_group()
        g.add_argument("--events", dest="events", action="store_true", default=None,
                       help="print events as JSON lines (default when stdout is not a terminal)")
        g.add_argument("--human", dest="events", action="store_false", help="print readable lines")

    sp = add("train", cmd_train, "train a model from a run config")
    sp.add_argument("config", help="the run config (TOML)")
    sp.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE", help="override a value")
    output_flags(sp)
    sp = add("resume", cmd_resume, "continue a run from its last checkpoint (or extend a finished one)")
    sp.add_argument("run_dir")
    sp.add_argument("--max-steps", type=int, help="train to this many steps in all (extends a finished run)")
    output_flags(sp)
    sp = add("prepare", cmd_prepare, "load, clean, tokenize and encode a config's corpus; print statistics")
    sp.add_argument("config")
    sp.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    sp = add("tokenizer", cmd_tokenizer, "train the config's tokenizer and save it as tokenizer.json")
    sp.add_argument("config")
    sp.add_argument("--out", default="tokenizer.json")
    sp.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    sp = add("eval", cmd_eval, "a checkpoint's validation metrics: loss, perplexity, accuracy, macro-F1 (by objective)")
    sp.add_argument("run_dir")
    sp.add_argument("--checkpoint", help=CHECKPOINT_HELP)
    sp.add_argument("--batches", type=int, default=50)
    sp.add_argument("--split", choices=("validation", "test"), default="validation",
                    help="which held-out split to score (test: a run with data.test_fraction)")
    sp = add("generate", cmd_generate, "continue a prompt with a run's model")
    sp.add_argument("run_dir")
    sp.add_argument("--prompt", default="\n")
    sp.add_argument("--checkpoint", help=CHECKPOINT_HELP)
    sp.add_argument("--max-new-tokens", type=int, default=200)
    sp.add_argument("--temperature", type=float, help="0 = greedy (default: 0.8, and 0 for a seq2seq or instruct "
                                                     "run, whose prompt is a source to answer)")
    sp.add_argument("--top-k", type=int, default=0)
    sp.add_argument("--top-p", type=float, default=1.0)
    sp.add_argument("--repetition-penalty", type=float, default=1.0)
    sp.add_argument("--beams", type=int, default=1, help="beam search with this many beams (deterministic)")
    sp.add_argument("--stop", action="append", default=[], help="stop at this string (repeatable)")
    sp.add_argument("--seed", type=int)
    sp.add_argument("--device", default="cpu")
    sp = add("predict", cmd_predict, "label a text (classifier) or fill in its [MASK] tokens (masked LM)")
    sp.add_argument("run_dir")
    sp.add_argument("--text", required=True)
    sp.add_argument("--checkpoint", help=CHECKPOINT_HELP)
    sp.add_argument("--top-k", type=int, default=5)
    sp = add("export", cmd_export, "write a run's model as a transformers folder (GPT-2, GPT-NeoX, Llama, BERT) or "
                                   "a GGUF file for llama.cpp")
    sp.add_argument("run_dir")
    sp.add_argument("--out", required=True, help="a new folder, or a new file ending in .gguf")
    sp.add_argument("--format", choices=("hf", "gguf"), help="default: gguf for a name ending in .gguf, else hf")
    sp.add_argument("--type", choices=("f32", "f16", "q8_0"), default="f16", help="GGUF weight type (default f16)")
    sp.add_argument("--checkpoint", help=CHECKPOINT_HELP)
    sp = add("attention", cmd_attention, "export a checkpoint's attention maps for a text (.npy or .csv)")
    sp.add_argument("run_dir")
    sp.add_argument("--text", required=True)
    sp.add_argument("--checkpoint", help=CHECKPOINT_HELP)
    sp.add_argument("--out", required=True, help="a .npy file (layers, heads, T, T) or a .csv (long format)")
    sp.add_argument("--stack", choices=("encoder", "decoder", "cross"),
                    help="an encoder-decoder (seq2seq) run: which attention (default cross: target x source); "
                         "--text is the source, and the target is the model's own greedy output, at most "
                         "model.target_block_size tokens, then its end token")
    add_probe_commands(add, CHECKPOINT_HELP)
    sp = add("control", cmd_control, "ask a running trainer to pause, resume, stop or checkpoint")
    sp.add_argument("run_dir")
    sp.add_argument("action", choices=["pause", "resume", "stop", "checkpoint"])
    add("serve", cmd_serve, "the inference worker: JSON-line requests on stdin, answers on stdout (the studio's)")
    sp = add("demo", cmd_demo, "write a built-in demo corpus and a ready run.toml into a folder")
    sp.add_argument("name", nargs="?", help="the demo; without one, list them")
    sp.add_argument("--out", help="the folder to write into (default: ./NAME)")
    sp = add("runs", cmd_runs, "list the runs in a folder")
    sp.add_argument("folder", nargs="?", default="runs")
    add_commands(add, "SECTION.KEY=VALUE")
    sp = add("cluster", cmd_cluster, "write a SLURM batch script (torchrun on every node) and the config it trains")
    sp.add_argument("config")
    sp.add_argument("--out", required=True, help="a new folder on the cluster's shared file system")
    sp.add_argument("--nodes", type=int, default=1)
    sp.add_argument("--gpus-per-node", type=int, default=1)
    sp.add_argument("--time", default="12:00:00", help="wall-clock limit, hours:minutes:seconds")
    sp.add_argument("--partition", default="")
    sp.add_argument("--account", default="")
    sp.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    return p


# ----- training ----------------------------------------------------------------------------------
def cmd_train(args) -> int:
    from engine.config import schema as config_mod
    from engine.core.errors import ConfigError
    from engine.data.corpus_check import corpus_problems

    cfg = config_mod.load(args.config, args.set)
    check(cfg)
    if problems := corpus_problems(cfg):  # before any folder or process exists
        raise ConfigError(problems)
    return _launch_or_train(cfg, args, Path(cfg.train.out_dir), resume=False)


def _launch_or_train(cfg, args, run_dir: Path, *, resume: bool) -> int:
    """Several processes: start them here (this process only waits); one: train in this process."""
    from engine.launch.local import launch_local, local_plan, under_launcher

    n, visible = local_plan(cfg.train.device, cfg.train.processes)
    if n > 1 and not under_launcher():
        if visible is not None:
            import torch

            have = torch.cuda.device_count()
            if max(int(g) for g in visible.split(",")) >= have:
                raise UserError(f"train.device = {cfg.train.device!r} but this machine has {have} CUDA GPU(s)")
        return launch_local(args.argv, n, visible)
    return _run_trainer(cfg, run_dir, resume=resume, events=args.events)


def cmd_resume(args) -> int:
    from engine.config import schema as config_mod
    from engine.core.tomlio import write_atomic
    from engine.run.folder import RUN_FILE, checkpoints, require_run_folder

    run_dir = require_run_folder(args.run_dir)
    if not (run_dir / RUN_FILE).is_file():
        raise UserError(f"{run_dir} is not a run folder (no {RUN_FILE})")
    cfg = config_mod.load(run_dir / RUN_FILE)
    cfg.train.out_dir = str(run_dir)
    done = max((step for _, step, _ in checkpoints(run_dir)), default=0)
    if args.max_steps is None and done >= cfg.train.max_steps:
        raise UserError(f"{run_dir.name} has finished its {cfg.train.max_steps} steps: there is nothing to resume. "
                        f"To train it longer give --max-steps N with N above {done}")
    if args.max_steps is not None:
        if args.max_steps < 1:
            raise UserError("--max-steps must be at least 1")
        if args.max_steps <= done:
            raise UserError(f"--max-steps {args.max_steps} is not beyond step {done}, where {run_dir.name}'s newest "
                            f"checkpoint is: give more steps to extend it")
        if done >= cfg.train.max_steps and not cfg.train.decay_steps:  # "train longer" keeps the final rate
            cfg.train.decay_steps = cfg.train.max_steps
            if not _under_launcher_worker():
                print(f"extending to {args.max_steps} steps at the final learning rate {cfg.train.min_lr:g} (the "
                      f"decay ended at step {cfg.train.decay_steps}: train.decay_steps)", file=sys.stderr)
        cfg.train.max_steps = args.max_steps
        if not _under_launcher_worker():
            write_atomic(run_dir / RUN_FILE, cfg.to_toml())
    return _launch_or_train(check(cfg, resuming=True), args, run_dir, resume=True)


def _under_launcher_worker() -> bool:
    return int(os.environ.get("RANK", "0")) > 0


def _run_trainer(cfg, run_dir: Path, *, resume: bool, events: bool | None) -> int:
    from engine.run.events import EventWriter

    as_json = events if events is not None else not sys.stdout.isatty()
    quiet = _under_launcher_worker()  # with several processes rank 0 alone reports
    writer = EventWriter(None, echo=sys.stdout if as_json and not quiet else None)
    if not as_json and not quiet:
        writer.listeners.append(_HumanPrinter(cfg.train.max_steps))
    final: dict = {}  # a classifier's last validation accuracy and macro-F1, repeated in its finished line
    writer.listeners.append(lambda e: e.type == "eval" and e.get("val_macro_f1") is not None and final.update(
        val_accuracy=e.get("val_accuracy"), val_macro_f1=e.get("val_macro_f1")))
    trainer = None
    try:
        import torch

        from engine.train.trainer import Trainer, TrainingStopped

        trainer = Trainer(cfg, events=writer, run_dir=run_dir, resume=resume)
        trainer.setup()
        reason = trainer.fit()
        test = getattr(trainer.task, "evaluate_test", lambda _: None)(trainer.model)  # all ranks; None: no test split
        if trainer.dist.is_main:
            writer.emit("finished", trainer.step, reason=reason, elapsed=trainer.elapsed(),
                        session_elapsed=trainer.elapsed() - trainer.elapsed_before,  # a resumed run's: this session
                        best_val_loss=None if trainer.best_val == float("inf") else trainer.best_val,
                        time_spent={k: round(v, 3) for k, v in trainer.clock.spent.items()},
                        peak_memory=trainer.memory.peak(), **final,
                        **({"test": test} if test else {}))
        return 0
    except UserError as e:
        if writer.path is not None or (as_json and not quiet):  # the run's events, and stdout when asked
            writer.emit("error", kind="config", message=str(e))
            e.reported = True
        raise
    except TrainingStopped as e:
        writer.emit("error", trainer.step if trainer else None, kind=e.kind, message=str(e))
        _say_error(str(e))
        return EXIT_FAULT
    except torch.OutOfMemoryError:
        b, a = cfg.train.batch_size, cfg.train.grad_accum
        hint = (f"try train.batch_size = {max(1, b // 2)} with train.grad_accum = {a * 2} (same global batch)"
                if b > 1 else "use a smaller model or context")
        msg = f"out of memory on {cfg.train.device} at batch_size {b}: {hint}"
        writer.emit("error", trainer.step if trainer else None, kind="oom", message=msg,
                    batch_size=max(1, b // 2), grad_accum=a * 2)
        _say_error(msg)
        return EXIT_FAULT
    except Exception as e:  # a bug or an environment failure: say it in one line, keep the details in train.log
        detail = traceback.format_exc()
        msg = f"the trainer crashed: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        writer.emit("error", trainer.step if trainer else None, kind="crash", message=msg)
        if (run_dir / RUN_FILE).is_file():
            with open(run_dir / LOG_FILE, "a", encoding="utf-8") as f:
                f.write(detail)
            msg += f" (details in {run_dir / LOG_FILE})"
        elif os.environ.get("ENGINE_DEBUG"):
            print(detail, file=sys.stderr)
        _say_error(msg)
        return EXIT_CRASH
    finally:
        if trainer is not None:
            trainer.close()
        writer.close()


class _HumanPrinter:
    """Readable progress for a terminal: a tqdm bar for steps, lines for everything else."""

    def __init__(self, total: int):
        self.total = total
        self.bar = None
        self.gone = False

    def __call__(self, e) -> None:
        from engine.run.humanlog import silence

        if self.gone:
            return
        try:
            self._show(e)
        except (BrokenPipeError, ValueError):  # its reader went away (`2>&1 | head`): train on, quietly
            self.gone = True
            silence(sys.stderr)

    def _show(self, e) -> None:
        from engine.run.humanlog import describe

        if e.type == "step" and not sys.stderr.isatty():
            if e.step % max(1, self.total // 20) == 0:
                print(describe(e), file=sys.stderr)
            return
        if e.type == "step":
            if self.bar is None:
                from tqdm import tqdm

                self.bar = tqdm(total=self.total, initial=max(0, e.step - 1), unit="step", file=sys.stderr,
                                dynamic_ncols=True)
            self.bar.n = e.step
            self.bar.set_postfix_str(f"loss {e.get('loss') or float('nan'):.4f}", refresh=False)
            self.bar.refresh()
            return
        line = describe(e)
        if line:
            (self.bar.write if self.bar else print)(line, file=sys.stderr)
        if e.type in ("finished", "error") and self.bar:
            self.bar.close()


# ----- corpus ------------------------------------------------------------------------------------
def cmd_prepare(args) -> int:
    from engine.config import schema as config_mod
    from engine.data.encode import prepare_corpus

    cfg = check(config_mod.load(args.config, args.set))
    given = _source_tokenizer(cfg)
    if _pair_objective(cfg):  # as training does: pairs, not a token stream of data.text_column
        from engine.data.pair_prepare import pair_report, prepare_pairs

        print("\n".join(pair_report(cfg, prepare_pairs(cfg, tokenizer=given, progress=_say_stage))))
        return 0
    corpus = prepare_corpus(cfg, tokenizer=given, progress=lambda stage, msg: print(f"[{stage}] {msg}",
                                                                                     file=sys.stderr))
    s = corpus.stats
    print(f"documents {s.documents:,}\ncharacters {s.characters:,}\nbytes {s.bytes:,}\ntokens {s.tokens:,} "
          f"({_splits_text(cfg, s)})\nvocabulary {s.vocab_size:,}")
    for step, n in s.removed.items():
        print(f"cleaning removed {n:,} ({step})")
    return 0


def _splits_text(cfg, s) -> str:
    """The sizes of the three splits as training makes them: a token stream's test split is the stretch
    before validation (engine/data/batches.py); labelled rows and pairs are held out by row after a shuffle."""
    from engine.config.schema import PAIR_OBJECTIVES

    held = cfg.data.test_fraction
    if cfg.model.objective == "classify" or cfg.model.objective in PAIR_OBJECTIVES and _pairs(cfg.data.path):
        return (f"train {s.train_tokens:,}, validation {s.val_tokens:,}; test {int(round(s.documents * held)):,} "
                f"of the {s.documents:,} rows")
    test = int(round(s.tokens * held))
    return f"train {s.train_tokens - test:,}, validation {s.val_tokens:,}, test {test:,}"


def _say_stage(stage: str, msg: str) -> None:
    print(f"[{stage}] {msg}", file=sys.stderr)


def _pair_objective(cfg) -> bool:
    """A seq2seq or instruct config on a table of pairs: prepared and tokenized as its training does."""
    from engine.config.schema import PAIR_OBJECTIVES

    return cfg.model.objective in PAIR_OBJECTIVES and _pairs(cfg.data.path)


def _pairs(path: str) -> bool:
    """A table of pairs (not plain text, which seq2seq pretrains on as one token stream)."""
    from engine.train.pair_tasks import is_table_corpus

    return is_table_corpus(path)


def cmd_tokenizer(args) -> int:
    from engine.config import schema as config_mod
    from engine.data.encode import prepare_corpus

    output_file(args.out)
    cfg = check(config_mod.load(args.config, args.set))
    given = _source_tokenizer(cfg)
    if given is None and _pair_objective(cfg):
        from engine.data.pair_prepare import prepare_pairs

        given = prepare_pairs(cfg, progress=_say_stage, split=False)
    tokenizer = given or prepare_corpus(cfg, progress=lambda stage, msg: print(f"[{stage}] {msg}",
                                                                               file=sys.stderr)).tokenizer
    tokenizer.save(args.out)
    print(f"saved a {tokenizer.kind} tokenizer of {tokenizer.vocab_size:,} tokens to {args.out}")
    return 0


def _source_tokenizer(cfg):
    """A fine-tune keeps its source's tokenizer: prepare and tokenizer use it (and say so), as training does."""
    if not cfg.finetune.source:
        return None
    from engine.train.finetune import load_source

    tok = load_source(cfg.finetune.source).tokenizer
    print(f"[tokenizer] this fine-tune keeps its source's {tok.kind} tokenizer ({tok.vocab_size:,} tokens); the "
          f"[tokenizer] section is not used", file=sys.stderr)
    return tok


def cmd_control(args) -> int:
    from engine.run.control import request
    from engine.run.folder import require_run_folder
    from engine.run.runinfo import summarize

    s = summarize(require_run_folder(args.run_dir))
    if not s.live:
        raise UserError(f"{args.run_dir} is not running (status: {s.status})")
    request(args.run_dir, args.action)
    print(f"asked {args.run_dir} to {args.action}")
    return 0


def cmd_cluster(args) -> int:
    from engine.config import schema as config_mod
    from engine.launch.slurm import ClusterPlan, write_cluster_job

    output_folder(args.out)
    cfg = check(config_mod.load(args.config, args.set))
    plan = ClusterPlan(nodes=args.nodes, gpus_per_node=args.gpus_per_node, time=args.time, partition=args.partition,
                       account=args.account)
    script = write_cluster_job(cfg, plan, Path(args.out), repo=Path(__file__).resolve().parents[1])
    print(f"wrote {script} and {script.parent / 'config.toml'}: run `sbatch {script}` on a login node; "
          f"the run appears in {script.parent / 'run'} (follow it from the studio's Runs page)")
    return 0


def cmd_demo(args) -> int:
    from engine.demo import DEMOS
    from engine.demo.runs import write_demo

    if not args.name:
        width = max(map(len, DEMOS))
        print("\n".join(f"{name:<{width}}  {what}" for name, what in DEMOS.items()))
        return 0
    corpus, config = write_demo(args.name, output_folder(args.out or args.name))
    print(f"wrote {corpus} and {config}\ntrain it with: {engine_command()} train {config}")
    return 0


def cmd_runs(args) -> int:
    from engine.core.text import human_seconds
    from engine.run.runinfo import is_run_dir, list_runs, summarize

    if not Path(args.folder).is_dir():
        raise UserError(f"{args.folder} is not a folder" if Path(args.folder).exists() else
                        f"folder not found: {args.folder}")
    runs = list_runs(args.folder)
    if not runs and is_run_dir(Path(args.folder)):  # a run's own folder, not a folder of runs: that run
        print(f"{args.folder} is a run folder:")
        runs = [summarize(Path(args.folder).absolute())]
    if not runs:
        print(f"no runs in {args.folder}")
    for r in runs:
        best = f"{r.best_val_loss:.4f}" if r.best_val_loss is not None else "-"
        scores = (f"  accuracy {r.accuracy:.1%}" if r.accuracy is not None else "") + \
            (f"  macro-F1 {r.macro_f1:.3f}" if r.macro_f1 is not None else "")
        print(f"{r.path.name:30s} {r.status:12s} step {r.step}/{r.max_steps}  best val {best}{scores}  "
              f"{human_seconds(r.duration)}")
    return 0


def _say_error(message: str, problems: list[str] | None = None) -> None:
    if problems and len(problems) > 1:  # each once, then a last line that counts them
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        message = f"{len(problems)} problems, listed above"
    print(f"error: {message}", file=sys.stderr)
