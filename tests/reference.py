"""Independent NumPy implementation of the published TokenLearner equations.

Written from the paper (arXiv 2106.11297) and the authors' description, not
from this package: the layers under test only lend their weights.
"""

import numpy as np


def layer_norm(x, gamma, beta, epsilon):
    mean = x.mean(axis=-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + epsilon) * gamma + beta


def gelu_tanh(x):
    inner = np.sqrt(2.0 / np.pi) * (x + 0.044715 * x**3)
    return 0.5 * x * (1.0 + np.tanh(inner))


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def softmax(x, axis=-1):
    shifted = np.exp(x - x.max(axis=axis, keepdims=True))
    return shifted / shifted.sum(axis=axis, keepdims=True)


def mlp(x, w1, b1, w2, b2):
    """Dense -> tanh GELU -> Dense (dropout is the identity at inference)."""
    return gelu_tanh(x @ w1 + b1) @ w2 + b2


def self_attention(x, projections, num_heads):
    """Multi-head self-attention on x (B, L, D).

    `projections`: (kernel, bias) of query, key, value and output, each
    kernel (D, D) acting on the concatenated heads.
    """
    batch, length, width = x.shape
    head_dim = width // num_heads

    def heads(kernel, bias):  # (B, L, D) -> (B, heads, L, head_dim)
        projected = x @ kernel + bias
        return projected.reshape(batch, length, num_heads, head_dim).transpose(0, 2, 1, 3)

    query, key, value = (heads(kernel, bias) for kernel, bias in projections[:3])
    out_kernel, out_bias = projections[3]
    weights = softmax(query @ key.transpose(0, 1, 3, 2) / np.sqrt(head_dim))
    context = (weights @ value).transpose(0, 2, 1, 3).reshape(batch, length, width)
    return context @ out_kernel + out_bias


def transformer_block(x, attention_norm, projections, mlp_norm, mlp_weights, num_heads):
    """Pre-LN block: x + attention(LN(x)); then + MLP(LN(.)). Norms: (gamma, beta)."""
    x = x + self_attention(layer_norm(x, *attention_norm, 1e-6), projections, num_heads)
    return x + mlp(layer_norm(x, *mlp_norm, 1e-6), *mlp_weights)


def conv3x3_same(x, kernel):
    """3x3 'SAME' convolution without bias: x (B, H, W, Ci), kernel (3, 3, Ci, Co)."""
    _, height, width, _ = x.shape
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    out = 0.0
    for dy in range(3):
        for dx in range(3):
            window = padded[:, dy : dy + height, dx : dx + width, :]
            out = out + window @ kernel[dy, dx]
    return out


def token_learner_v11(x, norm, mlp_weights, epsilon=1e-6):
    """x: (..., N, C). Returns tokens (..., S, C) and maps (..., S, N)."""
    logits = mlp(layer_norm(x, *norm, epsilon), *mlp_weights)  # (..., N, S)
    maps = softmax(np.swapaxes(logits, -1, -2), axis=-1)  # (..., S, N)
    return maps @ x, maps


def token_learner_v10(grid, norm, kernels, use_sum_pooling=True, epsilon=1e-6):
    """grid: (B, H, W, C). Returns tokens (B, S, C) and maps (B, S, H*W)."""
    batch, height, width, channels = grid.shape
    selected = layer_norm(grid, *norm, epsilon)
    for kernel in kernels[:-1]:
        selected = gelu_tanh(conv3x3_same(selected, kernel))
    selected = conv3x3_same(selected, kernels[-1])  # (B, H, W, S)
    maps = sigmoid(selected.reshape(batch, height * width, -1))  # (B, N, S)
    maps = np.swapaxes(maps, 1, 2)  # (B, S, N)
    flat = grid.reshape(batch, height * width, channels)  # (B, N, C)
    weighted = maps[..., None] * flat[:, None, :, :]  # (B, S, N, C)
    tokens = weighted.sum(axis=2) if use_sum_pooling else weighted.mean(axis=2)
    return tokens, maps


def token_fuser(tokens, original, weights, use_normalization=True, epsilon=1e-6):
    """tokens (..., S, C), original (..., N, C) -> (..., N, C).

    weights: dict with token_norm, mixed_norm, original_norm (gamma, beta)
    pairs, token_mixing (kernel, bias) and mixing_mlp (w1, b1, w2, b2).
    """
    if use_normalization:
        tokens = layer_norm(tokens, *weights["token_norm"], epsilon)
    kernel, bias = weights["token_mixing"]
    tokens = np.swapaxes(np.swapaxes(tokens, -1, -2) @ kernel + bias, -1, -2)
    if use_normalization:
        tokens = layer_norm(tokens, *weights["mixed_norm"], epsilon)
    normed = layer_norm(original, *weights["original_norm"], epsilon)
    mix = sigmoid(mlp(normed, *weights["mixing_mlp"]))  # (..., N, S)
    return mix @ tokens


def float64(values):
    """`values` (arrays, or lists, tuples and dicts of them) in float64."""
    if isinstance(values, dict):
        return {key: float64(value) for key, value in values.items()}
    if isinstance(values, (list, tuple)):
        return type(values)(float64(value) for value in values)
    return np.asarray(values, dtype=np.float64)
