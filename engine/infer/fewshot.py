"""Few-shot evaluation of a causal or instruct run: accuracy on a task file (engine/data/fewshot_task.py) with
k examples in the prompt, for each k asked.

Multiple choice is scored as lm-evaluation-harness scores `multiple_choice`: each choice's log-likelihood is
the sum of its tokens' log-probabilities after the prompt (the pair encoded whole, the prompt's tokens cut off
the front, trailing spaces of the prompt moved to the choice); the highest wins (accuracy), and divided by the
choice's length in characters (acc_norm). A free answer is right when the greedy continuation, up to a newline
and stripped of spaces, is the answer.

An instruct run reads the whole few-shot prompt as its source, in the template it was trained with, and
answers in its response. A prompt that does not fit the model's context with its answer is refused before
anything is scored (examples are never dropped to make room: a k-shot figure always means k examples).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from engine.core.errors import UserError
from engine.core.fewshot_layout import DELIMITER
from engine.data.fewshot_task import FEWSHOT_OBJECTIVES, Task, check_enough_rows, context
from engine.data.pairs import PROMPT_TEMPLATE
from engine.infer.generate import SamplingOptions, generate_text
from engine.infer.grad_free import grad_free
from engine.infer.respond import respond


@dataclass(frozen=True)
class ShotScore:
    k: int
    accuracy: float
    acc_norm: float | None
    """Multiple choice only: the choice with the highest log-likelihood per character."""
    rows: int


@dataclass(frozen=True)
class Prompt:
    """One row asked with k examples: its context's tokens and each choice's (or the answer's) tokens after it."""

    source: str
    """The examples and the question; an instruct run reads them as its source, in its template."""
    text: str
    """What the model reads before the answer."""
    context: list[int]
    continuations: list[list[int]]


def check_fewshot_model(model, objective: str, run_name: str) -> None:
    """Only a decoder that continues text answers a prompt: a causal or an instruct run."""
    if model.config.arch != "gpt" or model.config.num_labels or objective not in FEWSHOT_OBJECTIVES:
        raise UserError(f"fewshot scores causal and instruct runs (a decoder that continues a prompt); {run_name} "
                        f"is a {objective} run")


def encode_pair(tokenizer, context_text: str, continuation: str) -> tuple[list[int], list[int]]:
    """(context ids, continuation ids) as lm-evaluation-harness splits them: the pair is encoded whole and the
    context's own ids are cut off its front, so a token that spans the boundary belongs to the continuation."""
    spaces = len(context_text) - len(context_text.rstrip())
    if spaces:
        continuation, context_text = context_text[-spaces:] + continuation, context_text[:-spaces]
    whole, ctx = tokenizer.encode(context_text + continuation), tokenizer.encode(context_text)
    return ctx, whole[len(ctx):]


def build_prompts(task: Task, tokenizer, shots: list[int], asked: int, seed: int, instruct: bool,
                  block_size: int) -> dict[int, list[Prompt]]:
    """Every prompt of the evaluation, k by k, encoded; a UserError names the first that does not fit."""
    check_enough_rows(task, shots)
    out: dict[int, list[Prompt]] = {}
    for k in shots:
        out[k] = []
        for i, row in enumerate(task.rows[:asked]):
            source = context(task, i, k, seed)
            text, delimiter = (PROMPT_TEMPLATE.format(source=source), "") if instruct else (source, DELIMITER)
            pairs = [encode_pair(tokenizer, text, delimiter + c) for c in (row.choices or (row.answer,))]
            prompt = Prompt(source, text, pairs[0][0], [cont for _, cont in pairs])
            longest = len(prompt.context) + max(map(len, prompt.continuations))
            if longest > block_size:
                raise UserError(_too_long(task, i, k, longest, block_size, [s for s in shots if s < k]))
            out[k].append(prompt)
    return out


def _too_long(task: Task, index: int, k: int, n: int, block_size: int, fitting: list[int]) -> str:
    what = "its longest choice" if task.multiple_choice else "its answer"
    fewer = f"ask for fewer shots (--shots {','.join(map(str, fitting))})" if fitting else "shorten that row"
    return (f"the {k}-shot prompt for {task.path.name} line {task.rows[index].line} with {what} is {n} tokens, more "
            f"than the {block_size} this model reads (model.block_size): {fewer}")


def loglikelihoods(model, context_ids: list[int], continuations: list[list[int]], device="cpu") -> list[float]:
    """The sum of each continuation's token log-probabilities after the context, all in one batch (padded on
    the right, where a causal model never looks)."""
    seqs = [context_ids + cont for cont in continuations]
    width = max(map(len, seqs)) - 1
    ids = torch.zeros(len(seqs), width, dtype=torch.long)
    for b, seq in enumerate(seqs):
        ids[b, : len(seq) - 1] = torch.tensor(seq[:-1])
    with grad_free(model):
        logp = torch.log_softmax(model(ids.to(device))[0].float(), dim=-1)  # (B, T, V)
    out = []
    start = len(context_ids) - 1  # the position that predicts the continuation's first token
    for b, cont in enumerate(continuations):
        positions = torch.arange(start, start + len(cont), device=logp.device)
        targets = torch.tensor(cont, device=logp.device)
        out.append(float(logp[b, positions, targets].sum()))
    return out


def first_best(scores: list[float]) -> int:
    """The index of the highest score, the first one on a tie (numpy's argmax, as lm-eval picks)."""
    return max(range(len(scores)), key=lambda i: (scores[i], -i))


def choice_scores(model, task: Task, prompts: list[Prompt], device="cpu") -> tuple[float, float]:
    """(accuracy, acc_norm) of multiple-choice rows."""
    right = right_norm = 0
    for row, prompt in zip(task.rows, prompts):
        lls = loglikelihoods(model, prompt.context, prompt.continuations, device)
        right += first_best(lls) == row.gold
        right_norm += first_best([ll / len(c) for ll, c in zip(lls, row.choices)]) == row.gold
    return right / len(prompts), right_norm / len(prompts)


def greedy_answer(model, tokenizer, prompt: Prompt, instruct: bool, device="cpu") -> str:
    """The model's greedy answer after the prompt, up to a newline (or an instruct run's end), stripped."""
    room = model.config.block_size - len(prompt.context)
    opts = SamplingOptions(max_new_tokens=min(room, len(prompt.continuations[0]) + 2), temperature=0, seed=0,
                           stop=["\n"])
    if instruct:
        text = respond(model, tokenizer, prompt.source, opts, device=device).split("\n", 1)[0]
    else:
        text = generate_text(model, tokenizer, prompt.text, opts, device=device)
    return text.strip()


def exact_scores(model, tokenizer, task: Task, prompts: list[Prompt], instruct: bool, device="cpu") -> float:
    """The share of free-answer rows whose greedy answer is the answer."""
    right = sum(greedy_answer(model, tokenizer, prompt, instruct, device) == row.answer.strip()
                for row, prompt in zip(task.rows, prompts))
    return right / len(prompts)


def evaluate_fewshot(model, tokenizer, task: Task, shots: list[int], *, seed: int, limit: int | None = None,
                     instruct: bool = False, device="cpu", say: Callable[[str], None] | None = None) -> list[ShotScore]:
    """Accuracy with k examples for each k of `shots`, over the first `limit` rows (all by default); examples are
    drawn from all the file's other rows. Every prompt is checked against the context before any is scored."""
    asked = min(limit or len(task.rows), len(task.rows))
    prompts = build_prompts(task, tokenizer, shots, asked, seed, instruct, model.config.block_size)
    model.eval()
    out = []
    for k in shots:
        if task.multiple_choice:
            acc, norm = choice_scores(model, task, prompts[k], device)
        else:
            acc, norm = exact_scores(model, tokenizer, task, prompts[k], instruct, device), None
        out.append(ShotScore(k, acc, norm, asked))
        if say:
            say(f"{k} shot{'' if k == 1 else 's'}: {acc:.1%} of {asked} rows")
    return out
