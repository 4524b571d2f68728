"""The training recipe: AdamW, warmup + cosine, clipping, label smoothing."""

import keras

from keras_tokenlearner.layers import ClassToken
from keras_tokenlearner.layers import PositionEmbedding


def no_decay_variables(model):
    """Biases, normalisation weights, position embeddings and class tokens."""
    excluded = [v for v in model.trainable_variables if len(v.shape) <= 1]
    for layer in model.layers:
        if isinstance(layer, (PositionEmbedding, ClassToken)):
            excluded += layer.trainable_variables
    return excluded


def make_optimizer(model, learning_rate, total_steps, weight_decay, warmup_fraction,
                   clip_norm, loss_scaling):
    """AdamW with decoupled weight decay on kernels only, global-norm clipping.

    The schedule warms up linearly over `warmup_fraction` of the steps, then
    decays with a cosine to zero. `loss_scaling` wraps the optimizer in a
    LossScaleOptimizer (float16 on GPU).
    """
    warmup_steps = max(1, int(warmup_fraction * total_steps))
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0,
        decay_steps=max(1, total_steps - warmup_steps),
        warmup_target=learning_rate,
        warmup_steps=warmup_steps,
    )
    optimizer = keras.optimizers.AdamW(
        learning_rate=schedule, weight_decay=weight_decay, global_clipnorm=clip_norm
    )
    optimizer.exclude_from_weight_decay(var_list=no_decay_variables(model))
    if loss_scaling:
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def make_loss(num_classes, label_smoothing):
    """Per-example cross-entropy with label smoothing, from logits."""
    crossentropy = keras.losses.CategoricalCrossentropy(
        from_logits=True, label_smoothing=label_smoothing, reduction=None
    )

    def loss(labels, logits):
        one_hot = keras.ops.one_hot(labels, num_classes)
        return crossentropy(one_hot, keras.ops.cast(logits, "float32"))  # (B,)

    return loss
