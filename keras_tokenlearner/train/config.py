"""The training configuration: one flat dataclass. Most fields have a CLI flag;
the recipe's finer settings (weight_decay, warmup_fraction, clip_norm,
label_smoothing) and verbose are set from Python (`TrainConfig(...)`)."""

import dataclasses
import json
import os
from typing import Optional

from keras_tokenlearner import validation
from keras_tokenlearner.train.strategies import STRATEGIES

DEFAULT_MODEL = "vit_test_patch4_tokenlearner"
DATASET_ARGUMENTS = ("num_classes", "image_shape", "num_frames")  # set from the dataset
# What a checkpoint must agree on to be resumed: the fields that change the
# math. Strategy, devices and XLA do not (the tests check 1 against 2 replicas).
RUN_FIELDS = (
    "model", "model_overrides", "dataset", "epochs", "steps", "batch_size", "learning_rate",
    "weight_decay", "warmup_fraction", "clip_norm", "label_smoothing", "mixed_precision",
    "seed", "image_size", "weights",
)


@dataclasses.dataclass
class TrainConfig:
    """Everything a training run needs. Defaults: the README's main job.

    The default trains a small TokenLearner ViT on the embedded `digits`
    dataset; it reaches >= 95% test accuracy in a few minutes on 2 CPU cores.
    """

    model: str = DEFAULT_MODEL
    # Zoo constructor arguments to override, e.g. {"num_layers": 4}; the
    # dataset's own (num_classes, image_shape, num_frames) cannot be overridden.
    model_overrides: dict = dataclasses.field(default_factory=dict)
    dataset: str = "digits"
    data_dir: Optional[str] = None
    epochs: int = 30
    steps: Optional[int] = None  # stop after this many optimizer steps
    batch_size: int = 64  # global, over all replicas
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
    export: bool = True  # write a SavedModel to workdir/export/1 at the end
    verbose: bool = True

    def with_workdir(self):
        """A copy whose `workdir` is set: the given one, or runs/<dataset>/<model>."""
        workdir = self.workdir or os.path.join("runs", self.dataset, self.model)
        return dataclasses.replace(self, workdir=workdir)

    def run_fields(self):
        """The RUN_FIELDS as a checkpoint stores them (JSON: tuples become lists)."""
        return json.loads(json.dumps({name: getattr(self, name) for name in RUN_FIELDS}))

    def validate(self):
        """Raises a `ValueError` naming the first bad field."""
        for name in ("epochs", "batch_size", "cpu_devices", "checkpoint_every"):
            validation.check_positive_int(name, getattr(self, name))
        for name in ("steps", "image_size"):
            if getattr(self, name) is not None:
                validation.check_positive_int(name, getattr(self, name))
        validation.check_positive_float("learning_rate", self.learning_rate)
        validation.check_rate("label_smoothing", self.label_smoothing)
        validation.check_rate("warmup_fraction", self.warmup_fraction)
        validation.check_positive_float("clip_norm", self.clip_norm)
        validation.check_choice("strategy", self.strategy, STRATEGIES)
        if self.weights is not None and not isinstance(self.weights, str):
            raise validation.invalid_value("weights", "a string (path, URL or name)", self.weights)
        for name in ("model", "dataset"):
            if not isinstance(getattr(self, name), str):
                raise validation.invalid_value(name, "a string", getattr(self, name))
        for name in ("jit_compile", "mixed_precision", "export", "verbose"):
            validation.check_bool(name, getattr(self, name))
        validation.check_non_negative_int("seed", self.seed)
        self._validate_model_overrides()
        validation.check_non_negative_float("weight_decay", self.weight_decay)
        return self

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
