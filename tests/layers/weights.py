"""The layers' weights as NumPy arrays, in the order `tests/reference.py` takes them."""

from tests import testing


def norm_weights(norm):
    """(gamma, beta) of a LayerNormalization."""
    return [testing.to_numpy(w) for w in (norm.gamma, norm.beta)]


def mlp_weights(mlp):
    """(w1, b1, w2, b2) of an `MLP`."""
    dense = (mlp.hidden, mlp.output_dense)
    return [testing.to_numpy(w) for d in dense for w in (d.kernel, d.bias)]


def fuser_weights(fuser):
    """The dict that `reference.token_fuser` takes."""
    def pair(layer):
        return [testing.to_numpy(w) for w in (layer.kernel, layer.bias)]

    weights = {
        "token_mixing": pair(fuser.token_mixing),
        "original_norm": norm_weights(fuser.original_norm),
        "mixing_mlp": mlp_weights(fuser.mixing_mlp),
    }
    if fuser.use_normalization:
        weights["token_norm"] = norm_weights(fuser.token_norm)
        weights["mixed_norm"] = norm_weights(fuser.mixed_norm)
    return weights


def projections(attention):
    """(kernel, bias) of query, key, value and output."""
    return [
        (testing.to_numpy(dense.kernel), testing.to_numpy(dense.bias))
        for dense in attention.projections + [attention.output_dense]
    ]
