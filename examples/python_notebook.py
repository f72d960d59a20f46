# %% [markdown]
# # mltq from Python: a small network captured with forward hooks
#
# A notebook-style script (cells marked `# %%`, so Jupyter, VS Code and Spyder run it
# cell by cell): a small PyTorch-style CNN written in numpy (no download, no PyTorch
# needed), run on two seeded inputs while forward hooks capture every conv and linear
# layer's input, as `module.register_forward_hook` would in PyTorch. The captured
# weights and activations become an `mltq.Model` (quantized by the quantizers of
# `mltq import`), which is simulated on the reference 16×16×16×16 array and on a small
# one; a matplotlib figure compares per-layer speedups with their potentials.
#
#     pip install ./python matplotlib pandas
#     python examples/python_notebook.py [FIGURE.png]
#
# With PyTorch, the same capture is a hook on each nn.Conv2d / nn.Linear:
#
#     def hook(module, inputs, output):
#         captured[name] = (module, inputs[0].detach().cpu().numpy())
#     for name, mod in net.named_modules():
#         if isinstance(mod, (nn.Conv2d, nn.Linear)):
#             mod.register_forward_hook(hook)
#
# and `m.add_conv(name, mod.weight.detach().numpy(), x, stride=mod.stride,
# padding=mod.padding, groups=mod.groups)` below.

# %%
import pathlib
import sys

import numpy as np

import mltq

ROOT = pathlib.Path(__file__).resolve().parents[1]
rng = np.random.default_rng(2024)


# %% [markdown]
# ## A PyTorch-style network in numpy, with forward hooks

# %%
class Module:
    def __init__(self):
        self.hooks = []

    def register_forward_hook(self, fn):
        self.hooks.append(fn)

    def __call__(self, x):
        y = self.forward(x)
        for fn in self.hooks:
            fn(self, (x,), y)
        return y


class Conv2d(Module):
    def __init__(self, cin, cout, k, stride=1, padding=0, groups=1):
        super().__init__()
        fan_in = cin // groups * k * k
        self.weight = rng.normal(0, np.sqrt(2 / fan_in), (cout, cin // groups, k, k)).astype(np.float32)
        self.stride, self.padding, self.groups = (stride, stride), (padding, padding), groups

    def forward(self, x):  # x: (N, C, H, W)
        n, c, h, w = x.shape
        p, s, g = self.padding[0], self.stride[0], self.groups
        f, cg, k, _ = self.weight.shape
        xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))[:, :, ::s, ::s]
        out = []
        for j in range(g):  # each group: its channels against its filters
            xs = win[:, j * cg:(j + 1) * cg]
            ws = self.weight[j * (f // g):(j + 1) * (f // g)]
            out.append(np.einsum("nchwij,fcij->nfhw", xs, ws, optimize=True))
        return np.concatenate(out, axis=1).astype(np.float32)


class Linear(Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.weight = rng.normal(0, np.sqrt(2 / cin), (cout, cin)).astype(np.float32)

    def forward(self, x):  # x: (N, C)
        return x @ self.weight.T


class TinyNet:
    """conv 3→16 → conv 16→32 /2 → depthwise-ish conv (4 groups) → conv 32→64 /2 →
    global average pool → linear 64→10, ReLU after every conv."""

    def __init__(self):
        self.layers = {
            "conv1": Conv2d(3, 16, 3, padding=1),
            "conv2": Conv2d(16, 32, 3, stride=2, padding=1),
            "conv3": Conv2d(32, 32, 3, padding=1, groups=4),
            "conv4": Conv2d(32, 64, 3, stride=2, padding=1),
            "fc": Linear(64, 10),
        }

    def __call__(self, x):
        for name in ["conv1", "conv2", "conv3", "conv4"]:
            x = np.maximum(self.layers[name](x), 0)
        return self.layers["fc"](x.mean(axis=(2, 3)))


net = TinyNet()
# Magnitude-prune 60% of the weights, as a sparse model would be.
for mod in net.layers.values():
    cut = np.quantile(np.abs(mod.weight), 0.6)
    mod.weight[np.abs(mod.weight) < cut] = 0

# %% [markdown]
# ## Capture every layer's input with forward hooks

# %%
captured = {}
for name, mod in net.layers.items():
    mod.register_forward_hook(lambda m, inputs, out, name=name: captured.__setitem__(name, (m, inputs[0])))

# Two seeded "images": smooth patterns plus noise, 32×32 RGB.
yy, xx = np.mgrid[0:32, 0:32] / 32
images = np.stack(
    [np.stack([np.sin(6 * xx + i), np.cos(5 * yy - i), xx * yy], 0) + 0.1 * rng.standard_normal((3, 32, 32)) for i in range(2)]
).astype(np.float32)
logits = net(images)
print("logits of the two inputs:", np.round(logits.astype(float), 2).tolist())

# %% [markdown]
# ## The captured network as an `mltq.Model`
#
# Weights ternary:2 (MLTQ), activations ternary:2; each batch entry is one sample.

# %%
m = mltq.Model("tinynet", source="examples/python_notebook.py")
for name, (mod, x) in captured.items():
    if isinstance(mod, Conv2d):
        st = m.add_conv(name, mod.weight, x, stride=mod.stride, padding=mod.padding, groups=mod.groups,
                        weight_enc="ternary:2", act_enc="ternary:2")
    else:
        st = m.add_fc(name, mod.weight, x, weight_enc="ternary:2", act_enc="ternary:2")
    print(f"{name:6s} weights: SQNR {st['weights']['sqnr_db']:5.1f} dB, word density "
          f"{st['weights']['word_density']:.2f}; acts of sample 0: word density {st['acts'][0]['word_density']:.2f}")
print(m)
cols = ["layer", "geometry", "weight_word_density", "act0_word_density", "act0_digit_density", "macs"]
print(mltq.inspect(m)[cols].to_string(index=False))

# %% [markdown]
# ## Simulate on the 16×16×16×16 array and on a small one

# %%
results = {}
for arch in ["pe16", "embedded"]:
    df = mltq.simulate(ROOT / "arch" / f"{arch}.toml", m, all_samples=True)
    results[arch] = df
    totals = df[(df.layer == "total") & (df["sample"] == 0)]
    print(f"\n{arch}: network totals, sample 0")
    print(totals[["scheme", "cycles", "speedup", "potential_speedup", "utilization"]].to_string(index=False))

# %% [markdown]
# ## Speedup per layer against the potential

# %%
import matplotlib

if "ipykernel" not in sys.modules:
    matplotlib.use("Agg")
import matplotlib.pyplot as plt

schemes = ["mltq-word", "mltq-bit"]
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
for ax, (arch, df) in zip(axes, results.items()):
    d = df[(df["sample"] == 0) & (df.layer != "total")]
    layers = list(dict.fromkeys(d.layer))
    xs = np.arange(len(layers))
    for i, s in enumerate(schemes):
        ds = d[d.scheme == s].set_index("layer").loc[layers]
        ax.bar(xs + (i - 0.5) * 0.38, ds.speedup, 0.38, label=f"{s} achieved")
        ax.scatter(xs + (i - 0.5) * 0.38, ds.potential_speedup, marker="_", s=300, color="k",
                   label="potential" if i == 0 else None, zorder=3)
    ax.axhline(1, color="grey", lw=0.8)
    ax.set_xticks(xs, layers)
    ax.set_yscale("log")
    ax.set_title(f"tinynet on {arch}")
axes[0].set_ylabel("speedup over mlb")
axes[0].legend(fontsize=8)
fig.tight_layout()
out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "tinynet-speedups.png")
fig.savefig(out, dpi=120)
print(f"\nwrote {out}")
