"""Which fields of the Model page's form the user changed since the form was last put in place (the demo, a
loaded file, a run's config) or kept (saved, trained, queued): what a replacement would lose."""

from __future__ import annotations

import json

from studio.model.form_words import FORM_LABELS

NAME = "meta.name"


def flat(cfg) -> dict[str, object]:
    """A run config as {"section.key": value} (JSON values, so a stored copy compares equal)."""
    data = json.loads(json.dumps(cfg.to_dict(), default=str))
    return {f"{section}.{key}": value for section, values in data.items() if isinstance(values, dict)
            for key, value in values.items() if f"{section}.{key}" != "meta.format"}


def edited(now: dict, kept: dict) -> list[str]:
    """The keys whose value differs between the form now and as it was kept, in the form's order."""
    order = {key: i for i, key in enumerate([NAME, *FORM_LABELS])}
    keys = [k for k in now.keys() | kept.keys() if now.get(k) != kept.get(k)]
    return sorted(keys, key=lambda k: (order.get(k, len(order)), k))


def edits_text(keys: list[str], most: int = 3) -> str:
    """The edited fields in the form's words: "Layers, Heads and 2 more fields"."""
    names = ["Run name" if k == NAME else FORM_LABELS.get(k, k) for k in keys]
    if len(names) <= most:
        return " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
    rest = len(names) - most
    return f"{', '.join(names[:most])} and {rest} more field{'s' if rest > 1 else ''}"


class KeptForm:
    """The form as it was last put in place (the demo, a file, a run's config, a preset's fields) or kept (saved,
    trained, queued): whatever differs from it now are the user's edits, which nothing replaces unasked."""

    def __init__(self, read):
        self.read = read
        """() -> the RunConfig the form shows now."""
        self.values: dict[str, object] = {}
        self.mark()

    def edited(self) -> list[str]:
        """The fields (flat keys, "model.n_layer") changed since the form was put in place or kept."""
        return edited(flat(self.read()), self.values)

    def mark(self, keys: list[str] | None = None) -> None:
        """The form as it is now counts as kept; `keys`: only those fields."""
        now = flat(self.read())
        if keys is None:
            self.values = now
        else:
            self.values.update({k: now.get(k) for k in keys})

    def restore(self, values) -> None:
        """The form as it was kept before the studio closed (edits not saved then are still unsaved)."""
        if isinstance(values, dict):
            self.values = dict(values)
        else:
            self.mark()
