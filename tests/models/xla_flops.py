"""Prints XLA's FLOP counts for zoo models, measured on the JAX backend.

Usage: KERAS_BACKEND=jax python -m tests.models.xla_flops '{"NAME": {"override": ...}, ...}'
prints one JSON line, {"NAME": flops, ...}: one process for every model, so
JAX is imported once.
XLA's cost analysis counts every HLO op: 2 per multiply-add, plus the
elementwise work (softmax, GELU, LayerNorm) that the analytic count leaves out.
"""

import json
import sys

import jax
import jax.numpy as jnp

import keras_tokenlearner as ktl


def xla_flops(name, overrides):
    model = ktl.create_model(name, **overrides)
    trainable = [variable.value for variable in model.trainable_variables]
    non_trainable = [variable.value for variable in model.non_trainable_variables]
    inputs = jnp.zeros((1,) + tuple(model.input.shape[1:]))

    def forward(trainable, non_trainable, inputs):
        return model.stateless_call(trainable, non_trainable, inputs)[0]

    compiled = jax.jit(forward).lower(trainable, non_trainable, inputs).compile()
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    return cost["flops"]


if __name__ == "__main__":
    models = json.loads(sys.argv[1])
    print(json.dumps({name: xla_flops(name, overrides) for name, overrides in models.items()}))
