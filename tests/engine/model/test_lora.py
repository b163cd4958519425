"""LoRA (engine/model/lora.py): adapters train alone, merge without changing the outputs."""

import pytest
import torch

from engine.core.errors import UserError
from engine.model.build import build_model
from engine.model.lora import LoRALinear, apply_lora, count_trainable, merge_lora
from tests.helpers import small


@pytest.mark.parametrize("arch", ["gpt", "bert"])
def test_lora_trains_only_adapters_and_merging_keeps_the_outputs(arch):
    torch.manual_seed(0)
    model = build_model(small(arch=arch))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    n = apply_lora(model, targets=["attention", "mlp_out"], rank=4, alpha=8, dropout=0.0)
    assert n == 4
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in name for name in trainable)
    assert count_trainable(model) == sum(4 * (m.in_features + m.out_features) for m in model.modules()
                                         if isinstance(m, LoRALinear))
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    x = torch.randint(0, 50, (3, 16))
    for _ in range(3):
        _, loss = model(x, torch.randint(0, 50, (3, 16)))
        loss.backward()
        opt.step()
        opt.zero_grad()
    for name, p in model.named_parameters():
        if "lora_" not in name:
            assert torch.equal(p, before[name]), f"{name} is frozen"
    assert any(m.lora_B.abs().sum() > 0 for m in model.modules() if isinstance(m, LoRALinear))
    model.eval()
    with torch.no_grad():
        adapted = model(x)[0]
        merge_lora(model)
        merged = model(x)[0]
    assert not any(isinstance(m, LoRALinear) for m in model.modules())
    assert torch.allclose(adapted, merged, atol=1e-5)


def test_lora_keeps_a_new_classifier_head_trainable_and_refuses_unknown_targets():
    model = build_model(small(num_labels=3))
    apply_lora(model, targets=["attention"], rank=2, alpha=4, dropout=0.1)
    assert model.classifier.weight.requires_grad
    with pytest.raises(UserError, match="unknown bogus"):
        apply_lora(build_model(small()), targets=["bogus"], rank=2, alpha=4, dropout=0.0)
