"""What the trainer records besides losses: the probe text's attention maps and the heads' scores."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from engine.core.tomlio import write_atomic
from engine.model.hooks import attention_patterns
from engine.probes.concept_watch import ConceptWatch
from engine.probes.embeddings import MAP_TOKENS, align, pca_2d
from engine.probes.head_scores import head_scores, top_head
from engine.probes.phase_change import find_phase_change
from engine.run.events import read_events
from engine.run.folder import EVENTS_FILE


def probe_ids(tokenizer, probe_text: str, val_tokens: np.ndarray, block_size: int) -> list[int]:
    """The probe text's tokens, or else the first 64 validation tokens."""
    if probe_text:
        return tokenizer.encode(probe_text)[:block_size]
    return [int(t) for t in val_tokens[: min(64, block_size)]]


def record_attention(model, tokenizer, ids: list[int], run_dir: Path | None, step: int) -> Path | None:
    """Save attention/step-NNNNNN.npy, (layers, heads, T, T) float16, and the tokens once; with no
    run_dir only compute (the other ranks of a sharded model join the forward pass)."""
    if not ids:
        return None
    device = next(model.parameters()).device
    _, maps = attention_patterns(model, torch.tensor([ids], device=device))  # gives the model its mode back
    if run_dir is None:
        return None
    arr = torch.stack([m[0] for m in maps]).float().cpu().numpy().astype(np.float16)
    folder = Path(run_dir) / "attention"
    folder.mkdir(exist_ok=True)
    if not (folder / "tokens.json").exists():
        write_atomic(folder / "tokens.json", json.dumps({"ids": ids, "tokens": tokenizer.token_strings(ids)}))
    path = folder / f"step-{step:06d}.npy"
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        np.save(f, arr)
    os.replace(tmp, path)
    return path


class HeadWatch:
    """Head scores at every evaluation, and the induction phase change they show so far.

    The phase change is re-found after each evaluation from the whole history (a resumed run reads
    its earlier evaluations back); `observe` returns the event's fields when the marked step moves.
    """

    def __init__(self, ids: np.ndarray, run_dir: Path | None = None, *, seed: int = 0):
        self.ids, self.seed = ids, seed
        self.steps: list[int] = []
        self.tops: list[float] = []
        self.marked: int | None = None
        events = Path(run_dir) / EVENTS_FILE if run_dir else None
        if events is not None and events.exists():
            for e in read_events(events):
                if e.type == "eval" and e.get("head_scores"):
                    self._remember(e.step, e["head_scores"])
                elif e.type == "phase_change":
                    self.marked = e.step

    def scores(self, model) -> dict:
        return head_scores(model, self.ids, seed=self.seed)

    def _remember(self, step: int, scores: dict) -> None:
        if self.steps and step <= self.steps[-1]:  # a rolled-back or resumed stretch: keep the newer values
            keep = [i for i, s in enumerate(self.steps) if s < step]
            self.steps, self.tops = [self.steps[i] for i in keep], [self.tops[i] for i in keep]
        self.steps.append(step)
        self.tops.append(top_head(scores)[0])

    def observe(self, step: int, scores: dict) -> dict | None:
        self._remember(step, scores)
        found = find_phase_change(self.steps, self.tops)
        if found is None or found["step"] == self.marked:
            return None
        self.marked = found["step"]
        _, layer, head = top_head(scores)
        return {"step": found["step"], "score_before": round(found["before"], 4),
                "score_after": round(found["after"], 4), "layer": layer, "head": head}

    def at_eval(self, model, step: int) -> tuple[dict, dict | None]:
        """The eval event's `head_scores` field, and a phase change's fields when one is newly marked."""
        scores = self.scores(model)
        return {"head_scores": scores}, self.observe(step, scores)


class EmbeddingTrail:
    """The token embeddings' 2-D map at every evaluation: embeddings/step-NNNNNN.npy, (N, 2) float32,
    each aligned to the one before, with the tokens once in embeddings/tokens.json."""

    def __init__(self, tokenizer, run_dir: Path):
        self.folder = Path(run_dir) / "embeddings"
        self.ids = tokenizer.ordinary_ids()[:MAP_TOKENS]
        self.tokenizer = tokenizer
        done = sorted(self.folder.glob("step-*.npy")) if self.folder.is_dir() else []
        self.previous = np.load(done[-1]) if done else None

    @torch.no_grad()
    def record(self, model, step: int) -> None:
        weights = model.wte.weight
        ids = self.ids[self.ids < weights.size(0)]
        points = align(pca_2d(weights[torch.from_numpy(ids).to(weights.device)].float().cpu().numpy()),
                       self.previous)
        self.folder.mkdir(exist_ok=True)
        if not (self.folder / "tokens.json").exists():
            write_atomic(self.folder / "tokens.json", json.dumps(
                {"ids": ids.tolist(), "tokens": self.tokenizer.token_strings(ids.tolist())}, ensure_ascii=False))
        path = self.folder / f"step-{step:06d}.npy"
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as f:
            np.save(f, points)
        os.replace(tmp, path)
        self.previous = points


class Probes:
    """What the trainer measures of the model at each evaluation besides its losses."""

    def __init__(self, tokenizer, run_dir: Path, *, resume: bool, seed: int, concept_regex: str = ""):
        self.tokenizer, self.run_dir = tokenizer, Path(run_dir)
        self.heads = HeadWatch(tokenizer.ordinary_ids(), self.run_dir if resume else None, seed=seed)
        self.embeddings = EmbeddingTrail(tokenizer, self.run_dir)
        self.concept = ConceptWatch(concept_regex, self.run_dir) if concept_regex else None

    def at_eval(self, model, step: int, *, join: bool) -> tuple[dict, dict | None]:
        """The eval event's head scores (and the concept's accuracy per layer, where one is watched) and a newly
        marked phase change; ({}, None) where this process does not take part."""
        if not join or model.config.arch == "t5":  # head scores read a decoder or an encoder alone
            return {}, None
        scores, phase = self.heads.at_eval(model, step)
        return scores | (self.concept.at_eval(model) if self.concept else {}), phase

    def record(self, model, ids: list[int], step: int, *, main: bool, sharded: bool) -> Path | None:
        """The attention maps of `ids` and the embedding map; every rank of a sharded model joins in,
        the main process writes."""
        path = record_attention(model, self.tokenizer, ids, self.run_dir if main else None, step)
        if path is not None and not sharded:
            self.embeddings.record(model, step)
        return path
