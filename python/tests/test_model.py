"""mltq.Model and mltq.Tensor: networks built from numpy arrays, their quantizers, the
round trip Model -> .mltq -> CLI, and hand-counted cycles."""

import numpy as np
import pytest

import mltq
from conftest import assert_table_equals_csv

TINY_ARCH = (
    'name = "tiny"\nbaseline = "mlb"\nschemes = ["mlb", "mltq-word", "mltq-bit"]\n'
    "[array]\ntiles = 1\nrows = 4\ncolumns = 1\nlanes = 8\n"
)


def digits_of(t):
    return t.digits().reshape(t.levels, -1).T.tolist()


def test_ternary_quantizer_by_hand():
    # Residual ternarization (mltq import): level 0 threshold 0.7·mean|r| = 0.6125
    # picks 2.0 and -1.0 (scale 1.5); the residual (0.5, 0.5, 0.5, 0) has threshold
    # 0.35 and scale 0.5: every value is represented exactly.
    t, st = mltq.Tensor.quantize_weights(np.array([2.0, -1.0, 0.5, 0.0], np.float32), "ternary:2")
    assert t.encoding == "ternary:2" and t.shape == (4,)
    assert t.scales().tolist() == [1.5, 0.5]
    assert digits_of(t) == [[1, 1], [-1, 1], [0, 1], [0, 0]]
    assert t.dequantize().tolist() == [2.0, -1.0, 0.5, 0.0]
    assert st["rel_l2_error"] == 0.0 and st["word_density"] == 0.75
    assert st["digit_density"] == 5 / 8 and t.digit_density == 5 / 8


def test_activation_quantizer_keeps_every_zero_and_nonzero():
    x = np.array([0.0, 0.6, 3.0, 0.0, 0.02, 1.0], np.float32)
    t, st = mltq.Tensor.quantize_acts(x, "ternary:2")
    nonzero = [any(d) for d in digits_of(t)]
    assert nonzero == [False, True, True, False, True, True]
    # int:8 is unsigned when nothing is negative: scale max/255.
    t, _ = mltq.Tensor.quantize_acts(x, "int:8")
    assert t.header == "int bits=8 signed=false precision=8"
    assert t.ints().tolist() == [0, 51, 255, 0, 2, 85]  # 0.02·85 = 1.7 rounds to 2


def test_digit_planes_and_ints_as_they_are():
    d = np.array([[[1, 0, -1], [0, 0, 1]], [[1, 1, 0], [0, -1, 1]]], np.int8)  # (L=2, 2, 3)
    t = mltq.Tensor.from_digits(d, np.array([2.0, 1.0], np.float32))
    assert t.shape == (2, 3) and t.encoding == "ternary:2"
    assert (t.digits() == d).all()
    assert t.dequantize().tolist() == [[3.0, 1.0, -2.0], [0.0, -1.0, 3.0]]
    # Per output channel scales: (F, L).
    tc = mltq.Tensor.from_digits(d, np.array([[2.0, 1.0], [4.0, 0.5]], np.float32))
    assert tc.dequantize().tolist() == [[3.0, 1.0, -2.0], [0.0, -0.5, 4.5]]
    b = mltq.Tensor.from_digits(np.ones((1, 4), np.int8), np.array([1.0], np.float32), binary=True)
    assert b.encoding == "binary:1" and b.word_density == 1.0
    i = mltq.Tensor.from_ints(np.array([[0, 3], [-4, 7]], np.int32), 4, signed=True, scale=0.5)
    assert i.ints().tolist() == [[0, 3], [-4, 7]] and i.dequantize().tolist() == [[0, 1.5], [-2, 3.5]]
    with pytest.raises(mltq.Error, match="binary digit of element 0 level 0 is 0"):
        mltq.Tensor.from_digits(np.zeros((1, 4), np.int8), np.array([1.0], np.float32), binary=True)
    with pytest.raises(mltq.Error, match=r"digit 2 of element 1 level 0 is not in \{-1,0,\+1\}"):
        mltq.Tensor.from_digits(np.array([[0, 2]], np.int8), np.array([1.0], np.float32))
    with pytest.raises(mltq.Error, match="does not fit in 4 signed bits"):
        mltq.Tensor.from_ints(np.array([8], np.int32), 4)
    with pytest.raises(mltq.Error, match=r"scales have shape \(3,\)"):
        mltq.Tensor.from_digits(d, np.ones(3, np.float32))


def hand_model():
    """fc 8 -> 4 with hand-picked digits (ternary:2 on both sides).

    Activation terms per lane: [2, 1, 0, 0, 0, 0, 0, 0]. Every filter's weight terms:
    [1, 2, 2, 2, 2, 2, 2, 2]. On 1 tile × 4 rows × 1 column × 8 lanes the layer is one
    step with the four filters on the four rows:
    - mlb: every pair costs 2 × 2 planes: 4 cycles; work 32 MACs × 4 = 128.
    - mltq-bit: max over lanes of terms(w)·terms(a) = max(1·2, 2·1, 0) = 2 cycles;
      work Σ terms products = 4 filters × (1·2 + 2·1) = 16.
    """
    a = np.zeros((2, 8), np.int8)
    a[:, 0] = [1, -1]
    a[:, 1] = [1, 0]
    w = np.zeros((2, 4, 8), np.int8)
    w[0] = 1
    w[1, :, 1:] = -1
    m = mltq.Model("hand", source="by hand")
    stats = m.add_fc(
        "fc",
        mltq.Tensor.from_digits(w, np.array([1.0, 0.5], np.float32)),
        mltq.Tensor.from_digits(a, np.array([1.0, 0.5], np.float32)),
    )
    assert stats == {"weights": None, "acts": {0: None}}
    return m


def test_hand_counted_cycles_and_work():
    df = mltq.simulate(TINY_ARCH, hand_model()).set_index(["layer", "scheme"])
    assert df.loc[("fc", "mlb"), "cycles"] == 4
    assert df.loc[("fc", "mlb"), "work"] == 128
    assert df.loc[("fc", "mltq-bit"), "cycles"] == 2
    assert df.loc[("fc", "mltq-bit"), "work"] == 16
    assert df.loc[("fc", "mltq-bit"), "speedup"] == 2.0
    assert df.loc[("fc", "mltq-bit"), "potential_speedup"] == 8.0
    assert df.loc[("total", "mltq-bit"), "cycles"] == 2


def test_hand_counted_inspect():
    t = mltq.inspect(hand_model()).set_index("layer")
    assert t.loc["fc", "weight_shape"] == "4x8"
    assert t.loc["fc", "weight_encoding"] == "ternary:2" and t.loc["fc", "act_encoding"] == "ternary:2"
    assert t.loc["fc", "weight_word_density"] == 1.0
    assert t.loc["fc", "weight_digit_density"] == 60 / 64  # 4 × (1 + 7·2) of 4·8·2
    assert t.loc["fc", "act0_word_density"] == 2 / 8
    assert t.loc["fc", "act0_digit_density"] == 3 / 16
    assert t.loc["fc", "macs"] == 32 and t.loc["total", "macs"] == 32
    assert t.loc["total", "weight_count"] == 32


def conv_net(rng):
    """A small PyTorch-style network: conv(3→8, 3×3, pad 1) → conv(8→8, 3×3, stride 2,
    groups 2) → fc(8·4·4 → 10), with ReLU activations, two samples."""
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    w1 = rng.standard_normal((8, 3, 3, 3)).astype(np.float32)
    w2 = rng.standard_normal((8, 4, 3, 3)).astype(np.float32)
    w3 = rng.standard_normal((10, 128)).astype(np.float32)
    h1 = np.maximum(rng.standard_normal((2, 8, 8, 8)), 0).astype(np.float32)
    h2 = np.maximum(rng.standard_normal((2, 128)), 0).astype(np.float32)
    m = mltq.Model("convnet", source="test_model.py")
    m.add_conv("conv1", w1, x, padding=1)
    m.add_conv("conv2", w2, h1, stride=2, padding=(1, 1), groups=2, weight_enc="ternary:3", prune=0.5)
    m.add_fc("fc", w3, h2, weight_enc="binary:2", act_enc="ternary:2", per_channel=True)
    return m


def test_model_round_trip_through_a_mltq_file_and_the_cli(cli, tmp_path):
    m = conv_net(np.random.default_rng(7))
    assert m.layers == ["conv1", "conv2", "fc"] and m.samples == [0, 1] and len(m) == 3
    l2 = m.layer("conv2")
    assert l2["geometry"] == "conv 8x8x8 -> 8 k3x3 s2x2 p1x1 g2"
    assert l2["weights"].encoding == "ternary:3" and l2["weights"].word_density == 0.5
    assert l2["acts"][1].encoding == "int:8"
    assert m.layer("fc")["weights"].scales().shape == (10, 2)
    path = tmp_path / "convnet.mltq"
    m.save(path)
    again = mltq.Model.load(path)
    assert again == m and again.name == "convnet" and again.source == "test_model.py"
    arch = tmp_path / "tiny.toml"
    arch.write_text(TINY_ARCH)
    for sample in (0, 1):
        out = tmp_path / f"s{sample}.csv"
        cli.ok("simulate", "--arch", arch, "--model", path, "--sample", sample, "--csv", out, "-q")
        assert_table_equals_csv(mltq.simulate(TINY_ARCH, m, sample), out)
    # The CLI's inspect reads the same densities and MACs.
    text = cli.ok("inspect", path)
    t = mltq.inspect(m).set_index("layer")
    for layer in m.layers:
        line = next(l for l in text.splitlines() if l.startswith(layer + " "))
        assert f"{t.loc[layer, 'weight_word_density']:.3f}" in line
        assert f"{t.loc[layer, 'act1_digit_density']:.3f}" in line
        assert f"{t.loc[layer, 'macs']:,}" in line


def test_batches_lists_and_dicts_are_samples():
    rng = np.random.default_rng(1)
    w = rng.standard_normal((4, 6)).astype(np.float32)
    x = np.abs(rng.standard_normal((3, 6))).astype(np.float32)
    by_batch, by_list, by_dict = mltq.Model("a"), mltq.Model("a"), mltq.Model("a")
    by_batch.add_fc("fc", w, x)
    by_list.add_fc("fc", w, list(x))
    by_dict.add_fc("fc", w, {0: x[0], 1: x[1], 2: x[2]})
    assert by_batch == by_list == by_dict and by_batch.samples == [0, 1, 2]
    one = mltq.Model("b")
    stats = one.add_fc("fc", w, x[2])
    assert one.samples == [0]
    assert set(stats) == {"weights", "acts"} and 0 < stats["weights"]["rel_l2_error"] < 1
    assert one.layer("fc")["acts"][0] == by_batch.layer("fc")["acts"][2]


def test_weights_only_models_need_an_input_size():
    m = mltq.Model("w")
    w = np.ones((2, 3, 3, 3), np.float32)
    with pytest.raises(mltq.Error, match=r"give the activations or input_size=\(H, W\)"):
        m.add_conv("c", w)
    m.add_conv("c", w, input_size=(5, 5))
    assert m.layer("c")["geometry"] == "conv 3x5x5 -> 2 k3x3 s1x1 p0x0 g1"
    assert m.samples == []


def test_bad_layers_are_refused_and_leave_the_model_as_it_was():
    m = mltq.Model("bad")
    m.add_fc("fc", np.ones((2, 4)), np.ones(4))
    cases = [
        (lambda: m.add_fc("fc", np.ones((2, 4)), np.ones(4)), "layer name `fc` is used twice"),
        (
            lambda: m.add_conv("c", np.ones((2, 3, 3, 3)), np.ones((4, 5, 5))),
            r"layer `c`: acts of sample 0 have shape \[4, 5, 5\] but the layer implies \[3, 5, 5\]",
        ),
        (lambda: m.add_conv("c", np.ones((2, 3, 7, 7)), np.ones((3, 5, 5))), "kernel 7x7 is larger"),
        (lambda: m.add_conv("c", np.ones((2, 3)), np.ones((3, 5, 5))), r"expected \(F, C/groups, KH, KW\)"),
        (lambda: m.add_fc("f2", np.ones((2, 4)), np.ones(4), weight_enc="int"), "bad encoding `int`"),
        (lambda: m.add_fc("f2", np.ones((2, 4)), np.ones(4), prune=2.0), "prune fraction must be in 0..=1"),
        (lambda: m.add_fc("f2", np.ones((2, 4)), [np.nan] * 4), "not a finite number"),
        (lambda: m.add_fc("f2", np.ones((2, 4)), np.ones((2, 2, 4))), r"expected 1 axes"),
        (lambda: mltq.Model('say "hi"'), "cannot be written to a .mltq header"),
        (lambda: m.layer("fx"), r"model bad has no layer `fx` \(did you mean `fc`\?\)"),
    ]
    for call, message in cases:
        with pytest.raises(mltq.Error, match=message):
            call()
    assert m.layers == ["fc"]


def test_gen_equals_the_cli_byte_for_byte(cli, tmp_path):
    cli.ok("gen", "resnet20", "--out", tmp_path / "cli.mltq", "--seed", "3", "--samples", "2",
           "--weights", "ternary:3", "--weight-density", "0.2")
    m = mltq.gen("resnet20", seed=3, samples=2, weights="ternary:3", weight_density=0.2,
                 out=tmp_path / "py.mltq")
    assert (tmp_path / "py.mltq").read_bytes() == (tmp_path / "cli.mltq").read_bytes()
    assert m == mltq.Model.load(tmp_path / "cli.mltq")
    d = mltq.gen_defaults()
    assert d == {"weights": "ternary:2", "acts": "ternary:2", "weight_density": 0.35,
                 "act_density": 0.5, "samples": 1, "seed": 1}
    assert mltq.gen("resnet20") == mltq.Model.load("resnet20")
    assert "resnet50" in mltq.networks()


def test_gen_value_laws_and_precisions_equal_the_cli(cli, tmp_path):
    # Value laws, per-layer activation densities and int precisions, as the CLI's flags.
    cli.ok("gen", "alexnet", "--out", tmp_path / "cli.mltq", "--weights", "int:8",
           "--acts", "int:16", "--weight-dist", "laplace", "--act-dist", "gaussian",
           "--act-density", "1,0.5,0.4,0.4,0.3,0.6,0.5,0.5", "--weight-precision", "8,7,-,6,6,5,5,4")
    mltq.gen("alexnet", weights="int:8", acts="int:16", weight_dist="laplace",
             act_dist="gaussian", act_density=[1, 0.5, 0.4, 0.4, 0.3, 0.6, 0.5, 0.5],
             weight_precision=[8, 7, None, 6, 6, 5, 5, 4], out=tmp_path / "py.mltq")
    assert (tmp_path / "py.mltq").read_bytes() == (tmp_path / "cli.mltq").read_bytes()
    # The published profile and a profile from the data, as strings and numbers alike.
    cli.ok("gen", "alexnet", "--out", tmp_path / "cli2.mltq", "--acts", "int:16",
           "--precision-profile", "stripes")
    mltq.gen("alexnet", acts="int:16", precision_profile="stripes", out=tmp_path / "py2.mltq")
    assert (tmp_path / "py2.mltq").read_bytes() == (tmp_path / "cli2.mltq").read_bytes()
    cli.ok("gen", "resnet20", "--out", tmp_path / "cli3.mltq", "--weights", "int:8",
           "--profile-precision", "--tolerance", "2%")
    for tol in ("2%", 0.02):
        mltq.gen("resnet20", weights="int:8", profile_precision=True, tolerance=tol,
                 out=tmp_path / "py3.mltq")
        assert (tmp_path / "py3.mltq").read_bytes() == (tmp_path / "cli3.mltq").read_bytes()
    # Flags that exclude each other, and a bad name, are ValueErrors.
    with pytest.raises(ValueError, match="cannot be used together"):
        mltq.gen("alexnet", acts="int:16", act_precision="8", precision_profile="stripes")
    with pytest.raises(ValueError, match="weight_dist"):
        mltq.gen("resnet20", weight_dist="cauchy")
    with pytest.raises(ValueError, match="binary"):
        mltq.gen("resnet20", weights="binary:2", weight_density=0.2)
