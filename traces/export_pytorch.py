#!/usr/bin/env python3
"""Export a PyTorch model to ONNX and an input to .npy, ready for `mltq import`.

Examples:

    # a torchvision model, pretrained, on a photo (ImageNet preprocessing)
    python traces/export_pytorch.py --model resnet50 --pretrained --image cat.jpg --out out/

    # your own model: a Python file with a function returning an nn.Module
    python traces/export_pytorch.py --module mynet.py:build --input-shape 1,3,32,32 --out out/

It writes OUT/model.onnx and OUT/input-0.npy (one file per --image, or one random
input), then prints the `mltq import` command that follows. It works with whatever
torch, torchvision and numpy versions are installed (torchvision and Pillow only for
--model and --image).
"""

import argparse
import importlib.util
import inspect
import os
import sys

import numpy as np
import torch

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def torchvision_model(name, pretrained):
    import torchvision

    models = torchvision.models
    if hasattr(models, "get_model"):  # torchvision >= 0.14
        weights = "DEFAULT" if pretrained else None
        return models.get_model(name, weights=weights)
    factory = getattr(models, name)  # older torchvision
    return factory(pretrained=pretrained)


def module_model(spec):
    path, _, func = spec.partition(":")
    if not func:
        sys.exit("--module expects FILE.py:FUNCTION (a function returning an nn.Module)")
    loader = importlib.util.spec_from_file_location("user_model", path)
    mod = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(mod)
    return getattr(mod, func)()


def image_tensor(path, size, mean, std):
    from PIL import Image

    img = Image.open(path).convert("RGB")
    # Resize the short side to size*256/224, center-crop size x size (torchvision's
    # ImageNet evaluation transform), scale to [0,1], normalize.
    short = int(round(size * 256 / 224))
    w, h = img.size
    scale = short / min(w, h)
    img = img.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.BILINEAR)
    w, h = img.size
    left, top = (w - size) // 2, (h - size) // 2
    img = img.crop((left, top, left + size, top + size))
    x = np.asarray(img, dtype=np.float32) / 255.0  # H, W, 3
    x = (x - np.array(mean, dtype=np.float32)) / np.array(std, dtype=np.float32)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)[None]))  # 1,3,H,W


def export(model, example, path, opset):
    kwargs = dict(
        opset_version=opset,
        input_names=["input"],
        output_names=["output"],
        do_constant_folding=True,
    )
    # Newer torch can export through dynamo; the classic TorchScript exporter keeps the
    # module names in node names (e.g. /layer1/layer1.0/conv1/Conv), which mltq reuses.
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False
    torch.onnx.export(model, example, path, **kwargs)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="a torchvision model name, e.g. resnet50, mobilenet_v2")
    src.add_argument("--module", help="FILE.py:FUNCTION returning your nn.Module")
    ap.add_argument("--pretrained", action="store_true", help="torchvision pretrained weights")
    ap.add_argument("--image", action="append", default=[], help="a photo as input (repeatable)")
    ap.add_argument("--size", type=int, default=224, help="image crop size (default 224)")
    ap.add_argument("--input-shape", default="1,3,224,224", help="shape of a random input (no --image)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the random input")
    ap.add_argument("--opset", type=int, default=13, help="ONNX opset (>= 13)")
    ap.add_argument("--out", required=True, help="output directory")
    a = ap.parse_args()

    if a.opset < 13:
        sys.exit("use --opset 13 or newer")
    os.makedirs(a.out, exist_ok=True)
    model = torchvision_model(a.model, a.pretrained) if a.model else module_model(a.module)
    model.eval()  # BatchNorm uses running statistics, Dropout is off

    if a.image:
        inputs = [image_tensor(p, a.size, IMAGENET_MEAN, IMAGENET_STD) for p in a.image]
    else:
        torch.manual_seed(a.seed)
        shape = tuple(int(d) for d in a.input_shape.split(","))
        inputs = [torch.randn(*shape)]

    onnx_path = os.path.join(a.out, "model.onnx")
    with torch.no_grad():
        export(model, inputs[0], onnx_path, a.opset)
        top1 = [int(model(x).reshape(x.shape[0], -1).argmax(1)[0]) for x in inputs]
    npys = []
    for k, x in enumerate(inputs):
        p = os.path.join(a.out, "input-%d.npy" % k)
        np.save(p, x.numpy().astype(np.float32))
        npys.append(p)

    print("wrote %s and %s (float top-1: %s)" % (onnx_path, ", ".join(npys), top1))
    line = ["mltq import --from onnx", onnx_path]
    line += ["--input %s" % p for p in npys]
    line += ["--out", os.path.join(a.out, "model.mltq"), "--weights ternary:2 --acts int:8 --check"]
    print("next:\n  " + " ".join(line))


if __name__ == "__main__":
    main()
