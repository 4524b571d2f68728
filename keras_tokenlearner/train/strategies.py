"""tf.distribute strategies by name. The only distribution code of the package.

| name          | what it runs on                                            |
|---------------|------------------------------------------------------------|
| auto          | mirrored if more than one GPU or CPU device, else one device |
| one_device    | the first GPU, else the CPU                                |
| mirrored      | every local GPU, else every logical CPU (`--cpu-devices`)  |
| multi_worker  | MultiWorkerMirroredStrategy over the workers in TF_CONFIG  |
| tpu           | TPUStrategy on the TPU `tpu_address()` finds               |

On a CPU-only machine `cpu_devices=N` splits the CPU into N logical devices,
so mirrored training is real and testable. It must run before TensorFlow
initialises its runtime: the trainer calls it first.
"""

import glob
import os

import tensorflow as tf

from keras_tokenlearner import validation
from keras_tokenlearner.train.config import STRATEGIES  # noqa: F401  (also read from here)


def configure_cpu_devices(count):
    """Splits the physical CPU into `count` logical devices (count >= 1)."""
    validation.check_positive_int("cpu_devices", count)
    if count == 1:
        return
    cpu = tf.config.list_physical_devices("CPU")[0]
    configuration = [tf.config.LogicalDeviceConfiguration()] * count
    try:
        tf.config.set_logical_device_configuration(cpu, configuration)
    except RuntimeError as error:
        existing = len(tf.config.list_logical_devices("CPU"))
        if existing != count:
            raise validation.invalid_value(
                "cpu_devices",
                f"a value set before TensorFlow starts ({existing} devices already exist: "
                f"{error}); call keras_tokenlearner.train.configure_cpu_devices({count}) "
                "before creating any tensor or dataset",
                count,
            ) from None


def _local_devices():
    gpus = tf.config.list_logical_devices("GPU")
    return [device.name for device in gpus or tf.config.list_logical_devices("CPU")]


# Environment variables that name a TPU for TPUClusterResolver(tpu=""): a
# Cloud TPU node (by name, or in a JSON TPU_CONFIG), or TPUs on Google
# Kubernetes Engine.
TPU_NAME_VARIABLES = ("TPU_NAME", "TPU_CONFIG", "KUBE_GOOGLE_CLOUD_TPU_ENDPOINTS")
# A TPU attached to this machine (a TPU VM, as Colab's TPU runtimes): TPU
# v2-v4 chips appear as /dev/accel<N>; v5e and later are bound to vfio, in an
# IOMMU group whose devices carry Google's PCI vendor id.
ACCEL_DEVICES = "/dev/accel[0-9]*"
VFIO_GROUPS = "/dev/vfio/[0-9]*"
IOMMU_GROUP_VENDORS = "/sys/kernel/iommu_groups/{group}/devices/*/vendor"
GOOGLE_PCI_VENDOR = "0x1ae0"


def tpu_address():
    """The `tpu` argument of TPUClusterResolver for this machine, or None.

    In this order: `"local"` for `TPU_NAME=local`; `""` where a variable
    names a TPU (Cloud TPU nodes, GKE), which the resolver then reads;
    `"grpc://..."` from `COLAB_TPU_ADDR` (Colab's former TPU runtime);
    `"local"` where a TPU chip is attached (a TPU VM: Colab's TPU runtimes,
    Cloud TPU VMs); None where no TPU is visible.
    """
    if os.environ.get("TPU_NAME") == "local":
        return "local"
    if any(os.environ.get(variable) for variable in TPU_NAME_VARIABLES):
        return ""
    if os.environ.get("COLAB_TPU_ADDR"):
        return "grpc://" + os.environ["COLAB_TPU_ADDR"]
    return "local" if _local_tpu_device() else None


def _local_tpu_device():
    """Whether a TPU chip is attached: /dev/accel<N>, or a Google vfio group."""
    if glob.glob(ACCEL_DEVICES):
        return True
    for group in glob.glob(VFIO_GROUPS):
        for path in glob.glob(IOMMU_GROUP_VENDORS.format(group=os.path.basename(group))):
            with open(path) as vendor:
                if vendor.read().strip() == GOOGLE_PCI_VENDOR:
                    return True
    return False


def _tpu_strategy():
    """TPUStrategy on the TPU `tpu_address` finds; untested without a TPU."""
    address = tpu_address()
    if address is None:
        raise validation.invalid_value(
            "strategy",
            "'tpu' only on a machine with a TPU (none of TPU_NAME, TPU_CONFIG, "
            "KUBE_GOOGLE_CLOUD_TPU_ENDPOINTS or COLAB_TPU_ADDR is set, and no "
            "TPU device is attached)",
            "tpu",
        )
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=address)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except Exception as error:  # TF's cloud client raises OSError, ValueError, OpError...
        raise _unreachable_tpu(address, error) from None
    return tf.distribute.TPUStrategy(resolver)


def _unreachable_tpu(address, error):
    """The ValueError for a TPU that was found but could not be started."""
    reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
    if "ConfigureDistributedTPU" in str(error):  # TPU ops missing from this build
        reason = "this TensorFlow has no TPU support; install its TPU build (tensorflow-tpu)"
    if not address:
        address = next(f"{name}={os.environ[name]}" for name in TPU_NAME_VARIABLES
                       if os.environ.get(name))
    return validation.invalid_value(
        "strategy", f"'tpu' only where the TPU ({address}) is reachable: {reason}", "tpu"
    )


def make_strategy(name):
    """Returns the tf.distribute strategy called `name` (see the table above)."""
    validation.check_choice("strategy", name, STRATEGIES)
    if name == "tpu":
        return _tpu_strategy()
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    devices = _local_devices()
    if name == "mirrored" or (name == "auto" and len(devices) > 1):
        return tf.distribute.MirroredStrategy(devices)
    return tf.distribute.OneDeviceStrategy(devices[0])


def is_chief(strategy):
    """Whether this process writes checkpoints and logs (worker 0)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    return resolver.task_type == "chief" or (
        resolver.task_type == "worker" and resolver.task_id == 0
    )


def is_tpu(strategy):
    return isinstance(strategy, tf.distribute.TPUStrategy)


def distribute_options():
    """tf.data options of the trainer's input: multi-worker sharding of
    in-memory-like data, and no autotuning thread.

    An iterator whose pipeline is autotuned owns a `tf_data_model` thread,
    and the iterator's destructor joins it. In a training process that
    thread sometimes sleeps out its whole optimization period (which doubles
    up to 60 s) instead of waking when the iterator is cancelled: `train()`
    then stalled for seconds to most of a minute after its last step
    (docs/development.md#the-end-of-training-stall). Without autotuning,
    `num_parallel_calls=AUTOTUNE` maps run on every core and AUTOTUNE
    prefetch buffers still grow (TensorFlow's legacy buffer tuner), so the
    input is as fast here.
    """
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.DATA
    )
    options.autotune.enabled = False
    return options


def strategy_name(strategy):
    """The name of `strategy` in STRATEGIES (what `auto` resolved to)."""
    kinds = {
        "tpu": tf.distribute.TPUStrategy,
        "multi_worker": tf.distribute.MultiWorkerMirroredStrategy,
        "mirrored": tf.distribute.MirroredStrategy,
        "one_device": tf.distribute.OneDeviceStrategy,
    }
    return next(name for name, kind in kinds.items() if isinstance(strategy, kind))
