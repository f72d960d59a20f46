"""mltq: a cycle-level simulator of bit-serial and sparse DNN accelerators.

How much faster is a multi-level ternary (MLTQ) network than its multi-level binary
(MLB) baseline on a real PE array? This package runs the `mltq` simulator in-process:

    >>> import mltq
    >>> df = mltq.simulate("arch/pe16.toml", "resnet50")        # doctest: +SKIP
    >>> df[df.layer == "total"][["scheme", "cycles", "speedup"]]  # doctest: +SKIP

Functions mirror the command line (docs/python.md has one worked example each):

- ``simulate(arch, model)``: per-layer rows with every ``mltq simulate --csv`` column,
  then one ``total`` row per scheme;
- ``gen(network, ...)``: a built-in network with seeded synthetic values, as a ``Model``;
- ``inspect(model)``: layers, shapes, encodings, word and digit densities, MACs;
- ``sweep(spec)``, ``sweep_points(spec)``, ``merge(shards, out)``: sweep files;
- ``Model``: a network built from numpy arrays (weights and activations quantized by
  the quantizers of ``mltq import``, or given as digit planes), saved with
  ``Model.save(path)`` as a ``.mltq`` file the CLI reads to the same numbers.

Tables are pandas DataFrames when pandas is installed, else dicts of numpy arrays
(column name → array): counts are int64, ratios float64, names str. Bad input raises
``mltq.Error`` (a ``ValueError``) with the CLI's ``error:`` message.
"""

from __future__ import annotations

import os
from typing import Any, Dict, Iterable, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _mltq
from ._mltq import Error, Tensor, __version__

__all__ = [
    "Error",
    "Model",
    "Tensor",
    "csv_columns",
    "gen",
    "gen_defaults",
    "inspect",
    "merge",
    "networks",
    "simulate",
    "sweep",
    "sweep_points",
    "__version__",
]

PathLike = Union[str, "os.PathLike[str]"]


def _pandas():
    """The pandas module, or None when it is not installed."""
    try:
        import pandas
    except ImportError:
        return None
    return pandas


def _table(columns: Sequence[Tuple[str, np.ndarray]], attrs: Optional[dict] = None):
    """(name, array) pairs as a DataFrame (pandas installed) or a dict of arrays."""
    data = {name: array for name, array in columns}
    pd = _pandas()
    if pd is None:
        return data
    df = pd.DataFrame(data)
    if attrs:
        df.attrs.update(attrs)
    return df


def _path(p: Any, what: str) -> str:
    if isinstance(p, os.PathLike):
        return os.fspath(p)
    if isinstance(p, str):
        return p
    raise Error(f"{what} must be a path or a string, not {type(p).__name__}")


def _model_arg(model: Any):
    if isinstance(model, Model):
        return model._native
    if isinstance(model, _mltq.Model):
        return model
    return _path(model, "model")


def networks() -> list:
    """The built-in networks (``resnet20``, ``resnet50``, ...)."""
    return _mltq.networks()


def gen_defaults() -> dict:
    """The settings ``mltq gen`` (and a built-in network named as a model) uses."""
    return _mltq.gen_defaults()


def csv_columns() -> list:
    """The columns of ``simulate`` (``mltq simulate --csv``) with their kinds:
    ``[(name, "text" | "int" | "float"), ...]``."""
    return _mltq.csv_columns()


def simulate(
    arch: PathLike,
    model: Union["Model", PathLike],
    sample: int = 0,
    *,
    all_samples: bool = False,
    act_density: Optional[float] = None,
    seed: Optional[int] = None,
    act_enc: Optional[str] = None,
):
    """Simulate ``model`` on ``arch``, as ``mltq simulate --csv`` does.

    ``arch`` is an arch file or its TOML text; ``model`` a ``Model``, a ``.mltq`` file
    or a built-in network name. ``sample`` picks the activations simulated;
    ``all_samples=True`` simulates every sample (rows of each sample in turn);
    ``act_density`` with ``seed`` (and optionally ``act_enc``) simulates seeded
    synthetic activations instead, as ``--act-density D --seed S [--act-enc ENC]``.

    Returns one row per (layer, scheme) in layer order, then one ``total`` row per
    scheme, with every column of the CLI's CSV and the same numbers (see
    ``csv_columns()``).
    """
    if (act_density is None) != (seed is None):
        raise Error(
            "act_density and seed go together: synthetic activations of density "
            "act_density drawn with seed (give both, or neither)"
        )
    if act_enc is not None and act_density is None:
        raise Error("act_enc is the encoding of synthetic activations: give act_density and seed too")
    if all_samples and (act_density is not None or sample != 0):
        raise Error("all_samples simulates the model's every sample: give neither sample nor act_density")
    cols = _mltq.simulate(
        _path(arch, "arch"),
        _model_arg(model),
        sample,
        all_samples,
        act_density,
        seed,
        act_enc,
    )
    return _table(cols)


def gen(
    network: str,
    *,
    weights: Optional[str] = None,
    acts: Optional[str] = None,
    weight_density: Optional[float] = None,
    act_density: Union[None, float, Sequence[float]] = None,
    samples: Optional[int] = None,
    seed: Optional[int] = None,
    weight_dist: Optional[str] = None,
    act_dist: Optional[str] = None,
    weight_precision: Union[None, str, int, Sequence[Optional[int]]] = None,
    act_precision: Union[None, str, int, Sequence[Optional[int]]] = None,
    precision: Optional[PathLike] = None,
    precision_profile: Optional[str] = None,
    profile_precision: bool = False,
    tolerance: Union[None, float, str] = None,
    out: Optional[PathLike] = None,
) -> "Model":
    """A built-in network with seeded synthetic values, as ``mltq gen`` writes it.

    Settings left as None take ``mltq gen``'s defaults (``gen_defaults()``: ternary:2
    weights at density 0.35, ternary:2 activations at density 0.5, one sample, seed 1).
    The other settings are ``mltq gen``'s flags of the same names: ``weight_dist``
    (``"gaussian"``, ``"laplace"``, ``"uniform"``), ``act_dist`` (``"halfnormal"``,
    ``"gaussian"``, ``"laplace"``, ``"uniform"``), ``act_density`` one number or one per
    layer, per-layer int precisions as ``weight_precision`` / ``act_precision`` (a list,
    None keeping a layer at its full width, or the CLI's ``"8,-,6"``), ``precision`` (a
    file in the importer's layouts), ``precision_profile="stripes"``, or
    ``profile_precision=True`` with an optional ``tolerance`` (0.01 or ``"1%"``).
    With ``out``, the model is also saved there as a ``.mltq`` file.
    """
    native = _mltq.gen(
        network,
        weights,
        acts,
        weight_density,
        act_density,
        samples,
        seed,
        weight_dist=weight_dist,
        act_dist=act_dist,
        weight_precision=weight_precision,
        act_precision=act_precision,
        precision=None if precision is None else os.fspath(precision),
        precision_profile=precision_profile,
        profile_precision=profile_precision,
        tolerance=tolerance,
    )
    m = Model._wrap(native)
    if out is not None:
        m.save(out)
    return m


def inspect(model: Union["Model", PathLike]):
    """Per layer (then a ``total`` row): geometry, weight shape and encodings, the word
    and digit densities of the weights and of each sample's activations
    (``act{S}_word_density``, ``act{S}_digit_density``; NaN where a layer has no
    activations for S), and MACs, as ``mltq inspect`` prints them. Totals weigh each
    layer's density by its element count."""
    return _table(_mltq.inspect(_model_arg(model)))


def _shard(shard) -> Optional[str]:
    if shard is None or isinstance(shard, str):
        return shard
    k, n = shard
    return f"{k}/{n}"


def sweep(
    spec: PathLike,
    out: Optional[PathLike] = None,
    *,
    shard: Union[None, str, Tuple[int, int]] = None,
    threads: Optional[int] = None,
):
    """Run a sweep file as ``mltq sweep SPEC [--out DIR] [--shard K/N] [--threads N]``
    and return its ``results.csv``: columns ``point``, ``point_id``, the sweep's
    parameters, then every ``simulate`` column.

    ``out`` defaults to ``out/NAME`` beside the sweep file; rerunning into the same
    directory resumes from its journal. ``shard`` is ``"K/N"`` or ``(K, N)``.
    """
    cols, out_dir = _mltq.sweep(
        _path(spec, "spec"),
        None if out is None else _path(out, "out"),
        _shard(shard),
        threads,
    )
    return _table(cols, {"out": os.fspath(out_dir)})


def sweep_points(spec: PathLike, *, shard: Union[None, str, Tuple[int, int]] = None):
    """The points of a sweep file (``point``, ``point_id``, parameters), as
    ``mltq sweep SPEC --list``; nothing is simulated."""
    return _table(_mltq.sweep_points(_path(spec, "spec"), _shard(shard)))


def merge(shards: Iterable[PathLike], out: PathLike):
    """Join the output directories of sharded sweeps into ``out``, as ``mltq merge``,
    and return the merged ``results.csv``."""
    return _table(_mltq.merge([_path(s, "shard directory") for s in shards], _path(out, "out")))


def _pair(x, what: str) -> Tuple[int, int]:
    if isinstance(x, (int, np.integer)):
        return int(x), int(x)
    if isinstance(x, str):
        raise Error(f"{what} {x!r}: give a number or a pair (h, w)")
    a, b = x
    return int(a), int(b)


def _samples(acts, ndim: int, what: str) -> Dict[int, Any]:
    """Activations as {sample: array or Tensor}: one array of the layer's input shape
    (sample 0), a batch with one more leading axis (samples 0..N-1), a list, or a dict."""
    if acts is None:
        return {}
    if isinstance(acts, Tensor):
        return {0: acts}
    if isinstance(acts, Mapping):
        return {int(k): v for k, v in acts.items()}
    if isinstance(acts, (list, tuple)):
        return dict(enumerate(acts))
    a = np.asarray(acts)
    if a.ndim == ndim:
        return {0: a}
    if a.ndim == ndim + 1:
        return {i: a[i] for i in range(a.shape[0])}
    raise Error(
        f"{what}: activations of shape {a.shape}; expected {ndim} axes (one sample) "
        f"or {ndim + 1} (a batch, one sample per entry of the first axis)"
    )


def _shape(x) -> Tuple[int, ...]:
    return tuple(x.shape) if isinstance(x, Tensor) else tuple(np.shape(x))


def _f32(x) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(x, dtype=np.float32))


class Model:
    """A network of conv and fc layers, built from numpy arrays (or read, or generated).

    >>> m = mltq.Model("tiny")                                        # doctest: +SKIP
    >>> m.add_conv("conv1", w1, x1, stride=1, padding=1)               # doctest: +SKIP
    >>> m.add_fc("fc", w2, x2)                                         # doctest: +SKIP
    >>> mltq.simulate("arch/pe16.toml", m)                             # doctest: +SKIP

    Float weights and activations are quantized by the quantizers of ``mltq import``
    (``weight_enc`` default ``ternary:2``, ``act_enc`` default ``int:8``, unsigned
    unless an activation is negative); a ``Tensor`` is taken as it is. Activations are
    one array of the layer's input shape (sample 0), a batch (one sample per entry of
    the first axis), a list, or a dict {sample: array}.
    """

    __slots__ = ("_native",)

    def __init__(self, name: str, source: Optional[str] = None):
        self._native = _mltq.Model(name, source)

    @classmethod
    def _wrap(cls, native) -> "Model":
        m = cls.__new__(cls)
        m._native = native
        return m

    @classmethod
    def load(cls, path: PathLike) -> "Model":
        """Read a ``.mltq`` file (or generate a built-in network by name)."""
        return cls._wrap(_mltq.Model.load(_path(path, "path")))

    @property
    def name(self) -> str:
        return self._native.name

    @property
    def source(self) -> Optional[str]:
        return self._native.source

    @property
    def layers(self) -> list:
        """Layer names, in order."""
        return self._native.layers

    @property
    def samples(self) -> list:
        """Sample numbers with activations."""
        return self._native.samples

    @property
    def macs(self) -> int:
        return self._native.macs

    def __len__(self) -> int:
        return len(self._native)

    def __eq__(self, other) -> bool:
        return isinstance(other, Model) and self._native == other._native

    def __repr__(self) -> str:
        return repr(self._native)

    def layer(self, name: str) -> dict:
        """One layer: name, op, geometry, macs, ``weights`` (Tensor), ``acts``
        ({sample: Tensor})."""
        return self._native.layer(name)

    def save(self, path: PathLike) -> None:
        """Write a ``.mltq`` file (atomically)."""
        self._native.save(_path(path, "path"))

    def inspect(self):
        """``mltq.inspect(self)``."""
        return inspect(self)

    def _encode(self, x, what: str, weights: bool, enc, per_channel: bool, prune):
        if isinstance(x, Tensor):
            return x, None
        defaults = _mltq.import_defaults()
        try:
            if weights:
                return Tensor.quantize_weights(_f32(x), enc or defaults[0], per_channel, prune)
            return Tensor.quantize_acts(_f32(x), enc or defaults[1])
        except Error as e:
            raise Error(f"layer `{what}`: {e}") from None

    def _encode_acts(self, name, acts, ndim, act_enc):
        tensors, stats = {}, {}
        for s, a in _samples(acts, ndim, f"layer `{name}`").items():
            tensors[s], stats[s] = self._encode(a, name, False, act_enc, False, None)
        return tensors, stats

    def add_conv(
        self,
        name: str,
        weights,
        acts=None,
        *,
        stride: Union[int, Tuple[int, int]] = 1,
        padding: Union[int, Tuple[int, int]] = 0,
        groups: int = 1,
        input_size: Optional[Tuple[int, int]] = None,
        weight_enc: Optional[str] = None,
        act_enc: Optional[str] = None,
        per_channel: bool = False,
        prune: Optional[float] = None,
    ) -> dict:
        """Append a conv layer. ``weights``: (F, C/groups, KH, KW), as PyTorch's
        ``Conv2d.weight``; ``acts``: the layer's input (C, H, W), or a batch (N, C, H,
        W). ``input_size`` (H, W) is needed only without activations. Returns the
        quantization statistics: ``{"weights": stats, "acts": {sample: stats}}`` (None
        for what was given as a Tensor)."""
        wshape = _shape(weights)
        if len(wshape) != 4:
            raise Error(
                f"layer `{name}`: conv weights of shape {wshape}; expected (F, C/groups, KH, KW)"
            )
        f, cg, kh, kw = wshape
        if groups < 1:
            raise Error(f"layer `{name}`: groups must be at least 1, got {groups}")
        c = cg * groups
        samples = _samples(acts, 3, f"layer `{name}`")
        if samples:
            first = _shape(next(iter(samples.values())))
            if len(first) != 3:
                raise Error(f"layer `{name}`: conv activations of shape {first}; expected (C, H, W)")
            hw = (first[1], first[2])
            if input_size is not None and tuple(input_size) != hw:
                raise Error(
                    f"layer `{name}`: input_size {tuple(input_size)} but the activations are {hw}"
                )
        elif input_size is not None:
            hw = _pair(input_size, "input_size")
        else:
            raise Error(f"layer `{name}`: give the activations or input_size=(H, W)")
        sh, sw = _pair(stride, "stride")
        ph, pw = _pair(padding, "padding")
        w, wstats = self._encode(weights, name, True, weight_enc, per_channel, prune)
        tensors, astats = self._encode_acts(name, samples, 3, act_enc)
        self._native._add_conv(name, c, hw[0], hw[1], f, kh, kw, sh, sw, ph, pw, groups, w, tensors)
        return {"weights": wstats, "acts": astats}

    def add_fc(
        self,
        name: str,
        weights,
        acts=None,
        *,
        weight_enc: Optional[str] = None,
        act_enc: Optional[str] = None,
        per_channel: bool = False,
        prune: Optional[float] = None,
    ) -> dict:
        """Append a fully connected layer. ``weights``: (F, C), as PyTorch's
        ``Linear.weight``; ``acts``: the input (C,), or a batch (N, C). Returns the
        quantization statistics, as ``add_conv``."""
        wshape = _shape(weights)
        if len(wshape) != 2:
            raise Error(f"layer `{name}`: fc weights of shape {wshape}; expected (F, C)")
        f, c = wshape
        w, wstats = self._encode(weights, name, True, weight_enc, per_channel, prune)
        tensors, astats = self._encode_acts(name, acts, 1, act_enc)
        self._native._add_fc(name, c, f, w, tensors)
        return {"weights": wstats, "acts": astats}
