"""The training configuration: one flat dataclass. Most fields have a CLI flag;
the recipe's finer settings (weight_decay, warmup_fraction, clip_norm,
label_smoothing), verbose, and your own model or tf.data datasets are set
from Python (`TrainConfig(...)` or `train(...)`)."""

import dataclasses
import json
import os
from typing import Optional

from keras_tokenlearner import validation

DEFAULT_MODEL = "vit_test_patch4_tokenlearner"
# tf.distribute strategies by name (strategies.py builds them); here, so the
# command line reads them without importing TensorFlow.
STRATEGIES = ("auto", "one_device", "mirrored", "multi_worker", "tpu")
DATASET_ARGUMENTS = ("num_classes", "image_shape", "num_frames")  # set from the dataset
# What a checkpoint must agree on to be resumed: the fields that change the
# math. Strategy, devices and XLA do not (the tests check 1 against 2 replicas).
RUN_FIELDS = (
    "model", "model_overrides", "dataset", "epochs", "steps", "batch_size", "learning_rate",
    "weight_decay", "warmup_fraction", "clip_norm", "label_smoothing", "mixed_precision",
    "seed", "image_size", "weights", "preprocessing",
)
DEFAULT_BATCH_SIZE = 64
DEFAULT_STEPS_PER_CALL = 10  # benchmarks/training_throughput.py measures 1 against 10
CUSTOM_DATASET = "custom"  # the name a tf.data.Dataset's run is filed under


@dataclasses.dataclass
class TrainConfig:
    """Everything a training run needs. Defaults: the quick start's main job.

    The default trains a small TokenLearner ViT on the embedded `digits`
    dataset; it reaches >= 95% test accuracy in a few minutes on 2 CPU cores.

    Attributes:
        model: a zoo name; or your own `keras.Model` (functional or
            Sequential, rebuilt in the strategy's scope; it holds the trained
            weights afterwards); or a zero-argument function that returns one
            (called in the scope).
        model_overrides: dict of zoo constructor arguments to override, e.g.
            `{"num_layers": 4}`; the dataset's own (`num_classes`,
            `image_shape`, `num_frames`) cannot be overridden.
        dataset: a dataset name, or a `tf.data.Dataset` of batched
            `(images, int labels)`, fed to the model as it is: its batch is
            the global batch.
        test_dataset: a `tf.data.Dataset` of the same kind, evaluated at the
            end; None with a named dataset (it brings its own test split).
        data_dir: the TFDS data directory, or the `image_folder` root.
        epochs: int. Defaults to 30.
        steps: int or None. Stop after this many optimizer steps.
        batch_size: int or None. Global, over all replicas; None: 64, or the
            dataset's.
        learning_rate: float. Peak AdamW learning rate. Defaults to 2e-3.
        weight_decay: float. AdamW weight decay on kernels. Defaults to 0.05.
        warmup_fraction: float. Share of the steps in linear warmup.
            Defaults to 0.1.
        clip_norm: float. Global-norm gradient clipping. Defaults to 1.0.
        label_smoothing: float. Defaults to 0.1.
        strategy: `"auto"`, `"one_device"`, `"mirrored"`, `"multi_worker"`
            or `"tpu"`. Defaults to `"auto"`.
        cpu_devices: int. Split the CPU into this many logical devices.
            Defaults to 1.
        jit_compile: bool. XLA-compile the per-replica step. Defaults to True.
        mixed_precision: bool. bfloat16 on CPU and TPU, float16 with loss
            scaling on GPU. Defaults to False.
        seed: int. Defaults to 0.
        workdir: str or None. Outputs and checkpoints; None:
            `runs/<dataset>/<model>`.
        checkpoint_every: int. Steps between checkpoints. Defaults to 100.
        image_size: int or None. None: the dataset's own size.
        weights: str or None. A pretrained checkpoint to start from
            (`load_pretrained`'s sources); a resumed run restores its own
            checkpoint instead of loading this again.
        preprocessing: dict or None. The input the model expects, as
            `keras_tokenlearner.models.preprocessing` records it; None: the
            model's own record (zoo models have one).
        steps_per_call: int. Optimizer steps per compiled call. Defaults to 10.
        export: bool. Write a SavedModel to `workdir/export/1` at the end.
            Defaults to True.
        verbose: bool. Print progress and the closing summary line.
            Defaults to True.
    """

    # A zoo name; or your own `keras.Model` (functional or Sequential, rebuilt
    # in the strategy's scope; it holds the trained weights afterwards); or a
    # zero-argument function that returns one (called in the scope).
    model: object = DEFAULT_MODEL
    # Zoo constructor arguments to override, e.g. {"num_layers": 4}; the
    # dataset's own (num_classes, image_shape, num_frames) cannot be overridden.
    model_overrides: dict = dataclasses.field(default_factory=dict)
    # A dataset name (see keras_tokenlearner.data), or a `tf.data.Dataset` of
    # batched (images, int labels), fed to the model as it is: its batch is the
    # global batch. `test_dataset` (the same kind) is evaluated at the end.
    dataset: object = "digits"
    test_dataset: object = None
    data_dir: Optional[str] = None
    epochs: int = 30
    steps: Optional[int] = None  # stop after this many optimizer steps
    batch_size: Optional[int] = None  # global, over all replicas; None: 64, or the dataset's
    learning_rate: float = 2e-3
    weight_decay: float = 0.05
    warmup_fraction: float = 0.1
    clip_norm: float = 1.0
    label_smoothing: float = 0.1
    strategy: str = "auto"
    cpu_devices: int = 1
    jit_compile: bool = True
    mixed_precision: bool = False
    seed: int = 0
    workdir: Optional[str] = None  # None: runs/<dataset>/<model>
    checkpoint_every: int = 100
    image_size: Optional[int] = None  # None: the dataset's own size
    # A pretrained checkpoint to start from (load_pretrained's sources); a
    # resumed run restores its own checkpoint instead of loading this again.
    weights: Optional[str] = None
    # The input the model expects, as `keras_tokenlearner.models.preprocessing`
    # records it; None: the model's own record (zoo models have one).
    preprocessing: Optional[dict] = None
    steps_per_call: int = DEFAULT_STEPS_PER_CALL  # optimizer steps per compiled call
    export: bool = True  # write a SavedModel to workdir/export/1 at the end
    verbose: bool = True

    def model_name(self):
        """The zoo name, your model's `name`, or your function's `__name__`."""
        if isinstance(self.model, str):
            return self.model
        return getattr(self.model, "name", None) or getattr(self.model, "__name__", "model")

    def dataset_name(self):
        return self.dataset if isinstance(self.dataset, str) else CUSTOM_DATASET

    def with_workdir(self):
        """A copy whose `workdir` is set: the given one, or runs/<dataset>/<model>."""
        workdir = self.workdir or os.path.join("runs", self.dataset_name(), self.model_name())
        return dataclasses.replace(self, workdir=workdir)

    def run_fields(self):
        """The RUN_FIELDS as a checkpoint stores them (JSON: tuples become lists)."""
        fields = {name: getattr(self, name) for name in RUN_FIELDS}
        fields.update(model=self.model_name(), dataset=self.dataset_name())
        return json.loads(json.dumps(fields))

    def validate(self):
        """Raises a `ValueError` naming the first bad field."""
        for name in ("epochs", "cpu_devices", "checkpoint_every", "steps_per_call"):
            validation.check_positive_int(name, getattr(self, name))
        for name in ("steps", "image_size", "batch_size"):
            if getattr(self, name) is not None:
                validation.check_positive_int(name, getattr(self, name))
        validation.check_positive_float("learning_rate", self.learning_rate)
        validation.check_rate("label_smoothing", self.label_smoothing)
        validation.check_rate("warmup_fraction", self.warmup_fraction)
        validation.check_positive_float("clip_norm", self.clip_norm)
        validation.check_choice("strategy", self.strategy, STRATEGIES)
        if self.weights is not None and not isinstance(self.weights, str):
            raise validation.invalid_value("weights", "a string (path, URL or name)", self.weights)
        self._validate_model_and_data()
        for name in ("jit_compile", "mixed_precision", "export", "verbose"):
            validation.check_bool(name, getattr(self, name))
        validation.check_non_negative_int("seed", self.seed)
        self._validate_model_overrides()
        validation.check_non_negative_float("weight_decay", self.weight_decay)
        return self

    def _validate_model_and_data(self):
        if not (isinstance(self.model, str) or callable(self.model)):
            raise validation.invalid_value(
                "model", "a zoo name, a keras.Model, or a function returning one", self.model
            )
        for name in ("model_overrides", "weights"):
            if not isinstance(self.model, str) and getattr(self, name):
                raise validation.invalid_value(
                    name, "empty for your own model (it applies to zoo names)",
                    getattr(self, name),
                )
        for name in ("dataset", "test_dataset"):
            value = getattr(self, name)
            if not (isinstance(value, str) or hasattr(value, "element_spec")
                    or (value is None and name == "test_dataset")):
                raise validation.invalid_value(name, "a dataset name or a tf.data.Dataset", value)
        if isinstance(self.model, str) and not isinstance(self.dataset, str):
            raise validation.invalid_value(
                "model", "your own model with a tf.data.Dataset, e.g. model=lambda: "
                f"create_model({self.model!r}, num_classes=..., image_shape=...)", self.model,
            )
        if isinstance(self.dataset, str) and self.test_dataset is not None:
            raise validation.invalid_value(
                "test_dataset", f"None with a named dataset ({self.dataset!r} brings its own "
                "test split)", self.test_dataset,
            )
        if not isinstance(self.dataset, str) and self.image_size is not None:
            raise validation.invalid_value(
                "image_size", "None with a tf.data.Dataset (it is fed to the model as it is)",
                self.image_size,
            )

    def _validate_model_overrides(self):
        overrides = self.model_overrides
        if not isinstance(overrides, dict) or not all(isinstance(key, str) for key in overrides):
            raise validation.invalid_value(
                "model_overrides", "a dict of constructor argument names to values", overrides
            )
        taken = sorted(set(overrides) & set(DATASET_ARGUMENTS))
        if taken:
            raise validation.invalid_value(
                "model_overrides",
                f"no dataset-derived argument ({', '.join(DATASET_ARGUMENTS)}); "
                "use `image_size` for the resolution",
                overrides,
            )
