"""The command line's training commands: train, resume, prepare, tokenizer and eval (a checkpoint measured
by its task). COMMANDS registers them (engine/core/commands.py)."""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path

from engine.config import schema as config_mod
from engine.config.schema import PAIR_OBJECTIVES
from engine.core.commands import CHECKPOINT_HELP, EXIT_CRASH, EXIT_FAULT, SET_METAVAR, Command, output_flags, say_error
from engine.core.errors import ConfigError, UserError
from engine.core.paths import output_file
from engine.core.text import human_seconds
from engine.core.tomlio import write_atomic
from engine.launch.local import launch_local, local_plan, under_launcher
from engine.plan.budget import STEP_CAP
from engine.plan.preflight import check
from engine.run.events import EventWriter
from engine.run.folder import LOG_FILE, RUN_FILE, checkpoints, require_run_folder
from engine.run.humanlog import describe, silence
from engine.run.runinfo import summarize


def cmd_eval(args) -> int:
    from engine.model.load import load_announced  # here, not at the top: the CLI starts without torch
    from engine.train.evaluate import evaluate_checkpoint

    if args.batches < 1:
        raise UserError("--batches must be at least 1")
    split = getattr(args, "split", "validation")
    if split == "test" and (Path(args.run_dir) / RUN_FILE).is_file():  # refused before any model is loaded
        held = config_mod.load(Path(args.run_dir) / RUN_FILE).data.test_fraction
        if not held:
            raise UserError(f"{Path(args.run_dir).name} has no test split (data.test_fraction = 0): score "
                            f"--split validation, or train with a test_fraction to hold one out")
    model, tokenizer, path = load_announced(args)
    cfg = config_mod.load(Path(args.run_dir) / RUN_FILE)
    m = evaluate_checkpoint(cfg, model, tokenizer, batches=args.batches, split=split)
    if not abs(m["loss"]) < float("inf"):  # NaN or inf: huge weights overflow; not a score to report
        raise UserError(f"{path.name}'s {split} loss is {m['loss']}: the run had diverged when it was saved; "
                        f"evaluate an earlier checkpoint (--checkpoint)")
    parts = [f"{split} loss {m['loss']:.4f}"]
    if cfg.model.objective == "causal":
        parts.append(f"perplexity {m['ppl']:.2f}")
    names = {"accuracy": {"masked": "masked-token accuracy", "seq2seq": "token accuracy",
                          "instruct": "token accuracy", "tag": "word accuracy"}.get(cfg.model.objective, "accuracy"),
             "nsp_accuracy": "next-sentence accuracy", "macro_f1": "macro-F1", "exact_match": "exact match",
             "entity_precision": "entity precision", "entity_recall": "entity recall", "entity_f1": "entity F1",
             "f1": "F1"}
    parts += [f"{text} {m[key]:.1%}" for key, text in names.items() if key in m]
    parts += [f"{text} {m[key]:.1f}" for key, text in (("bleu", "BLEU"), ("chrf", "chrF")) if key in m]
    parts += [f"ROUGE-L {m['rouge_l']:.3f}"] if "rouge_l" in m else []
    over = (f"every {split} example" if cfg.model.objective in ("classify", "tag") else
            f"every {split} question" if cfg.model.objective == "span" else
            "every test pair, each target written" if cfg.model.objective in PAIR_OBJECTIVES and split == "test"
            and "exact_match" in m else
            f"up to {args.batches} batches of {cfg.train.batch_size} pairs, {cfg.task.metric_samples} targets written"
            if cfg.model.objective in PAIR_OBJECTIVES and "exact_match" in m else
            f"{args.batches} batches of {cfg.train.batch_size}x{cfg.model.block_size} tokens")
    print(f"{path.name}: " + ", ".join(parts) + f" ({over})")
    return 0


# ----- training ----------------------------------------------------------------------------------
def cmd_train(args) -> int:
    from engine.data.corpus_check import corpus_problems  # here, not at the top: the CLI starts without numpy

    cfg = config_mod.load(args.config, args.set)
    check(cfg)
    if problems := corpus_problems(cfg):  # before any folder or process exists
        raise ConfigError(problems)
    return _launch_or_train(cfg, args, Path(cfg.train.out_dir), resume=False)


def _launch_or_train(cfg, args, run_dir: Path, *, resume: bool) -> int:
    """Several processes: start them here (this process only waits); one: train in this process."""
    n, visible = local_plan(cfg.train.device, cfg.train.processes)
    if n > 1 and not under_launcher():
        if visible is not None:
            import torch  # here, not at the top: the CLI starts without torch

            have = torch.cuda.device_count()
            if max(int(g) for g in visible.split(",")) >= have:
                raise UserError(f"train.device = {cfg.train.device!r} but this machine has {have} CUDA GPU(s)")
        return launch_local(args.argv, n, visible)
    return _run_trainer(cfg, run_dir, resume=resume, events=args.events, started=getattr(args, "started", None))


def cmd_resume(args) -> int:
    run_dir = require_run_folder(args.run_dir)
    if not (run_dir / RUN_FILE).is_file():
        raise UserError(f"{run_dir} is not a run folder (no {RUN_FILE})")
    cfg = config_mod.load(run_dir / RUN_FILE)
    cfg.train.out_dir = str(run_dir)
    done = max((step for _, step, _ in checkpoints(run_dir)), default=0)
    spent = bool(cfg.train.time_budget) and summarize(run_dir).status == "finished"  # a budget's run ends by time
    if args.max_steps is None and (done >= cfg.train.max_steps or spent):
        ended = f"spent its time budget of {human_seconds(cfg.train.time_budget)}" if spent else \
            f"finished its {cfg.train.max_steps} steps"
        raise UserError(f"{run_dir.name} has {ended}: there is nothing to resume. To train it longer give "
                        f"--max-steps N with N above {done}")
    if args.max_steps is not None:
        if args.max_steps < 1:
            raise UserError("--max-steps must be at least 1")
        if args.max_steps <= done:
            raise UserError(f"--max-steps {args.max_steps} is not beyond step {done}, where {run_dir.name}'s newest "
                            f"checkpoint is: give more steps to extend it")
        if spent:  # steps from here, not time (the budget would end it at once); it warmed up by time already
            cfg.train.time_budget, cfg.train.decay_steps, cfg.train.warmup_steps = 0.0, done, 0
            if not _under_launcher_worker():
                print(f"extending to {args.max_steps} steps at the final learning rate {cfg.train.min_lr:g}, without "
                      f"the time budget it spent", file=sys.stderr)
        elif done >= cfg.train.max_steps and not cfg.train.decay_steps:  # "train longer" keeps the final rate
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


def _run_trainer(cfg, run_dir: Path, *, resume: bool, events: bool | None, started: float | None = None) -> int:
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
        import torch  # here, not at the top: the CLI starts without torch

        from engine.train.recovery import TrainingStopped
        from engine.train.trainer import Trainer

        trainer = Trainer(cfg, events=writer, run_dir=run_dir, resume=resume, started=started)
        trainer.setup()
        reason = trainer.fit()
        test = trainer.task.evaluate_test(trainer.model)  # all ranks; None: no test split
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
        say_error(str(e))
        return EXIT_FAULT
    except torch.OutOfMemoryError:
        b, a = cfg.train.batch_size, cfg.train.grad_accum
        hint = (f"try train.batch_size = {max(1, b // 2)} with train.grad_accum = {a * 2} (same global batch)"
                if b > 1 else "use a smaller model or context")
        msg = f"out of memory on {cfg.train.device} at batch_size {b}: {hint}"
        writer.emit("error", trainer.step if trainer else None, kind="oom", message=msg,
                    batch_size=max(1, b // 2), grad_accum=a * 2)
        say_error(msg)
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
        say_error(msg)
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
        if self.gone:
            return
        try:
            self._show(e)
        except (BrokenPipeError, ValueError):  # its reader went away (`2>&1 | head`): train on, quietly
            self.gone = True
            silence(sys.stderr)

    def _show(self, e) -> None:
        if e.type == "started" and e.get("budget"):  # the bar counts the steps the dial expects, not its cap
            self.total = max(1, e.get("config")["train"]["max_steps"] // STEP_CAP)
        if e.type == "step" and not sys.stderr.isatty():
            if e.step % max(1, self.total // 20) == 0:
                print(describe(e), file=sys.stderr)
            return
        if e.type == "step":
            if self.bar is None:
                from tqdm import tqdm  # here, not at the top: only a terminal's progress bar needs tqdm

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
    from engine.data.encode import prepare_corpus  # here, not at the top: the CLI starts without numpy

    cfg = check(config_mod.load(args.config, args.set))
    given = _source_tokenizer(cfg)
    if _pair_objective(cfg):  # as training does: pairs, not a token stream of data.text_column
        from engine.data.pair_prepare import pair_report, prepare_pairs  # the CLI starts without numpy

        print("\n".join(pair_report(cfg, prepare_pairs(cfg, tokenizer=given, progress=_say_stage))))
        return 0
    if cfg.model.objective == "tag":  # as training does: tagged sentences, their words tokenized
        from engine.data.tagged import read_tagged, tag_report, tag_tokenizer  # the CLI starts without numpy

        sentences = read_tagged(cfg.data.path, cfg.data.encoding)
        print("\n".join(tag_report(cfg, sentences, given or tag_tokenizer(cfg, sentences, _say_stage))))
        return 0
    if cfg.model.objective == "span":  # as training does: questions on contexts, in windows
        from engine.data.span_examples import read_span_examples  # the CLI starts without numpy
        from engine.data.span_windows import span_report, span_tokenizer

        examples = read_span_examples(cfg.data.path)
        print("\n".join(span_report(cfg, examples, given or span_tokenizer(cfg, examples, _say_stage))))
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
    return cfg.model.objective in PAIR_OBJECTIVES and _pairs(cfg.data.path)


def _pairs(path: str) -> bool:
    """A table of pairs (not plain text, which seq2seq pretrains on as one token stream)."""
    from engine.train.pair_tasks import is_table_corpus  # here, not at the top: the CLI starts without torch

    return is_table_corpus(path)


def cmd_tokenizer(args) -> int:
    from engine.data.encode import prepare_corpus  # here, not at the top: the CLI starts without numpy

    output_file(args.out)
    cfg = check(config_mod.load(args.config, args.set))
    given = _source_tokenizer(cfg)
    if given is None and _pair_objective(cfg):
        from engine.data.pair_prepare import prepare_pairs  # here, not at the top: the CLI starts without numpy

        given = prepare_pairs(cfg, progress=_say_stage, split=False)
    if given is None and cfg.model.objective == "tag":  # trained on the sentences, never on their tags
        from engine.data.tagged import read_tagged, tag_tokenizer  # here, not at the top: the CLI starts without numpy

        given = tag_tokenizer(cfg, read_tagged(cfg.data.path, cfg.data.encoding), _say_stage)
    if given is None and cfg.model.objective == "span":  # trained on the contexts and questions
        from engine.data.span_examples import read_span_examples  # the CLI starts without numpy
        from engine.data.span_windows import span_tokenizer

        given = span_tokenizer(cfg, read_span_examples(cfg.data.path), _say_stage)
    tokenizer = given or prepare_corpus(cfg, progress=lambda stage, msg: print(f"[{stage}] {msg}",
                                                                               file=sys.stderr)).tokenizer
    tokenizer.save(args.out)
    print(f"saved a {tokenizer.kind} tokenizer of {tokenizer.vocab_size:,} tokens to {args.out}")
    return 0


def _source_tokenizer(cfg):
    """A fine-tune keeps its source's tokenizer: prepare and tokenizer use it (and say so), as training does."""
    if not cfg.finetune.source:
        return None
    from engine.train.finetune import load_source  # here, not at the top: the CLI starts without torch

    tok = load_source(cfg.finetune.source).tokenizer
    print(f"[tokenizer] this fine-tune keeps its source's {tok.kind} tokenizer ({tok.vocab_size:,} tokens); the "
          f"[tokenizer] section is not used", file=sys.stderr)
    return tok


def _train_arguments(sp) -> None:
    sp.add_argument("config", help="the run config (TOML)")
    sp.add_argument("--set", action="append", default=[], metavar=SET_METAVAR, help="override a value")
    output_flags(sp)


def _resume_arguments(sp) -> None:
    sp.add_argument("run_dir")
    sp.add_argument("--max-steps", type=int, help="train to this many steps in all (extends a finished run)")
    output_flags(sp)


def _prepare_arguments(sp) -> None:
    sp.add_argument("config")
    sp.add_argument("--set", action="append", default=[], metavar=SET_METAVAR)


def _tokenizer_arguments(sp) -> None:
    sp.add_argument("config")
    sp.add_argument("--out", default="tokenizer.json")
    sp.add_argument("--set", action="append", default=[], metavar=SET_METAVAR)


def _eval_arguments(sp) -> None:
    sp.add_argument("run_dir")
    sp.add_argument("--checkpoint", help=CHECKPOINT_HELP)
    sp.add_argument("--batches", type=int, default=50)
    sp.add_argument("--split", choices=("validation", "test"), default="validation",
                    help="which held-out split to score (test: a run with data.test_fraction)")


COMMANDS = [
    Command("train", cmd_train, "train a model from a run config", _train_arguments),
    Command("resume", cmd_resume, "continue a run from its last checkpoint (or extend a finished one)",
            _resume_arguments),
    Command("prepare", cmd_prepare, "load, clean, tokenize and encode a config's corpus; print statistics",
            _prepare_arguments),
    Command("tokenizer", cmd_tokenizer, "train the config's tokenizer and save it as tokenizer.json",
            _tokenizer_arguments),
    Command("eval", cmd_eval, "a checkpoint's validation metrics: loss, perplexity, accuracy, macro-F1 "
            "(by objective)", _eval_arguments),
]
