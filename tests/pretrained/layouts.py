"""A vit_jax checkpoint rewritten as timm and Hugging Face files, by their
public conversion rules: timm's `_load_weights` (npz -> timm) and Hugging
Face's `convert_vit_timm_to_pytorch.py` (timm -> transformers). Written
here from those rules, independently of the package's readers."""

import json

import numpy as np
from safetensors.numpy import save_file

BLOCK = "Transformer/encoderblock_{}/"
ATTENTION = "MultiHeadDotProductAttention_1/"


def timm_from_vit_jax(arrays):
    """timm `VisionTransformer` state dict (PyTorch layouts) from a legacy npz."""
    state = {
        "patch_embed.proj.weight": arrays["embedding/kernel"].transpose(3, 2, 0, 1),  # OIHW
        "patch_embed.proj.bias": arrays["embedding/bias"],
        "cls_token": arrays["cls"],
        "pos_embed": arrays["Transformer/posembed_input/pos_embedding"],
        "norm.weight": arrays["Transformer/encoder_norm/scale"],
        "norm.bias": arrays["Transformer/encoder_norm/bias"],
        "head.weight": arrays["head/kernel"].T, "head.bias": arrays["head/bias"],
    }
    index = 0
    while BLOCK.format(index) + "LayerNorm_0/scale" in arrays:
        state.update(_timm_block(arrays, BLOCK.format(index), f"blocks.{index}."))
        index += 1
    return state


def _timm_block(arrays, source, target):
    attention = source + ATTENTION
    names = ("query", "key", "value")
    return {
        target + "norm1.weight": arrays[source + "LayerNorm_0/scale"],
        target + "norm1.bias": arrays[source + "LayerNorm_0/bias"],
        target + "attn.qkv.weight": np.concatenate(
            [arrays[f"{attention}{name}/kernel"].reshape(arrays[f"{attention}{name}/kernel"]
                                                         .shape[0], -1).T for name in names]),
        target + "attn.qkv.bias": np.concatenate(
            [arrays[f"{attention}{name}/bias"].reshape(-1) for name in names]),
        target + "attn.proj.weight": arrays[attention + "out/kernel"].transpose(2, 0, 1)
        .reshape(arrays[attention + "out/kernel"].shape[-1], -1),
        target + "attn.proj.bias": arrays[attention + "out/bias"],
        target + "norm2.weight": arrays[source + "LayerNorm_2/scale"],
        target + "norm2.bias": arrays[source + "LayerNorm_2/bias"],
        target + "mlp.fc1.weight": arrays[source + "MlpBlock_3/Dense_0/kernel"].T,
        target + "mlp.fc1.bias": arrays[source + "MlpBlock_3/Dense_0/bias"],
        target + "mlp.fc2.weight": arrays[source + "MlpBlock_3/Dense_1/kernel"].T,
        target + "mlp.fc2.bias": arrays[source + "MlpBlock_3/Dense_1/bias"],
    }


HUGGING_FACE_NAMES = [("norm1", "layernorm_before"), ("attn.proj", "attention.output.dense"),
                      ("norm2", "layernorm_after"), ("mlp.fc1", "intermediate.dense"),
                      ("mlp.fc2", "output.dense")]


def hugging_face_from_timm(state, prefix="vit.", with_pooler=False):
    """transformers `ViTForImageClassification` (prefix "vit.") or `ViTModel`
    (prefix "", with its pooler and no classifier) state dict."""
    result = {
        prefix + "embeddings.cls_token": state["cls_token"],
        prefix + "embeddings.position_embeddings": state["pos_embed"],
        prefix + "embeddings.patch_embeddings.projection.weight": state["patch_embed.proj.weight"],
        prefix + "embeddings.patch_embeddings.projection.bias": state["patch_embed.proj.bias"],
        prefix + "layernorm.weight": state["norm.weight"],
        prefix + "layernorm.bias": state["norm.bias"],
    }
    for key, value in state.items():
        if key.startswith("blocks."):
            result.update(_hugging_face_entries(prefix, key, value))
    if with_pooler:
        width = state["norm.weight"].shape[0]
        result["pooler.dense.weight"] = np.eye(width, dtype=np.float32)
        result["pooler.dense.bias"] = np.zeros(width, np.float32)
    else:
        result["classifier.weight"], result["classifier.bias"] = state["head.weight"], state[
            "head.bias"]
    return result


def _hugging_face_entries(prefix, key, value):
    index, name = key.split(".", 2)[1], key.split(".", 2)[2]
    layer = f"{prefix}encoder.layer.{index}."
    if name.startswith("attn.qkv."):
        width = value.shape[0] // 3
        kind = name.rsplit(".", 1)[1]
        return {f"{layer}attention.attention.{part}.{kind}": value[i * width:(i + 1) * width]
                for i, part in enumerate(("query", "key", "value"))}
    for timm_name, hugging_face_name in HUGGING_FACE_NAMES:
        if name.startswith(timm_name + "."):
            return {layer + hugging_face_name + name[len(timm_name):]: value}
    raise KeyError(key)


def write(state, path, config=None):
    save_file({key: np.ascontiguousarray(value, np.float32) for key, value in state.items()},
              str(path))
    if config is not None:
        (path.parent / "config.json").write_text(json.dumps(config))


def hugging_face_config(image_size=32, patch_size=8):
    return {"model_type": "vit", "hidden_size": 32, "num_hidden_layers": 2,
            "num_attention_heads": 2, "intermediate_size": 64, "image_size": image_size,
            "patch_size": patch_size, "layer_norm_eps": 1e-12, "hidden_act": "gelu",
            "qkv_bias": True}
