"""Prints XLA's FLOP count for one zoo model, measured on the JAX backend.

Usage: KERAS_BACKEND=jax python -m tests.models.xla_flops NAME '{"override": ...}'
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
    print(xla_flops(sys.argv[1], json.loads(sys.argv[2])))
