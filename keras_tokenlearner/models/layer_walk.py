"""Every layer nested in a layer or model, found through public attributes.

Keras lists a model's layers (`keras.Model.layers`), but has no public list
of a plain layer's sublayers. This package's layers keep theirs in public
attributes (`block.attention`, `attention.projections`), as Keras's wrappers
do (`TimeDistributed.layer`), so those attributes are followed.
"""

import keras


def nested_layers(layer):
    """`layer` and every layer nested in it, each once, parents first.

    A model's children are its `layers`; a plain layer's are the layers held
    by its public attributes, directly or in a list, tuple or dict. A layer
    kept only in a private attribute (a leading underscore) is not found.
    """
    found = {}
    pending = [layer]
    while pending:
        current = pending.pop()
        if id(current) in found:
            continue
        found[id(current)] = current
        pending.extend(reversed(_children(current)))
    return list(found.values())


def _children(layer):
    if isinstance(layer, keras.Model):
        return list(layer.layers)
    # The instance's own attributes: on torch a layer is a `torch.nn.Module`,
    # which keeps sublayers out of `vars()` but lists them in `dir()`.
    names = sorted(set(dir(layer)) - set(dir(type(layer))))
    children = []
    for name in names:
        if name.startswith("_"):
            continue
        value = getattr(layer, name)
        if isinstance(value, dict):
            value = list(value.values())
        values = value if isinstance(value, (list, tuple)) else [value]
        children += [entry for entry in values if isinstance(entry, keras.layers.Layer)]
    return children
