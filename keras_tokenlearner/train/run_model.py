"""The run's model: the zoo entry fitted to the dataset, from pretrained
weights if asked, or your own model; and the dtype policy a run changes."""

import contextlib

import keras

from keras_tokenlearner import pretrained
from keras_tokenlearner import validation
from keras_tokenlearner.models import layer_walk
from keras_tokenlearner.models import preprocessing
from keras_tokenlearner.models import zoo
from keras_tokenlearner.train import checkpoints


def model_arguments(config, info):
    """create_model overrides that fit the model to the dataset."""
    is_video_model = "num_frames" in zoo.model_arguments(config.model)  # unknown: raises
    if is_video_model != info.is_video:
        kinds = {True: "videos", False: "images"}
        raise validation.invalid_value(
            "model", f"a model for {kinds[info.is_video]} (dataset {info.name!r})", config.model
        )
    height, width = info.example_shape[-3:-1]
    if config.image_size:
        height = width = config.image_size
    elif height is None or width is None:
        raise validation.invalid_value(
            "image_size", f"a size to resize to: the images of dataset {info.name!r} have no "
            "fixed size (pass --image-size)", None,
        )
    arguments = dict(num_classes=info.num_classes, image_shape=(height, width, 3))
    if info.is_video:
        arguments["num_frames"] = info.example_shape[0]
    return arguments


def build(config, arguments, checkpoint_directory, policy):
    """The zoo model, from `config.weights` when a new run starts from a checkpoint.

    A resumed run restores its own checkpoint, so it does not read the
    pretrained file again: it takes the numerics (GELU form, LayerNorm
    epsilon) that the first run took from it, recorded in the checkpoint.
    """
    latest = checkpoints.latest(checkpoint_directory)
    given = {"dtype": policy}  # an override wins over these
    if config.preprocessing is not None:
        given["preprocessing"] = preprocessing.canonical(config.preprocessing)
    if config.weights is not None and latest is not None:
        numerics = checkpoints.read_state(latest).get("numerics", {})
        return zoo.create_model(config.model, **{**given, **numerics, **config.model_overrides},
                                **arguments)
    model, report = zoo.create_model_with_report(
        config.model, config.weights, **{**given, **config.model_overrides}, **arguments)
    if report is not None and config.verbose:
        print(report.summary())
    return model


def numerics(model):
    """What a resumed run needs to rebuild the model as the first run built it
    from a pretrained file: its numerics and its preprocessing record."""
    return {name: model.arguments[name] for name in pretrained.NUMERICS + ("preprocessing",)}


def build_custom(config, policy):
    """Your model, built in the caller's strategy scope: a `keras.Model` is
    rebuilt from its config and given its weights; a function is called
    under the run's dtype policy."""
    if isinstance(config.model, keras.Model):
        if config.mixed_precision:
            raise validation.invalid_value(
                "mixed_precision", "False for a keras.Model (build it with "
                "dtype='mixed_bfloat16', or pass a function that builds it)", True,
            )
        check_classifier(config.model)
        model = keras.models.clone_model(config.model)
        model.set_weights(config.model.get_weights())
        return model
    with preserved_dtype_policy(policy):
        model = config.model()
    if not isinstance(model, keras.Model):
        raise validation.invalid_value(
            "model", "a function that returns a keras.Model", type(model).__name__
        )
    return check_classifier(model)


def policy_name(model):
    """The mixed policy any of the model's layers computes with, else the model's."""
    names = {layer.dtype_policy.name for layer in layer_walk.nested_layers(model)}
    for name in ("mixed_float16", "mixed_bfloat16"):
        if name in names:
            return name
    return model.dtype_policy.name


def check_classifier(model):
    """Your model must be built, with a fixed input shape and (batch, classes) logits."""
    inputs, outputs = getattr(model, "inputs", None), getattr(model, "outputs", None)
    if not inputs or not outputs or len(inputs) != 1:
        raise validation.invalid_value(
            "model", "a functional or Sequential model with one input (built)", model.name
        )
    input_shape, output_shape = tuple(inputs[0].shape[1:]), tuple(outputs[0].shape)
    if None in input_shape or len(output_shape) != 2 or output_shape[-1] is None:
        raise validation.invalid_value(
            "model", "a fixed input shape and (batch, num_classes) logits",
            f"{model.name} with inputs {input_shape} and outputs {output_shape}",
        )
    return model


@contextlib.contextmanager
def preserved_dtype_policy(policy=None):
    """Sets Keras's global dtype policy to `policy` (None: leaves it), and
    restores the caller's on exit, whatever was set meanwhile.

    Only the policy: the global random seeds, which `train()` sets with
    `keras.utils.set_random_seed`, stay as the run left them (neither Keras
    nor TensorFlow has a public getter to save them with).
    """
    previous = keras.config.dtype_policy()
    try:
        if policy is not None:
            keras.config.set_dtype_policy(policy)
        yield
    finally:
        keras.config.set_dtype_policy(previous)
