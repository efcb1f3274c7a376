"""Deliberately broken copies of the port, one plausible porting bug each: the gate and the
golden vectors must fail on every one (tests/test_torch_port.py)."""

import torch

from torch_port import layers


class TemperatureSoftmaxDividingBeforeTheShift(layers.TemperatureSoftmax):
    """Bug: ``softmax(x / T)`` computed as ``exp(x / T - max(x / T))`` with the max taken of the
    raw logits: the shift is in the wrong units, and ``x / T`` overflows at extreme logits."""

    def forward(self, inputs):
        temperature = torch.clamp(self.temperature, min=self.min_temperature)
        x = inputs.to(self.dtype)
        z = x / temperature - x.max(dim=-1, keepdim=True).values.detach()
        return torch.exp(z) / torch.exp(z).sum(dim=-1, keepdim=True)


class NonNegativeProjectionWithAbs(layers.NonNegativeProjection):
    """Bug: ``abs`` for ``relu``: negative pre-activations give positive coefficients."""

    def coefficients(self, inputs):
        if not self.built:
            self.build(tuple(inputs.shape))
        return torch.abs(inputs.to(self.dtype) @ self.projection_weights)


class MemoryCellLayerForgettingItsState(layers.MemoryCellLayer):
    """Bug: the state is not kept: every call starts from zeros (the first call is right)."""

    def forward(self, inputs):
        outputs = super().forward(inputs)
        self.state = torch.zeros_like(self.state)
        return outputs
