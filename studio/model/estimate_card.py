"""The Model page's estimate card: what a run of the designed shape takes (parameters, FLOPs, memory, time) and
what that estimate assumes, counted from FLOPs or measured on this machine (engine/plan/estimate.py)."""

from __future__ import annotations

from engine.config import schema as C
from engine.core.text import human_bytes, human_count, human_seconds
from engine.plan.estimate import Estimate, trainable_parameters
from studio.widgets.cards import Card

ROWS = [("params", "Parameters"), ("trainable", "Trained"), ("flops", "FLOPs per token"), ("memory", "Memory"),
        ("step", "Time per step"), ("tokens", "Tokens seen"), ("total", "Total time"), ("device", "Device"),
        ("assumes", "Assuming")]
SHAPE_ROWS = [key for key, _ in ROWS if key != "device"]
"""The rows a shape the engine would refuse leaves blank."""
MEASURE_TIP = ("Time three real training steps of this shape here (a few seconds), so the times and memory above "
               "are measured, not counted from FLOPs and a formula; remembered for this shape. Measure again when "
               "the machine was busy the first time")


def estimate_card() -> Card:
    card = Card("Estimate", ROWS)
    for key in ("params", "assumes", "tokens", "total"):  # sentences: a head not counted yet, a time budget
        card.values[key].setWordWrap(True)
    return card


def show_estimate(card: Card, cfg: C.RunConfig, e: Estimate, device, measured: dict | None, approx: str, *,
                  under_load: bool = False, head_note: str = "", budget=None) -> None:
    """Fill the shape's rows; `approx` ("≈ " or "") marks counts made from a guessed vocabulary; `under_load`: the
    measured figures were taken while a run trained here; `head_note`: why a classifier's label head is not
    counted yet (the parameters are then approximate too); `budget`: a time budget's choices
    (studio/state/budget.py), whose run takes the budget, not its steps' time."""
    matmuls = ("all in matmuls: the token embedding is also the output head" if e.matmul_params ==
               e.params else f"{human_count(e.matmul_params)} in matmuls")
    approx = approx or ("≈ " if head_note else "")
    card.set("params", f"{approx}{human_count(e.params)} ({matmuls}{'; ' + head_note if head_note else ''})")
    trained = trainable_parameters(cfg, e.params)
    card.set("trainable", "all" if trained == e.params else
             f"{approx}{human_count(trained)} ({trained / e.params:.2%}: LoRA adapters"
             f"{' and the head' if cfg.model.objective == 'classify' else ''})")
    card.set("flops", f"{human_count(e.flops_per_token)}FLOP")
    peak = "; the peak of three steps here" if measured and measured.get("memory_bytes") else ""
    card.set("memory", f"{human_bytes(e.memory_bytes)} (batch of {cfg.train.batch_size}{peak})")
    # pairs are padded to the batch's longest, not to the context: their figures are the most it takes
    about = "at most " if cfg.model.objective in C.PAIR_OBJECTIVES else "≈ "
    full = (" at full length" if about == "at most " else "") + ("; measured here" if measured else "") + (
        ", under load" if measured and under_load else "")
    card.set("step", f"{about}{human_seconds(e.seconds_per_step)} ({e.tokens_per_step:,} tokens{full})")
    card.set("tokens", human_count(e.tokens_total))
    card.set("total", f"{about}{human_seconds(e.seconds_total)}" + (
        f" (evaluations {human_seconds(e.seconds_evaluating)})" if e.seconds_evaluating else ""))
    card.set("assumes", assumptions(device, cfg, measured is not None, under_load=under_load))
    if budget is not None and budget.choices:
        card.set("tokens", f"≈ {budget.choices['expected']['value']} in the budget")
        card.set("total", f"{human_seconds(budget.seconds)}: the time budget (the run ends by then, its evaluations "
                          f"included)")


def blank_estimate(card: Card) -> None:
    for key in SHAPE_ROWS:
        card.set(key, "–")


def assumptions(device, cfg: C.RunConfig, measured: bool = False, *, under_load: bool = False) -> str:
    """What the time estimate takes for granted, so a slower run is no surprise."""
    from engine.plan.estimate import CPU_FP8_SLOWDOWN, DEFAULT_EFFICIENCY

    share = DEFAULT_EFFICIENCY.get(device.type, 0.35)
    speed = ("a step, a forward pass and a sampled token as timed on this machine (three real steps of this shape)"
             if measured else f"{share:.0%} of the {device.type.upper()}'s peak {human_count(device.peak_flops)}FLOP/s")
    if not measured and device.type == "cpu" and cfg.train.precision == "fp8":
        speed += f", {CPU_FP8_SLOWDOWN:g}x for fp8's emulated matmuls"
    machine = ("a machine that was training another run meanwhile (taken under load: Measure again once it has "
               "finished)" if measured and under_load else "an otherwise idle machine")
    return (f"{speed}, {machine}; the total counts evaluations every {cfg.train.eval_interval:,} "
            f"steps, samples and start-up, not preparing the corpus. The Train page shows the measured speed.")
