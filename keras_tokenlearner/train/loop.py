"""The trainer: a tf.distribute loop with an XLA-compiled per-replica step.

Keras 3's `fit` fails with `jit_compile=True` under MirroredStrategy over
several devices (keras#19005) and does not support
MultiWorkerMirroredStrategy at all (keras#20585). This loop works in both:

* the host reads global batches from one plain tf.data iterator (no
  tf.distribute input pipeline, see `inputs`), and replica k of R takes
  examples [k * n // R, (k + 1) * n // R) of each batch of n, so a partial
  last batch splits as evenly as it can;
* each replica computes its loss (scaled by the GLOBAL batch's size, n)
  and its gradients in a `tf.function(jit_compile=True)`;
* the per-replica gradients are summed across replicas with
  `strategy.reduce`, in cross-replica context;
* the optimizer applies the summed gradients there, so its global-norm
  clipping sees the same gradients a single device would (Keras's optimizer
  clips before its own all-reduce when called per replica);
* replica k draws its dropout masks from the seed-generator states offset by
  k (`replica_values`), so replicas do not repeat each other's masks, and
  the states they write back are the same on every replica.
"""

import tensorflow as tf

from keras_tokenlearner.train import strategies

REPLICA_SEED_STRIDE = 1_000_003  # a prime: replica k's seeds are [seed + k * stride, counter]
SEED_STATE_NAME = "seed_generator_state"  # Keras's SeedGenerator variable (dropout)


class TrainingError(RuntimeError):
    """Training cannot go on (e.g. a NaN loss); the message says why."""


def _values(variables):
    """Tensors of the local replica's copies: XLA never touches a variable."""
    return [tf.convert_to_tensor(variable.value) for variable in variables]


def replica_values(variables):
    """`(values, offsets)`: this replica's values of non-trainable `variables`,
    each seed-generator state offset by `[k * REPLICA_SEED_STRIDE, 0]` on
    replica k (0 elsewhere). Subtract the offsets from the updated states
    before assigning them, so every replica keeps the same state."""
    replica = tf.distribute.get_replica_context().replica_id_in_sync_group
    offsets = [
        tf.cast(tf.stack([replica * REPLICA_SEED_STRIDE, 0]), variable.dtype)
        if variable.name == SEED_STATE_NAME else 0
        for variable in variables
    ]
    return [value + offset for value, offset in zip(_values(variables), offsets)], offsets


def _loss_and_gradients(model, optimizer, loss_fn):
    """`fn(trainable_values, non_trainable_values, images, labels, global_count)
    -> (loss, gradients, updated non-trainable values)`: stateless, on
    tensors; the loss is this replica's share of the global batch's mean."""
    scales_loss = hasattr(optimizer, "inner_optimizer")  # LossScaleOptimizer

    def loss_and_gradients(trainable_values, non_trainable_values, images, labels,
                           global_count):
        with tf.GradientTape() as tape:
            tape.watch(trainable_values)
            logits, non_trainable_values = model.stateless_call(
                trainable_values, non_trainable_values, images, training=True
            )
            loss = tf.reduce_sum(loss_fn(labels, logits)) / tf.cast(global_count, tf.float32)
            scaled = optimizer.scale_loss(loss) if scales_loss else loss
        return loss, tape.gradient(scaled, trainable_values), non_trainable_values

    return loss_and_gradients


def inputs(strategy, dataset):
    """An iterator over `dataset`'s global batches, as `split` expects them.

    Off TPU it is the dataset's own iterator, read on the host: a
    tf.distribute distributed dataset adds a per-device pipeline whose
    autotuning thread can hold the iterator's teardown for up to a minute
    (see `strategies.distribute_options`). A TPU reads per-replica batches
    from its distributed dataset.
    """
    dataset = dataset.with_options(strategies.distribute_options())
    if strategies.is_tpu(strategy):
        return iter(strategy.experimental_distribute_dataset(dataset))
    return iter(dataset)


def global_count(strategy, labels):
    """The number of examples in the global batch `labels` (`split`'s input)."""
    if strategies.is_tpu(strategy):  # per-replica batches of one static size
        return strategy.num_replicas_in_sync * labels.values[0].shape[0]
    return tf.shape(labels)[0]


def split(strategy, tensor):
    """A global batch as per-replica values: replica k of R gets examples
    [k * n // R, (k + 1) * n // R) of the batch of n (a TPU's are split already)."""
    replicas = strategy.num_replicas_in_sync
    if replicas == 1 or strategies.is_tpu(strategy):
        return tensor

    def part(context):
        count, replica = tf.shape(tensor)[0], context.replica_id_in_sync_group
        return tensor[replica * count // replicas:(replica + 1) * count // replicas]

    return strategy.experimental_distribute_values_from_function(part)


def make_train_step(strategy, model, optimizer, loss_fn, jit_compile):
    """Returns `step(images, labels) -> global mean loss` for global batches.

    On one replica the whole step, optimizer update included, is one XLA
    computation, as in Keras `fit(jit_compile=True)`. On several, the
    XLA-compiled part is stateless (`model.stateless_call` on tensors), so
    it never reads a variable that lives on another device: the cause of
    keras#19005 under MirroredStrategy; the optimizer applies the summed
    gradients outside it.
    """
    trainable, non_trainable = model.trainable_variables, model.non_trainable_variables
    loss_and_gradients = _loss_and_gradients(model, optimizer, loss_fn)

    @tf.function(jit_compile=jit_compile)
    def single_replica_step(images, labels):
        loss, gradients, updated = loss_and_gradients(
            _values(trainable), _values(non_trainable), images, labels, tf.shape(labels)[0])
        optimizer.apply(gradients, trainable)
        for variable, value in zip(non_trainable, updated):
            variable.assign(value)  # e.g. the dropout seed state
        return loss

    if strategy.num_replicas_in_sync == 1:
        return single_replica_step
    replica_gradients = tf.function(loss_and_gradients, jit_compile=jit_compile)

    def replica_step(images, labels, count):
        values, offsets = replica_values(non_trainable)
        loss, gradients, updated = replica_gradients(_values(trainable), values, images, labels,
                                                     count)
        for variable, value, offset in zip(non_trainable, updated, offsets):
            variable.assign(value - offset)  # e.g. dropout seed state, the same on every replica
        return loss, gradients

    def step(images, labels):
        count = global_count(strategy, labels)
        losses, gradients = strategy.run(
            replica_step, args=(split(strategy, images), split(strategy, labels), count))
        gradients = [strategy.reduce("SUM", g, axis=None) for g in gradients]
        optimizer.apply(gradients, trainable)
        return strategy.reduce("SUM", losses, axis=None)

    return step


def learning_rate(optimizer):
    """The learning rate the optimizer's next step uses (the schedule's value)."""
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    return tf.cast(inner.learning_rate, tf.float32)


def make_train_loop(strategy, model, optimizer, loss_fn, jit_compile):
    """Returns `train_steps(iterator, num_steps) -> (losses, learning_rates)`.

    One call runs `num_steps` optimizer steps on the next `num_steps`
    batches of `iterator` (`inputs`), in one `tf.function` (a graph
    loop, so a new `num_steps` does not retrace), and returns each step's
    global mean loss and learning rate, shape (num_steps,): the host reads
    them once per call, not once per step.
    """
    step = make_train_step(strategy, model, optimizer, loss_fn, jit_compile)

    @tf.function
    def train_steps(iterator, num_steps):
        losses = tf.TensorArray(tf.float32, size=num_steps)
        rates = tf.TensorArray(tf.float32, size=num_steps)
        for index in tf.range(num_steps):
            images, labels = next(iterator)
            rates = rates.write(index, learning_rate(optimizer))  # before the step uses it
            losses = losses.write(index, tf.cast(step(images, labels), tf.float32))
        return losses.stack(), rates.stack()  # (num_steps,), (num_steps,)

    return train_steps


def make_eval_step(strategy, model, jit_compile):
    """Returns `step(images, labels) -> (correct, count)` summed over replicas."""

    trainable, non_trainable = model.trainable_variables, model.non_trainable_variables

    @tf.function(jit_compile=jit_compile)
    def replica_logits(trainable_values, non_trainable_values, images):
        return model.stateless_call(trainable_values, non_trainable_values, images)[0]

    def replica_counts(images, labels):
        logits = replica_logits(_values(trainable), _values(non_trainable), images)
        predictions = tf.argmax(logits, axis=-1, output_type=tf.int32)
        correct = tf.reduce_sum(tf.cast(tf.equal(predictions, tf.cast(labels, tf.int32)), tf.int64))
        return correct, tf.cast(tf.size(labels), tf.int64)

    @tf.function
    def step(images, labels):
        correct, count = strategy.run(
            replica_counts, args=(split(strategy, images), split(strategy, labels)))
        return strategy.reduce("SUM", correct, axis=None), strategy.reduce("SUM", count, axis=None)

    return step


def evaluate(strategy, eval_step, dataset):
    """`(top-1 accuracy, examples evaluated)` of the model on `dataset`."""
    correct = count = 0
    for images, labels in inputs(strategy, dataset):
        batch_correct, batch_count = eval_step(images, labels)
        correct, count = correct + int(batch_correct), count + int(batch_count)
    return correct / max(count, 1), count
