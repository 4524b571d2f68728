"""The run's model: the zoo entry fitted to the dataset, from pretrained weights if asked."""

from keras_tokenlearner import pretrained
from keras_tokenlearner import validation
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


def build(config, arguments, checkpoint_directory):
    """The zoo model, from `config.weights` when a new run starts from a checkpoint.

    A resumed run restores its own checkpoint, so it does not read the
    pretrained file again: it takes the numerics (GELU form, LayerNorm
    epsilon) that the first run took from it, recorded in the checkpoint.
    """
    latest = checkpoints.latest(checkpoint_directory)
    if config.weights is not None and latest is not None:
        numerics = checkpoints.read_state(latest).get("numerics", {})
        return zoo.create_model(config.model, **{**numerics, **config.model_overrides},
                                **arguments)
    model, report = zoo.create_model_with_report(
        config.model, config.weights, **config.model_overrides, **arguments)
    if report is not None and config.verbose:
        print(report.summary())
    return model


def numerics(model):
    """What a resumed run needs to rebuild the model as the first run built it."""
    return {name: model.arguments[name] for name in pretrained.NUMERICS}
