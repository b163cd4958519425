"""The trainer's side of interventions: before each step, those due (the config's, and those asked for live
through the control file) are applied, recorded as `intervention` events, and a live one is written into the
run's run.toml as a `[[train.interventions]]` entry at its step, so a resume holds it again and a rerun of the
config makes it at the same step."""

from __future__ import annotations

from functools import cached_property

from engine.config.interventions import ACTIONS
from engine.core.errors import UserError
from engine.core.tomlio import dumps_toml, read_toml, write_atomic
from engine.run.folder import RUN_FILE
from engine.train.interventions import Interventions, parts


class Intervening:
    """Mixed into the Trainer: its model, optimizer, config, control channel, run folder and events are used."""

    @cached_property
    def interventions(self) -> Interventions:
        return Interventions(self.model, self.optimizer, self.cfg.train.interventions, seed=self.cfg.train.seed)

    def intervene(self) -> None:
        """Before the step after `self.step`: the live requests recorded, then every intervention due applied."""
        live = [self._record(r) for r in self.control.take_interventions() if self._acceptable(r)]
        for entry in self.interventions.due(self.step):
            said = self.interventions.apply(entry)
            source = "live" if any(entry is e for e in live) else "config"
            self.events.emit("intervention", self.step, action=entry["action"], target=entry["target"],
                             source=source, message=f"{said} at step {self.step}" + (
                                 " (asked for live; recorded in run.toml)" if source == "live" else ""))

    def _acceptable(self, request: dict) -> bool:
        """A live request the model can take; another is refused in a warning (the CLI checks before sending)."""
        action, target = request.get("action"), str(request.get("target"))
        why = None
        if action not in ACTIONS:
            why = f"unknown intervention {action!r}"
        elif self.dist.enabled:
            why = ("live interventions need a single-process run: add it to run.toml's [[train.interventions]] "
                   "and resume")
        else:
            try:
                parts(self.model, target, action)
            except UserError as e:
                why = str(e)
        if why:
            self.events.emit("warning", self.step, kind="intervention", message=f"{action} {target} refused: {why}")
        return why is None

    def _record(self, request: dict) -> dict:
        """The request as an entry at this step, in the plan and in run.toml (the rest of the file as it was)."""
        entry = {"step": self.step, "action": request["action"], "target": request["target"]}
        self.interventions.plan.append(entry)
        path = self.run_dir / RUN_FILE
        data = read_toml(path)
        data.setdefault("train", {}).setdefault("interventions", []).append(dict(entry))
        write_atomic(path, dumps_toml(data))
        return entry
